"""Client-side BM25 sparse vectors (retriever/bm25_sparse.py) against the bm25s oracle the local backend uses."""

from __future__ import annotations

import numpy as np
import pytest

from retriever.bm25_sparse import (
    AVGDL_DRIFT,
    corpus_stats,
    doc_vector,
    query_vector,
    stats_from_json,
    stats_to_json,
)
from retriever.sparse import BM25Index


def _scores(docs: list[list[str]], query: list[str]) -> np.ndarray:
    stats, _ = corpus_stats(docs)
    q = query_vector(query, stats)
    return np.array([sum(w * doc_vector(d, stats).get(i, 0.0) for i, w in q.items()) for d in docs])


def test_equal_to_bm25s_on_random_corpora() -> None:
    rng = np.random.default_rng(7)
    vocab = [f"词{i}" for i in range(40)]
    for _ in range(20):
        docs = [list(rng.choice(vocab, size=int(rng.integers(0, 30)))) for _ in range(int(rng.integers(1, 40)))]
        query = list(rng.choice([*vocab, "未登录"], size=int(rng.integers(1, 6))))  # repeats and unknown terms
        want = BM25Index().build(docs).scores(query)
        np.testing.assert_allclose(_scores(docs, query), want, rtol=2e-5, atol=1e-6)


def test_jieba_terms_of_the_tiny_corpus() -> None:
    from indexer.tokenise import JiebaTokenizer

    tok = JiebaTokenizer(["市产业主管部门"])
    texts = ["市工业和信息化部门是人工智能产业主管部门", "设立人工智能伦理委员会", "伦理委员会研究制定伦理安全规范", ""]
    docs = [tok.terms(t) for t in texts]
    query = tok.terms("伦理委员会的职责")
    np.testing.assert_allclose(_scores(docs, query), BM25Index().build(docs).scores(query), rtol=2e-5)


def test_vocabulary_is_append_only_and_avgdl_frozen_within_drift() -> None:
    base = [["甲", "乙"], ["乙", "丙", "丙"]] * 2  # avgdl 2.5
    first, rewrite = corpus_stats(base)
    assert rewrite and first.vocab == {"丙": 0, "乙": 1, "甲": 2}
    # a new document of about average length: the new term gets the next index, avgdl (now 2.4) stays frozen
    second, rewrite = corpus_stats([*base, ["丁", "甲"]], first)
    assert not rewrite
    assert second.vocab == {**first.vocab, "丁": 3}
    assert second.avgdl == first.avgdl != second.true_avgdl
    assert second.n_docs == 5 and second.df["甲"] == 3
    # a long document moves avgdl by more than the drift: vectors must be rewritten with the new value
    third, rewrite = corpus_stats([*base, ["丁"] * 20], second)
    assert rewrite and third.avgdl == pytest.approx(third.true_avgdl)
    assert abs(third.true_avgdl / second.avgdl - 1) > AVGDL_DRIFT


def test_removed_terms_score_nothing_and_stats_round_trip() -> None:
    first, _ = corpus_stats([["甲", "乙"], ["丙"]])
    second, _ = corpus_stats([["甲", "乙"]], first)
    assert "丙" in second.vocab and query_vector(["丙"], second) == {}
    back = stats_from_json(stats_to_json(second))
    assert back == second
