"""Browser tests of the 素材篮 and the token prompt: Debian's Chromium, driven by Playwright, against the real
app with the fake embedder and a scripted model (fast; the real-model page tests are in test_browser.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docx import Document

from tests.live import live_server
from tests.test_server_hardening import QUESTION, ScriptedGen, index_dir, make_app

__all__ = ["index_dir"]  # the module-scoped index fixture

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "tests" / "output"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def _page(browser: Any, url: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.goto(url)
    return page


def _search(page: Any, query: str) -> str:
    page.fill("#q", query)
    page.click("#go")
    first = page.locator("#results li").first
    first.locator(".cite").wait_for(timeout=20_000)
    citation: str = first.locator(".cite").inner_text()
    first.locator("button.add").click()
    return citation


def test_basket_collects_survives_reload_reorders_and_exports_docx(
    browser: Any,
    index_dir: Path,
    tmp_path: Path,
) -> None:
    with live_server(make_app(index_dir, ScriptedGen())) as url:
        page = _page(browser, url)
        ethics = _search(page, "伦理委员会职责")
        plan = _search(page, "基础理论研究")
        extra = _search(page, "本条例自2022年11月1日起施行")
        assert page.inner_text("#basket-count") == "3"
        page.click("#results li .cite >> nth=0")  # the article panel offers it too: already in the basket
        page.locator("#panel").wait_for(state="visible", timeout=10_000)
        assert page.inner_text("#panel-add") == "已加入"
        page.click("#panel-close")

        page.reload()  # kept in localStorage
        assert page.inner_text("#basket-count") == "3"
        page.click("#basket-toggle")
        items = page.locator("#basket-items > li")
        assert [items.nth(i).locator(".title").inner_text() for i in range(3)] == [ethics, plan, extra]
        items.nth(2).locator("button.remove").click()
        items.nth(1).locator("button.up").click()  # plan first, then ethics
        items.nth(1).locator("textarea.note").fill("伦理委员会的两项职责")
        page.click("#basket-close")

        page.click("#tab-ask")
        page.fill("#q", QUESTION["question"])
        page.click("#go")
        page.locator("#add-answer").wait_for(state="visible", timeout=20_000)
        answer_text = page.inner_text("#answer-text")
        quote = page.locator("#citations .quote").first.inner_text()
        page.click("#add-answer")
        assert page.inner_text("#basket-count") == "3"

        page.click("#basket-toggle")
        titles = [items.nth(i).locator(".title").inner_text() for i in range(3)]
        assert titles == [plan, ethics, f"问：{QUESTION['question']}"]
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "basket.png"), full_page=False)
        with page.expect_download() as download:
            page.click("#export")
        target = tmp_path / "brief.docx"
        download.value.save_as(target)
        assert download.value.suggested_filename.endswith(".docx")
        page.context.close()

    text = "\n".join(p.text for p in Document(str(target)).paragraphs)
    expected = [
        f"一、{plan}",
        f"{plan}指出：“",
        f"二、{ethics}",
        f"{ethics}规定：“",
        "按：伦理委员会的两项职责",
        f"三、问：{QUESTION['question']}",
        f"答：{answer_text}",
        quote.strip("“”"),
        "资料来源",
    ]
    positions = [text.find(e) for e in expected]
    assert all(p >= 0 for p in positions), [e for e, p in zip(expected, positions, strict=True) if p < 0]
    assert positions == sorted(positions)
    assert extra not in text.split("资料来源")[0]  # the removed item stays out


def test_page_asks_for_the_token_in_remote_mode(browser: Any, index_dir: Path) -> None:
    with live_server(make_app(index_dir, ScriptedGen(), api_token="s3cret")) as url:
        page = _page(browser, url)
        prompts: list[str] = []

        def answer(dialog: Any) -> None:
            prompts.append(dialog.message)
            dialog.accept("s3cret")

        page.on("dialog", answer)
        page.fill("#q", "伦理委员会职责")
        page.click("#go")
        page.locator("#results li .cite").first.wait_for(timeout=20_000)
        assert len(prompts) == 1 and "令牌" in prompts[0]
        page.fill("#q", "主管部门")
        page.click("#go")
        page.wait_for_function("document.querySelector('#status').textContent.includes('条结果')", timeout=20_000)
        assert len(prompts) == 1  # asked once per tab
        page.context.close()
