"""The parallel build stages against the serial path (the oracle): same documents, chunks, terms and vectors,
and unreadable files reported alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import indexer.parallel as parallel
from indexer.build import build_index
from indexer.tokenise import JiebaTokenizer
from retriever.store import load_index
from tests.conftest import PLAN, REGULATION_CLEAN, REGULATION_SCRAPE, REGULATION_TRADITIONAL, FakeEmbedder


def _corpus(folder: Path) -> Path:
    folder.mkdir()
    texts = [REGULATION_CLEAN, REGULATION_SCRAPE, REGULATION_TRADITIONAL, PLAN]
    for i in range(12):  # more files than workers, several copies to merge
        (folder / f"{i:02d}.txt").write_text(texts[i % len(texts)].replace("示范", f"示范{i // 4}"), encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    return folder


def _snapshot(index_dir: Path) -> tuple[object, ...]:
    index = load_index(index_dir)
    chunks = [(c.chunk_id, c.doc_id, c.embed_text) for c in index.chunks]
    return tuple(index.documents), tuple(chunks), tuple(map(tuple, index.bm25.terms)), index.dense.vectors().tobytes()


def test_parallel_build_equals_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = _corpus(tmp_path / "corpus")
    monkeypatch.setattr(parallel, "MIN_FILES", 0)
    monkeypatch.setattr(parallel, "MIN_TEXTS", 0)
    serial = build_index([corpus], tmp_path / "serial", FakeEmbedder(), progress=False, workers=1)
    pooled = build_index([corpus], tmp_path / "pooled", FakeEmbedder(), progress=False, workers=2)
    assert serial.stats.chunks > 0
    assert _snapshot(tmp_path / "serial") == _snapshot(tmp_path / "pooled")
    assert [s.message for s in serial.stats.skipped] == [s.message for s in pooled.stats.skipped]
    assert len(pooled.stats.skipped) == 1 and "broken.pdf" in pooled.stats.skipped[0].message
    assert {"read", "assemble", "embed", "terms", "dense_index", "bm25_index", "save"} <= set(pooled.stage_seconds)


def test_cut_terms_in_workers_equals_the_tokenizer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_TEXTS", 0)
    tokenizer = JiebaTokenizer(["人工智能伦理委员会"])
    texts = [f"市人民政府应当设立人工智能伦理委员会，第{i}项职责。" for i in range(600)]
    assert parallel.cut_terms(texts, tokenizer, workers=2, progress=False) == [tokenizer.terms(t) for t in texts]


def test_small_inputs_stay_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a pool was started for a small input")

    monkeypatch.setattr(parallel, "_pool", no_pool)
    corpus = _corpus(tmp_path / "corpus")
    report = build_index([corpus], tmp_path / "index", FakeEmbedder(), progress=False, workers=2)
    assert report.stats.chunks > 0
    assert np.isfinite(load_index(tmp_path / "index").dense.vectors()).all()
