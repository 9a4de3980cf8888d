"""Incremental builds: only changed files are read, unchanged chunks keep their ids and vectors,
removed files are dropped, and the result equals a build from scratch."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

import indexer.build
import indexer.parallel
from indexer.build import build_index
from retriever.store import LoadedIndex, load_index
from tests.conftest import PLAN, REGULATION_CLEAN, REGULATION_TRADITIONAL, FakeEmbedder

OTHER = """示范数据条例

第一条 为了规范数据处理活动，制定本条例。

第二条 市政务服务数据管理部门负责统筹数据工作。
"""


def _corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "a_reg.txt").write_text(REGULATION_CLEAN, encoding="utf-8")
    (folder / "b_trad.txt").write_text(REGULATION_TRADITIONAL, encoding="utf-8")
    (folder / "c_plan.txt").write_text(PLAN, encoding="utf-8")
    return folder


@pytest.fixture()
def read_files(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the files the build reads and ingests anew."""
    names: list[str] = []
    original = indexer.parallel.ingest_file

    def counting(path: Path, read):  # type: ignore[no-untyped-def]
        names.append(path.name)
        return original(path, read)

    monkeypatch.setattr(indexer.parallel, "ingest_file", counting)  # small corpora are read in process
    return names


def _same(a: LoadedIndex, b: LoadedIndex) -> None:
    """Two indexes hold the same documents, chunks, vectors and terms."""
    assert [asdict(d) for d in a.documents] == [asdict(d) for d in b.documents]
    assert a.chunks == b.chunks
    np.testing.assert_allclose(a.dense.vectors(), b.dense.vectors(), atol=1e-6)
    assert a.bm25.terms == b.bm25.terms
    assert a.tokenizer.user_words == b.tokenizer.user_words


def test_adding_a_file_reads_only_it_and_matches_a_full_build(
    tmp_path: Path, fake_embedder: FakeEmbedder, read_files: list[str]
) -> None:
    src = _corpus(tmp_path / "src")
    index, cache = tmp_path / "index", tmp_path / "cache"
    first = build_index([src], index, fake_embedder, cache_dir=cache, progress=False)
    assert sorted(read_files) == ["a_reg.txt", "b_trad.txt", "c_plan.txt"] and first.files_read == 3
    before = load_index(index)
    read_files.clear()
    embedded_before = sum(fake_embedder.calls)

    (src / "d_other.txt").write_text(OTHER, encoding="utf-8")
    report = build_index([src], index, fake_embedder, cache_dir=cache, progress=False)
    assert read_files == ["d_other.txt"]
    assert (report.files_read, report.files_reused, report.files_removed) == (1, 3, 0)
    after = load_index(index)
    new_docs = {c.doc_id for c in after.chunks} - {c.doc_id for c in before.chunks}
    assert len(new_docs) == 1
    # only the new document's chunks were embedded; every old chunk kept its id
    assert sum(fake_embedder.calls) - embedded_before == sum(c.doc_id in new_docs for c in after.chunks)
    assert {c.chunk_id for c in before.chunks} <= {c.chunk_id for c in after.chunks}

    scratch = build_index([src], tmp_path / "scratch", FakeEmbedder(), cache_dir=tmp_path / "c2", progress=False)
    assert scratch.files_read == 4
    _same(after, load_index(tmp_path / "scratch"))


def test_editing_and_removing_files(tmp_path: Path, fake_embedder: FakeEmbedder, read_files: list[str]) -> None:
    src = _corpus(tmp_path / "src")
    index = tmp_path / "index"
    build_index([src], index, fake_embedder, cache_dir=tmp_path / "cache", progress=False)
    read_files.clear()

    plan = src / "c_plan.txt"
    plan.write_text(PLAN.replace("前瞻布局人工智能基础理论", "前瞻布局人工智能前沿理论"), encoding="utf-8")
    (src / "b_trad.txt").unlink()
    report = build_index([src], index, fake_embedder, cache_dir=tmp_path / "cache", progress=False)
    assert read_files == ["c_plan.txt"]
    assert (report.files_read, report.files_reused, report.files_removed) == (1, 1, 1)
    after = load_index(index)
    assert all("b_trad.txt" not in d.sources for d in after.documents)
    assert any("前瞻布局人工智能前沿理论" in c.text for c in after.chunks)
    assert not any("前瞻布局人工智能基础理论" in c.text for c in after.chunks)
    assert [r.name for r in after.manifest.sources] == ["a_reg.txt", "c_plan.txt"]

    scratch = tmp_path / "scratch"
    build_index([src], scratch, FakeEmbedder(), cache_dir=tmp_path / "c2", progress=False)
    _same(after, load_index(scratch))


