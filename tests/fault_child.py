"""A build run in a child process by the fault-injection tests: ``python -m tests.fault_child STAGE SRC INDEX``.

``STAGE`` names the moment the child kills itself with SIGKILL (no clean-up of any kind runs),
``none`` builds normally, ``slow`` holds the build lock for a while (for the concurrency tests).
Exit code 2 and one line on stderr for the errors a user would see.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import indexer.build
import indexer.embed_cache
import indexer.parallel
import retriever.index_dir
import retriever.store
from retriever.store import IndexStoreError
from tests.conftest import FakeEmbedder


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(stage: str, embedder: FakeEmbedder, ready: Path | None) -> None:
    """Patch the build so that it dies (or dawdles) at ``stage``."""
    if stage == "ingest":
        indexer.parallel.ingest_file = lambda *args: _die()  # type: ignore[assignment,misc,return-value]
    elif stage == "embed":
        embedder.encode_documents = lambda texts, **kw: _die()  # type: ignore[method-assign,assignment,misc]
    elif stage == "cache-shard":  # a half-written embedding cache shard
        original_write = indexer.embed_cache.EmbeddingCache._write_shard

        def half_shard(self: Any, keys: list[str], vectors: Any) -> None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / "shard-00099.npz").write_bytes(b"PK\x03\x04 cut short")
            _die()
            original_write(self, keys, vectors)

        indexer.embed_cache.EmbeddingCache._write_shard = half_shard  # type: ignore[method-assign]
    elif stage == "write-files":  # some files of the new version written, not all
        original = retriever.store._write
        written = [0]

        def dying_write(target: Path, data: bytes) -> None:
            written[0] += 1
            if written[0] == 4:
                target.write_bytes(data[: len(data) // 2])
                _die()
            original(target, data)

        retriever.store._write = dying_write  # type: ignore[assignment]
    elif stage == "before-switch":  # every file written, the pointer not yet replaced
        original_replace = os.replace

        def dying_replace(a: Any, b: Any) -> None:
            if str(b).endswith(retriever.index_dir.POINTER):
                _die()
            original_replace(a, b)

        retriever.index_dir.os.replace = dying_replace  # type: ignore[attr-defined]
    elif stage == "after-switch":  # the new version is live, the old one not yet removed
        calls = [0]
        original_clean = retriever.store.clean_leftovers

        def dying_clean(path: Path) -> list[str]:
            calls[0] += 1
            if calls[0] == 2:
                _die()
            return original_clean(path)

        retriever.store.clean_leftovers = dying_clean  # type: ignore[assignment]
    elif stage == "slow":
        original_encode = embedder.encode_documents

        def slow(texts: Any, **kw: Any) -> Any:
            if ready is not None:
                ready.write_text("holding the lock", encoding="utf-8")
            time.sleep(3)
            return original_encode(texts, **kw)

        embedder.encode_documents = slow  # type: ignore[method-assign]
    elif stage != "none":
        raise SystemExit(f"unknown stage {stage}")


def main() -> int:
    stage, src, index = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    ready = Path(sys.argv[4]) if len(sys.argv) > 4 else None
    embedder = FakeEmbedder()
    arm(stage, embedder, ready)
    try:
        indexer.build.build_index([src], index, embedder, cache_dir=index.parent / "cache", progress=False)
    except IndexStoreError as exc:
        print(f"policyrag: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
