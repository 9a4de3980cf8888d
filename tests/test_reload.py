"""Searcher.reload: a server switches to a rebuilt index in place while searches keep running."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from indexer.build import build_index
from retriever.search import ReadWriteLock, Searcher
from retriever.store import LoadedIndex, load_index
from tests.conftest import FakeEmbedder

EXTRA = "示范公共数据开放条例\n\n第一条 为了促进公共数据开放，制定本条例。\n\n第二条 市政务服务数据管理部门负责统筹公共数据开放工作。\n"


def test_reload_switches_documents_chunks_and_dictionary_for_every_holder(
    tmp_path: Path, tiny_corpus: Path, fake_embedder: FakeEmbedder
) -> None:
    index = tmp_path / "idx"
    build_index([tiny_corpus], index, fake_embedder, cache_dir=tmp_path / "c", progress=False)
    searcher = Searcher(load_index(index), fake_embedder)
    held_index, held_tokenizer = searcher.index, searcher.index.tokenizer  # what app.py and the answerer keep
    (tiny_corpus / "e_data.txt").write_text(EXTRA + "依照《示范公共数据开放条例》执行。\n", encoding="utf-8")
    build_index([tiny_corpus], index, fake_embedder, cache_dir=tmp_path / "c", progress=False)
    searcher.reload(load_index(index))
    assert held_index is searcher.index and len(held_index.documents) == 5
    assert "示范公共数据开放条例" in held_tokenizer.user_words
    hit = searcher.search("公共数据开放由哪个部门统筹", k=1).results[0]
    assert hit.citation == "《示范公共数据开放条例》第二条"


def test_searches_during_reloads_never_see_half_an_index(
    tmp_path: Path, tiny_corpus: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Widen the switch (a pause between the fields it replaces) so that without the lock a search would meet
    # new chunks with old vectors: rows of the bigger index out of range in the smaller one.
    original = LoadedIndex.replace_with

    def slow_replace(self: LoadedIndex, other: LoadedIndex) -> None:
        self.chunks = other.chunks
        time.sleep(0.002)
        original(self, other)

    monkeypatch.setattr(LoadedIndex, "replace_with", slow_replace)
    small, big = tmp_path / "small", tmp_path / "big"
    build_index([tiny_corpus / "d_plan.txt"], small, fake_embedder, cache_dir=tmp_path / "c", progress=False)
    build_index([tiny_corpus], big, fake_embedder, cache_dir=tmp_path / "c", progress=False)
    versions = [load_index(small), load_index(big)]
    searcher = Searcher(load_index(small), fake_embedder)
    errors: list[BaseException] = []
    stop = threading.Event()

    done = [0]

    def search_loop() -> None:
        while not stop.is_set():
            try:
                searcher.search("人工智能 基础研究 主管部门", k=10)
                done[0] += 1
            except BaseException as exc:  # any failure is the finding
                errors.append(exc)

    threads = [threading.Thread(target=search_loop) for _ in range(3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    i = 0
    while done[0] < 150 and time.monotonic() < deadline:  # the indexes differ in size: a mix goes out of range
        searcher.reload(versions[i % 2])
        i += 1
        time.sleep(0.003)  # reloads come now and then (a waiting writer holds off new readers)
    stop.set()
    for t in threads:
        t.join()
    assert done[0] >= 150 and errors == []


def test_read_write_lock_excludes_writers_from_readers() -> None:
    lock = ReadWriteLock()
    order: list[str] = []
    reading = threading.Event()
    release = threading.Event()

    def reader() -> None:
        with lock.reading():
            reading.set()
            release.wait(5)
            order.append("read done")

    t = threading.Thread(target=reader)
    t.start()
    reading.wait(5)

    def writer() -> None:
        with lock.writing():
            order.append("write")

    w = threading.Thread(target=writer)
    w.start()
    w.join(0.2)
    assert order == []  # the writer waits for the reader
    release.set()
    t.join()
    w.join(5)
    assert order == ["read done", "write"]


def test_retrieve_is_candidates_then_rank_under_one_read_lock(
    tmp_path: Path, tiny_corpus: Path, fake_embedder: FakeEmbedder
) -> None:
    build_index([tiny_corpus], tmp_path / "idx", fake_embedder, cache_dir=tmp_path / "c", progress=False)
    searcher = Searcher(load_index(tmp_path / "idx"), fake_embedder)
    cands, results = searcher.retrieve("伦理委员会职责", k=3)
    expected = searcher.rank(searcher.candidates("伦理委员会职责", 50, searcher.row_filter()), k=3)
    assert results == expected and len(results) == 3
    np.testing.assert_array_equal(cands.dense[1], searcher.candidates("伦理委员会职责", 50).dense[1])
