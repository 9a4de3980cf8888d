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


def test_near_topic_question_the_sources_do_not_answer_abstains(answerer: Answerer) -> None:
    # Retrieval finds on-topic articles (AI-company incentives, in Shenzhen); the answerability
    # check sees that none of them makes a question about Hong Kong's research funding likely.
    result = answerer.ask("香港的人工智能企業可以申請哪些政府科研資助？")
    assert result.abstained and result.citations == ()
    assert result.question_pmi is not None and result.question_pmi < answerer.settings.min_question_pmi


def test_answerability_separates_a_question_the_source_answers_from_one_it_does_not(
    answerer: Answerer, real_generator: Generator
) -> None:
    from answer.answerability import question_pmi
    from answer.sources import Source

    art6 = next(c for c in answerer.searcher.index.chunks if c.citation == "《深圳经济特区人工智能产业促进条例》第六条")
    source = Source(1, art6.chunk_id, art6.citation, art6.doc_title, art6.article, art6.text, (art6.text,), 1.0)
    answered = question_pmi(real_generator, "深圳人工智能产业的主管部门是哪个部门？", source)
    unanswered = question_pmi(real_generator, "交通事故中机动车一方负全责时，赔偿标准怎么计算？", source)
    assert answered >= answerer.settings.min_question_pmi > unanswered


def test_selective_logits_match_a_model_that_keeps_every_logit(real_generator: Generator) -> None:
    """Oracle: the batched scorer (logits only where needed, several batches) equals llama.cpp with logits_all."""
    import llama_cpp
    import numpy as np

    from models.llama_scoring import token_logprobs

    path = str(ROOT / "models" / "qwen2.5-0.5b-instruct-q4_k_m.gguf")
    small_batches = llama_cpp.Llama(model_path=path, n_ctx=256, n_batch=16, n_threads=2, verbose=False)
    oracle = llama_cpp.Llama(model_path=path, n_ctx=256, logits_all=True, n_threads=2, verbose=False)

    def tok(text: str) -> list[int]:
        return small_batches.tokenize(text.encode(), add_bos=False)

    prefix = tok("资料：市工业和信息化部门是人工智能产业主管部门，负责统筹推进人工智能产业发展。\n\n问题：")
    text = tok("人工智能产业的主管部门是哪个部门？")
    fast = token_logprobs(small_batches, prefix, text)
    oracle.eval(prefix + text)
    logits = np.asarray(oracle.scores[len(prefix) - 1 : len(prefix) + len(text) - 1], dtype=np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    expected = logits[np.arange(len(text)), text] - np.log(np.exp(logits).sum(axis=1))
    assert len(prefix) > 16  # the prefix spans several batches
    np.testing.assert_allclose(fast, expected, atol=1e-3)
    # Scoring leaves the context empty, so generation afterwards is unaffected (and repeatable).
    again = token_logprobs(small_batches, prefix, text)
    np.testing.assert_allclose(again, fast, atol=1e-6)
