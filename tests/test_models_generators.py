"""Tests for models.generators and the llama.cpp backend: unit tests with a fake Llama, integration with the real GGUF."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import models.generators as generators
from models.assets import AssetStatus, get_spec
from models.errors import GenerationError, ModelNotAvailableError, UnknownGeneratorError
from models.generators import (
    GENERATOR_NAMES,
    QWEN_05B,
    ChatMessage,
    Generator,
    LlamaCppGenerator,
    create_generator,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_MODELS_DIR = REPO_ROOT / "models"

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
EOS_ID = 7
REPLY = ("人工智能", "产业的主管部门是", "市工业和信息化部门", "[1]。")


class FakeLlama:
    """Stands in for ``llama_cpp.Llama``: one token per character, a scripted streamed reply."""

    instances: ClassVar[list[FakeLlama]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.metadata: dict[str, str] = {
            "general.architecture": "qwen2",
            "qwen2.context_length": "32768",
            "tokenizer.chat_template": CHATML_TEMPLATE,
            "tokenizer.ggml.eos_token_id": str(EOS_ID),
        }
        self.chat_format = "chat_template.default"
        self.calls: list[dict[str, Any]] = []
        self.reply: tuple[str, ...] = REPLY
        self.fail_with: Exception | None = None
        FakeLlama.instances.append(self)

    def n_ctx(self) -> int:
        return int(self.kwargs["n_ctx"])

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return [ord(c) for c in text.decode("utf-8")]

    def detokenize(self, tokens: list[int], prev_tokens: list[int] | None = None, special: bool = False) -> bytes:
        return b"<|im_end|>" if tokens == [EOS_ID] else b""

    def create_chat_completion(self, messages: list[dict[str, str]], **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.calls.append({"messages": messages, **kwargs})
        assert kwargs["stream"] is True
        return self._chunks()

    def _chunks(self) -> Iterator[dict[str, Any]]:
        def chunk(delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
            return {
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        yield chunk({"role": "assistant"})
        if self.fail_with is not None:
            raise self.fail_with
        for piece in self.reply:
            yield chunk({"content": piece})
        yield chunk({}, "stop")


@pytest.fixture(autouse=True)
def _reset_instances() -> None:
    FakeLlama.instances.clear()


@pytest.fixture()
def gguf(tmp_path: Path) -> Path:
    path = tmp_path / "tiny-chat.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 60)
    return path


def make(path: Path, **kwargs: Any) -> LlamaCppGenerator:
    kwargs.setdefault("n_gpu_layers", 0)
    return LlamaCppGenerator(path, llama_factory=FakeLlama, **kwargs)


MESSAGES = [
    ChatMessage("system", "只根据资料回答"),
    ChatMessage("user", "资料：[1] 市工业和信息化部门是人工智能产业主管部门。\n问题：主管部门是哪个？"),
]


# --- loading -----------------------------------------------------------------------------------


def test_loads_once_with_expected_kwargs(gguf: Path) -> None:
    gen = make(gguf, n_ctx=2048, n_threads=3)
    assert len(FakeLlama.instances) == 1
    kwargs = FakeLlama.instances[0].kwargs
    assert kwargs == {
        "model_path": str(gguf),
        "n_ctx": 2048,
        "n_threads": 3,
        "n_threads_batch": 3,
        "n_gpu_layers": 0,
        "verbose": False,
    }
    assert gen.name == "tiny-chat.gguf"
    assert gen.context_window == 2048
    assert gen.chat_format == "chat_template.default"
    assert isinstance(gen, Generator)
    list(gen.generate(MESSAGES))
    assert len(FakeLlama.instances) == 1  # generating does not reload


def test_threads_default_to_cpu_count(gguf: Path) -> None:
    make(gguf)
    assert FakeLlama.instances[0].kwargs["n_threads"] == (os.cpu_count() or 1)
    assert FakeLlama.instances[0].kwargs["n_threads_batch"] == (os.cpu_count() or 1)


@pytest.mark.parametrize(("supported", "expected"), [(True, -1), (False, 0)])
def test_gpu_layers_follow_offload_support(
    gguf: Path, monkeypatch: pytest.MonkeyPatch, supported: bool, expected: int
) -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    monkeypatch.setattr(llama_cpp, "llama_supports_gpu_offload", lambda: supported)
    gen = LlamaCppGenerator(gguf, llama_factory=FakeLlama)
    assert FakeLlama.instances[0].kwargs["n_gpu_layers"] == expected
    assert gen.n_gpu_layers == expected


def test_explicit_gpu_layers_pass_through(gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    llama_cpp = pytest.importorskip("llama_cpp")

    def must_not_ask() -> bool:
        raise AssertionError("offload support must not be probed when n_gpu_layers is given")

    monkeypatch.setattr(llama_cpp, "llama_supports_gpu_offload", must_not_ask)
    LlamaCppGenerator(gguf, n_gpu_layers=12, llama_factory=FakeLlama)
    assert FakeLlama.instances[0].kwargs["n_gpu_layers"] == 12


def test_missing_chat_template_fails_clearly(gguf: Path) -> None:
    class NoTemplate(FakeLlama):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            del self.metadata["tokenizer.chat_template"]

    with pytest.raises(ModelNotAvailableError, match=r"no tokenizer\.chat_template"):
        LlamaCppGenerator(gguf, n_gpu_layers=0, llama_factory=NoTemplate)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailableError, match="does not exist"):
        make(tmp_path / "absent.gguf")
    assert FakeLlama.instances == []


def test_directory_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailableError, match="not a file"):
        make(tmp_path)


def test_bad_magic(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(ModelNotAvailableError, match="not a GGUF model"):
        make(path)
    assert FakeLlama.instances == []


def test_load_failure_includes_llama_cpp_stderr(gguf: Path, capfd: pytest.CaptureFixture[str]) -> None:
    def exploding(**kwargs: Any) -> FakeLlama:
        os.write(2, b"llama_model_load: error loading model: tensor data is not within file bounds\n")
        raise ValueError("Failed to load model from file")

    with pytest.raises(ModelNotAvailableError, match=r"(?s)Failed to load model.*not within file bounds"):
        LlamaCppGenerator(gguf, n_gpu_layers=0, llama_factory=exploding)
    assert "file bounds" not in capfd.readouterr().err


def test_native_stderr_noise_at_load_is_suppressed(gguf: Path, capfd: pytest.CaptureFixture[str]) -> None:
    def noisy(**kwargs: Any) -> FakeLlama:
        os.write(2, b"llama_context: n_ctx_per_seq (4096) < n_ctx_train (32768)\n")
        return FakeLlama(**kwargs)

    LlamaCppGenerator(gguf, n_gpu_layers=0, llama_factory=noisy)
    assert capfd.readouterr().err == ""
    os.write(2, b"after\n")  # fd 2 is restored
    assert capfd.readouterr().err == "after\n"


def test_n_ctx_above_trained_context_warns(gguf: Path, caplog: pytest.LogCaptureFixture) -> None:
    make(gguf, n_ctx=65536)
    assert "exceeds the trained context" in caplog.text


def test_load_logs_one_summary_line(gguf: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="models.llama_backend")
    make(gguf, n_ctx=1024, n_threads=2)
    lines = [r.getMessage() for r in caplog.records if r.name == "models.llama_backend"]
    assert len(lines) == 1
    assert re.search(r"tiny-chat\.gguf: n_ctx=1024 threads=2 gpu_layers=0 chat_format=chat_template\.default", lines[0])
    assert re.search(r"in \d+\.\d\ds$", lines[0])


# --- generation --------------------------------------------------------------------------------


def test_streams_pieces_greedy_by_default(gguf: Path) -> None:
    gen = make(gguf)
    pieces = list(gen.generate(MESSAGES))
    assert pieces == list(REPLY)
    call = FakeLlama.instances[0].calls[0]
    assert call["messages"] == [{"role": m.role, "content": m.content} for m in MESSAGES]
    assert call["temperature"] == 0.0
    assert call["top_k"] == 1
    assert call["seed"] == 0
    assert call["max_tokens"] == 256
    assert call["stop"] == []
    assert gen.last_finish_reason == "stop"


def test_temperature_stop_and_max_tokens_are_passed(gguf: Path) -> None:
    gen = make(gguf)
    list(gen.generate(MESSAGES, max_tokens=50, temperature=0.7, stop=("\n\n", "问题：")))
    call = FakeLlama.instances[0].calls[0]
    assert call["temperature"] == 0.7
    assert "top_k" not in call
    assert call["stop"] == ["\n\n", "问题："]
    assert call["max_tokens"] == 50


def test_generate_is_lazy_until_iterated(gguf: Path) -> None:
    gen = make(gguf)
    it = gen.generate(MESSAGES)
    assert FakeLlama.instances[0].calls == []
    assert next(it) == REPLY[0]


def test_count_tokens_uses_tokenizer_without_bos(gguf: Path) -> None:
    gen = make(gguf)
    assert gen.count_tokens("主管部门") == 4
    assert gen.count_tokens("") == 0


def test_prompt_tokens_render_the_gguf_template(gguf: Path) -> None:
    pytest.importorskip("llama_cpp")
    gen = make(gguf)
    rendered = "".join(f"<|im_start|>{m.role}\n{m.content}<|im_end|>\n" for m in MESSAGES) + "<|im_start|>assistant\n"
    assert gen.prompt_tokens(MESSAGES) == len(rendered)


def test_context_overflow_raises_before_calling_the_model(gguf: Path) -> None:
    gen = make(gguf, n_ctx=256)
    long_user = ChatMessage("user", "资料" * 100)
    prompt = gen.prompt_tokens([long_user])
    assert prompt < 256
    list(gen.generate([long_user], max_tokens=256 - prompt))  # exactly fits
    with pytest.raises(GenerationError, match=r"exceeds the context window of 256 tokens; trim the context"):
        gen.generate([long_user], max_tokens=256 - prompt + 1)
    assert len(FakeLlama.instances[0].calls) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"max_tokens": 0}, "max_tokens"), ({"temperature": -0.1}, "temperature")],
)
def test_bad_arguments(gguf: Path, kwargs: dict[str, Any], match: str) -> None:
    gen = make(gguf)
    with pytest.raises(GenerationError, match=match):
        gen.generate(MESSAGES, **kwargs)


def test_no_messages(gguf: Path) -> None:
    with pytest.raises(GenerationError, match="at least one message"):
        make(gguf).generate([])


def test_llama_value_error_becomes_generation_error(gguf: Path) -> None:
    gen = make(gguf)
    FakeLlama.instances[0].fail_with = ValueError("Requested tokens (5000) exceed context window of 4096")
    with pytest.raises(GenerationError, match="exceed context window"):
        list(gen.generate(MESSAGES))
    FakeLlama.instances[0].fail_with = None
    assert list(gen.generate(MESSAGES)) == list(REPLY)  # the lock was released


def test_abandoned_stream_releases_the_model(gguf: Path) -> None:
    gen = make(gguf)
    it = gen.generate(MESSAGES)
    next(it)
    it.close()  # type: ignore[attr-defined]
    assert list(gen.generate(MESSAGES)) == list(REPLY)


def test_chat_message_validates_role() -> None:
    with pytest.raises(ValueError, match="valid roles: system, user, assistant"):
        ChatMessage("tool", "x")


# --- registry ----------------------------------------------------------------------------------


def test_generator_names() -> None:
    assert GENERATOR_NAMES == ("auto", "qwen2.5-0.5b-instruct-q4_k_m", "gguf:<path>")


@pytest.mark.parametrize("name", ["qwen", "gguf:", "gguf:   ", "e5-small", ""])
def test_unknown_name_lists_valid_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnknownGeneratorError, match=r"valid names: auto, qwen2\.5-0\.5b-instruct-q4_k_m, gguf:<path>"):
        create_generator(name, models_dir=tmp_path, llama_factory=FakeLlama)


def test_gguf_path_name(gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(gguf.parent)
    gen = create_generator(
        "gguf:tiny-chat.gguf", models_dir=Path("unused"), n_ctx=512, n_gpu_layers=0, llama_factory=FakeLlama
    )
    assert gen.name == "tiny-chat.gguf"
    assert gen.context_window == 512
    assert FakeLlama.instances[0].kwargs["model_path"] == str(gguf.resolve())


def test_gguf_path_missing_or_not_gguf(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailableError, match="does not exist"):
        create_generator(f"gguf:{tmp_path / 'nope.gguf'}", models_dir=tmp_path, llama_factory=FakeLlama)
    bad = tmp_path / "bad.gguf"
    bad.write_text("hello")
    with pytest.raises(ModelNotAvailableError, match="not a GGUF model"):
        create_generator(f"gguf:{bad}", models_dir=tmp_path, llama_factory=FakeLlama)


@pytest.mark.parametrize("name", ["auto", QWEN_05B])
def test_default_missing_names_the_fix(tmp_path: Path, name: str) -> None:
    with pytest.raises(
        ModelNotAvailableError, match=r"make models.*policyrag models fetch qwen2\.5-0\.5b-instruct-q4_k_m"
    ):
        create_generator(name, models_dir=tmp_path, llama_factory=FakeLlama)


def _sparse_default(models_dir: Path, size: int) -> Path:
    spec = get_spec(QWEN_05B)
    path = models_dir / spec.target
    with path.open("wb") as fh:
        fh.write(b"GGUF")
        fh.truncate(size)  # sparse: no disk is used
    return path


def test_default_wrong_size_names_the_fix(tmp_path: Path) -> None:
    _sparse_default(tmp_path, 1000)
    with pytest.raises(
        ModelNotAvailableError,
        match=r"1,000 bytes, expected 491,400,064.*models fetch qwen2\.5-0\.5b-instruct-q4_k_m --force",
    ):
        create_generator("auto", models_dir=tmp_path, llama_factory=FakeLlama)


def test_default_unverified_names_the_fix(tmp_path: Path) -> None:
    _sparse_default(tmp_path, get_spec(QWEN_05B).size)
    with pytest.raises(
        ModelNotAvailableError, match=r"not verified.*policyrag models fetch qwen2\.5-0\.5b-instruct-q4_k_m"
    ):
        create_generator("auto", models_dir=tmp_path, llama_factory=FakeLlama)
    assert FakeLlama.instances == []


def test_default_verified_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _sparse_default(tmp_path, get_spec(QWEN_05B).size)
    monkeypatch.setattr(generators, "asset_status", lambda name, d: AssetStatus(name, "verified", path, "ok"))
    gen = create_generator("auto", models_dir=tmp_path, n_ctx=1024, n_gpu_layers=0, llama_factory=FakeLlama)
    assert gen.name == QWEN_05B
    assert FakeLlama.instances[0].kwargs["model_path"] == str(path)
    assert FakeLlama.instances[0].kwargs["n_ctx"] == 1024


# --- integration: the real Qwen GGUF -----------------------------------------------------------

SYSTEM = "只根据资料回答，用中文，在句末标注[1]"
QUESTION = "资料：[1] 市工业和信息化部门是人工智能产业主管部门。\n问题：人工智能产业的主管部门是哪个部门？"


@pytest.fixture(scope="module")
def qwen() -> Generator:
    if generators.asset_status(QWEN_05B, REAL_MODELS_DIR).state == "missing":
        pytest.skip(f"{QWEN_05B} GGUF not in {REAL_MODELS_DIR}; run `make models` to fetch it")
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    return create_generator("auto", models_dir=REAL_MODELS_DIR, n_ctx=2048)


@pytest.mark.integration
def test_real_qwen_answers_in_chinese_from_the_source(qwen: Generator) -> None:
    messages = [ChatMessage("system", SYSTEM), ChatMessage("user", QUESTION)]
    pieces = list(qwen.generate(messages, max_tokens=64))
    text = "".join(pieces)
    assert len(pieces) > 1, "expected a streamed reply in several pieces"
    assert re.search(r"[\u4e00-\u9fff]", text), text
    assert "工业和信息化" in text, text
    again = "".join(qwen.generate(messages, max_tokens=64))
    assert again == text


@pytest.mark.integration
def test_real_qwen_counts_tokens_and_guards_the_window(qwen: Generator) -> None:
    assert 0 < qwen.count_tokens("人工智能产业主管部门") < 10
    assert qwen.context_window == 2048
    long_text = "市工业和信息化部门是人工智能产业主管部门。" * 200
    assert qwen.count_tokens(long_text) > 2048 - 256
    with pytest.raises(GenerationError, match="exceeds the context window of 2048 tokens"):
        qwen.generate([ChatMessage("user", long_text)], max_tokens=256)
