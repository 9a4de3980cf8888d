"""The on-disk index: a folder with a manifest, written atomically, checked on load."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from indexer.records import Chunk, DocumentInfo
from indexer.tokenise import JiebaTokenizer
from retriever.dense import DenseIndex
from retriever.sparse import BM25Index

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_FILES = ("documents.json", "chunks.jsonl", "vectors.faiss", "userdict.txt", "bm25/terms.jsonl", "bm25/params.json")


class IndexStoreError(RuntimeError):
    """An index folder that is missing, partial, corrupt or built for another embedder."""


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

    def document_counts(self) -> dict[str, tuple[int, int]]:
        """doc_id → (articles or other units, chunks) for every document."""
        chunks: dict[str, int] = {}
        units: dict[str, set[str]] = {}
        for c in self.chunks:
            chunks[c.doc_id] = chunks.get(c.doc_id, 0) + 1
            units.setdefault(c.doc_id, set()).add(c.unit_key)
        return {d.doc_id: (len(units.get(d.doc_id, ())), chunks.get(d.doc_id, 0)) for d in self.documents}


def save_index(
    path: Path,
    *,
    manifest: Manifest,
    documents: Sequence[DocumentInfo],
    chunks: Sequence[Chunk],
    dense: DenseIndex,
    bm25: BM25Index,
    tokenizer: JiebaTokenizer,
) -> Manifest:
    """Write the index into a temporary sibling folder, then swap it into place.

    A crash at any point leaves either the previous index or none at ``path``,
    never a half-written one. Returns the manifest with file sizes filled in.
    """
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        (tmp / "documents.json").write_text(
            json.dumps([asdict(d) for d in documents], ensure_ascii=False, indent=1), encoding="utf-8"
        )
        with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as fh:
            for chunk in chunks:
                fh.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
        dense.save(tmp / "vectors.faiss")
        bm25.save(tmp / "bm25")
        tokenizer.save_user_dict(tmp / "userdict.txt")
        sizes = {str(p.relative_to(tmp)): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()}
        manifest = Manifest(**{**asdict(manifest), "files": sizes})
        (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), ensure_ascii=False, indent=1), encoding="utf-8")
        old = path.with_name(f".{path.name}.old-{os.getpid()}")
        if path.exists():
            path.rename(old)
        tmp.rename(path)
        if old.exists():
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def read_manifest(path: Path) -> Manifest:
    """Read and check an index's manifest (without loading the index)."""
    if not path.exists():
        raise IndexStoreError(f"no index at {path} — build one with: policyrag index")
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise IndexStoreError(f"{path} is not a complete index (no {MANIFEST}); rebuild it with: policyrag index")
    try:
        raw = json.loads(mpath.read_text(encoding="utf-8"))
        manifest = Manifest(**raw)
    except (json.JSONDecodeError, TypeError) as exc:
        raise IndexStoreError(f"{mpath} is corrupt ({exc}); rebuild the index with: policyrag index") from exc
    if manifest.format_version != FORMAT_VERSION:
        raise IndexStoreError(
            f"{path} has index format {manifest.format_version}, this policyrag reads {FORMAT_VERSION}; "
            "rebuild it with: policyrag index"
        )
    for rel in _FILES:
        f = path / rel
        if not f.is_file():
            raise IndexStoreError(f"{path} is partial: {rel} is missing; rebuild it with: policyrag index")
        if rel in manifest.files and f.stat().st_size != manifest.files[rel]:
            raise IndexStoreError(f"{path} is corrupt: {rel} has the wrong size; rebuild it with: policyrag index")
    return manifest


def load_index(path: Path, *, expect_embedder: str | None = None) -> LoadedIndex:
    """Load an index; ``expect_embedder`` (if given) must match the one it was built with."""
    started = time.perf_counter()
    manifest = read_manifest(path)
    if expect_embedder is not None and expect_embedder != manifest.embedder:
        raise IndexStoreError(
            f"{path} was built with embedder {manifest.embedder!r}, not {expect_embedder!r}; "
            f"search it with its own embedder or rebuild with: policyrag index --embedder {expect_embedder}"
        )
    try:
        documents = tuple(
            DocumentInfo(**{**d, "sources": tuple(d["sources"])})
            for d in json.loads((path / "documents.json").read_text(encoding="utf-8"))
        )
        with (path / "chunks.jsonl").open(encoding="utf-8") as fh:
            chunks = tuple(
                Chunk(**{**c, "path": tuple(c["path"]), "sources": tuple(c["sources"])}) for c in map(json.loads, fh)
            )
        dense = DenseIndex.load(path / "vectors.faiss")
        bm25 = BM25Index.load(path / "bm25")
    except (json.JSONDecodeError, TypeError, KeyError, RuntimeError) as exc:
        raise IndexStoreError(f"{path} is corrupt ({exc}); rebuild it with: policyrag index") from exc
    if dense.dim != manifest.dim or len(chunks) != manifest.counts.get("chunks"):
        raise IndexStoreError(f"{path} is inconsistent with its manifest; rebuild it with: policyrag index")
    tokenizer = JiebaTokenizer.load(path / "userdict.txt")
    return LoadedIndex(path, manifest, documents, chunks, dense, bm25, tokenizer, time.perf_counter() - started)
