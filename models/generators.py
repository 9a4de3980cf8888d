"""Generator (chat LLM) protocol and registry: maps a generator name to a loaded local model.

llama-cpp-python is imported only when a model is created, so importing this module stays cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from models.assets import asset_status, get_spec
from models.chat import ROLES, ChatMessage
from models.errors import ModelNotAvailableError, UnknownGeneratorError
from models.llama_backend import LlamaCppGenerator, LlamaFactory

__all__ = [
    "AUTO",
    "GENERATOR_NAMES",
    "GGUF_PREFIX",
    "QWEN_05B",
    "ROLES",
    "ChatMessage",
    "Generator",
    "LlamaCppGenerator",
    "create_generator",
]

logger = logging.getLogger(__name__)

AUTO = "auto"
QWEN_05B = "qwen2.5-0.5b-instruct-q4_k_m"
GGUF_PREFIX = "gguf:"
GENERATOR_NAMES = (AUTO, QWEN_05B, f"{GGUF_PREFIX}<path>")

QWEN_FETCH_HINT = f'run "make models" (or "policyrag models fetch {QWEN_05B}")'


@runtime_checkable
class Generator(Protocol):
    """A local chat model.

    ``name`` identifies the model in logs and answers (the registry id, or a GGUF's file name);
    ``context_window`` is the n_ctx it was loaded with, in the units of ``count_tokens``.
    ``text_logprob`` scores raw text: the summed log-probability of ``text`` after ``prefix``.
    ``generate`` streams the reply as text pieces and raises GenerationError up front when the
    prompt plus ``max_tokens`` does not fit the context window.
    """

    name: str
    context_window: int

    def count_tokens(self, text: str) -> int: ...

    def text_logprob(self, prefix: str, text: str) -> float: ...

    def generate(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
    ) -> Iterator[str]: ...


def _unknown(name: str) -> UnknownGeneratorError:
    return UnknownGeneratorError(f"unknown generator {name!r}; valid names: {', '.join(GENERATOR_NAMES)}")


def default_model_path(models_dir: Path) -> Path:
    """Where the default GGUF lives in ``models_dir``, checked to be present and verified.

    Cheap: compares the verification stamp written by ``models.assets`` and the file size, never hashes.
    """
    spec = get_spec(QWEN_05B)
    status = asset_status(QWEN_05B, models_dir)
    if status.state == "missing":
        raise ModelNotAvailableError(f"{QWEN_05B}: {status.path} does not exist; {QWEN_FETCH_HINT}")
    size = status.path.stat().st_size if status.path.is_file() else -1
    if size != spec.size:
        raise ModelNotAvailableError(
            f"{QWEN_05B}: {status.path} is {size:,} bytes, expected {spec.size:,} (incomplete or corrupt); "
            f'run "policyrag models fetch {QWEN_05B} --force"'
        )
    if status.state != "verified":
        raise ModelNotAvailableError(
            f"{QWEN_05B}: {status.path} is not verified ({status.detail}); "
            f'run "policyrag models fetch {QWEN_05B}" to check its sha256 (or "make models")'
        )
    return status.path


def create_generator(
    name: str,
    *,
    models_dir: Path,
    n_ctx: int = 4096,
    n_gpu_layers: int | None = None,
    n_threads: int | None = None,
    llama_factory: LlamaFactory | None = None,
) -> Generator:
    """Create the generator registered under ``name`` (see ``GENERATOR_NAMES``).

    "auto" and "qwen2.5-0.5b-instruct-q4_k_m" load the fetched default asset from ``models_dir``;
    "gguf:<path>" loads any chat GGUF file. ``n_gpu_layers=None`` offloads every layer when the
    llama.cpp build supports a GPU, else none. ``llama_factory`` replaces ``llama_cpp.Llama`` (tests).
    """
    if name == AUTO:
        logger.info("generator 'auto' resolved to %r", QWEN_05B)
        name = QWEN_05B

    if name == QWEN_05B:
        return LlamaCppGenerator(
            default_model_path(models_dir),
            name=QWEN_05B,
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_gpu_layers=n_gpu_layers,
            missing_hint=QWEN_FETCH_HINT,
            llama_factory=llama_factory,
        )

    if name.startswith(GGUF_PREFIX) and name[len(GGUF_PREFIX) :].strip():
        path = Path(name[len(GGUF_PREFIX) :].strip()).expanduser().resolve()
        return LlamaCppGenerator(
            path,
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_gpu_layers=n_gpu_layers,
            llama_factory=llama_factory,
        )

    raise _unknown(name)
