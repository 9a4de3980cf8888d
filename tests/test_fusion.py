"""Fusing dense and BM25 rankings: hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from retriever.fusion import FUSION_METHODS, FusionConfig, convex, fuse, rrf


def _result(scores: list[float], rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(scores, dtype=np.float32), np.asarray(rows, dtype=np.int64)


def test_rrf_hand_computed() -> None:
    fused = rrf([[1, 2, 3], [3, 1]], [1.0, 1.0], k=60)
    assert fused == pytest.approx({1: 1 / 61 + 1 / 62, 2: 1 / 62, 3: 1 / 63 + 1 / 61})


def test_rrf_weights() -> None:
    fused = rrf([[1, 2, 3], [3, 1]], [1.0, 0.5], k=10)
    assert fused == pytest.approx({1: 1 / 11 + 0.5 / 12, 2: 1 / 12, 3: 1 / 13 + 0.5 / 11})
    only_first = rrf([[1, 2], [2, 1]], [1.0, 0.0], k=60)
    assert max(only_first, key=only_first.__getitem__) == 1


def test_rrf_needs_one_weight_per_ranking() -> None:
    with pytest.raises(ValueError):
        rrf([[1], [2]], [1.0])


def test_convex_hand_computed() -> None:
    dense = _result([0.9, 0.5, -3.4e38], [2, 0, -1])  # -1: FAISS found fewer than k
    bm25 = _result([4.0, 2.0], [0, 5])
    fused = convex(dense, bm25, 1.0, 0.3)
    assert fused == pytest.approx({2: 0.9, 0: 0.5 + 0.3 * 4.0 / 4.0, 5: 0.3 * 2.0 / 4.0})


def test_convex_weights_and_empty_bm25() -> None:
    dense = _result([0.8, 0.6], [7, 3])
    assert convex(dense, _result([], []), 0.5, 1.0) == pytest.approx({7: 0.4, 3: 0.3})
    assert convex(dense, _result([2.0], [3]), 0.0, 1.0) == pytest.approx({7: 0.0, 3: 1.0})


def test_convex_bm25_is_max_normalised() -> None:
    dense = _result([0.5], [0])
    weak = convex(dense, _result([0.2, 0.1], [1, 2]), 1.0, 1.0)
    strong = convex(dense, _result([20.0, 10.0], [1, 2]), 1.0, 1.0)
    assert weak == pytest.approx(strong)
    assert weak == pytest.approx({0: 0.5, 1: 1.0, 2: 0.5})


def test_fuse_convex_sorts_best_first_and_breaks_ties_by_row() -> None:
    dense = _result([0.9, 0.5, 0.5], [2, 4, 1])
    bm25 = _result([], [])
    fused = fuse(FusionConfig(method="convex", dense_weight=1.0, bm25_weight=0.3), dense, bm25)
    assert [row for row, _ in fused] == [2, 1, 4]
    assert [score for _, score in fused] == pytest.approx([0.9, 0.5, 0.5])


def test_fuse_rrf_ignores_missing_dense_rows() -> None:
    dense = _result([0.9, 0.8, -3.4e38], [4, 2, -1])
    bm25 = _result([3.0, 1.0], [2, 9])
    fused = fuse(FusionConfig(method="rrf", dense_weight=1.0, bm25_weight=1.0, rrf_k=60), dense, bm25)
    assert [row for row, _ in fused] == [2, 4, 9]
    assert dict(fused) == pytest.approx({2: 1 / 62 + 1 / 61, 4: 1 / 61, 9: 1 / 62})
    assert -1 not in dict(fused)


def test_fusion_config_defaults() -> None:
    config = FusionConfig()
    assert config.method == "convex"
    assert config.method in FUSION_METHODS


def test_unknown_method_error_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown fusion method 'bm25'") as exc:
        FusionConfig(method="bm25")
    for name in FUSION_METHODS:
        assert name in str(exc.value)
