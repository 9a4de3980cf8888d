"""Hybrid search: normalise the query, run dense and BM25, fuse, filter, de-duplicate by article."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from indexer.normalise import normalise_query
from models.embedders import Embedder
from retriever.adapter import QueryAdapter
from retriever.backend import LocalBackend, SearchBackend
from retriever.docfilter import FilterError, matching_documents
from retriever.fusion import FusionConfig, fuse
from retriever.rerank import AuthorityPrior
from retriever.results import SearchResponse, SearchResult
from retriever.rowfilter import RowFilter
from retriever.store import IndexStoreError, LoadedIndex

SEARCH_MODES = ("hybrid", "dense", "bm25")
MAX_K = 50


class QueryError(ValueError):
    """A query that cannot be searched (empty, too long, bad k or filter)."""


@dataclass(frozen=True)
class Candidates:
    """Raw ranked rows from each retriever (exposed for evaluation)."""

    dense: tuple[np.ndarray, np.ndarray]
    bm25: tuple[np.ndarray, np.ndarray]


class ReadWriteLock:
    """Many readers or one writer; a waiting writer holds off new readers (so a reload is not starved)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Hold a read lock (any number at once)."""
        with self._cond:
            while self._writing:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the write lock (alone)."""
        with self._cond:
            while self._writing:
                self._cond.wait()
            self._writing = True
            while self._readers:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class Searcher:
    """Searches one loaded index with the embedder it was built with, through its backend (retriever/backend.py:
    the local FAISS + bm25s folder by default, or a Milvus collection)."""

    def __init__(
        self,
        index: LoadedIndex,
        embedder: Embedder,
        *,
        fusion: FusionConfig | None = None,
        authority_boost: float = 0.0,
        backend: SearchBackend | None = None,
        adapter: QueryAdapter | None = None,
    ) -> None:
        self.backend: SearchBackend = backend or LocalBackend(index)
        if embedder.name != index.manifest.embedder:
            raise ValueError(f"index was built with {index.manifest.embedder!r} but embedder is {embedder.name!r}")
        if embedder.dim != self.backend.dim:
            # The manifest names a valid embedder, but not the one whose vectors are stored (an edited manifest).
            raise IndexStoreError(
                f"{index.path} is inconsistent: its manifest names embedder {embedder.name!r} (dim {embedder.dim}) "
                f"but its vectors have dim {self.backend.dim}; rebuild it with: policyrag index"
            )
        self.index = index
        self.embedder = embedder
        self.fusion = fusion or FusionConfig()
        self.authority_boost = authority_boost
        if adapter is not None and (adapter.embedder != embedder.name or adapter.matrix.shape[0] != embedder.dim):
            raise ValueError(f"query adapter {adapter.name!r} is for {adapter.embedder!r}, not {embedder.name!r}")
        self.adapter = adapter
        self.lock = ReadWriteLock()  # searches read, reload() writes: a search never sees half a reload
        self._derive(index)

    def _derive(self, index: LoadedIndex) -> None:
        self.prior: AuthorityPrior | None = (
            AuthorityPrior.for_titles([c.doc_title for c in index.chunks], self.authority_boost)
            if self.authority_boost > 0
            else None
        )
        self._doc_ids = {d.doc_id for d in index.documents}

    def reload(self, index: LoadedIndex) -> None:
        """Switch to a rebuilt index of the same embedder, in place: holders of this searcher, of its
        ``index`` object and of that index's tokenizer all see the new one."""
        if index.manifest.embedder != self.embedder.name or index.manifest.dim != self.embedder.dim:
            raise IndexStoreError(
                f"{index.path} was built with {index.manifest.embedder!r}, not {self.embedder.name!r}"
            )
        with self.lock.writing():
            self.index.replace_with(index)
            self.backend = self.backend.rebind(self.index)
            self._derive(self.index)

    def allowed_rows(
        self,
        doc: str | None = None,
        doc_type: str | None = None,
        *,
        include_superseded: bool = False,
        issuer: str | None = None,
        year: str | int | None = None,
    ) -> np.ndarray | None:
        """Boolean row mask for the filters (``row_filter``), or None when every row may be returned."""
        return self.backend.row_mask(
            self.row_filter(doc, doc_type, include_superseded=include_superseded, issuer=issuer, year=year)
        )

    def row_filter(
        self,
        doc: str | None = None,
        doc_type: str | None = None,
        *,
        include_superseded: bool = False,
        issuer: str | None = None,
        year: str | int | None = None,
    ) -> RowFilter:
        """The filters as one ``RowFilter`` (the backend turns it into a row mask or a filter expression).

        Superseded versions of a law are left out unless ``include_superseded`` is set or
        the document is asked for by id. ``issuer`` (part of the issuing body's name) and
        ``year`` (``2019`` or ``2019-2022``, any of the document's dates) filter by metadata.
        """
        ids: set[str] | None = None
        if issuer is not None or year is not None:
            try:
                ids = matching_documents(self.index.documents, issuer=issuer, year=year)
            except FilterError as exc:
                raise QueryError(str(exc)) from exc
        if doc is not None:
            if doc not in self._doc_ids:
                raise QueryError(f"unknown document id {doc!r}; see: policyrag documents")
            ids = {doc} & ids if ids is not None else {doc}
        return RowFilter(
            frozenset(ids) if ids is not None else None, doc_type, current_only=doc is None and not include_superseded
        )

    def candidates(
        self, query: str, depth: int, allowed: RowFilter | None = None, *, mode: str = "hybrid"
    ) -> Candidates:
        """Top ``depth`` rows from each retriever for an already-normalised query (``mode`` dense or bm25: only
        that retriever runs; the other list is empty)."""
        none = (np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64))
        dense = none
        if mode != "bm25":
            qvec = self.embedder.encode_queries([query])
            if self.adapter is not None:
                qvec = self.adapter.apply(qvec)
            dense = self.backend.dense_search(qvec[0], depth, allowed)
        bm25 = none
        if mode != "dense":
            bm25 = self.backend.sparse_search(self.index.tokenizer.terms(query), depth, allowed)
        return Candidates(dense, bm25)

    def retrieve(
        self,
        normalised: str,
        *,
        k: int,
        depth: int | None = None,
        issuer: str | None = None,
        year: str | int | None = None,
    ) -> tuple[Candidates, tuple[SearchResult, ...]]:
        """Candidates and the top ``k`` ranked results of an already-normalised query, with the row filter
        (``allowed_rows``: superseded versions out, ``issuer``/``year``) computed under the same read lock, so a
        reload cannot slip between the three steps."""
        with self.lock.reading():
            allowed = self.row_filter(issuer=issuer, year=year)
            cands = self.candidates(normalised, depth or max(50, 5 * k), allowed)
            return cands, self.rank(cands, k=k)

    def rank(self, cands: Candidates, *, k: int = 10, mode: str = "hybrid") -> tuple[SearchResult, ...]:
        """Fuse candidates (or take one list) and keep the best piece of each article, top ``k``."""
        if mode == "dense":
            ranked = [(int(r), float(s)) for s, r in zip(*cands.dense, strict=True) if r >= 0]
        elif mode == "bm25":
            ranked = [(int(r), float(s)) for s, r in zip(*cands.bm25, strict=True)]
        else:
            ranked = fuse(self.fusion, cands.dense, cands.bm25)
            if self.prior is not None:
                ranked = self.prior.rerank(ranked)
        results: list[SearchResult] = []
        seen_units: set[tuple[str, str]] = set()
        for row, score in ranked:
            chunk = self.index.chunks[row]
            unit = (chunk.doc_id, chunk.unit_key)
            if unit in seen_units:
                continue
            seen_units.add(unit)
            results.append(
                SearchResult(
                    rank=len(results) + 1,
                    score=score,
                    chunk_id=chunk.chunk_id,
                    doc_id=chunk.doc_id,
                    doc_title=chunk.doc_title,
                    doc_type=chunk.doc_type,
                    article=chunk.article,
                    citation=chunk.citation,
                    text=chunk.text,
                    sources=chunk.sources,
                )
            )
            if len(results) == k:
                break
        return tuple(results)

    def search(
        self,
        query: str,
        *,
        k: int = 10,
        doc: str | None = None,
        doc_type: str | None = None,
        mode: str = "hybrid",
        include_superseded: bool = False,
        issuer: str | None = None,
        year: str | int | None = None,
    ) -> SearchResponse:
        """Rank units for ``query``; at most one result per article (its best-matching piece)."""
        with self.lock.reading():  # a reload waits until this search is done
            started = time.perf_counter()
            normalised = normalise_query(query)
            if not normalised:
                raise QueryError("the query is empty")
            if not 1 <= k <= MAX_K:
                raise QueryError(f"k must be between 1 and {MAX_K}, got {k}")
            if mode not in SEARCH_MODES:
                raise QueryError(f"unknown mode {mode!r}; valid: {', '.join(SEARCH_MODES)}")
            allowed = self.row_filter(doc, doc_type, include_superseded=include_superseded, issuer=issuer, year=year)
            cands = self.candidates(normalised, max(50, 5 * k), allowed, mode=mode)
            results = self.rank(cands, k=k, mode=mode)
            took = (time.perf_counter() - started) * 1000
            return SearchResponse(query=query, took_ms=took, results=results)
