"""Query adapters: the linear map, its file, its checks, and its use in the Searcher and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.build import build_index
from retriever.adapter import AdapterError, QueryAdapter, available_adapters, load_adapter
from retriever.search import Searcher
from retriever.store import load_index
from tests.conftest import FakeEmbedder


def _adapter(dim: int = 64, name: str = "t", embedder: str = "fake", matrix: np.ndarray | None = None) -> QueryAdapter:
    return QueryAdapter(name, embedder, np.eye(dim, dtype=np.float32) if matrix is None else matrix, ("1", "2"))


def test_apply_maps_and_normalises() -> None:
    matrix = np.diag(np.array([2.0, 0.0, 1.0], dtype=np.float32))
    out = _adapter(3, matrix=matrix).apply(np.array([[0.6, 0.8, 0.0], [0.0, 0.6, 0.8]], dtype=np.float32))
    assert np.allclose(out, [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert out.dtype == np.float32


def test_file_round_trip_and_embedder_check(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    original = _adapter(matrix=rng.normal(size=(64, 64)).astype(np.float32))
    path = tmp_path / "mine.npz"
    original.save(path)
    loaded = load_adapter(str(path), embedder="fake")
    assert np.array_equal(loaded.matrix, original.matrix) and loaded.trained_on == ("1", "2")
    with pytest.raises(AdapterError, match="trained for embedder 'fake'"):
        load_adapter(str(path), embedder="e5-small-int8")


def test_unknown_or_damaged_adapter_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AdapterError, match="unknown query adapter 'nope'; valid:"):
        load_adapter("nope", embedder="fake")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(AdapterError, match="cannot be read"):
        load_adapter(str(bad), embedder="fake")


def test_shipped_adapters_load_for_their_embedder() -> None:
    for name in available_adapters():
        embedder = name.removeprefix("stard-")
        adapter = load_adapter(name, embedder=embedder)
        assert adapter.matrix.shape in ((384, 384), (768, 768)) and adapter.trained_on


def test_searcher_uses_the_adapter(tiny_corpus: Path, tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    build_index([tiny_corpus], tmp_path / "idx", fake_embedder, progress=False)
    index = load_index(tmp_path / "idx")
    plain = Searcher(index, fake_embedder)
    same = Searcher(index, fake_embedder, adapter=_adapter())
    query = "伦理委员会的职责"
    assert [r.chunk_id for r in plain.search(query, mode="dense").results] == [
        r.chunk_id for r in same.search(query, mode="dense").results
    ]
    # A map onto the vector of another text makes dense search find that text's article first.
    target = fake_embedder.encode_queries(["本条例自2022年11月1日起施行"])[0]
    # W q = target · sum(q): every (non-negative) fake query vector lands on the target's direction.
    onto_target = np.outer(target, np.ones(64)).astype(np.float32)
    moved = Searcher(index, fake_embedder, adapter=_adapter(matrix=onto_target))
    assert "施行" in moved.search(query, mode="dense").results[0].text
    with pytest.raises(ValueError, match="is for 'other'"):
        Searcher(index, fake_embedder, adapter=_adapter(embedder="other"))
