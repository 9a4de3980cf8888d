"""DenseIndex against a brute-force numpy oracle (flat exact, HNSW approximate)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np
import pytest

from retriever.dense import DenseIndex

DIM = 32
N = 2000
HNSW_THRESHOLD = 1000  # force HNSW for N vectors
K = 10


def _unit_vectors(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _brute_force(
    vectors: np.ndarray, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k by inner product in float64; disallowed rows never qualify."""
    scores = queries.astype(np.float64) @ vectors.astype(np.float64).T
    if allowed is not None:
        scores = np.where(allowed[None, :], scores, -np.inf)
    rows = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, rows, axis=1), rows


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


@pytest.fixture(scope="module", autouse=True)
def _single_thread() -> Iterator[None]:
    """OpenMP threads only add contention at this size (HNSW builds 20x faster on one thread)."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240521)
    return _unit_vectors(rng, N), _unit_vectors(rng, 25)


def test_flat_search_equals_brute_force(data: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = data
    index = DenseIndex(DIM).build(vectors)
    assert index.kind == "flat"
    assert len(index) == N
    scores, rows = index.search(queries, K)
    truth_scores, truth_rows = _brute_force(vectors, queries, K)
    np.testing.assert_array_equal(rows, truth_rows)
    np.testing.assert_allclose(scores, truth_scores, rtol=1e-5, atol=1e-5)


def test_hnsw_recall_against_brute_force(data: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = data
    index = DenseIndex(DIM, hnsw_threshold=HNSW_THRESHOLD).build(vectors)
    assert index.kind == "hnsw"
    scores, rows = index.search(queries, K)
    _, truth_rows = _brute_force(vectors, queries, K)
    assert _recall(rows, truth_rows) >= 0.95
    # returned scores are the true inner products of the returned rows, best first
    np.testing.assert_allclose(scores, np.einsum("qd,qkd->qk", queries, vectors[rows]), rtol=1e-5, atol=1e-5)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)


@pytest.mark.parametrize("threshold", [10**9, HNSW_THRESHOLD], ids=["flat", "hnsw"])
def test_allowed_mask_is_respected(data: tuple[np.ndarray, np.ndarray], threshold: int) -> None:
    vectors, queries = data
    index = DenseIndex(DIM, hnsw_threshold=threshold).build(vectors)
    allowed = np.zeros(N, dtype=bool)
    allowed[::3] = True
    _, rows = index.search(queries, K, allowed=allowed)
    assert np.all(rows >= 0)
    assert allowed[rows].all()
    _, truth_rows = _brute_force(vectors, queries, K, allowed)
    if index.kind == "flat":
        np.testing.assert_array_equal(rows, truth_rows)
    else:
        assert _recall(rows, truth_rows) >= 0.95


def test_allowed_mask_smaller_than_k_pads_with_minus_one(data: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = data
    index = DenseIndex(DIM).build(vectors)
    allowed = np.zeros(N, dtype=bool)
    allowed[[5, 17, 590]] = True
    _, rows = index.search(queries[:1], K, allowed=allowed)
    assert set(rows[0][:3]) == {5, 17, 590}
    assert list(rows[0][3:]) == [-1] * (K - 3)


@pytest.mark.parametrize("threshold", [10**9, HNSW_THRESHOLD], ids=["flat", "hnsw"])
def test_removed_rows_are_never_returned(data: tuple[np.ndarray, np.ndarray], threshold: int) -> None:
    vectors, queries = data
    index = DenseIndex(DIM, hnsw_threshold=threshold).build(vectors)
    _, before = index.search(queries, K)
    removed = np.unique(before[:, :3])  # the best hits of every query
    index.remove(removed)
    assert len(index) == N - len(removed)
    _, after = index.search(queries, K)
    assert not np.isin(after, removed).any()
    # removal and an allowed mask combine
    allowed = np.ones(N, dtype=bool)
    allowed[before[:, 3]] = False
    _, both = index.search(queries, K, allowed=allowed)
    assert not np.isin(both, removed).any()
    assert allowed[both[both >= 0]].all()


def test_add_appends_rows(data: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, _ = data
    index = DenseIndex(DIM).build(vectors[:100])
    index.add(vectors[100:200])
    assert len(index) == 200
    _, rows = index.search(vectors[150:151], 1)
    assert rows[0, 0] == 150


def test_k_larger_than_index_is_clipped(data: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = data
    index = DenseIndex(DIM).build(vectors[:4])
    scores, rows = index.search(queries[:2], 50)
    assert rows.shape == scores.shape == (2, 4)
    assert sorted(rows[0]) == [0, 1, 2, 3]


@pytest.mark.parametrize("threshold", [10**9, HNSW_THRESHOLD], ids=["flat", "hnsw"])
def test_save_load_round_trip(data: tuple[np.ndarray, np.ndarray], threshold: int, tmp_path: Path) -> None:
    vectors, queries = data
    index = DenseIndex(DIM, hnsw_threshold=threshold).build(vectors)
    index.remove([1, 2, 3])
    path = tmp_path / "vectors.faiss"
    index.save(path)
    loaded = DenseIndex.load(path)
    assert loaded.dim == DIM
    assert loaded.kind == index.kind
    assert len(loaded) == len(index)
    for got, want in zip(loaded.search(queries, K), index.search(queries, K), strict=True):
        np.testing.assert_array_equal(got, want)


def test_wrong_dimension_is_a_value_error(data: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = data
    with pytest.raises(ValueError, match=rf"\(n, {DIM}\)"):
        DenseIndex(DIM).build(vectors[:, :16])
    index = DenseIndex(DIM).build(vectors[:10])
    with pytest.raises(ValueError):
        index.add(np.ones((2, DIM + 1), dtype=np.float32))
    with pytest.raises(ValueError):
        index.search(queries[:, :-1], K)
    with pytest.raises(ValueError):
        index.search(queries[0], K)  # a single vector must be shaped (1, dim)


def test_empty_index_returns_no_rows() -> None:
    _, rows = DenseIndex(DIM).search(np.ones((1, DIM), dtype=np.float32), K)
    assert (rows == -1).all()
