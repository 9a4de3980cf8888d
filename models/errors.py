"""Exceptions raised by the models package."""

from __future__ import annotations


class UnknownEmbedderError(ValueError):
    """An embedder name is not in the registry."""


class ModelNotAvailableError(RuntimeError):
    """A model's files (or the device it was asked to run on) are not available locally."""


class AssetError(RuntimeError):
    """Fetching, assembling or verifying a model asset failed."""


class EmbeddingError(RuntimeError):
    """A backend returned vectors that cannot be used (wrong shape, zero or non-finite rows)."""


class UnknownGeneratorError(ValueError):
    """A generator (LLM) name is not in the registry."""


class GenerationError(RuntimeError):
    """A generation request cannot be served (e.g. prompt + max_tokens exceed the context window)."""
