"""A policyrag index as a Milvus collection: schema, publishing a local index by document, loading with checks.

One row per chunk: ``chunk_id`` (primary key), the filter fields (``doc_id``, ``doc_type``, ``status``,
``issuer``, dates), ``seq`` (the chunk's row in the published index, for a stable order), ``sig`` (what the row
was written from), ``record`` (the chunk as JSON), ``dense`` (IP; FLAT below ``HNSW_THRESHOLD`` rows, HNSW above)
and ``sparse`` (client-side BM25, ``retriever/bm25_sparse.py``; absent on a server without sparse vectors).
The manifest, documents, tokenizer dictionary and BM25 statistics live in ``<collection>_meta``
(``retriever/milvus_meta.py``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from indexer.records import Chunk, DocumentInfo
from retriever.bm25_sparse import BM25Stats, corpus_stats, doc_vector, stats_from_json, stats_to_json
from retriever.dense import HNSW_THRESHOLD
from retriever.milvus_conn import MilvusBackendError, ServerInfo, describe
from retriever.milvus_meta import MetaCorruptError, create_meta, meta_name, read_blob, read_rows, write_blobs
from retriever.milvus_schema import create_collection, switch_index, wait_indexed
from retriever.store import LoadedIndex, Manifest

logger = logging.getLogger(__name__)

MILVUS_FORMAT = 1
PAD_INDEX = 2**32 - 2  # Milvus rejects empty sparse vectors: a chunk without terms stores this index, never queried
BATCH = 256
_DOCUMENTS = TypeAdapter(tuple[DocumentInfo, ...])
_CHUNK = TypeAdapter(Chunk)
_MANIFEST = TypeAdapter(Manifest)


@dataclass(frozen=True)
class CollectionInfo:
    """The ``info`` blob: what the collection holds and how it was written."""

    format_version: int
    embedder: str
    dim: int
    chunks: int
    dict_key: str  # sha256 of the tokenizer's user dictionary
    sparse: bool
    dense_index: str  # flat | hnsw
    seq_bound: int  # every row's seq is below this (rows kept from earlier publishes keep their seq)


_INFO = TypeAdapter(CollectionInfo)


@dataclass(frozen=True)
class PublishReport:
    """What a publish wrote."""

    collection: str
    uri: str
    rows: int
    upserted_documents: int
    upserted_chunks: int
    deleted_chunks: int
    removed_documents: int
    unchanged_chunks: int
    rewrote_sparse: bool  # the frozen avgdl drifted: every stored BM25 vector was computed again
    recreated: str  # why the collection was dropped and created again ('' = it was not)
    sparse: bool
    dense_index: str
    seconds: float
    note: str = ""  # e.g. why there is no BM25 on this server


def _redo(uri: str, collection: str) -> str:
    return f"re-publish it with: policyrag index --backend milvus --uri {uri} --collection {collection}"


def dict_key(userdict: str) -> str:
    """The key of a tokenizer user dictionary (queries must be cut with the dictionary the vectors were)."""
    return hashlib.sha256(userdict.encode("utf-8")).hexdigest()[:16]


def _short(value: str | None, limit: int) -> str:
    data = (value or "").encode("utf-8")[:limit]
    return data.decode("utf-8", errors="ignore")


def iterate(
    client: Any, collection: str, fields: list[str], seq_bound: int, batch: int = 4000
) -> Iterator[dict[str, Any]]:
    """Every row of the collection (the listed fields), read in ``seq`` ranges: a plain query per range works the
    same on Lite and on a server (Lite has no query iterator timestamps; a server caps one query's result)."""
    for lo in range(0, max(seq_bound, 1), batch):
        yield from client.query(collection, filter=f"seq >= {lo} and seq < {lo + batch}", output_fields=fields)


def read_info(client: Any, collection: str, uri: str, rows: dict[str, str] | None = None) -> CollectionInfo | None:
    """The collection's ``info`` blob, or None when there is no such collection."""
    if not client.has_collection(collection):
        return None
    if not client.has_collection(meta_name(collection)):
        raise MilvusBackendError(
            f"collection {collection!r} at {uri} has no {meta_name(collection)}; {_redo(uri, collection)}"
        )
    client.load_collection(meta_name(collection))
    try:
        return _INFO.validate_json(_blob(client, collection, uri, "info", rows))
    except ValidationError as exc:
        raise MetaCorruptError(
            f"the metadata of collection {collection!r} is corrupt (info); {_redo(uri, collection)}"
        ) from exc


def read_stats(
    client: Any, collection: str, uri: str, sparse: bool, rows: dict[str, str] | None = None
) -> BM25Stats | None:
    """The collection's BM25 statistics (None without sparse vectors)."""
    try:
        return stats_from_json(json.loads(_blob(client, collection, uri, "bm25", rows))) if sparse else None
    except (ValueError, KeyError, TypeError) as exc:
        raise MetaCorruptError(
            f"the metadata of collection {collection!r} is corrupt (bm25); {_redo(uri, collection)}"
        ) from exc


def _blob(client: Any, collection: str, uri: str, key: str, rows: dict[str, str] | None = None) -> bytes:
    try:
        return read_blob(client, collection, key, rows)
    except MetaCorruptError as exc:
        raise MetaCorruptError(f"{exc}; {_redo(uri, collection)}") from exc


def _signature(chunk: Chunk, doc: DocumentInfo | None, embedder: str, key: str, stats: BM25Stats | None) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(asdict(chunk), ensure_ascii=False, sort_keys=True).encode())
    h.update(json.dumps(asdict(doc) if doc else None, ensure_ascii=False, sort_keys=True).encode())
    h.update(f"{embedder}|{key}|{stats.avgdl!r}|{stats.k1}|{stats.b}".encode() if stats else embedder.encode())
    return h.hexdigest()[:24]