def test_removing_a_copy_re_merges_the_document(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    src = _corpus(tmp_path / "src")
    index = tmp_path / "index"
    build_index([src], index, fake_embedder, cache_dir=tmp_path / "cache", progress=False)
    reg = next(d for d in load_index(index).documents if d.doc_type == "regulation")
    assert reg.sources == ("a_reg.txt", "b_trad.txt")
    (src / "b_trad.txt").unlink()
    build_index([src], index, fake_embedder, cache_dir=tmp_path / "cache", progress=False)
    reg = next(d for d in load_index(index).documents if d.doc_type == "regulation")
    assert reg.sources == ("a_reg.txt",)


def test_nothing_changed_leaves_the_index_untouched(
    tmp_path: Path, fake_embedder: FakeEmbedder, read_files: list[str]
) -> None:
    src = _corpus(tmp_path / "src")
    index = tmp_path / "index"
    build_index([src], index, fake_embedder, cache_dir=tmp_path / "cache", progress=False)
    version = sorted(p.name for p in index.iterdir())
    read_files.clear()
    os.utime(src / "a_reg.txt")  # touched, same bytes: hashed, not re-read
    report = build_index([src], index, fake_embedder, cache_dir=tmp_path / "cache", progress=False)
    assert report.up_to_date and read_files == []
    assert sorted(p.name for p in index.iterdir()) == version


def test_full_flag_and_another_embedder_reread_everything(
    tmp_path: Path, fake_embedder: FakeEmbedder, read_files: list[str]
) -> None:
    src = _corpus(tmp_path / "src")
    index = tmp_path / "index"
    build_index([src], index, fake_embedder, cache_dir=tmp_path / "cache", progress=False)
    read_files.clear()
    report = build_index([src], index, fake_embedder, cache_dir=tmp_path / "cache", progress=False, incremental=False)
    assert len(read_files) == 3 and not report.up_to_date
    read_files.clear()
    other = FakeEmbedder(name="fake-2", dim=32)
    report = build_index([src], index, other, cache_dir=tmp_path / "cache", progress=False)
    assert len(read_files) == 3 and report.previous.startswith("not reused")
    assert load_index(index).manifest.embedder == "fake-2"


def test_the_manifest_records_every_source_file(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    src = _corpus(tmp_path / "src")
    index = tmp_path / "index"
    build_index([src], index, fake_embedder, cache_dir=tmp_path / "cache", progress=False)
    records = load_index(index).manifest.sources
    assert [r.name for r in records] == ["a_reg.txt", "b_trad.txt", "c_plan.txt"]
    import hashlib

    for r in records:
        path = Path(r.path)
        assert path.is_absolute() and r.size == path.stat().st_size and r.mtime_ns == path.stat().st_mtime_ns
        assert r.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_new_dictionary_word_recounts_and_recuts_every_text(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    # A new 《title》 or 以下简称 term changes jieba's dictionary, hence the cut of any text: token counts and
    # BM25 terms from the previous build must not be reused then.
    src = _corpus(tmp_path / "src")
    index = tmp_path / "index"
    build_index([src], index, fake_embedder, cache_dir=tmp_path / "cache", progress=False)
    before = load_index(index).tokenizer.user_words
    (src / "d_other.txt").write_text(
        OTHER + "\n第三条 本条例所称数据主管部门（以下简称市数据局）依照《示范数据条例》履行职责。\n", encoding="utf-8"
    )
    build_index([src], index, fake_embedder, cache_dir=tmp_path / "cache", progress=False)
    after = load_index(index)
    assert set(after.tokenizer.user_words) - set(before) == {"市数据局", "示范数据条例"}
    build_index([src], tmp_path / "scratch", FakeEmbedder(), cache_dir=tmp_path / "c2", progress=False)
    _same(after, load_index(tmp_path / "scratch"))


def test_after_an_indexer_upgrade_files_are_read_again_but_vectors_reused(
    tmp_path: Path, fake_embedder: FakeEmbedder, read_files: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Cached ingest results, sketches, counts and terms were made by the old code (a normalisation rule may have
    # changed); vectors depend only on the text and the embedder.
    src = _corpus(tmp_path / "src")
    index = tmp_path / "index"
    build_index([src], index, fake_embedder, cache_dir=tmp_path / "cache", progress=False)
    read_files.clear()
    embedded = sum(fake_embedder.calls)
    monkeypatch.setattr(indexer.build, "ingest_code_fingerprint", lambda: "0123456789abcdef")
    report = build_index([src], index, fake_embedder, cache_dir=tmp_path / "other-cache", progress=False)
    assert not report.up_to_date and sorted(read_files) == ["a_reg.txt", "b_trad.txt", "c_plan.txt"]
    assert report.previous == "vectors reused (indexer code changed)"
    assert sum(fake_embedder.calls) == embedded  # nothing embedded again, although the embedding cache is new
    assert load_index(index).manifest.ingest_code == "0123456789abcdef"
