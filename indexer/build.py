"""Build or update an index folder from corpus paths: ingest, embed, index, save atomically.

Builds are incremental: the previous index (same embedder and chunk budget) supplies the
ingest results of files whose size and mtime (or content hash) are unchanged, and the vectors
and BM25 terms of chunks whose text is unchanged. The result is the same index a build from
scratch would give; only the work differs.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import TypeAdapter, ValidationError
from tqdm import tqdm

from indexer.catalog import CATALOG_NAME, load_catalogs
from indexer.chunking import budget_for_window
from indexer.embed_cache import EmbeddingCache
from indexer.parallel import cut_terms, default_workers, read_and_ingest
from indexer.pipeline import BuildMemo, Corpus, FileIngest, IngestStats, assemble, check_strict
from indexer.reading import scan_sources
from models.embedders import Embedder
from retriever.dense import HNSW_THRESHOLD, DenseIndex
from retriever.index_dir import (
    LOCK,
    build_lock,
    check_not_in_sources,
    check_target,
    clean_leftovers,
    current_version,
)
from retriever.sparse import BM25Index
from retriever.store import FORMAT_VERSION, IndexStoreError, LoadedIndex, Manifest, SourceRecord, load_index, save_index

logger = logging.getLogger(__name__)

INGEST_CACHE = "ingest.jsonl.gz"  # per-file ingest results, keyed by file name and content hash
MEMO = "memo.json.gz"  # sketches and token counts by text (indexer.pipeline.BuildMemo)
_FILE_INGEST = TypeAdapter(FileIngest)


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    index_dir: Path
    manifest: Manifest
    stats: IngestStats
    embed_seconds: float
    cached_vectors: int  # chunks whose embedding came from the cache or the previous index
    files_read: int = 0  # files read and ingested anew
    files_reused: int = 0  # files whose ingest came from the previous index
    files_removed: int = 0  # files of the previous index that are no longer given
    up_to_date: bool = False  # nothing changed: the index was left as it was
    previous: str = field(default="none")  # what the previous index was used for: none | reused | <why not>
    stage_seconds: dict[str, float] = field(default_factory=dict)  # wall time by stage (read, assemble, embed …)


def corpus_fingerprint(paths: Sequence[Path]) -> str:
    """Hash of every input file's name and bytes (and catalogs), independent of folder location."""
    records = [r for r in (_record(f, None) for f in scan_sources(paths).files) if r is not None]
    return fingerprint_of(records, _catalog_files(paths))


def fingerprint_of(records: Sequence[SourceRecord], catalogs: Sequence[Path]) -> str:
    """The corpus fingerprint from source records (their content hashes) and the catalog files."""
    h = hashlib.sha256()
    for r in sorted(records, key=lambda r: r.name):
        h.update(r.name.encode())
        h.update(bytes.fromhex(r.sha256))
    for c in catalogs:
        h.update(c.name.encode())
        h.update(hashlib.sha256(c.read_bytes()).digest())
    return h.hexdigest()[:16]


def _catalog_files(paths: Sequence[Path]) -> list[Path]:
    found = sorted({(p if p.is_dir() else p.parent) / CATALOG_NAME for p in paths})
    return [c for c in found if c.is_file()]


def _record(path: Path, previous: dict[str, SourceRecord] | None) -> SourceRecord | None:
    """The file's record (None when it cannot be read); its content hash is taken from ``previous`` when size and
    mtime are unchanged."""
    try:
        st = path.stat()
        absolute = str(path.absolute())
        old = (previous or {}).get(absolute)
        if old is not None and old.size == st.st_size and old.mtime_ns == st.st_mtime_ns:
            return old
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    return SourceRecord(absolute, path.name, st.st_size, st.st_mtime_ns, digest)


@dataclass
class _Previous:
    index: LoadedIndex
    ingests: dict[tuple[str, str], FileIngest]  # (file name, sha256) → ingest result
    memo: BuildMemo
    same_code: bool  # built by this indexer code (else only vectors are reused)

    def vectors_by_text(self) -> dict[str, np.ndarray]:
        rows = self.index.dense.vectors()
        return {c.embed_text: rows[i] for i, c in enumerate(self.index.chunks)}


