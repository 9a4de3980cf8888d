"""Browser tests: Debian's Chromium, driven by Playwright, against the real app with the real default models."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "tests" / "output"


@pytest.fixture(scope="module")
def base_url(real_e5, real_index: Path, real_generator) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it: apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    import uvicorn

    from policyrag.settings import Settings
    from server.app import create_app

    app = create_app(Settings(index_dir=real_index), embedder=real_e5, generator=real_generator)
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


@pytest.fixture()
def page(base_url: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="zh-CN")
        page.goto(base_url)
        yield page
        browser.close()


def test_traditional_search_shows_article_six(page) -> None:  # type: ignore[no-untyped-def]
    page.fill("#q", "人工智能產業的主管部門是哪個部門？")
    page.click("#go")
    first = page.locator("#results li .cite").first
    first.wait_for(timeout=20_000)
    assert first.inner_text() == "《深圳经济特区人工智能产业促进条例》第六条"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "search.png"), full_page=True)


def test_ask_streams_then_citation_opens_article(page) -> None:  # type: ignore[no-untyped-def]
    page.click("#tab-ask")
    page.fill("#q", "人工智能產業的主管部門是哪個部門？")
    page.click("#go")
    page.locator("#citations li").first.wait_for(timeout=120_000)
    assert "工业和信息化" in page.inner_text("#answer-text")
    page.click("#answer-text a.marker >> nth=0")
    page.locator("#panel").wait_for(state="visible", timeout=10_000)
    assert "第六条" in page.inner_text("#panel-title")
    assert page.locator("#panel-text mark").count() >= 1
    page.click("#copy")
    # The handler sets lastCopied after awaiting the clipboard promise: wait for it instead of racing it.
    page.wait_for_function("window.lastCopied !== undefined", timeout=10_000)
    assert page.evaluate("window.lastCopied").startswith("《深圳经济特区人工智能产业促进条例》第六条")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "ask.png"), full_page=False)


def test_document_browser_lists_documents(page) -> None:  # type: ignore[no-untyped-def]
    page.click("#tab-docs")
    page.locator("#docs li").first.wait_for(timeout=10_000)
    assert page.locator("#doc-list > ol > li").count() == 5
    page.click("#doc-list > ol > li >> nth=0")
    page.locator("#docs .units .cite").first.wait_for(timeout=10_000)
    assert page.locator("#docs .units .cite").count() > 50
