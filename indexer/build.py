"""Build an index folder from corpus paths: ingest, embed, index, save atomically."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from indexer.chunking import budget_for_window
from indexer.embed_cache import EmbeddingCache
from indexer.pipeline import IngestStats, ingest
from indexer.reading import iter_source_paths
from models.embedders import Embedder
from retriever.dense import HNSW_THRESHOLD, DenseIndex
from retriever.sparse import BM25Index
from retriever.store import FORMAT_VERSION, Manifest, save_index

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    index_dir: Path
    manifest: Manifest
    stats: IngestStats
    embed_seconds: float
    cached_vectors: int  # chunks whose embedding came from the cache


def corpus_fingerprint(paths: Sequence[Path]) -> str:
    """Hash of every input file's name and bytes (and catalogs), independent of folder location."""
    h = hashlib.sha256()
    files = sorted(iter_source_paths(paths), key=lambda p: p.name)
    catalogs = sorted({(p if p.is_dir() else p.parent) / "catalog.toml" for p in paths})
    for f in [*files, *(c for c in catalogs if c.is_file())]:
        h.update(f.name.encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:16]


def build_index(
    paths: Sequence[Path],
    index_dir: Path,
    embedder: Embedder,
    *,
    cache_dir: Path | None = None,
    progress: bool = True,
    hnsw_threshold: int = HNSW_THRESHOLD,
    strict: bool = False,
) -> BuildReport:
    """Ingest ``paths`` and write a complete index to ``index_dir`` (replacing any old one atomically).

    Files that cannot be read are skipped (listed in ``stats.skipped``); with ``strict`` they abort the build.
    """
    started = time.perf_counter()
    budget = budget_for_window(embedder.max_tokens)
    corpus = ingest(paths, budget=budget, strict=strict, progress=None if progress else False)
    logger.info(
        "ingested %d files → %d documents, %d units, %d chunks",
        corpus.stats.files,
        corpus.stats.documents,
        corpus.stats.units,
        corpus.stats.chunks,
    )
    texts = [c.embed_text for c in corpus.chunks]
    cache = EmbeddingCache(cache_dir or index_dir.parent / ".embcache", embedder.name, embedder.dim)
    embed_started = time.perf_counter()
    with tqdm(total=len(texts), desc="embedding", unit="chunk", disable=not progress) as bar:
        reused = cache.count_cached(texts)
        vectors = cache.embed(texts, embedder.encode_documents, on_progress=bar.update)
    embed_seconds = time.perf_counter() - embed_started
    dense = DenseIndex(embedder.dim, hnsw_threshold=hnsw_threshold).build(vectors)
    bm25 = BM25Index().build([corpus.tokenizer.terms(c.embed_text) for c in corpus.chunks])
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        embedder=embedder.name,
        dim=embedder.dim,
        corpus_fingerprint=corpus_fingerprint(paths),
        counts={
            "files": corpus.stats.files,
            "documents": corpus.stats.documents,
            "units": corpus.stats.units,
            "duplicates_merged": corpus.stats.duplicates_merged,
            "chunks": corpus.stats.chunks,
        },
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        build_seconds=round(time.perf_counter() - started, 2),
        dense_kind=dense.kind,
        chunk_budget=budget,
    )
    manifest = save_index(
        index_dir,
        manifest=manifest,
        documents=corpus.documents,
        chunks=corpus.chunks,
        dense=dense,
        bm25=bm25,
        tokenizer=corpus.tokenizer,
    )
    return BuildReport(index_dir, manifest, corpus.stats, embed_seconds, reused)