def ingest_code_fingerprint() -> str:
    """Hash of the indexer package's source: ingest results, sketches, token counts and terms made by other code
    (an upgrade that changes a normalisation rule, say) are not reused."""
    package = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted(package.rglob("*.py")):
        h.update(str(f.relative_to(package)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _previous(index_dir: Path, embedder: Embedder, budget: int) -> tuple[_Previous | None, str]:
    """The previous index if it can be reused, else None and why not."""
    try:
        if current_version(index_dir) is None:
            return None, "none"
        index = load_index(index_dir, searchable=False, with_caches=True)
    except IndexStoreError as exc:
        return None, f"not reused ({exc})"
    m = index.manifest
    if (m.embedder, m.dim, m.chunk_budget) != (embedder.name, embedder.dim, budget):
        return None, f"not reused (built with {m.embedder}, budget {m.chunk_budget})"
    ingests: dict[tuple[str, str], FileIngest] = {}
    if m.ingest_code != ingest_code_fingerprint():
        # Vectors depend only on the embedded text and the embedder: still reused below, by text.
        return _Previous(index, {}, BuildMemo(), same_code=False), "vectors reused (indexer code changed)"
    blob = index.extra.get(INGEST_CACHE)
    if blob is not None:
        try:
            for line in gzip.decompress(blob).splitlines():
                row = json.loads(line)
                ingests[(row["name"], row["sha256"])] = _FILE_INGEST.validate_python(row["ingest"])
        except (OSError, ValueError, KeyError, ValidationError) as exc:
            logger.warning("ignoring the previous index's ingest cache (%s)", exc)
            ingests = {}
    memo = BuildMemo()
    blob = index.extra.get(MEMO)
    if blob is not None:
        try:
            memo = BuildMemo.from_json(json.loads(gzip.decompress(blob)))
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            logger.warning("ignoring the previous index's sketches and token counts (%s)", exc)
    return _Previous(index, ingests, memo, same_code=True), "reused"


def ingest_corpus(
    paths: Sequence[Path],
    budget: int,
    previous: _Previous | None,
    memo: BuildMemo,
    *,
    strict: bool = False,
    progress: bool | None = None,
    workers: int = 1,
    stages: dict[str, float] | None = None,
) -> tuple[Corpus, list[SourceRecord], list[FileIngest], int]:
    """Records, ingest results and the assembled corpus; unchanged files come from ``previous``, the others are
    read, by ``workers`` processes (a file that cannot be read is skipped and gets no record, so the next build
    tries it again). ``stages`` collects the wall time of reading and of assembling.

    Returns ``(corpus, records, ingests, files_read)``.
    """
    stages = stages if stages is not None else {}
    started = time.perf_counter()
    old = {r.path: r for r in previous.index.manifest.sources} if previous else None
    scan = scan_sources(paths)
    known: dict[Path, tuple[SourceRecord | None, FileIngest | None]] = {}
    for path in scan.files:
        record = _record(path, old)
        cached = previous.ingests.get((record.name, record.sha256)) if previous and record else None
        known[path] = (record, cached)
    to_read = [path for path, (_, cached) in known.items() if cached is None]
    results, skipped = read_and_ingest(to_read, workers=workers, progress=progress)
    check_strict(strict, skipped, scan.problems)
    fresh = dict(results)
    stages["read"] = time.perf_counter() - started
    started = time.perf_counter()
    records: list[SourceRecord] = []
    ingests: list[FileIngest] = []
    for path, (record, cached) in known.items():
        ingest = cached or fresh.get(path)
        if ingest is None:
            continue  # unreadable: reported in stats.skipped
        record = record or _record(path, None)
        if record is None:
            continue  # readable a moment ago, not now: left for the next build
        records.append(record)
        ingests.append(ingest)
    catalog = load_catalogs({p if p.is_dir() else p.parent for p in paths})
    corpus = assemble(
        ingests, budget=budget, catalog=catalog, where=paths, skipped=skipped, problems=scan.problems, memo=memo
    )
    stages["assemble"] = time.perf_counter() - started  # merge copies, dictionary, chunks
    return corpus, records, ingests, len(results)


def _ingest_blob(records: Sequence[SourceRecord], ingests: Sequence[FileIngest]) -> bytes:
    lines = (
        json.dumps({"name": r.name, "sha256": r.sha256, "ingest": asdict(f)}, ensure_ascii=False)
        for r, f in zip(records, ingests, strict=True)
    )
    return gzip.compress("\n".join(lines).encode("utf-8"), compresslevel=1, mtime=0)


def build_index(
    paths: Sequence[Path],
    index_dir: Path,
    embedder: Embedder,
    *,
    cache_dir: Path | None = None,
    progress: bool = True,
    hnsw_threshold: int = HNSW_THRESHOLD,
    incremental: bool = True,
    lock_wait: float = 0.0,
    strict: bool = False,
    workers: int | None = None,
) -> BuildReport:
    """Make ``index_dir`` an index of exactly ``paths`` (files that are gone are dropped), atomically.

    With ``incremental`` (the default) unchanged files and chunks are taken from the previous
    index; when nothing changed the index is left untouched (``report.up_to_date``). Files that
    cannot be read are skipped (listed in ``stats.skipped``, tried again by the next build); with
    ``strict`` they abort the build. The index folder must not be inside a source folder, and must
    be new, empty or an index. Another build holding the folder → ``IndexFolderError`` after
    ``lock_wait`` seconds. ``workers``: processes for reading and BM25 terms (None: one per core; the result
    does not depend on it). This is also what the server calls after an upload.
    """
    started = time.perf_counter()
    index_dir = index_dir.absolute()
    check_not_in_sources(index_dir, [p for p in paths if p.is_dir()])
    check_target(index_dir)
    budget = budget_for_window(embedder.max_tokens)
    created = not index_dir.exists()
    try:
        with build_lock(index_dir, wait=lock_wait):
            previous, how = _previous(index_dir, embedder, budget) if incremental else (None, "not used (--full)")
            unchanged = _unchanged(paths, index_dir, previous, how) if previous is not None else None
            if unchanged is not None:
                return unchanged
            return _build(
                paths,
                index_dir,
                embedder,
                previous,
                how,
                budget=budget,
                started=started,
                cache_dir=cache_dir,
                progress=progress,
                hnsw_threshold=hnsw_threshold,
                strict=strict,
                workers=workers or default_workers(),
            )
    except BaseException:
        if created:  # a failed first build leaves nothing behind (not even the folder and its lock file)
            (index_dir / LOCK).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                index_dir.rmdir()
        raise


def _unchanged(paths: Sequence[Path], index_dir: Path, previous: _Previous, how: str) -> BuildReport | None:
    """The report of a build with nothing to do (same files, same bytes, same catalogs, same code), else None."""
    old = {r.path: r for r in previous.index.manifest.sources}
    scan = scan_sources(paths)
    found = [_record(p, old) for p in scan.files]
    records = [r for r in found if r is not None]
    if not (
        len(records) == len(found)
        and {r.path for r in records} == set(old)
        and previous.same_code
        and fingerprint_of(records, _catalog_files(paths)) == previous.index.manifest.corpus_fingerprint
    ):
        return None
    clean_leftovers(index_dir)  # what a build killed after its switch left behind
    m = previous.index.manifest
    stats = IngestStats(
        files=m.counts.get("files", 0),
        logical_documents=m.counts.get("logical_documents", 0),
        documents=m.counts.get("documents", 0),
        units=m.counts.get("units", 0),
        duplicates_merged=m.counts.get("duplicates_merged", 0),
        chunks=m.counts.get("chunks", 0),
        mojibake_lines=m.counts.get("mojibake_lines", 0),
        boilerplate_lines=m.counts.get("boilerplate_lines", 0),
        superseded_documents=m.counts.get("superseded_documents", 0),
        problems=scan.problems,
    )
    return BuildReport(index_dir, m, stats, 0.0, m.counts.get("chunks", 0), 0, len(records), 0, True, how)


def _build(
    paths: Sequence[Path],
    index_dir: Path,
    embedder: Embedder,
    previous: _Previous | None,
    how: str,
    *,
    budget: int,
    started: float,
    cache_dir: Path | None,
    progress: bool,
    hnsw_threshold: int,
    strict: bool,
    workers: int,
) -> BuildReport:
    """Ingest (reusing what ``previous`` holds), embed what is new, index and save. Call under the build lock."""
    memo = previous.memo if previous else BuildMemo()
    stages: dict[str, float] = {}
    corpus, records, ingests, files_read = ingest_corpus(
        paths, budget, previous, memo, strict=strict, progress=None if progress else False, workers=workers,
        stages=stages,
    )
    logger.info(
        "ingested %d files (%d read, %d unchanged) → %d documents, %d units, %d chunks",
        corpus.stats.files,
        files_read,
        corpus.stats.files - files_read,
        corpus.stats.documents,
        corpus.stats.units,
        corpus.stats.chunks,
    )
    cache = EmbeddingCache(cache_dir or index_dir.parent / ".embcache", embedder.name, embedder.dim)
    vectors, reused, embed_seconds = _vectors(
        [c.embed_text for c in corpus.chunks], previous, cache, embedder, progress=progress
    )
    stages["embed"] = embed_seconds
    mark = time.perf_counter()
    terms = _terms(corpus, previous, workers=workers, progress=progress)
    stages["terms"] = time.perf_counter() - mark
    mark = time.perf_counter()
    dense = DenseIndex(embedder.dim, hnsw_threshold=hnsw_threshold).build(vectors)
    stages["dense_index"] = time.perf_counter() - mark
    mark = time.perf_counter()
    bm25 = BM25Index().build(terms)
    stages["bm25_index"] = time.perf_counter() - mark
    mark = time.perf_counter()
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        embedder=embedder.name,
        dim=embedder.dim,
        corpus_fingerprint=fingerprint_of(records, _catalog_files(paths)),
        counts={
            "files": corpus.stats.files,
            "logical_documents": corpus.stats.logical_documents,
            "documents": corpus.stats.documents,
            "units": corpus.stats.units,
            "duplicates_merged": corpus.stats.duplicates_merged,
            "chunks": corpus.stats.chunks,
            "mojibake_lines": corpus.stats.mojibake_lines,
            "boilerplate_lines": corpus.stats.boilerplate_lines,
            "superseded_documents": corpus.stats.superseded_documents,
        },
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        build_seconds=round(time.perf_counter() - started, 2),
        dense_kind=dense.kind,
        chunk_budget=budget,
        ingest_code=ingest_code_fingerprint(),
        sources=tuple(records),
    )
    manifest = save_index(
        index_dir,
        manifest=manifest,
        documents=corpus.documents,
        chunks=corpus.chunks,
        dense=dense,
        bm25=bm25,
        tokenizer=corpus.tokenizer,
        extra_files={
            INGEST_CACHE: _ingest_blob(records, ingests),
            MEMO: gzip.compress(json.dumps(memo.to_json()).encode(), compresslevel=1, mtime=0),
        },
    )
    stages["save"] = time.perf_counter() - mark
    removed = len({r.path for r in previous.index.manifest.sources} - {r.path for r in records}) if previous else 0
    logger.info("build stages (s): %s", ", ".join(f"{k} {v:.1f}" for k, v in stages.items()))
    return BuildReport(
        index_dir,
        manifest,
        corpus.stats,
        embed_seconds,
        reused,
        files_read,
        len(records) - files_read,
        removed,
        False,
        how,
        {k: round(v, 2) for k, v in stages.items()},
    )


def _vectors(
    texts: Sequence[str], previous: _Previous | None, cache: EmbeddingCache, embedder: Embedder, *, progress: bool
) -> tuple[np.ndarray, int, float]:
    """One vector per text: the previous index's for unchanged texts, the cache's, or newly embedded.

    Returns ``(vectors, reused, embed_seconds)``.
    """
    known = previous.vectors_by_text() if previous else {}
    missing = [t for t in texts if t not in known]
    started = time.perf_counter()
    with tqdm(total=len(texts), desc="embedding", unit="chunk", disable=not progress) as bar:
        bar.update(len(texts) - len(missing))
        reused = len(texts) - len(missing) + cache.count_cached(missing)
        fresh = cache.embed(missing, embedder.encode_documents, on_progress=bar.update)
    seconds = time.perf_counter() - started
    by_text = dict(zip(missing, fresh, strict=True))
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for i, t in enumerate(texts):
        vectors[i] = known[t] if t in known else by_text[t]
    return vectors, reused, seconds


def _terms(corpus: Corpus, previous: _Previous | None, *, workers: int, progress: bool) -> list[list[str]]:
    """BM25 terms per chunk; reused from the previous index for unchanged texts when the user dictionary is the same
    (the dictionary changes jieba's cut of any text, so with a new one every text is cut again)."""
    reuse: dict[str, list[str]] = {}
    if (
        previous is not None
        and previous.same_code
        and previous.index.tokenizer.user_words == corpus.tokenizer.user_words
    ):
        reuse = {c.embed_text: t for c, t in zip(previous.index.chunks, previous.index.bm25.terms, strict=True)}
    texts = [c.embed_text for c in corpus.chunks]
    missing = sorted({t for t in texts if t not in reuse})
    cut = cut_terms(missing, corpus.tokenizer, workers=workers, progress=None if progress else False)
    reuse.update(zip(missing, cut, strict=True))
    return [reuse[t] for t in texts]
