"""A resumable on-disk cache of document embeddings, keyed by embedder and text.

Embedding is the slow step of indexing (≈11 passages/s for e5-small on 2 CPU
cores). Vectors are appended to the cache in shards as they are computed, so a
rebuild, or a re-run after a crash, only embeds texts it has not seen.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Maps text → vector for one embedder, persisted under ``folder``."""

    def __init__(self, folder: Path, embedder_name: str, dim: int) -> None:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", embedder_name).strip("_")[:80]
        self.folder = folder / slug
        self.dim = dim
        self._vectors: dict[str, np.ndarray] = {}
        self._load()

    def _load(self) -> None:
        if not self.folder.is_dir():
            return
        for shard in sorted(self.folder.glob("shard-*.npz")):
            try:
                with np.load(shard) as data:
                    keys, vecs = data["keys"], data["vectors"]
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # a shard cut short or damaged
                logger.warning("ignoring unreadable embedding cache shard %s (%s)", shard.name, exc)
                continue
            if vecs.ndim == 2 and vecs.shape[1] == self.dim:
                self._vectors.update(zip((str(k) for k in keys), vecs, strict=True))

    def __len__(self) -> int:
        return len(self._vectors)

    def count_cached(self, texts: Sequence[str]) -> int:
        """How many of ``texts`` already have a vector in the cache."""
        return sum(_key(t) in self._vectors for t in texts)

    def _write_shard(self, keys: list[str], vectors: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        n = len(list(self.folder.glob("shard-*.npz")))
        # pid and a random tag: two builds sharing the cache never write (or rename onto) the same file
        tag = f"{n:05d}-{os.getpid()}-{secrets.token_hex(3)}"
        tmp = self.folder / f".shard-{tag}.tmp.npz"
        np.savez(tmp, keys=np.array(keys), vectors=vectors.astype(np.float32))
        tmp.rename(self.folder / f"shard-{tag}.npz")

    def embed(
        self,
        texts: Sequence[str],
        encode: Callable[[Sequence[str]], np.ndarray],
        *,
        shard_size: int = 256,
        on_progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Vectors for ``texts``: cached ones reused, the rest encoded in shards and saved."""
        keys = [_key(t) for t in texts]
        missing = sorted({k: i for i, k in enumerate(keys) if k not in self._vectors}.values())
        if on_progress:
            on_progress(len(texts) - len(missing))
        for start in range(0, len(missing), shard_size):
            idx = missing[start : start + shard_size]
            vecs = encode([texts[i] for i in idx])
            shard_keys = [keys[i] for i in idx]
            self._vectors.update(zip(shard_keys, vecs, strict=True))
            self._write_shard(shard_keys, vecs)
            if on_progress:
                on_progress(len(idx))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, k in enumerate(keys):
            out[i] = self._vectors[k]
        return out
