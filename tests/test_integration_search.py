"""Integration: the real default embedder (e5-small) over the real corpus/."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.common.questions import DEFAULT_QUESTIONS
from eval.suites.retrieval import evaluate_retrieval
from models.embedders import Embedder
from retriever.search import Searcher
from retriever.store import load_index

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
REGULATION = "深圳经济特区人工智能产业促进条例"


@pytest.fixture(scope="module")
def searcher(real_e5: Embedder, real_index: Path) -> Searcher:
    return Searcher(load_index(real_index), real_e5)


def test_traditional_question_returns_article_six_first_once(searcher: Searcher) -> None:
    response = searcher.search("人工智能產業的主管部門是哪個部門？", k=10)
    top = response.results[0]
    assert top.citation == f"《{REGULATION}》第六条"
    assert "市工业和信息化部门是人工智能产业主管部门" in top.text
    # One regulation, three copies in the corpus: indexed once, provenance kept.
    assert len(top.sources) == 3
    assert [r.citation for r in response.results].count(top.citation) == 1


def test_no_article_twice_in_top_ten(searcher: Searcher) -> None:
    for query in ["伦理委员会有哪些职责", "深圳人工智能芯片", "人才引进政策", "數據開放平臺"]:
        units = [(r.doc_id, r.article or r.citation) for r in searcher.search(query, k=10).results]
        assert len(units) == len(set(units)), query


def test_clean_variant_chosen_for_article_ten(searcher: Searcher) -> None:
    hit = searcher.search("监管规则和标准 分类分级监管", k=3, doc="sz-ai-regulation").results[0]
    assert hit.article == "第十条"
    assert "监管规则和标准" in hit.text and " and " not in hit.text


def test_mojibake_never_indexed(searcher: Searcher) -> None:
    for chunk in searcher.index.chunks:
        for bad in ("ㄒ", "┭", "ぶ", "Υ", "θ"):
            assert bad not in chunk.text


def test_documents_and_types(searcher: Searcher) -> None:
    types = {d.title: d.doc_type for d in searcher.index.documents}
    assert types[REGULATION] == "regulation"
    assert types[f"{REGULATION}解读"] == "interpretation"
    assert types["深圳市新一代人工智能发展行动计划（2019-2023年）"] == "plan"
    assert len(types) == 5


def test_outline_citation_form(searcher: Searcher) -> None:
    citations = {c.citation for c in searcher.index.chunks}
    assert "《深圳市新一代人工智能发展行动计划（2019-2023年）》三、（一）1." in citations
    assert "《深圳市新一代人工智能发展行动计划（2019-2023年）》专栏3" in citations


def test_dev_set_quality_floor(searcher: Searcher) -> None:
    """A regression floor, well under the measured figures (README): hybrid must stay ahead of both parts."""
    report = evaluate_retrieval(searcher, DEFAULT_QUESTIONS)
    scores = {m.method: m for m in report.methods}
    assert scores["hybrid"].recall[5] >= 0.95
    assert scores["hybrid"].recall[1] >= 0.80
    assert scores["hybrid"].mrr10 >= max(scores["dense"].mrr10, scores["bm25"].mrr10)
