"""Fusing dense and BM25 rankings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FUSION_METHODS = ("rrf", "convex")


@dataclass(frozen=True)
class FusionConfig:
    """How two rankings are combined.

    ``rrf``: weighted reciprocal-rank fusion, ``sum w / (rrf_k + rank)``.
    ``convex``: ``w_dense * dense_score + w_bm25 * bm25_score / max_bm25`` — score
    aware, so a BM25 list whose best match is weak counts for little.
    """

    method: str = "convex"
    dense_weight: float = 1.0
    bm25_weight: float = 0.05
    rrf_k: int = 60

    def __post_init__(self) -> None:
        if self.method not in FUSION_METHODS:
            raise ValueError(f"unknown fusion method {self.method!r}; valid: {', '.join(FUSION_METHODS)}")


def rrf(rankings: Sequence[Sequence[int]], weights: Sequence[float], k: int = 60) -> dict[int, float]:
    """Weighted reciprocal-rank fusion of ranked row lists (rank 1 = best)."""
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, row in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (k + rank)
    return fused


def convex(
    dense: tuple[np.ndarray, np.ndarray], bm25: tuple[np.ndarray, np.ndarray], w_dense: float, w_bm25: float
) -> dict[int, float]:
    """Score-aware fusion: cosine similarity plus max-normalised BM25 (rows missing from a list add 0)."""
    fused: dict[int, float] = {}
    for score, row in zip(*dense, strict=True):
        if row >= 0:
            fused[int(row)] = w_dense * float(score)
    bm25_scores, bm25_rows = bm25
    top = float(bm25_scores.max()) if bm25_scores.size else 0.0
    if top > 0:
        for score, row in zip(bm25_scores, bm25_rows, strict=True):
            fused[int(row)] = fused.get(int(row), 0.0) + w_bm25 * float(score) / top
    return fused


def fuse(
    config: FusionConfig, dense: tuple[np.ndarray, np.ndarray], bm25: tuple[np.ndarray, np.ndarray]
) -> list[tuple[int, float]]:
    """Fuse two ``(scores, rows)`` results into rows sorted by fused score, best first."""
    if config.method == "rrf":
        fused = rrf(
            [[int(r) for r in dense[1] if r >= 0], [int(r) for r in bm25[1]]],
            [config.dense_weight, config.bm25_weight],
            config.rrf_k,
        )
    else:
        fused = convex(dense, bm25, config.dense_weight, config.bm25_weight)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))
