"""The Milvus search backend: dense and BM25 (sparse) candidates from a collection, filters as expressions.

Fusion stays in the searcher (the same code as the local backend). ``hybrid_native`` runs Milvus' own
``RRFRanker``/``WeightedRanker`` over the two lists, for comparison in ``eval/studies/backend_parity.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from retriever.bm25_sparse import BM25Stats, query_vector
from retriever.dense import HNSW_EF_SEARCH
from retriever.milvus_conn import (
    MilvusBackendError,
    MilvusUnavailableError,
    ServerInfo,
    connect,
    describe,
    is_unavailable,
    release,
)
from retriever.milvus_meta import read_rows
from retriever.milvus_store import CollectionInfo, PublishReport, load, publish, read_info, read_stats
from retriever.rowfilter import RowFilter, RowMasks, milvus_expr
from retriever.store import LoadedIndex

logger = logging.getLogger(__name__)

CONSISTENCY_LEVELS = ("Strong", "Session", "Bounded", "Eventually")
_EMPTY = (np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64))


def _pk(hit: dict[str, Any]) -> str:
    """A search hit's primary key (Lite names it by field, a server ``id``)."""
    if "chunk_id" in hit:
        return str(hit["chunk_id"])
    if "id" in hit:
        return str(hit["id"])
    return str(hit["entity"]["chunk_id"])


