"""BM25 over jieba terms (bm25s), with the same build/add/remove/search/save/load verbs as the dense index."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np

logger = logging.getLogger(__name__)
# bm25s forces its logger to DEBUG on import (bm25s/__init__.py), which would print routine steps
# through any handler the application configures; put it back under the application's control.
logging.getLogger("bm25s").setLevel(logging.NOTSET)


class BM25Index:
    """Lucene-style BM25 scores for pre-tokenised documents.

    bm25s has no incremental update, so the term lists are kept and ``add``
    re-indexes; ``remove`` masks rows, like the dense index.
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._docs: list[list[str]] = []
        self._deleted: set[int] = set()
        self._bm25: bm25s.BM25 | None = None

    def __len__(self) -> int:
        return len(self._docs) - len(self._deleted)

    def build(self, docs: Sequence[Sequence[str]]) -> BM25Index:
        """Index term lists; row ``i`` is ``docs[i]``."""
        self._docs = [list(d) for d in docs]
        self._deleted = set()
        self._reindex()
        return self

    def _reindex(self) -> None:
        bm25 = bm25s.BM25(k1=self.k1, b=self.b)
        # An empty document still needs a token so that rows keep their positions.
        bm25.index([d or [""] for d in self._docs], show_progress=False)
        self._bm25 = bm25

    def add(self, docs: Sequence[Sequence[str]]) -> None:
        """Append documents (re-indexes: corpus statistics change)."""
        self._docs.extend(list(d) for d in docs)
        self._reindex()

    def remove(self, rows: Sequence[int]) -> None:
        """Mark rows as deleted."""
        self._deleted.update(int(r) for r in rows)

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every row for a query's terms (deleted rows score 0)."""
        if self._bm25 is None and self._docs:
            self._reindex()  # deferred by from_bytes(index=False)
        if self._bm25 is None or not self._docs or not terms:
            return np.zeros(len(self._docs), dtype=np.float32)
        scores = np.asarray(self._bm25.get_scores(list(terms)), dtype=np.float32)
        if self._deleted:
            scores[list(self._deleted)] = 0.0
        return scores

    def search(
        self, terms: Sequence[str], k: int, *, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` rows with a positive score as ``(scores, rows)``, best first."""
        scores = self.scores(terms)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        positive = np.flatnonzero(scores > 0)
        if positive.size == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        k = min(k, positive.size)
        top = positive[np.argpartition(-scores[positive], k - 1)[:k]]
        top = top[np.argsort(-scores[top], kind="stable")]
        return scores[top], top.astype(np.int64)

    def to_bytes(self) -> tuple[bytes, bytes]:
        """``(terms.jsonl, params.json)`` file contents (see ``save``)."""
        params = json.dumps({"k1": self.k1, "b": self.b, "deleted": sorted(self._deleted)})
        terms = "".join(json.dumps(doc, ensure_ascii=False) + "\n" for doc in self._docs)
        return terms.encode("utf-8"), params.encode("utf-8")

    @classmethod
    def from_bytes(cls, terms: bytes, params: bytes, *, index: bool = True) -> BM25Index:
        """Inverse of ``to_bytes``; raises ``ValueError``/``KeyError``/``TypeError`` on damaged data.

        ``index=False`` defers building the BM25 matrix to the first search."""
        p = json.loads(params)
        bm25 = cls(k1=float(p["k1"]), b=float(p["b"]))
        bm25._docs = [json.loads(line) for line in terms.decode("utf-8").splitlines()]
        if not all(isinstance(d, list) and all(isinstance(t, str) for t in d) for d in bm25._docs):
            raise ValueError("bm25 terms must be lists of strings")
        bm25._deleted = {int(r) for r in p.get("deleted", [])}
        if index:
            bm25._reindex()
        return bm25

    @property
    def terms(self) -> list[list[str]]:
        """Each row's term list (for reuse by an incremental build)."""
        return self._docs

    def save(self, folder: Path) -> None:
        """Write the term lists and parameters; the BM25 matrix is rebuilt on load (fast: sparse counting)."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "params.json").write_text(
            json.dumps({"k1": self.k1, "b": self.b, "deleted": sorted(self._deleted)}), encoding="utf-8"
        )
        with (folder / "terms.jsonl").open("w", encoding="utf-8") as fh:
            for doc in self._docs:
                fh.write(json.dumps(doc, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        """Read an index written by ``save``."""
        params = json.loads((folder / "params.json").read_text(encoding="utf-8"))
        index = cls(k1=params["k1"], b=params["b"])
        with (folder / "terms.jsonl").open(encoding="utf-8") as fh:
            index._docs = [json.loads(line) for line in fh]
        index._deleted = set(params.get("deleted", []))
        index._reindex()
        return index
