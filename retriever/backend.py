"""Index backends behind one small protocol: ``local`` (FAISS + bm25s folder, the default) and ``milvus``.

The searcher asks a backend for candidate rows (dense and sparse, under a ``RowFilter``) and fuses them itself,
so ranking is the same whichever backend holds the vectors. Row ``i`` is ``index.chunks[i]`` for every backend.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from retriever.rowfilter import RowFilter, RowMasks
from retriever.store import IndexStoreError, LoadedIndex, load_index

logger = logging.getLogger(__name__)

BACKENDS = ("local", "milvus")
DEFAULT_COLLECTION = "policyrag"


class UnknownBackendError(ValueError):
    """A backend name that is not registered (the message lists the valid ones)."""


def check_backend(name: str) -> str:
    """``name`` when it is a registered backend, else ``UnknownBackendError`` listing the valid names."""
    if name not in BACKENDS:
        raise UnknownBackendError(f"unknown index backend {name!r}; valid: {', '.join(BACKENDS)}")
    return name


class SearchBackend(Protocol):
    """What the searcher needs from an index backend."""

    name: str

    @property
    def dim(self) -> int:
        """Dimension of the stored dense vectors."""
        ...

    @property
    def has_sparse(self) -> bool:
        """True when BM25 (sparse) search is available."""
        ...

    def dense_search(self, query: np.ndarray, k: int, rows: RowFilter | None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows by inner product with one query vector as ``(scores, rows)``, best first."""
        ...

    def sparse_search(self, terms: Sequence[str], k: int, rows: RowFilter | None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` rows with a positive BM25 score for a query's terms as ``(scores, rows)``, best first."""
        ...

    def row_mask(self, rows: RowFilter | None) -> np.ndarray | None:
        """The filter as a boolean mask over rows (None = every row)."""
        ...

    def rebind(self, index: LoadedIndex) -> SearchBackend:
        """This backend serving ``index`` (after a reload)."""
        ...


class LocalBackend:
    """Today's index folder: FAISS for dense vectors, bm25s for BM25, filters as row masks."""

    name = "local"

    def __init__(self, index: LoadedIndex) -> None:
        self.index = index
        self.masks = RowMasks(index.chunks, index.documents)

    @property
    def dim(self) -> int:
        return self.index.dense.dim

    @property
    def has_sparse(self) -> bool:
        return True

    def row_mask(self, rows: RowFilter | None) -> np.ndarray | None:
        return self.masks.mask(rows)

    def dense_search(self, query: np.ndarray, k: int, rows: RowFilter | None) -> tuple[np.ndarray, np.ndarray]:
        scores, found = self.index.dense.search(query.reshape(1, -1), k, allowed=self.row_mask(rows))
        return scores[0], found[0]

    def sparse_search(self, terms: Sequence[str], k: int, rows: RowFilter | None) -> tuple[np.ndarray, np.ndarray]:
        return self.index.bm25.search(terms, k, allowed=self.row_mask(rows))

    def rebind(self, index: LoadedIndex) -> LocalBackend:
        return LocalBackend(index)


@dataclass(frozen=True)
class IndexLocation:
    """Where an index lives: a local folder, or a Milvus collection (Lite file or server)."""

    backend: str = "local"
    index_dir: Path = Path("indexes/default")
    uri: str | None = None
    token: str | None = None
    collection: str = DEFAULT_COLLECTION
    consistency: str = "Strong"  # Milvus searches: Strong, Session, Bounded or Eventually

    def describe(self) -> str:
        """Where, in words (for messages)."""
        if self.backend == "local":
            return str(self.index_dir)
        return f"Milvus collection {self.collection!r} at {self.uri}"


def open_index(where: IndexLocation, *, expect_embedder: str | None = None) -> tuple[LoadedIndex, SearchBackend]:
    """Load the index at ``where`` and the backend that searches it."""
    check_backend(where.backend)
    if where.backend == "local":
        index = load_index(where.index_dir, expect_embedder=expect_embedder)
        return index, LocalBackend(index)
    if not where.uri:
        raise IndexStoreError("the milvus backend needs --uri (a Lite file ending in .db, or http://host:19530)")
    from retriever.milvus_search import MilvusBackend

    backend = MilvusBackend.open(
        where.uri, token=where.token, collection=where.collection, consistency=where.consistency
    )
    index = backend.index
    if expect_embedder is not None and expect_embedder != index.manifest.embedder:
        raise IndexStoreError(
            f"{where.describe()} was built with embedder {index.manifest.embedder!r}, not {expect_embedder!r}"
        )
    return index, backend
