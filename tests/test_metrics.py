"""Ranking metrics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from eval.common.metrics import hit_at_k, mrr_at_k, ndcg_at_k, percentile, recall_at_k

A, B, C, X, Y, Z = "第六条", "第七条", "第八条", "第一条", "第二条", "第三条"


@pytest.mark.parametrize(
    ("ranked", "gold", "k", "expected"),
    [
        ([A, X, B], {A, B, C}, 1, 1.0),  # capped: 1 found / min(3, 1)
        ([A, X, B], {A, B, C}, 2, 0.5),  # 1 / min(3, 2)
        ([A, X, B], {A, B, C}, 3, 2 / 3),  # 2 / 3
        ([A, X, B], {A, B, C}, 10, 2 / 3),  # more k than results
        ([X, Y, Z], {A, B}, 3, 0.0),
        ([X, A], {A, B}, 1, 0.0),
        ([A, A, B], {A, B}, 2, 0.5),  # duplicates in the ranking count once
        ([B, A], [A, B, B], 2, 1.0),  # duplicates in gold count once
    ],
)
def test_recall_at_k(ranked: list[str], gold: set[str] | list[str], k: int, expected: float) -> None:
    assert recall_at_k(ranked, gold, k) == pytest.approx(expected)


def test_recall_needs_gold() -> None:
    with pytest.raises(ValueError):
        recall_at_k([A], set(), 5)


@pytest.mark.parametrize(
    ("ranked", "gold", "k", "expected"),
    [
        ([X, Y, A], {A, B}, 3, 1.0),
        ([X, Y, A], {A, B}, 2, 0.0),
        ([], {A}, 5, 0.0),
    ],
)
def test_hit_at_k(ranked: list[str], gold: set[str], k: int, expected: float) -> None:
    assert hit_at_k(ranked, gold, k) == expected


@pytest.mark.parametrize(
    ("ranked", "gold", "k", "expected"),
    [
        ([A, B], {A, B}, 10, 1.0),
        ([X, Y, B, A], {A, B}, 10, 1 / 3),  # the first gold item counts
        ([X, Y, B], {A, B}, 2, 0.0),  # outside the cut-off
        ([X, Y, Z], {A}, 10, 0.0),
    ],
)
def test_mrr_at_k(ranked: list[str], gold: set[str], k: int, expected: float) -> None:
    assert mrr_at_k(ranked, gold, k) == pytest.approx(expected)


def test_mrr_default_cutoff_is_ten() -> None:
    ranked = [f"x{i}" for i in range(10)] + [A]
    assert mrr_at_k(ranked, {A}) == 0.0
    assert mrr_at_k(ranked, {A}, k=11) == pytest.approx(1 / 11)


def _dcg(ranks: list[int]) -> float:
    return sum(1 / math.log2(r + 1) for r in ranks)


@pytest.mark.parametrize(
    ("ranked", "gold", "k", "expected"),
    [
        ([A, B], {A, B}, 10, 1.0),
        ([X, A, B], {A, B}, 10, _dcg([2, 3]) / _dcg([1, 2])),  # ≈ 0.6934
        ([X, A, B], {A, B}, 2, _dcg([2]) / _dcg([1, 2])),
        ([A, X], {A, B, C}, 2, _dcg([1]) / _dcg([1, 2])),  # ideal capped at k
        ([X, Y, C], {A, B, C}, 3, _dcg([3]) / _dcg([1, 2, 3])),
        ([A, A, B], {A, B}, 3, _dcg([1, 3]) / _dcg([1, 2])),  # a repeated item gains once
        ([X, Y], {A}, 10, 0.0),
        ([A], set(), 10, 0.0),
    ],
)
def test_ndcg_at_k(ranked: list[str], gold: set[str], k: int, expected: float) -> None:
    assert ndcg_at_k(ranked, gold, k) == pytest.approx(expected)


def test_ndcg_hand_value() -> None:
    assert ndcg_at_k([X, A, B], {A, B}, 10) == pytest.approx(0.693426, abs=1e-6)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([4.0, 1.0, 3.0, 2.0], 50, 2.5),  # order does not matter
        ([1.0, 2.0, 3.0, 4.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 100, 4.0),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 95, 48.0),  # pos 3.8 → 40 + 0.8 * 10
        ([7.0], 95, 7.0),
    ],
)
def test_percentile(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
