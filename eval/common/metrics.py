"""Ranking metrics over unit identifiers (citations). Pure functions."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence


def ranked_units(rows: Sequence[int], units_of_row: Callable[[int], Sequence[str]]) -> list[str]:
    """Distinct unit ids in rank order: each row contributes its units in order, first occurrence kept.

    Negative rows (FAISS pads short result lists with -1) are skipped. A chunk maps to one unit
    (its citation); a baseline window to every article it overlaps.
    """
    seen: set[str] = set()
    out: list[str] = []
    for row in rows:
        if row < 0:
            continue
        for unit in units_of_row(row):
            if unit not in seen:
                seen.add(unit)
                out.append(unit)
    return out


def recall_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    """Capped recall: gold items found in the top ``k`` / ``min(len(gold), k)``.

    Capping (as in BEIR's R_cap) makes R@1 = 1 when the first result is one of
    two gold articles, so questions with several gold articles are not penalised
    for a cut-off smaller than their gold set.
    """
    if not gold:
        raise ValueError("recall is undefined without gold items")
    found = len(set(ranked[:k]) & set(gold))
    return found / min(len(set(gold)), k)


def hit_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    """1.0 when any gold item is in the top ``k``."""
    return 1.0 if set(ranked[:k]) & set(gold) else 0.0


def mrr_at_k(ranked: Sequence[str], gold: Collection[str], k: int = 10) -> float:
    """Reciprocal rank of the first gold item within the top ``k`` (0 when none)."""
    gold_set = set(gold)
    for i, item in enumerate(ranked[:k], start=1):
        if item in gold_set:
            return 1.0 / i
    return 0.0


def ndcg_at_k(ranked: Sequence[str], gold: Collection[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k (each gold item has gain 1; duplicates in ``ranked`` count once)."""
    gold_set = set(gold)
    seen: set[str] = set()
    dcg = 0.0
    for i, item in enumerate(ranked[:k], start=1):
        if item in gold_set and item not in seen:
            dcg += 1.0 / math.log2(i + 1)
            seen.add(item)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(gold_set), k) + 1))
    return dcg / ideal if ideal else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (``q`` in 0..100) of a non-empty sequence."""
    if not values:
        raise ValueError("percentile of no values")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


RECALL_KS = (1, 5, 10, 100)


def score_ranking(ranked: Sequence[str], gold: Sequence[str]) -> dict[str, float]:
    """The study's metrics for one ranked, de-duplicated unit list."""
    scores = {f"R@{k}": recall_at_k(ranked, gold, k) for k in RECALL_KS}
    scores["MRR@10"] = mrr_at_k(ranked, gold, 10)
    scores["nDCG@10"] = ndcg_at_k(ranked, gold, 10)
    return scores
