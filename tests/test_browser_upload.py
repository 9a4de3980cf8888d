"""The 文件 tab's upload control in Debian's Chromium (Playwright), against the app with the fake embedder."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.build import build_index
from tests.conftest import FakeEmbedder

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NEW_DOC = "示范公共数据开放条例\n\n第一条 为了促进公共数据开放和利用，制定本条例。\n\n第二条 市政务服务数据管理部门负责统筹公共数据开放工作。\n"


@pytest.fixture()
def base_url(tmp_path: Path, tiny_corpus: Path) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it: apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    import uvicorn

    from policyrag.settings import Settings
    from server.app import create_app

    embedder = FakeEmbedder()
    build_index([tiny_corpus], tmp_path / "idx", embedder, cache_dir=tmp_path / "c", progress=False)
    app = create_app(Settings(index_dir=tmp_path / "idx", corpus=[tiny_corpus]), embedder=embedder)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_upload_shows_each_file_and_the_new_document(base_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    good, bad = tmp_path / "数据开放条例.txt", tmp_path / "scan.txt"
    good.write_text(NEW_DOC, encoding="utf-8")
    bad.write_bytes(b"\x00\x01\x02" * 50)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(locale="zh-CN")
        page.goto(base_url)
        page.click("#tab-docs")
        page.locator("#doc-list > ol > li").first.wait_for(timeout=10_000)
        assert page.locator("#doc-list > ol > li").count() == 4
        page.set_input_files("#upload-files", [str(good), str(bad)])
        page.click("#upload-go")
        page.locator("#upload-report li.error").wait_for(timeout=30_000)
        assert page.locator("#upload-report li.ok").inner_text() == "数据开放条例.txt：已添加"
        assert "scan.txt：未添加，" in page.locator("#upload-report li.error").inner_text()
        page.wait_for_function("document.querySelectorAll('#doc-list > ol > li').length === 5", timeout=10_000)
        assert "示范公共数据开放条例" in page.locator("#doc-list").inner_text()
        assert "已更新索引" in page.locator("#status").inner_text()
        browser.close()
