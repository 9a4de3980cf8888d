"""Generator backed by a local GGUF model through llama-cpp-python (imported only when a model loads)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

from models.chat import ChatMessage
from models.errors import GenerationError, ModelNotAvailableError

logger = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
CHAT_TEMPLATE_KEY = "tokenizer.chat_template"
# Fixed sampling seed: the same request gives the same answer, also at temperature > 0.
DEFAULT_SEED = 0
# Per-message allowance for role markers when the chat template cannot be rendered locally.
_MESSAGE_OVERHEAD = 8
_STDERR_TAIL = 2000


class LlamaModel(Protocol):
    """The subset of ``llama_cpp.Llama`` this backend uses (lets tests inject a fake)."""

    metadata: dict[str, str]

    def n_ctx(self) -> int: ...

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]: ...

    def detokenize(self, tokens: list[int], prev_tokens: list[int] | None = None, special: bool = False) -> bytes: ...

    def create_chat_completion(self, messages: list[dict[str, str]], **kwargs: Any) -> Any: ...


# Called with llama_cpp.Llama's keyword arguments (model_path, n_ctx, n_threads[_batch], n_gpu_layers, verbose).
LlamaFactory = Callable[..., LlamaModel]


def default_llama_factory(**kwargs: Any) -> LlamaModel:
    """Construct ``llama_cpp.Llama(**kwargs)``."""
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelNotAvailableError(
            f"llama-cpp-python is not installed ({exc}); install it with `pip install llama-cpp-python`"
        ) from exc
    # Any: llama_cpp's precise TypedDict signatures are wider than the Protocol's plain dicts.
    llm: Any = llama_cpp.Llama(**kwargs)
    return cast(LlamaModel, llm)


def gpu_offload_supported() -> bool:
    """True when the installed llama.cpp build can offload layers to a GPU."""
    try:
        import llama_cpp
    except ImportError as exc:
        logger.debug("llama_cpp not importable (%s); treating GPU offload as unsupported", exc)
        return False
    return bool(llama_cpp.llama_supports_gpu_offload())


def check_gguf(path: Path, hint: str = "") -> None:
    """Raise ModelNotAvailableError unless ``path`` is a file starting with the GGUF magic."""
    suffix = f"; {hint}" if hint else ""
    if not path.exists():
        raise ModelNotAvailableError(f"GGUF model {path} does not exist{suffix}")
    if not path.is_file():
        raise ModelNotAvailableError(f"GGUF model {path} is not a file{suffix}")
    with path.open("rb") as fh:
        magic = fh.read(len(GGUF_MAGIC))
    if magic != GGUF_MAGIC:
        raise ModelNotAvailableError(
            f"{path} is not a GGUF model (starts with {magic!r}, expected {GGUF_MAGIC!r}){suffix}"
        )


@contextlib.contextmanager
def native_stderr_captured(sink: list[str]) -> Iterator[None]:
    """Redirect file descriptor 2 to a temp file for the block; append what was written to ``sink``.

    llama.cpp writes load diagnostics straight to fd 2 (bypassing ``sys.stderr``) in some versions
    even with ``verbose=False``; this keeps the CLI clean while keeping the text for error messages.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no usable fd 2 (e.g. a daemon): nothing to protect
        yield
        return
    with tempfile.TemporaryFile() as tmp:
        sys.stderr.flush()
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            sink.append(tmp.read().decode("utf-8", "replace"))


def _special_token_text(llm: LlamaModel, id_key: str) -> str:
    raw = llm.metadata.get(id_key)
    if raw is None:
        return ""
    try:
        return llm.detokenize([int(raw)], special=True).decode("utf-8", "replace")
    except (ValueError, TypeError, RuntimeError, AttributeError):
        return ""


def _make_formatter(template: str, bos: str, eos: str) -> Callable[[list[dict[str, str]]], str] | None:
    """Render prompts exactly as llama-cpp-python does for GGUF chat templates, or None if unavailable."""
    try:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
    except Exception as exc:  # ImportError, or a template jinja2 cannot compile
        logger.debug("cannot build a local chat formatter (%s); prompt sizes will be estimated", exc)
        return None

    def render(messages: list[dict[str, str]]) -> str:
        return str(formatter(messages=messages).prompt)  # type: ignore[arg-type]

    return render