def publish(loaded: LoadedIndex, client: Any, server: ServerInfo, collection: str) -> PublishReport:
    """Make ``collection`` hold exactly ``loaded``: new and changed documents upserted, lost chunks and removed
    documents deleted, nothing else written. The local index is read, never embedded again."""
    started = time.perf_counter()
    m = loaded.manifest
    sparse = server.has_sparse
    userdict = loaded.tokenizer.user_dict_text()
    key = dict_key(userdict)
    old = read_info(client, collection, server.uri)
    recreated = ""
    if old is not None and (old.format_version, old.embedder, old.dim, old.sparse) != (
        MILVUS_FORMAT,
        m.embedder,
        m.dim,
        sparse,
    ):
        recreated = (
            f"was format {old.format_version}, embedder {old.embedder} (dim {old.dim}), sparse {old.sparse}; "
            f"now format {MILVUS_FORMAT}, {m.embedder} (dim {m.dim}), sparse {sparse}"
        )
        logger.warning("collection %r is written anew: it %s", collection, recreated)
        client.drop_collection(collection)
        client.drop_collection(meta_name(collection))
        old = None
    hnsw = len(loaded.chunks) >= HNSW_THRESHOLD
    if old is None:
        create_collection(client, collection, m.dim, sparse=sparse, hnsw=hnsw)
        if not client.has_collection(meta_name(collection)):
            create_meta(client, collection)
    client.load_collection(collection)
    client.load_collection(meta_name(collection))
    previous_stats = read_stats(client, collection, server.uri, sparse) if old else None
    stats, rewrite = corpus_stats(loaded.bm25.terms, previous_stats) if sparse else (None, False)
    docs = {d.doc_id: d for d in loaded.documents}
    sigs = [_signature(c, docs.get(c.doc_id), m.embedder, key, stats) for c in loaded.chunks]
    existing = {
        r["chunk_id"]: (r["sig"], r["doc_id"])
        for r in iterate(client, collection, ["chunk_id", "sig", "doc_id"], old.seq_bound if old else 0)
    }
    changed_docs = {
        c.doc_id for c, s in zip(loaded.chunks, sigs, strict=True) if existing.get(c.chunk_id, ("",))[0] != s
    }
    wanted = {c.chunk_id for c in loaded.chunks}
    gone = sorted(set(existing) - wanted)
    rows = [i for i, c in enumerate(loaded.chunks) if c.doc_id in changed_docs]
    vectors = loaded.dense.vectors() if rows else None
    for start in range(0, len(rows), BATCH):
        batch = []
        for i in rows[start : start + BATCH]:
            c, d = loaded.chunks[i], docs.get(loaded.chunks[i].doc_id)
            row: dict[str, Any] = {
                "chunk_id": c.chunk_id,
                "seq": i,
                "doc_id": c.doc_id,
                "doc_type": c.doc_type,
                "status": d.status if d else "current",
                "issuer": _short(d.issuer if d else None, 1000),
                "adopted": _short(d.adopted if d else None, 30),
                "published": _short(d.published if d else None, 30),
                "effective": _short(d.effective if d else None, 30),
                "sig": sigs[i],
                "record": json.dumps(asdict(c), ensure_ascii=False),
                "dense": vectors[i].tolist() if vectors is not None else [],
            }
            if stats is not None:
                row["sparse"] = doc_vector(loaded.bm25.terms[i], stats) or {PAD_INDEX: 1.0}
            batch.append(row)
        client.upsert(collection, batch)
    for start in range(0, len(gone), 1000):
        client.delete(collection, ids=gone[start : start + 1000])
    dense_index = "hnsw" if hnsw else "flat"
    if old is not None:
        dense_index = old.dense_index  # never back to FLAT: HNSW stays right when a collection shrinks
        if dense_index == "flat" and hnsw:
            switch_index(client, collection)
            dense_index = "hnsw"
    client.flush(collection)
    wait_indexed(client, collection)
    bound = max(len(loaded.chunks), old.seq_bound if old else 0)
    info = CollectionInfo(MILVUS_FORMAT, m.embedder, m.dim, len(loaded.chunks), key, sparse, dense_index, bound)
    blobs = {
        "manifest": json.dumps(asdict(m), ensure_ascii=False).encode(),
        "documents": json.dumps([asdict(d) for d in loaded.documents], ensure_ascii=False).encode(),
        "userdict": userdict.encode("utf-8"),
        "info": json.dumps(asdict(info)).encode(),
    }
    if stats is not None:
        blobs["bm25"] = json.dumps(stats_to_json(stats), ensure_ascii=False).encode()
    write_blobs(client, collection, blobs)
    return PublishReport(
        collection,
        server.uri,
        len(loaded.chunks),
        len(changed_docs),
        len(rows),
        len(gone),
        len({d for _, d in existing.values()} - set(docs)),
        len(loaded.chunks) - len(rows),
        rewrite and old is not None,
        recreated,
        sparse,
        dense_index,
        round(time.perf_counter() - started, 2),
        "" if sparse else server.no_sparse_message(),
    )


