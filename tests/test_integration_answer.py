"""Integration: the real default GGUF answers from the real corpus with verified citations."""

from __future__ import annotations

from pathlib import Path

import pytest

from answer.answerer import Answerer
from models.embedders import Embedder
from models.generators import Generator
from retriever.search import Searcher
from retriever.store import load_index

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def answerer(real_e5: Embedder, real_index: Path, real_generator: Generator) -> Answerer:
    return Answerer(Searcher(load_index(real_index), real_e5), real_generator)


def test_in_corpus_question_cites_article_six(answerer: Answerer) -> None:
    pieces: list[str] = []
    result = answerer.ask("人工智能產業的主管部門是哪個部門？", on_token=pieces.append)
    assert pieces, "the answer should stream"
    assert not result.abstained
    assert "《深圳经济特区人工智能产业促进条例》第六条" in [c.citation for c in result.citations]
    assert "工业和信息化" in result.answer
    for c in result.citations:
        assert f"[{c.n}]" in result.answer
    assert result.first_token_ms is not None and result.first_token_ms <= result.took_ms


def test_out_of_corpus_question_abstains(answerer: Answerer) -> None:
    result = answerer.ask("交通事故中机动车一方负全责时，赔偿标准怎么计算？")
    assert result.abstained
    assert result.citations == ()