class LlamaCppGenerator:
    """A chat model in a GGUF file, run by llama.cpp, prompted with the GGUF's own chat template.

    The model loads once, in the constructor. ``generate`` streams text pieces; at temperature 0
    decoding is greedy (top_k=1, fixed seed) and therefore deterministic. Generations are
    serialised by a lock (llama.cpp contexts are not thread-safe): exhaust or close each iterator.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        name: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_gpu_layers: int | None = None,
        seed: int = DEFAULT_SEED,
        missing_hint: str = "",
        llama_factory: LlamaFactory | None = None,
    ) -> None:
        check_gguf(model_path, missing_hint)
        self.name: str = name if name is not None else model_path.name
        self.model_path: Path = model_path
        threads = n_threads if n_threads is not None else (os.cpu_count() or 1)
        if n_gpu_layers is None:
            n_gpu_layers = -1 if gpu_offload_supported() else 0
        factory = llama_factory if llama_factory is not None else default_llama_factory

        noise: list[str] = []
        started = time.perf_counter()
        try:
            with native_stderr_captured(noise):
                llm = factory(
                    model_path=str(model_path),
                    n_ctx=n_ctx,
                    n_threads=threads,
                    # llama-cpp-python otherwise uses every core for prompt processing whatever n_threads says.
                    n_threads_batch=threads,
                    n_gpu_layers=n_gpu_layers,
                    verbose=False,
                )
        except ModelNotAvailableError:
            raise
        except Exception as exc:  # llama_cpp raises ValueError/RuntimeError on unloadable files
            tail = "".join(noise).strip()[-_STDERR_TAIL:]
            detail = f"\nllama.cpp said:\n{tail}" if tail else ""
            raise ModelNotAvailableError(f"{self.name}: llama.cpp failed to load {model_path}: {exc}{detail}") from exc
        load_seconds = time.perf_counter() - started
        if "".join(noise).strip():
            logger.debug("llama.cpp stderr while loading %s:\n%s", self.name, "".join(noise).strip())

        self._llm: LlamaModel = llm
        self._lock = threading.Lock()
        self._seed = seed
        self.context_window: int = int(llm.n_ctx())
        self.n_threads: int = threads
        self.n_gpu_layers: int = n_gpu_layers
        self.load_seconds: float = load_seconds
        self.last_finish_reason: str | None = None

        template = llm.metadata.get(CHAT_TEMPLATE_KEY) or ""
        if not template.strip():
            raise ModelNotAvailableError(
                f"{self.name}: {model_path} has no {CHAT_TEMPLATE_KEY} in its GGUF metadata, so the prompt "
                "format is unknown (llama-cpp-python would silently fall back to llama-2); use an "
                "instruct/chat GGUF that embeds its chat template"
            )
        # llama-cpp-python names this "chat_template.default" unless it recognised the template as a
        # built-in format (e.g. "chatml"); either way the prompt follows the GGUF's template.
        self.chat_format: str = str(getattr(llm, "chat_format", None) or "chat_template.default")
        self.chat_template: str = template
        bos = _special_token_text(llm, "tokenizer.ggml.bos_token_id")
        eos = _special_token_text(llm, "tokenizer.ggml.eos_token_id")
        self._render = _make_formatter(template, bos, eos)

        trained = llm.metadata.get(f"{llm.metadata.get('general.architecture', '')}.context_length")
        if trained is not None and trained.isdigit() and self.context_window > int(trained):
            logger.warning("%s: n_ctx=%d exceeds the trained context of %s", self.name, self.context_window, trained)
        logger.info(
            "loaded generator %s: n_ctx=%d threads=%d gpu_layers=%d chat_format=%s "
            "(GGUF chat template, %d chars, sha256 %s) in %.2fs",
            self.name,
            self.context_window,
            threads,
            n_gpu_layers,
            self.chat_format,
            len(template),
            hashlib.sha256(template.encode()).hexdigest()[:12],
            load_seconds,
        )

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` alone (no BOS, special-token text counted as plain text)."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False))

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens the model is fed for ``messages``: the chat template rendered, as llama-cpp-python does."""
        payload = [m.as_dict() for m in messages]
        if self._render is not None:
            try:
                prompt = self._render(payload)
            except Exception as exc:  # a template may raise_exception() on unusual role orders
                raise GenerationError(f"{self.name}: the chat template rejected the messages: {exc}") from exc
            return len(self._llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True))
        return sum(self.count_tokens(m.content) + _MESSAGE_OVERHEAD for m in messages) + _MESSAGE_OVERHEAD

    def text_logprob(self, prefix: str, text: str) -> float:
        """Sum of log P(token) over ``text``'s tokens following ``prefix`` (raw text, no chat template).

        Used to ask how much a source makes a question more likely (answer/answerability.py).
        """
        from models.llama_scoring import token_logprobs

        prefix_ids = self._llm.tokenize(prefix.encode("utf-8"), add_bos=True)
        text_ids = self._llm.tokenize(text.encode("utf-8"), add_bos=False)
        if not prefix_ids or not text_ids:
            raise GenerationError("text_logprob needs a non-empty prefix and text")
        with self._lock:
            try:
                return float(token_logprobs(self._llm, prefix_ids, text_ids).sum())
            except (ValueError, RuntimeError) as exc:
                raise GenerationError(f"{self.name}: scoring failed: {exc}") from exc

    def generate(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        """Stream the reply to ``messages`` as text pieces.

        Arguments and the context budget are checked here, before the iterator is returned:
        GenerationError if prompt tokens + ``max_tokens`` exceed ``context_window`` (trim first).
        """
        if not messages:
            raise GenerationError("generate needs at least one message")
        if max_tokens < 1:
            raise GenerationError(f"max_tokens must be >= 1, got {max_tokens}")
        if temperature < 0:
            raise GenerationError(f"temperature must be >= 0, got {temperature}")
        if isinstance(stop, str):
            stop = [stop]
        prompt_tokens = self.prompt_tokens(messages)
        if prompt_tokens + max_tokens > self.context_window:
            raise GenerationError(
                f"{self.name}: prompt of {prompt_tokens} tokens + max_tokens {max_tokens} = "
                f"{prompt_tokens + max_tokens} exceeds the context window of {self.context_window} tokens; "
                "trim the context or lower max_tokens"
            )
        kwargs: dict[str, Any] = {
            "messages": [m.as_dict() for m in messages],
            "temperature": temperature,
            "max_tokens": max_tokens,
            "stop": list(stop),
            "seed": self._seed,
            "stream": True,
        }
        if temperature == 0:
            kwargs["top_k"] = 1
        return self._stream(kwargs, prompt_tokens)

    def _stream(self, kwargs: dict[str, Any], prompt_tokens: int) -> Iterator[str]:
        with self._lock:
            started = time.perf_counter()
            first: float | None = None
            pieces = 0
            finish: str | None = None
            chunks: Any = None
            try:
                chunks = self._llm.create_chat_completion(**kwargs)
                for chunk in chunks:
                    choices = chunk.get("choices") or []
                    if not choices:
                        continue
                    finish = choices[0].get("finish_reason") or finish
                    piece = (choices[0].get("delta") or {}).get("content")
                    if piece:
                        if first is None:
                            first = time.perf_counter() - started
                        pieces += 1
                        yield piece
            except ValueError as exc:  # llama_cpp's own context/argument checks
                raise GenerationError(f"{self.name}: generation failed: {exc}") from exc
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
                self.last_finish_reason = finish
            logger.debug(
                "%s: %d prompt tokens, %d pieces, first piece %.2fs, total %.2fs, finish=%s",
                self.name,
                prompt_tokens,
                pieces,
                first if first is not None else float("nan"),
                time.perf_counter() - started,
                finish,
            )