@dataclass(frozen=True)
class Loaded:
    """A collection read back: the index records, the BM25 statistics and the collection's info."""

    index: LoadedIndex
    info: CollectionInfo
    stats: BM25Stats | None
    row_of: dict[str, int]  # chunk_id → row in index.chunks


def load(client: Any, server: ServerInfo, collection: str) -> Loaded:
    """Read a published collection, with the local store's checks: format, dictionary key, dimension, row count."""
    from indexer.tokenise import JiebaTokenizer
    from retriever.dense import DenseIndex
    from retriever.sparse import BM25Index

    started = time.perf_counter()
    uri = server.uri
    rows = None
    if client.has_collection(meta_name(collection)):
        client.load_collection(meta_name(collection))
        rows = read_rows(client, collection)  # one query for every blob
    info = read_info(client, collection, uri, rows)
    if info is None:
        raise MilvusBackendError(
            f"no collection {collection!r} at {uri}; publish one with: policyrag index --backend milvus --uri {uri}"
        )
    if info.format_version != MILVUS_FORMAT:
        raise MilvusBackendError(
            f"collection {collection!r} has format {info.format_version}, this policyrag reads {MILVUS_FORMAT}; "
            + _redo(uri, collection)
        )
    try:
        manifest = _MANIFEST.validate_json(_blob(client, collection, uri, "manifest", rows))
        documents = _DOCUMENTS.validate_json(_blob(client, collection, uri, "documents", rows))
        userdict = _blob(client, collection, uri, "userdict", rows).decode("utf-8")
        stats = read_stats(client, collection, uri, info.sparse, rows)
    except (ValidationError, ValueError, KeyError, TypeError) as exc:
        raise MetaCorruptError(
            f"the metadata of collection {collection!r} is corrupt; {_redo(uri, collection)}"
        ) from exc
    if dict_key(userdict) != info.dict_key:
        raise MetaCorruptError(
            f"collection {collection!r}: its tokenizer dictionary does not match the one its BM25 vectors were cut "
            f"with; {_redo(uri, collection)}"
        )
    if info.sparse and not server.has_sparse:
        raise MilvusBackendError(server.no_sparse_message())
    client.load_collection(collection)
    dim = _dense_dim(client, collection)
    if dim != info.dim or manifest.dim != info.dim or manifest.embedder != info.embedder:
        raise MilvusBackendError(
            f"collection {collection!r} is inconsistent with its metadata (dim); {_redo(uri, collection)}"
        )
    pairs: list[tuple[int, str, Chunk]] = []
    try:
        for r in iterate(client, collection, ["chunk_id", "seq", "record"], info.seq_bound):
            pairs.append((int(r["seq"]), str(r["chunk_id"]), _CHUNK.validate_json(r["record"])))
    except ValidationError as exc:
        raise MetaCorruptError(
            f"collection {collection!r} holds a damaged chunk record; {_redo(uri, collection)}"
        ) from exc
    except Exception as exc:
        raise MilvusBackendError(f"cannot read collection {collection!r} at {uri}: {describe(exc)}") from exc
    if len(pairs) != info.chunks or info.chunks != manifest.counts.get("chunks"):
        raise MilvusBackendError(
            f"collection {collection!r} holds {len(pairs)} chunks but its metadata says {info.chunks}; "
            + _redo(uri, collection)
        )
    pairs.sort(key=lambda p: (p[0], p[1]))
    chunks = tuple(p[2] for p in pairs)
    tokenizer = JiebaTokenizer([w for w in userdict.splitlines() if w.strip()])
    tokenizer.warm()
    # The vectors live in Milvus: the in-memory dense and BM25 indexes stay empty (and unused by the searcher).
    index = LoadedIndex(
        path=Path(f"{uri}#{collection}"),  # for messages only
        manifest=manifest,
        documents=documents,
        chunks=chunks,
        dense=DenseIndex(info.dim),
        bm25=BM25Index(),
        tokenizer=tokenizer,
        load_seconds=time.perf_counter() - started,
    )
    return Loaded(index, info, stats, {c.chunk_id: i for i, c in enumerate(chunks)})


def _dense_dim(client: Any, collection: str) -> int:
    for field in client.describe_collection(collection)["fields"]:
        if field["name"] == "dense":
            return int(field["params"]["dim"])
    raise MilvusBackendError(f"collection {collection!r} has no dense vector field; it was not written by policyrag")
