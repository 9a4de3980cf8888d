"""The on-disk index: a versioned folder with a checksummed manifest, written atomically, verified on load."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from indexer.records import Chunk, DocumentInfo
from indexer.tokenise import JiebaTokenizer
from retriever.dense import DenseIndex
from retriever.index_dir import (
    LOCK,
    MANIFEST,
    IndexFolderError,
    IndexStoreError,
    build_lock,
    check_target,
    clean_leftovers,
    current_version,
    new_version,
    publish,
)
from retriever.sparse import BM25Index

__all__ = ["FORMAT_VERSION", "MANIFEST", "IndexFolderError", "IndexStoreError", "LoadedIndex", "Manifest"]

FORMAT_VERSION = 2  # 2: versioned folder, checksums, source file records
READABLE_VERSIONS = (1, 2)
_FILES = ("documents.json", "chunks.jsonl", "vectors.faiss", "userdict.txt", "bm25/terms.jsonl", "bm25/params.json")
_REBUILD = "rebuild it with: policyrag index"


@dataclass(frozen=True)
class SourceRecord:
    """One source file as it was when indexed (what the next build compares to find changes)."""

    path: str  # absolute path
    name: str  # the file name the records cite
    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    """What an index holds and how it was built."""

    format_version: int
    embedder: str
    dim: int
    corpus_fingerprint: str
    counts: dict[str, int]
    built_at: str
    build_seconds: float
    dense_kind: str
    chunk_budget: int
    files: dict[str, int] = field(default_factory=dict)  # relative path → size in bytes
    checksums: dict[str, str] = field(default_factory=dict)  # relative path → sha256 (format 2)
    sources: tuple[SourceRecord, ...] = ()  # the indexed files (format 2)
    ingest_code: str = ""  # fingerprint of the indexer code that built it (incremental builds reuse only its own)


_MANIFEST = TypeAdapter(Manifest)
_DOCUMENTS = TypeAdapter(tuple[DocumentInfo, ...])
_CHUNKS = TypeAdapter(tuple[Chunk, ...])


@dataclass
class LoadedIndex:
    """An index in memory."""

    path: Path
    manifest: Manifest
    documents: tuple[DocumentInfo, ...]
    chunks: tuple[Chunk, ...]
    dense: DenseIndex
    bm25: BM25Index
    tokenizer: JiebaTokenizer
    load_seconds: float = 0.0
    extra: dict[str, bytes] = field(default_factory=dict)  # verified optional files (e.g. sources.jsonl)

    def replace_with(self, other: LoadedIndex) -> None:
        """Take over ``other``'s contents in place (a server reloading after an upload). The tokenizer object
        is kept and given the new dictionary, so whoever holds it tokenises like the new index."""
        tokenizer = self.tokenizer
        tokenizer.adopt(other.tokenizer)
        for name in ("path", "manifest", "documents", "chunks", "dense", "bm25", "load_seconds", "extra"):
            setattr(self, name, getattr(other, name))
        self.tokenizer = tokenizer

    def document_counts(self) -> dict[str, tuple[int, int]]:
        """doc_id → (articles or other units, chunks) for every document."""
        chunks: dict[str, int] = {}
        units: dict[str, set[str]] = {}
        for c in self.chunks:
            chunks[c.doc_id] = chunks.get(c.doc_id, 0) + 1
            units.setdefault(c.doc_id, set()).add(c.unit_key)
        return {d.doc_id: (len(units.get(d.doc_id, ())), chunks.get(d.doc_id, 0)) for d in self.documents}


def _jsonl(items: Sequence[Any]) -> bytes:
    return "".join(json.dumps(asdict(x), ensure_ascii=False) + "\n" for x in items).encode("utf-8")


def save_index(
    path: Path,
    *,
    manifest: Manifest,
    documents: Sequence[DocumentInfo],
    chunks: Sequence[Chunk],
    dense: DenseIndex,
    bm25: BM25Index,
    tokenizer: JiebaTokenizer,
    extra_files: Mapping[str, bytes] | None = None,
    lock_wait: float = 0.0,
) -> Manifest:
    """Write the index as a new version folder inside ``path``, then make it live with one atomic rename.

    A crash at any point leaves the previous index (or none) live, never a half-written one; the
    next save removes the leftovers. ``path`` must be new, empty or an index (see ``check_target``).
    Returns the manifest with file sizes and checksums filled in.
    """
    path = path.absolute()
    check_target(path)
    created = not path.exists()
    with build_lock(path, wait=lock_wait):
        clean_leftovers(path)
        version = new_version(path)
        try:
            manifest = _write_version(path, version, manifest, documents, chunks, dense, bm25, tokenizer, extra_files)
        except BaseException:
            if current_version(path) != version:  # not yet live: it is debris
                shutil.rmtree(version, ignore_errors=True)
            if created:  # a failed first build leaves nothing behind
                (path / LOCK).unlink(missing_ok=True)
                with contextlib.suppress(OSError):
                    path.rmdir()
            raise
        clean_leftovers(path)
    return manifest


def _write_version(
    path: Path,
    version: Path,
    manifest: Manifest,
    documents: Sequence[DocumentInfo],
    chunks: Sequence[Chunk],
    dense: DenseIndex,
    bm25: BM25Index,
    tokenizer: JiebaTokenizer,
    extra_files: Mapping[str, bytes] | None,
) -> Manifest:
    terms, params = bm25.to_bytes()
    index_bytes, deleted_bytes = dense.to_bytes()
    payload: dict[str, bytes] = {
        "documents.json": json.dumps([asdict(d) for d in documents], ensure_ascii=False, indent=1).encode(),
        "chunks.jsonl": _jsonl(chunks),
        "vectors.faiss": index_bytes,
        "userdict.txt": tokenizer.user_dict_text().encode("utf-8"),
        "bm25/terms.jsonl": terms,
        "bm25/params.json": params,
        **({"vectors.deleted.npy": deleted_bytes} if deleted_bytes else {}),
        **(extra_files or {}),
    }
    sizes: dict[str, int] = {}
    checksums: dict[str, str] = {}
    for rel, data in sorted(payload.items()):
        _write(version / rel, data)
        sizes[rel] = len(data)
        checksums[rel] = hashlib.sha256(data).hexdigest()
    manifest = Manifest(
        **{**asdict(manifest), "format_version": FORMAT_VERSION, "files": sizes, "checksums": checksums}
    )
    manifest = _MANIFEST.validate_python(asdict(manifest))  # nested records back to dataclasses
    _write(version / MANIFEST, json.dumps(asdict(manifest), ensure_ascii=False, indent=1).encode("utf-8"))
    publish(path, version)
    return manifest


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _unreadable(path: Path, exc: OSError) -> IndexStoreError:
    where = exc.filename or path
    return IndexStoreError(
        f"cannot read the index at {path}: {exc.strerror or exc} ({where}); check the folder's permissions"
    )


def _version(path: Path) -> Path:
    if not path.exists():
        raise IndexStoreError(f"no index at {path} — build one with: policyrag index")
    if not path.is_dir():
        raise IndexStoreError(f"{path} is a file, not an index folder; {_REBUILD} --index FOLDER")
    version = current_version(path)
    if version is None:
        raise IndexStoreError(f"{path} is not a complete index (no {MANIFEST}); {_REBUILD}")
    return version


def _read_manifest(path: Path, version: Path) -> Manifest:
    mpath = version / MANIFEST
    if not mpath.is_file():
        raise IndexStoreError(f"{path} is not a complete index (no {MANIFEST}); {_REBUILD}")
    try:
        manifest = _MANIFEST.validate_json(mpath.read_bytes(), strict=True)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise IndexStoreError(
            f"{mpath} is corrupt ({where + ': ' if where else ''}{err['msg']}); rebuild the index with: policyrag index"
        ) from exc
    if manifest.format_version not in READABLE_VERSIONS:
        raise IndexStoreError(
            f"{path} has index format {manifest.format_version}, this policyrag reads {FORMAT_VERSION}; {_REBUILD}"
        )
    for rel in _FILES:
        f = version / rel
        if not f.is_file():
            raise IndexStoreError(f"{path} is partial: {rel} is missing; {_REBUILD}")
        if rel in manifest.files and f.stat().st_size != manifest.files[rel]:
            raise IndexStoreError(f"{path} is corrupt: {rel} has the wrong size; {_REBUILD}")
    return manifest


def read_manifest(path: Path) -> Manifest:
    """Read and check an index's manifest (files present, sizes right) without loading the index."""
    try:
        return _read_manifest(path, _version(path))
    except OSError as exc:
        raise _unreadable(path, exc) from exc