class MilvusBackend:
    """Searches one published collection; rows are positions in ``index.chunks`` (ordered as published)."""

    name = "milvus"

    def __init__(self, client: Any, server: ServerInfo, collection: str, index: LoadedIndex, info: CollectionInfo,
                 stats: BM25Stats | None, row_of: dict[str, int]) -> None:  # fmt: skip
        self.client = client
        self.server = server
        self.collection = collection
        self.index = index
        self.info = info
        self.stats = stats
        self.row_of = row_of
        self.masks = RowMasks(index.chunks, index.documents)

    consistency = "Strong"  # of searches; reading the records back is always Strong

    @classmethod
    def open(
        cls, uri: str, *, token: str | None = None, collection: str = "policyrag", consistency: str = "Strong"
    ) -> MilvusBackend:
        """Connect and load the collection's records and metadata. ``consistency`` of searches: ``Strong`` (the
        default: a publish is visible at once; a server then waits for its time tick, ~0.4 s a search on Milvus
        2.3), or ``Session``/``Bounded``/``Eventually`` (milliseconds; another process's publish shows a few
        seconds later, and rows it deleted are dropped from results until then)."""
        if consistency not in CONSISTENCY_LEVELS:
            raise MilvusBackendError(
                f"unknown Milvus consistency {consistency!r}; valid: {', '.join(CONSISTENCY_LEVELS)}"
            )
        client, server = connect(uri, token)
        try:
            loaded = load(client, server, collection)
        except MilvusBackendError:
            raise
        except Exception as exc:
            raise _error(exc, server, "load") from exc
        backend = cls(client, server, collection, loaded.index, loaded.info, loaded.stats, loaded.row_of)
        backend.consistency = consistency
        return backend

    @property
    def dim(self) -> int:
        return self.info.dim

    @property
    def has_sparse(self) -> bool:
        return self.info.sparse

    def row_mask(self, rows: RowFilter | None) -> np.ndarray | None:
        return self.masks.mask(rows)

    def rebind(self, index: LoadedIndex) -> MilvusBackend:
        """This backend serving ``index``, a fresh ``reopen()`` of the collection (after a publish)."""
        rows = read_rows(self.client, self.collection)
        stats = read_stats(self.client, self.collection, self.server.uri, self.info.sparse, rows)
        info = read_info(self.client, self.collection, self.server.uri, rows) or self.info
        row_of = {c.chunk_id: i for i, c in enumerate(index.chunks)}
        backend = MilvusBackend(self.client, self.server, self.collection, index, info, stats, row_of)
        backend.consistency = self.consistency
        return backend

    def close(self) -> None:
        """Close the connection (and free a Lite file for other processes)."""
        release(self.client, self.server)

    def publish(self, loaded: LoadedIndex) -> PublishReport:
        """Publish ``loaded`` through this backend's connection (one process per Lite file: a server publishes
        its uploads with the client it searches with)."""
        return publish_with(self.client, self.server, self.collection, loaded)

    def reopen(self) -> LoadedIndex:
        """The collection's records as they are now (give it to ``Searcher.reload``)."""
        return load(self.client, self.server, self.collection).index

    def _ranked(self, hits: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        pairs = [(float(h["distance"]), self.row_of[_pk(h)]) for h in hits if _pk(h) in self.row_of]
        if len(pairs) < len(hits):
            logger.warning("%d hits are not in the loaded records: the collection changed since it was loaded",
                           len(hits) - len(pairs))  # fmt: skip
        pairs.sort(key=lambda p: (-p[0], p[1]))
        return np.array([p[0] for p in pairs], dtype=np.float32), np.array([p[1] for p in pairs], dtype=np.int64)

    def _search(self, data: Any, field: str, k: int, rows: RowFilter | None, params: dict[str, Any]) -> list[Any]:
        try:
            result = self.client.search(
                self.collection,
                data=[data],
                anns_field=field,
                limit=k,
                filter=milvus_expr(rows),
                search_params={"metric_type": "IP", **params},
                output_fields=[],
                consistency_level=self.consistency,
            )
        except Exception as exc:
            raise _error(exc, self.server, "search") from exc
        return list(result[0])

    def dense_search(self, query: np.ndarray, k: int, rows: RowFilter | None) -> tuple[np.ndarray, np.ndarray]:
        vector = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        params = {"params": {"ef": max(HNSW_EF_SEARCH, k)}} if self.info.dense_index == "hnsw" else {}
        return self._ranked(self._search(vector, "dense", min(k, 16_384), rows, params))

    def sparse_search(self, terms: Sequence[str], k: int, rows: RowFilter | None) -> tuple[np.ndarray, np.ndarray]:
        if not self.info.sparse or self.stats is None:
            raise MilvusBackendError(self.server.no_sparse_message())
        vector = query_vector(terms, self.stats)
        if not vector:
            return _EMPTY
        scores, found = self._ranked(self._search(vector, "sparse", min(k, 16_384), rows, {}))
        keep = scores > 0
        return scores[keep], found[keep]

    def hybrid_native(
        self,
        query: np.ndarray,
        terms: Sequence[str],
        k: int,
        ranker_for: Callable[[int], Any],
        rows: RowFilter | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Milvus' own fusion of the dense and sparse lists (``ranker_for(n)``: a ``RRFRanker``/``WeightedRanker`` for
        ``n`` requests; the sparse request is left out when no query term is in the vocabulary): ``(scores, rows)``."""
        from pymilvus import AnnSearchRequest

        if self.stats is None:
            raise MilvusBackendError(self.server.no_sparse_message())
        expr = milvus_expr(rows)
        vector = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        params = {
            "metric_type": "IP",
            **({"params": {"ef": max(HNSW_EF_SEARCH, k)}} if self.info.dense_index == "hnsw" else {}),
        }
        requests = [AnnSearchRequest(data=[vector], anns_field="dense", param=params, limit=k, expr=expr)]
        sparse = query_vector(terms, self.stats)
        if sparse:
            requests.append(
                AnnSearchRequest(data=[sparse], anns_field="sparse", param={"metric_type": "IP"}, limit=k, expr=expr)
            )
        try:
            result = self.client.hybrid_search(
                self.collection,
                requests,
                ranker_for(len(requests)),
                limit=k,
                output_fields=[],
                consistency_level=self.consistency,
            )
        except Exception as exc:
            raise _error(exc, self.server, "hybrid search") from exc
        return self._ranked(list(result[0]))


def _error(exc: BaseException, server: ServerInfo, what: str) -> MilvusBackendError:
    if is_unavailable(exc):
        return MilvusUnavailableError(f"cannot reach Milvus at {server.uri} ({what}): {describe(exc)}")
    return MilvusBackendError(f"Milvus {what} failed at {server.uri}: {describe(exc)}")


def publish_index(
    loaded: LoadedIndex, uri: str, *, token: str | None = None, collection: str = "policyrag"
) -> PublishReport:
    """Publish a local index to a Milvus collection (new/changed documents upserted, lost chunks deleted)."""
    client, server = connect(uri, token)
    try:
        return publish_with(client, server, collection, loaded)
    finally:
        release(client, server)  # a Lite file is free for other processes once published


def publish_with(client: Any, server: ServerInfo, collection: str, loaded: LoadedIndex) -> PublishReport:
    """``publish`` on an open client, its failures as one-line errors."""
    try:
        return publish(loaded, client, server, collection)
    except MilvusBackendError:
        raise
    except Exception as exc:
        raise _error(exc, server, "publish") from exc
