"""Second-stage reranking of fused results: a prior for the authority of the source.

In Chinese law a 法律 (a statute of the NPC or its Standing Committee, titled ``…法`` or
``…法典``) ranks above the regulations, rules and interpretations that implement it. When a
question's candidates include both, the statute is usually what a citation should point at.
``AuthorityPrior`` adds a small constant to the fused score of statute articles. On the 300
STARD questions used for tuning, boost 0.02 raised R@10 from 0.544 to 0.567 and on the 935
held-out ones from 0.556 to 0.567 (``policyrag eval statutes``). It is opt-in (setting
``authority_boost``), since a policy corpus without statutes gains nothing from it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

STATUTE_TITLE = re.compile(r"(法|法典)$")


def is_statute(title: str) -> bool:
    """True for a 法律 title: ``中华人民共和国民法典``, ``劳动合同法``; not ``…条例``, ``…的解释``."""
    return bool(STATUTE_TITLE.search(title))


@dataclass(frozen=True)
class AuthorityPrior:
    """Adds ``boost`` to the fused score of every row whose document is a statute."""

    boost: float
    statute_rows: np.ndarray  # boolean, one entry per index row

    @classmethod
    def for_titles(cls, row_titles: Sequence[str], boost: float) -> AuthorityPrior:
        """The prior for an index whose row ``i`` belongs to a document titled ``row_titles[i]``."""
        flags = {t: is_statute(t) for t in set(row_titles)}
        return cls(boost, np.array([flags[t] for t in row_titles], dtype=bool))

    def rerank(self, fused: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
        """Rows re-sorted after the boost, best first (a stable sort keeps ties in fused order)."""
        boosted = [(row, score + (self.boost if self.statute_rows[row] else 0.0)) for row, score in fused]
        return sorted(boosted, key=lambda rs: -rs[1])

    def describe(self) -> str:
        """One line for reports."""
        return f"authority prior (+{self.boost:g} for statutes, titles ending 法/法典)"
