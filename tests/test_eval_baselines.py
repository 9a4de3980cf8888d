"""Tests for the baselines comparison (eval/suites/baselines.py, eval/suites/baseline_corpora.py): fast, FakeEmbedder, inline data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.common.metrics import ranked_units
from eval.suites.baseline_corpora import (
    cut_windows,
    ingest_copies,
    overlapping,
    render_document,
    unit_block,
    window_spans,
    windows_for_documents,
)
from eval.suites.baselines import run_baselines
from indexer.pipeline import ingest
from indexer.records import Unit
from tests.conftest import FakeEmbedder

REGULATION = """示范数据条例
第一章 总则
第一条 为了促进数据要素市场发展，制定本条例。
第二条 市数据管理部门负责统筹全市公共数据开放工作。
第三条 公共数据开放应当遵循分类分级、安全可控的原则。
第二章 附则
第四条 本条例自2024年1月1日起施行。
"""

REGULATION_TRADITIONAL = """示範數據條例
第一章 總則
第一條 為了促進數據要素市場發展，制定本條例。
第二條 市數據管理部門負責統籌全市公共數據開放工作。
第三條 公共數據開放應當遵循分類分級、安全可控的原則。
第二章 附則
第四條 本條例自2024年1月1日起施行。
"""

PLAN = (
    "示范数据发展行动计划\n一、总体要求\n"
    + "坚持创新驱动，推动数据产业高质量发展。" * 10
    + "\n二、主要任务\n（一）建设数据基础设施。\n"
    + "建设城市数据中心和算力网络。" * 12
    + "\n（二）培育数据市场。\n"
    + "培育数据交易机构和数据商。" * 12
    + "\n"
)

QUESTIONS = [
    {
        "id": "q1",
        "question": "哪个部门负责统筹全市公共数据开放工作？",
        "gold": ["《示范数据条例》第二条"],
        "kind": "in_corpus",
    },
    {
        "id": "q2",
        "question": "如何培育数据交易机构和数据商？",
        "gold": ["《示范数据发展行动计划》二、（二）"],
        "kind": "in_corpus",
    },
    {"id": "q3", "question": "欧盟人工智能法的罚款是多少？", "gold": [], "kind": "out_of_corpus"},
]


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a_regulation.txt").write_text(REGULATION, encoding="utf-8")
    (folder / "b_regulation_traditional.txt").write_text(REGULATION_TRADITIONAL, encoding="utf-8")
    (folder / "c_plan.txt").write_text(PLAN, encoding="utf-8")
    return folder


@pytest.fixture()
def questions(tmp_path: Path) -> Path:
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in QUESTIONS) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- window chunker


def test_window_spans_500_50() -> None:
    assert window_spans(1000) == [(0, 500), (450, 950), (900, 1000)]
    # consecutive windows overlap by exactly 50 characters
    for (_, end), (start, _) in zip(window_spans(2000), window_spans(2000)[1:], strict=False):
        assert end - start == 50
    assert window_spans(950) == [(0, 500), (450, 950)]  # the second window reaches the end: no third
    assert window_spans(951) == [(0, 500), (450, 950), (900, 951)]
    assert window_spans(120) == [(0, 120)]  # a short text is one window
    assert window_spans(500) == [(0, 500)]
    assert window_spans(0) == []
    assert window_spans(10, size=4, overlap=1) == [(0, 4), (3, 7), (6, 10)]
    with pytest.raises(ValueError):
        window_spans(10, size=50, overlap=50)


def test_overlapping_uses_half_open_spans() -> None:
    spans = [(0, 300), (300, 700), (700, 1000)]
    assert overlapping((0, 300), spans) == [0]
    assert overlapping((299, 301), spans) == [0, 1]
    assert overlapping((450, 950), spans) == [1, 2]
    assert overlapping((1000, 1100), spans) == []


def test_cut_windows_maps_offsets_to_units() -> None:
    text = "甲" * 300 + "乙" * 400 + "丙" * 300
    spans = [(0, 300), (300, 700), (700, 1000)]
    windows = cut_windows(text, spans, ["u1", "u2", "u3"], doc_index=7)
    assert [(w.start, w.end) for w in windows] == [(0, 500), (450, 950), (900, 1000)]
    assert [w.units for w in windows] == [("u1", "u2"), ("u2", "u3"), ("u3",)]  # first window spans two units
    assert windows[0].text == "甲" * 300 + "乙" * 200
    assert windows[1].text[:50] == windows[0].text[-50:]  # the overlap
    assert windows[2].text == "丙" * 100
    assert {w.doc_index for w in windows} == {7}


def test_render_document_spans_match_unit_text() -> None:
    units = [
        Unit("第一条", None, ("第一条",), ("为了促进发展，制定本条例。",), 0),
        Unit("第二条", None, ("第二条",), ("本条例自公布之日起施行。", "第二款的内容。"), 1),
        Unit("一、", "总体要求", ("一、总体要求",), ("坚持创新驱动。",), 2),
    ]
    text, spans = render_document("示范条例", units)
    assert (
        text
        == "示范条例\n第一条 为了促进发展，制定本条例。\n第二条 本条例自公布之日起施行。\n第二款的内容。\n一、总体要求\n坚持创新驱动。"
    )
    assert [text[a:b] for a, b in spans] == [unit_block(u) for u in units]
    assert spans[0] == (5, 5 + len("第一条 为了促进发展，制定本条例。"))


def test_ranked_units_dedupes_in_order() -> None:
    units = {0: ("a", "b"), 1: ("b",), 2: ("c", "a"), 3: ("d",)}
    assert ranked_units([2, 0, -1, 1, 3], lambda r: units[r]) == ["c", "a", "b", "d"]
    assert ranked_units([], lambda r: units[r]) == []


# ---------------------------------------------------------------- corpus variants


def test_ingest_copies_keeps_copies_apart(corpus: Path) -> None:
    normal = ingest([corpus], budget=380)
    copies = ingest_copies([corpus], budget=380)
    assert [d.title for d in normal.documents] == ["示范数据条例", "示范数据发展行动计划"]
    assert [d.info.title for d in copies.documents] == ["示范数据条例", "示范数据条例", "示范数据发展行动计划"]
    assert [d.info.sources for d in copies.documents] == [
        ("a_regulation.txt",),
        ("b_regulation_traditional.txt",),
        ("c_plan.txt",),
    ]
    assert len({d.info.doc_id for d in copies.documents}) == 3
    assert len(normal.chunks) == 7
    assert len(copies.chunks) == 11  # the regulation's four articles twice
    citations = [c.unit_citation for c in copies.chunks]
    assert citations.count("《示范数据条例》第二条") == 2
    assert {c.unit_citation for c in normal.chunks} == set(citations)
    # the traditional copy is normalised to simplified before anything is cut
    second = [c.text for c in copies.chunks if c.doc_id == copies.documents[1].info.doc_id]
    assert second[1] == "市数据管理部门负责统筹全市公共数据开放工作。"


def test_windows_for_documents_never_span_two_documents(corpus: Path) -> None:
    copies = ingest_copies([corpus], budget=380)
    windows = windows_for_documents(copies.documents)
    assert [(w.doc_index, w.start) for w in windows] == [(0, 0), (1, 0), (2, 0), (2, 450)]
    assert windows[0].text.startswith("示范数据条例\n第一条 为了促进")
    assert windows[0].units == tuple(f"《示范数据条例》第{n}条" for n in "一二三四")
    assert windows[3].units == ("《示范数据发展行动计划》二、（二）",)


# ---------------------------------------------------------------- end to end


def test_run_baselines_dev_only(tmp_path: Path, corpus: Path, questions: Path) -> None:
    embedder = FakeEmbedder()
    out = tmp_path / "reports" / "baselines.json"
    kwargs = {
        "corpus_dir": corpus,
        "dev_questions": questions,
        "laws_dir": tmp_path / "no-laws",
        "stard_path": tmp_path / "no-stard.jsonl",
        "embedder": embedder,
        "cache_dir": tmp_path / "cache",
        "out_path": out,
        "progress": False,
    }
    report = run_baselines(**kwargs)  # type: ignore[arg-type]
    assert json.loads(out.read_text(encoding="utf-8")) == report
    assert set(report) == {"kind", "embedder", "depth", "sets", "skipped", "seconds"}
    assert (report["kind"], report["embedder"], report["depth"]) == ("baselines", "fake", 100)
    assert len(report["skipped"]) == 1
    assert report["skipped"][0].startswith("statutes: skipped") and "no-laws" in report["skipped"][0]
    (dev,) = report["sets"]
    assert set(dev) == {"name", "description", "questions", "scope", "rows"}
    assert (dev["name"], dev["questions"]) == ("dev", 2)
    assert "3 logical documents (2 after merging copies)" in dev["scope"]
    rows = dev["rows"]
    assert [r["name"] for r in rows] == [
        "typical RAG",
        "+ structure",
        "+ de-duplication",
        "+ hybrid (ours)",
        "windows + hybrid",
    ]
    assert rows[0]["description"] == "500-char windows, 50 overlap, dense only, no de-duplication"
    assert [r["items_indexed"] for r in rows] == [4, 11, 7, 7, 4]
    for row in rows:
        assert set(row) == {"name", "description", "items_indexed", "metrics", "recall_curve"}
        assert list(row["metrics"]) == ["R@1", "R@5", "R@10", "R@100", "MRR@10", "nDCG@10"]
        curve = row["recall_curve"]
        assert len(curve) == 100
        assert curve == sorted(curve)  # one gold unit per question: capped recall cannot fall with k
        assert curve[0] == row["metrics"]["R@1"] and curve[99] == row["metrics"]["R@100"]
        assert row["metrics"]["R@100"] == 1.0  # every unit of this tiny corpus is retrieved
    # near-verbatim questions: our chunks put the gold article first
    assert rows[2]["metrics"]["R@1"] == 1.0 and rows[3]["metrics"]["MRR@10"] == 1.0
    # second run: every vector comes from the cache
    embedder.calls.clear()
    run_baselines(**kwargs)  # type: ignore[arg-type]
    assert embedder.calls == []


def test_run_baselines_skips_statutes_when_not_given(tmp_path: Path, corpus: Path, questions: Path) -> None:
    report = run_baselines(
        corpus_dir=corpus,
        dev_questions=questions,
        laws_dir=None,
        stard_path=None,
        embedder=FakeEmbedder(),
        cache_dir=tmp_path / "cache",
        out_path=tmp_path / "b.json",
        progress=False,
    )
    assert [s["name"] for s in report["sets"]] == ["dev"]
    assert report["skipped"] == ["statutes: skipped (no laws folder or STARD file given)"]
