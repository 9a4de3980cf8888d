"""Shared helpers for embedders: input checks, batching with progress, and normalisation."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np
from tqdm import tqdm

from models.errors import EmbeddingError

BatchEncoder = Callable[[list[str]], np.ndarray]


def as_text_list(texts: Sequence[str]) -> list[str]:
    """Copy ``texts`` into a list, rejecting a bare ``str`` (which is itself a ``Sequence[str]``)."""
    # A bare string would otherwise be embedded one character at a time.
    if isinstance(texts, str):
        raise TypeError("expected a sequence of strings, got a single str; wrap it in a list")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(f"texts[{i}] is {type(t).__name__}, expected str")
    return out


def empty_matrix(dim: int) -> np.ndarray:
    """Return a C-contiguous float32 array of shape ``(0, dim)``."""
    return np.zeros((0, dim), dtype=np.float32)


def l2_normalise(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Return ``vectors`` as a C-contiguous float32 ``(n, dim)`` array with unit-length rows.

    Backends are not trusted to normalise (or to return float32), so every embedder passes its
    output through here. A zero or non-finite row means the backend failed on that input; it is
    reported rather than silently turned into a meaningless vector.
    """
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise EmbeddingError(f"backend returned shape {arr.shape}, expected (n, {dim})")
    if not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr).all(axis=1)).tolist()
        raise EmbeddingError(f"backend returned non-finite values in rows {bad[:10]}")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    if (norms == 0).any():
        bad = np.flatnonzero(norms[:, 0] == 0).tolist()
        raise EmbeddingError(f"backend returned all-zero vectors in rows {bad[:10]}")
    return np.ascontiguousarray(arr / norms, dtype=np.float32)


def encode_in_batches(
    texts: list[str],
    encode_batch: BatchEncoder,
    *,
    dim: int,
    batch_size: int,
    progress: bool,
    desc: str,
    sort_by_length: bool = False,
) -> np.ndarray:
    """Encode ``texts`` in batches of ``batch_size`` and return normalised ``(n, dim)`` float32 rows.

    ``sort_by_length`` groups similar-length texts into the same batch so padding-based backends
    waste less compute; rows are returned in the caller's original order either way.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not texts:
        return empty_matrix(dim)
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i])) if sort_by_length else None
    ordered = [texts[i] for i in order] if order is not None else texts
    chunks: list[np.ndarray] = []
    n_batches = (len(ordered) + batch_size - 1) // batch_size
    with tqdm(total=n_batches, desc=desc, unit="batch", file=sys.stderr, disable=not progress) as bar:
        for start in range(0, len(ordered), batch_size):
            batch = ordered[start : start + batch_size]
            out = np.asarray(encode_batch(batch), dtype=np.float32)
            if out.shape[0] != len(batch):
                raise EmbeddingError(f"backend returned {out.shape[0]} rows for a batch of {len(batch)}")
            chunks.append(out)
            bar.update(1)
    stacked = l2_normalise(np.concatenate(chunks, axis=0), dim)
    if order is None:
        return stacked
    restored = np.empty_like(stacked)
    restored[np.asarray(order)] = stacked
    return restored
