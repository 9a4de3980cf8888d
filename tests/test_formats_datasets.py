"""Format readers on the fixtures in ../shared/datasets/formats/ (built from corpus/ 001 and 002 with real
producers), against their ground truth. Skipped, with the reason, when the folder is absent; the folder can
be pointed elsewhere with POLICYRAG_FORMATS_DIR (e.g. from a git worktree)."""

from __future__ import annotations

import difflib
import os
import re
import shutil
from pathlib import Path

import pytest

from indexer.formats import ReadResult, read_file
from indexer.normalise import normalise_line
from indexer.pipeline import ingest

ROOT = Path(__file__).resolve().parents[1]
FORMATS = Path(os.environ.get("POLICYRAG_FORMATS_DIR", ROOT.parent / "shared" / "datasets" / "formats"))
needs_fixtures = pytest.mark.skipif(
    not (FORMATS / "reg_groundtruth.txt").is_file(), reason=f"format fixtures not found at {FORMATS}"
)
CJK_SPACE = re.compile(r"[\u4e00-\u9fff] +[\u4e00-\u9fff\d]|\d +[\u4e00-\u9fff]")
BUDGET = 380


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _check_against_truth(result: ReadResult, truth_name: str, *, prefix: bool = False) -> None:
    truth_lines = [line for line in (FORMATS / truth_name).read_text(encoding="utf-8").splitlines() if line.strip()]
    got = _squash("".join(b.text for b in result.blocks))
    truth = _squash("".join(truth_lines))
    if prefix:  # a few scanned pages: compare with the matching start of the ground truth
        truth = truth[: len(got)]
        truth_lines = [line for line in truth_lines if _squash(line)[:12] in truth]
    ratio = difflib.SequenceMatcher(None, got, truth, autojunk=False).ratio()
    assert ratio >= 0.99, f"{result.name}: similarity {ratio:.4f} to {truth_name}"
    spaced = [b.text for b in result.blocks if CJK_SPACE.search(b.text)]
    assert not spaced, f"{result.name}: spaces inside Chinese text: {spaced[:3]}"
    starts = [_squash(b.text) for b in result.blocks]
    ok = sum(any(s.startswith(_squash(line)[:12]) for s in starts) for line in truth_lines)
    assert ok >= 0.95 * len(truth_lines), f"{result.name}: {ok}/{len(truth_lines)} paragraphs start a line"


@needs_fixtures
@pytest.mark.parametrize(
    ("name", "truth"),
    [
        ("reg.docx", "reg_groundtruth.txt"),
        ("plan.docx", "plan_groundtruth.txt"),
        ("reg.pdf", "reg_groundtruth.txt"),
        ("plan.pdf", "plan_groundtruth.txt"),
        ("plan.html", "plan_groundtruth.txt"),
        ("reg.ofd", "reg_groundtruth.txt"),
        ("reg.doc", "reg_groundtruth.txt"),
        ("plan.wps", "plan_groundtruth.txt"),
    ],
)
def test_fixture_matches_its_ground_truth(name: str, truth: str) -> None:
    if name.endswith((".doc", ".wps")) and shutil.which("antiword") is None and shutil.which("soffice") is None:
        pytest.skip("Word-97 fixtures need antiword (make office-deps / apt-get install antiword)")
    _check_against_truth(read_file(FORMATS / name), truth)


@needs_fixtures
def test_paged_formats_carry_page_numbers() -> None:
    result = read_file(FORMATS / "reg.pdf")
    pages = [b.page for b in result.blocks]
    assert pages[0] == 1 and max(p or 0 for p in pages) >= 20 and pages == sorted(pages)  # type: ignore[type-var]


@needs_fixtures
def test_plan_pdf_gives_the_outline_citations_of_corpus_002() -> None:
    want = [c.article for c in ingest([ROOT / "corpus" / "002_279d2fb2746ce7ce.txt"], budget=BUDGET).chunks]
    corpus = ingest([FORMATS / "plan.pdf"], budget=BUDGET)
    assert [c.article for c in corpus.chunks] == want
    assert "三、（一）1." in want
    by_article = {c.article: c.citation for c in corpus.chunks}
    assert re.fullmatch(
        r"《深圳市新一代人工智能发展行动计划（2019-2023年）》三、（一）1\.（第\d+页）", by_article["三、（一）1."]
    )


@needs_fixtures
def test_reg_docx_gives_the_articles_of_corpus_001() -> None:
    def articles(path: Path) -> list[str | None]:
        corpus = ingest([path], budget=BUDGET)
        return [c.article for c in corpus.chunks if c.doc_type == "regulation"]

    want = articles(ROOT / "corpus" / "001_9202c69e713a1f16.txt")
    assert len([a for a in want if a and a.endswith("条")]) == 73
    assert articles(FORMATS / "reg.docx") == want


@needs_fixtures
def test_html_metadata_reaches_the_document_record() -> None:
    doc = ingest([FORMATS / "plan.html"], budget=BUDGET).documents[0]
    assert doc.title == "深圳市新一代人工智能发展行动计划（2019-2023年）"
    assert (doc.doc_number, doc.issuer, doc.published) == ("深府〔2019〕32号", "深圳市人民政府", "2020-01-13")


@needs_fixtures
@pytest.mark.integration
def test_scanned_pdf_is_read_by_ocr() -> None:
    pytest.importorskip("rapidocr", reason="OCR is the optional extra policyrag[ocr]")
    from indexer.formats import ReadOptions
    from indexer.formats.ocr import create_ocr

    result = read_file(FORMATS / "reg_scanned.pdf", ReadOptions(ocr=create_ocr()))
    assert result.notes == ("3 page(s) without a text layer read by OCR",)
    assert result.ocr_pages == (1, 2, 3)
    normalised = [b.__class__(normalise_line(b.text, simplify=False), b.page) for b in result.blocks]
    _check_against_truth(ReadResult(result.name, "pdf", tuple(normalised)), "reg_groundtruth.txt", prefix=True)
    assert [b.page for b in result.blocks][-1] == 3
