"""Embedders backed by a local sentence-transformers model directory (embeddinggemma, ``st:<path>``)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from models._vectors import as_text_list, encode_in_batches
from models.errors import ModelNotAvailableError

logger = logging.getLogger(__name__)

# Prompt names checked in order. "query"/"document" are the sentence-transformers v5 conventions;
# the "Retrieval-*" names are the MTEB task prompts some models (embeddinggemma) also ship.
QUERY_PROMPT_NAMES = ("query", "Retrieval-query")
DOCUMENT_PROMPT_NAMES = ("document", "Retrieval-document", "passage")
# A GPU is underused at CPU-sized batches; this is the floor applied on CUDA devices.
CUDA_MIN_BATCH = 64
_QUERY_BATCH = 64


class STModel(Protocol):
    """The subset of ``sentence_transformers.SentenceTransformer`` this backend uses."""

    prompts: dict[str, str | None]
    default_prompt_name: str | None

    @property
    def max_seq_length(self) -> int | None: ...

    @property
    def tokenizer(self) -> Any: ...

    def get_embedding_dimension(self) -> int | None: ...

    def encode(
        self,
        inputs: list[str],
        *,
        prompt: str | None = ...,
        batch_size: int = ...,
        show_progress_bar: bool | None = ...,
        convert_to_numpy: bool = ...,
        normalize_embeddings: bool = ...,
    ) -> Any: ...


# (model directory, device) -> loaded model. Injectable so the CUDA path is testable without a GPU.
STModelFactory = Callable[[str, str], STModel]


def default_st_factory(model_dir: str, device: str) -> STModel:
    """Load a sentence-transformers model from a local directory with all hub access disabled."""
    # Must be set before sentence_transformers (and through it huggingface_hub) is first imported.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    model: STModel = SentenceTransformer(model_dir, device=device, local_files_only=True)
    return model


def pick_prompt(prompts: Mapping[str, str | None], candidates: Sequence[str]) -> tuple[str, str] | None:
    """Return ``(name, text)`` of the first candidate prompt the model defines, or None."""
    for name in candidates:
        text = prompts.get(name)
        if text is not None:
            return name, text
    return None


class SentenceTransformerEmbedder:
    """A local sentence-transformers model used with its own query/document prompts.

    With ``require_prompts`` the model must define both a query and a document prompt (models
    trained with prompts, like embeddinggemma, degrade badly without them). Otherwise a missing
    role prompt falls back to the model's declared default prompt, or to none.
    """

    def __init__(
        self,
        name: str,
        model_dir: Path,
        *,
        device: str,
        require_prompts: bool = False,
        missing_hint: str = "",
        model_factory: STModelFactory | None = None,
    ) -> None:
        hint = f"; {missing_hint}" if missing_hint else ""
        if not model_dir.is_dir():
            raise ModelNotAvailableError(f"{name}: model directory {model_dir} does not exist{hint}")
        if not (model_dir / "modules.json").is_file():
            raise ModelNotAvailableError(
                f"{name}: {model_dir} is not a sentence-transformers model directory (no modules.json){hint}"
            )
        factory = model_factory if model_factory is not None else default_st_factory
        logger.info("loading %s from %s on %s", name, model_dir, device)
        try:
            self._model = factory(str(model_dir), device)
        except (OSError, ValueError) as exc:
            raise ModelNotAvailableError(f"{name}: failed to load {model_dir}: {exc}{hint}") from exc

        self.name: str = name
        self.device: str = device
        dim = self._model.get_embedding_dimension()
        if not dim:
            raise ModelNotAvailableError(f"{name}: {model_dir} does not declare its embedding dimension")
        self.dim: int = int(dim)
        max_len = self._model.max_seq_length
        if not max_len:
            raise ModelNotAvailableError(f"{name}: {model_dir} does not declare max_seq_length")
        self.max_tokens: int = int(max_len)

        prompts = dict(self._model.prompts or {})
        query = pick_prompt(prompts, QUERY_PROMPT_NAMES)
        document = pick_prompt(prompts, DOCUMENT_PROMPT_NAMES)
        if require_prompts and (query is None or document is None):
            raise ModelNotAvailableError(
                f"{name}: model at {model_dir} must define a query prompt (one of {QUERY_PROMPT_NAMES}) "
                f"and a document prompt (one of {DOCUMENT_PROMPT_NAMES}); it defines {sorted(prompts)}{hint}"
            )
        default = self._model.default_prompt_name
        default_text = (prompts.get(default) or "") if default else ""
        self.query_prompt_name: str | None = query[0] if query else default
        self.document_prompt_name: str | None = document[0] if document else default
        # Explicit prompt strings (never prompt_name) are passed to encode so that count_tokens and
        # encode are guaranteed to see the same text.
        self._query_prefix: str = query[1] if query else default_text
        self._document_prefix: str = document[1] if document else default_text
        logger.info(
            "%s: dim=%d max_tokens=%d query_prompt=%r document_prompt=%r",
            name,
            self.dim,
            self.max_tokens,
            self.query_prompt_name,
            self.document_prompt_name,
        )

    def _effective_batch(self, batch_size: int) -> int:
        if self.device.startswith("cuda"):
            return max(batch_size, CUDA_MIN_BATCH)
        return batch_size

    def _encoder(self, prefix: str) -> Callable[[list[str]], np.ndarray]:
        def encode(batch: list[str]) -> np.ndarray:
            out = self._model.encode(
                batch,
                prompt=prefix,
                batch_size=len(batch),
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=False,
            )
            return np.asarray(out, dtype=np.float32)

        return encode

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries with the model's query prompt; ``(n, dim)`` unit float32 rows."""
        return encode_in_batches(
            as_text_list(texts),
            self._encoder(self._query_prefix),
            dim=self.dim,
            batch_size=self._effective_batch(_QUERY_BATCH),
            progress=False,
            desc=f"{self.name} queries",
            sort_by_length=True,
        )

    def encode_documents(self, texts: Sequence[str], *, batch_size: int = 16, progress: bool = False) -> np.ndarray:
        """Embed documents with the model's document prompt; ``(n, dim)`` unit float32 rows.

        On a CUDA device the batch is raised to at least ``CUDA_MIN_BATCH``.
        """
        return encode_in_batches(
            as_text_list(texts),
            self._encoder(self._document_prefix),
            dim=self.dim,
            batch_size=self._effective_batch(batch_size),
            progress=progress,
            desc=self.name,
            sort_by_length=True,
        )

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` as a document: prompt + text + special tokens, untruncated."""
        # verbose=False: the "longer than the specified maximum" warning is exactly what callers of
        # count_tokens are checking for themselves.
        encoded = self._model.tokenizer(
            self._document_prefix + text, add_special_tokens=True, truncation=False, verbose=False
        )
        return len(encoded["input_ids"])
