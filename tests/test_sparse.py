"""BM25Index over pre-tokenised documents (term lists as JiebaTokenizer.terms would give)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retriever.sparse import BM25Index

DOCS = [
    ["人工智能", "伦理", "委员会", "职责", "伦理", "安全", "规范"],  # 0
    ["公共", "数据", "开放", "平台", "共享", "目录"],  # 1
    ["人工智能", "产业", "园区", "建设", "用地"],  # 2
    ["产业", "主管部门", "统计", "分类", "目录"],  # 3
    ["华为", "人工智能", "芯片", "算力"],  # 4
]


@pytest.fixture()
def index() -> BM25Index:
    return BM25Index().build(DOCS)


def test_doc_with_the_query_term_ranks_first(index: BM25Index) -> None:
    scores, rows = index.search(["伦理"], 5)
    assert list(rows) == [0]
    assert scores[0] > 0
    scores, rows = index.search(["芯片", "算力"], 5)
    assert rows[0] == 4


def test_results_are_best_first_and_positive(index: BM25Index) -> None:
    scores, rows = index.search(["人工智能", "产业"], 10)
    assert set(rows) == {0, 2, 3, 4}
    assert rows[0] == 2  # the only document with both terms
    assert np.all(np.diff(scores) <= 0)
    assert np.all(scores > 0)
    all_scores = index.scores(["人工智能", "产业"])
    np.testing.assert_allclose(scores, all_scores[rows])
    assert all_scores[1] == 0


def test_k_limits_results(index: BM25Index) -> None:
    _, rows = index.search(["人工智能"], 2)
    assert len(rows) == 2


def test_unknown_terms_give_no_results(index: BM25Index) -> None:
    scores, rows = index.search(["区块链", "元宇宙"], 5)
    assert scores.size == 0
    assert rows.size == 0
    assert rows.dtype == np.int64


def test_allowed_mask(index: BM25Index) -> None:
    allowed = np.array([False, True, True, True, False])
    _, rows = index.search(["人工智能"], 5, allowed=allowed)
    assert list(rows) == [2]
    _, none = index.search(["伦理"], 5, allowed=allowed)
    assert none.size == 0


def test_remove(index: BM25Index) -> None:
    index.remove([2])
    assert len(index) == len(DOCS) - 1
    _, rows = index.search(["人工智能"], 5)
    assert 2 not in rows
    assert set(rows) == {0, 4}
    assert index.scores(["园区"])[2] == 0


def test_add_keeps_row_numbers_and_removals(index: BM25Index) -> None:
    index.remove([0])
    index.add([["伦理", "审查", "风险", "评估"]])
    assert len(index) == len(DOCS)  # one removed, one added
    _, rows = index.search(["伦理"], 5)
    assert list(rows) == [5]
    _, rows = index.search(["华为"], 5)
    assert list(rows) == [4]


def test_empty_document_keeps_positions() -> None:
    index = BM25Index().build([["人工智能"], [], ["芯片"]])
    _, rows = index.search(["芯片"], 5)
    assert list(rows) == [2]


def test_save_load_round_trip_gives_identical_scores(tmp_path: Path) -> None:
    index = BM25Index(k1=1.5, b=0.5).build(DOCS)
    index.remove([3])
    folder = tmp_path / "bm25"
    index.save(folder)
    loaded = BM25Index.load(folder)
    assert (loaded.k1, loaded.b) == (1.5, 0.5)
    assert len(loaded) == len(index)
    for query in (["人工智能"], ["产业", "目录"], ["伦理", "华为", "区块链"]):
        np.testing.assert_array_equal(loaded.scores(query), index.scores(query))
        for got, want in zip(loaded.search(query, 5), index.search(query, 5), strict=True):
            np.testing.assert_array_equal(got, want)


def test_parameters_change_scores() -> None:
    a = BM25Index(k1=1.2, b=0.75).build(DOCS).scores(["伦理"])
    b = BM25Index(k1=2.0, b=0.0).build(DOCS).scores(["伦理"])
    assert a[0] != b[0]


def test_empty_query_gives_no_results(index: BM25Index) -> None:
    scores, rows = index.search([], 5)
    assert scores.size == rows.size == 0