def current_dir(path: Path) -> Path:
    """The folder holding the live index files (a version folder, or ``path`` itself for the old layout)."""
    return _version(path)


def load_index(
    path: Path, *, expect_embedder: str | None = None, searchable: bool = True, with_caches: bool = False
) -> LoadedIndex:
    """Load an index, verifying every file's checksum as it is read.

    ``expect_embedder`` (if given) must match the one it was built with. A build that
    replaces the index while it is being loaded makes the load start again on the new version.
    ``searchable=False`` skips building the BM25 matrix up front (an incremental build only
    reads the contents; the matrix is still built on first search). ``with_caches`` also reads
    (and verifies) the files only builds use, into ``extra``; search never needs them.
    """
    for attempt in range(3):
        version = _version(path)
        try:
            return _load(path, version, expect_embedder, searchable, with_caches)
        except OSError as exc:
            if attempt < 2 and current_version(path) != version:
                continue
            raise _unreadable(path, exc) from exc
        except IndexStoreError:
            if attempt < 2 and current_version(path) != version:
                continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _load(
    path: Path, version: Path, expect_embedder: str | None, searchable: bool, with_caches: bool
) -> LoadedIndex:
    started = time.perf_counter()
    manifest = _read_manifest(path, version)
    if expect_embedder is not None and expect_embedder != manifest.embedder:
        raise IndexStoreError(
            f"{path} was built with embedder {manifest.embedder!r}, not {expect_embedder!r}; "
            f"search it with its own embedder or rebuild with: policyrag index --embedder {expect_embedder}"
        )

    def read(rel: str) -> bytes:
        data = (version / rel).read_bytes()
        want = manifest.checksums.get(rel)
        if want is not None and hashlib.sha256(data).hexdigest() != want:
            raise IndexStoreError(f"{path} is corrupt: {rel} does not match its checksum; {_REBUILD}")
        return data

    optional = [rel for rel in manifest.files if rel not in _FILES and with_caches]
    try:
        documents = _DOCUMENTS.validate_json(read("documents.json"))
        chunks = _CHUNKS.validate_python([json.loads(line) for line in read("chunks.jsonl").splitlines()])
        deleted = read("vectors.deleted.npy") if "vectors.deleted.npy" in manifest.files else None
        if deleted is None and manifest.format_version == 1 and (version / "vectors.deleted.npy").is_file():
            deleted = (version / "vectors.deleted.npy").read_bytes()
        dense = DenseIndex.from_bytes(read("vectors.faiss"), deleted)
        bm25 = BM25Index.from_bytes(read("bm25/terms.jsonl"), read("bm25/params.json"), index=searchable)
        words = read("userdict.txt").decode("utf-8")
        extra = {rel: read(rel) for rel in optional if rel != "vectors.deleted.npy"}
    except IndexStoreError:
        raise
    except ValidationError as exc:
        err = exc.errors()[0]
        raise IndexStoreError(
            f"{path} is corrupt ({'.'.join(str(x) for x in err['loc'])}: {err['msg']}); {_REBUILD}"
        ) from exc
    except (ValueError, TypeError, KeyError, RuntimeError) as exc:  # JSON, UTF-8, FAISS and numpy parse errors
        raise IndexStoreError(f"{path} is corrupt ({str(exc).splitlines()[0][:200]}); {_REBUILD}") from exc
    if (
        dense.dim != manifest.dim
        or len(chunks) != manifest.counts.get("chunks")
        or dense.total_rows != len(chunks)
        or len(bm25.terms) != len(chunks)
    ):
        raise IndexStoreError(f"{path} is inconsistent with its manifest; {_REBUILD}")
    tokenizer = JiebaTokenizer([w for w in words.splitlines() if w.strip()])
    if searchable:
        tokenizer.warm()  # load jieba's dictionary now, not during the first search
    return LoadedIndex(path, manifest, documents, chunks, dense, bm25, tokenizer, time.perf_counter() - started, extra)
