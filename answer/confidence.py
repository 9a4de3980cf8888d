"""Retrieval confidence: is there anything in the index that could answer the question?

The rule is relative to the question itself, not an absolute score, because e5
cosine similarities sit in a narrow band (0.83-0.93 on the dev set for answerable
and unanswerable questions alike). Two signals, calibrated on the dev set's 120
in-corpus and 20 out-of-corpus questions (eval/studies/answer_calibration.py):

* ``dense_top``: cosine similarity of the best dense hit;
* ``coverage``: share of the question's jieba terms that occur in the best fused hit.

A question is answerable when ``dense_top >= min_dense`` and
``coverage >= min_coverage`` — or ``dense_top >= sure_dense`` whatever the coverage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from retriever.search import Candidates


@dataclass(frozen=True)
class ConfidenceRule:
    """Thresholds of the answerability rule (see module docstring)."""

    min_dense: float = 0.83
    min_coverage: float = 0.15
    sure_dense: float = 0.93


@dataclass(frozen=True)
class Confidence:
    """The signals and the verdict."""

    dense_top: float
    coverage: float
    answerable: bool


def assess(
    question: str,
    cands: Candidates,
    top_text: str | None,
    *,
    terms: Callable[[str], list[str]],
    rule: ConfidenceRule,
) -> Confidence:
    """Apply ``rule`` to a question's candidates; ``top_text`` is the best fused hit's text."""
    dense_top = float(cands.dense[0][0]) if len(cands.dense[0]) and cands.dense[1][0] >= 0 else 0.0
    q_terms = set(terms(question))
    coverage = len(q_terms & set(terms(top_text or ""))) / len(q_terms) if q_terms else 0.0
    answerable = dense_top >= rule.sure_dense or (dense_top >= rule.min_dense and coverage >= rule.min_coverage)
    return Confidence(round(dense_top, 4), round(coverage, 4), answerable)
