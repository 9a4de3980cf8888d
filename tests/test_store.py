"""The on-disk index: round trip, checks on load, atomic replacement."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from indexer.records import Chunk, DocumentInfo
from indexer.tokenise import JiebaTokenizer
from retriever.dense import DenseIndex
from retriever.sparse import BM25Index
from retriever.store import (
    _FILES,
    FORMAT_VERSION,
    MANIFEST,
    IndexStoreError,
    Manifest,
    current_dir,
    load_index,
    read_manifest,
    save_index,
)

DIM = 8
TITLE = "深圳经济特区人工智能产业促进条例"
DOCUMENTS = (
    DocumentInfo(
        "sz-ai-regulation",
        TITLE,
        "regulation",
        issuer="深圳市人民代表大会常务委员会",
        adopted="2022-08-30",
        effective="2022-11-01",
        published="2022-09-05",
        sources=("000.txt", "001.txt"),
    ),
    DocumentInfo("sz-ai-four", "深圳四大优势，成为中国人工智能第三“极”", "article", sources=("000.txt",)),
)
CHUNKS = (
    Chunk(
        chunk_id="c000000000000001",
        doc_id="sz-ai-regulation",
        doc_title=TITLE,
        doc_type="regulation",
        article="第六条",
        citation=f"《{TITLE}》第六条",
        path=("第一章 总则", "第六条"),
        text="市工业和信息化部门是人工智能产业主管部门（以下简称市产业主管部门）。",
        embed_text=f"{TITLE} 第六条\n市工业和信息化部门是人工智能产业主管部门（以下简称市产业主管部门）。",
        unit_key="第六条",
        sources=("000.txt", "001.txt"),
    ),
    Chunk(
        chunk_id="c000000000000002",
        doc_id="sz-ai-regulation",
        doc_title=TITLE,
        doc_type="regulation",
        article="第六十五条第一款",
        citation=f"《{TITLE}》第六十五条第一款",
        path=("第六章 治理原则与措施", "第六十五条"),
        text="市人民政府应当设立市人工智能伦理委员会，履行下列职责：\n（一）研究制定人工智能领域的伦理安全规范；",
        embed_text=f"{TITLE} 第六十五条第一款\n市人民政府应当设立市人工智能伦理委员会。",
        unit_key="第六十五条",
        piece=0,
        sources=("001.txt",),
    ),
    Chunk(
        chunk_id="c000000000000003",
        doc_id="sz-ai-four",
        doc_title="深圳四大优势，成为中国人工智能第三“极”",
        doc_type="article",
        article=None,
        citation="《深圳四大优势，成为中国人工智能第三“极”》（芯片优势）",
        path=("芯片优势",),
        text="因为华为的存在，AI芯片的龙头地位非深圳莫属。",
        embed_text="深圳四大优势，成为中国人工智能第三“极” （芯片优势）\n因为华为的存在，AI芯片的龙头地位非深圳莫属。",
        unit_key="（芯片优势）",
        sources=("000.txt",),
    ),
)
TERMS = [["市产业主管部门", "人工智能"], ["伦理", "委员会", "人工智能"], ["华为", "芯片"]]


def _manifest(chunks: int = len(CHUNKS), **changes: object) -> Manifest:
    base = Manifest(
        format_version=FORMAT_VERSION,
        embedder="fake-embedder",
        dim=DIM,
        corpus_fingerprint="fp-1",
        counts={"documents": len(DOCUMENTS), "chunks": chunks},
        built_at="2024-05-21T00:00:00+00:00",
        build_seconds=0.5,
        dense_kind="flat",
        chunk_budget=380,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _vectors(n: int = len(CHUNKS), seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _save(
    path: Path,
    *,
    chunks: tuple[Chunk, ...] = CHUNKS,
    tokenizer: JiebaTokenizer | None = None,
    **manifest_changes: object,
) -> Manifest:
    dense = DenseIndex(DIM).build(_vectors(len(chunks)))
    bm25 = BM25Index().build(TERMS[: len(chunks)])
    return save_index(
        path,
        manifest=_manifest(len(chunks), **manifest_changes),
        documents=DOCUMENTS,
        chunks=chunks,
        dense=dense,
        bm25=bm25,
        tokenizer=tokenizer or JiebaTokenizer(),  # no user words: no dictionary load, fast
    )


@pytest.fixture()
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "index"
    _save(path)
    return path


# --- round trip -----------------------------------------------------------------------------------


def test_save_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "indexes" / "default"  # parent folders are created
    tokenizer = JiebaTokenizer(["市产业主管部门", TITLE])
    written = _save(path, tokenizer=tokenizer)
    assert set(_FILES) <= set(written.files)
    assert all(size > 0 for size in written.files.values())

    loaded = load_index(path, expect_embedder="fake-embedder")
    assert loaded.manifest == written
    assert loaded.manifest.counts == {"documents": 2, "chunks": 3}
    assert loaded.documents == DOCUMENTS
    assert loaded.chunks == CHUNKS
    assert loaded.tokenizer.user_words == tokenizer.user_words
    assert loaded.tokenizer.cut("市产业主管部门负责") == tokenizer.cut("市产业主管部门负责")

    queries = _vectors(2, seed=1)
    original = DenseIndex(DIM).build(_vectors())
    for got, want in zip(loaded.dense.search(queries, 3), original.search(queries, 3), strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(loaded.bm25.scores(["人工智能"]), BM25Index().build(TERMS).scores(["人工智能"]))
    assert read_manifest(path) == written


def test_saving_again_replaces_the_index_and_leaves_no_debris(saved: Path) -> None:
    fewer = CHUNKS[:2]
    _save(saved, chunks=fewer, corpus_fingerprint="fp-2")
    loaded = load_index(saved)
    assert loaded.chunks == fewer
    assert loaded.manifest.corpus_fingerprint == "fp-2"
    assert [p.name for p in saved.parent.iterdir()] == ["index"]


# --- checks on load -------------------------------------------------------------------------------


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(IndexStoreError, match=r"no index at .*policyrag index"):
        load_index(tmp_path / "nowhere")


def test_folder_without_manifest(tmp_path: Path) -> None:
    folder = tmp_path / "index"
    folder.mkdir()
    (folder / "chunks.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(IndexStoreError, match=f"not a complete index \\(no {MANIFEST}\\)"):
        load_index(folder)


@pytest.mark.parametrize("missing", ["bm25/terms.jsonl", "vectors.faiss", "userdict.txt"])
def test_partial_index(saved: Path, missing: str) -> None:
    (current_dir(saved) / missing).unlink()
    with pytest.raises(IndexStoreError, match=rf"partial: {missing} is missing.*rebuild"):
        load_index(saved)


@pytest.mark.parametrize("name", ["chunks.jsonl", "vectors.faiss"])
def test_truncated_file(saved: Path, name: str) -> None:
    live = current_dir(saved)
    data = (live / name).read_bytes()
    (live / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexStoreError, match=f"corrupt: {name} has the wrong size"):
        load_index(saved)


def test_corrupt_manifest_json(saved: Path) -> None:
    (current_dir(saved) / MANIFEST).write_text('{"format_version": 1, "embedder": ', encoding="utf-8")
    with pytest.raises(IndexStoreError, match=r"is corrupt.*rebuild the index"):
        load_index(saved)


def test_manifest_with_unexpected_fields(saved: Path) -> None:
    raw = json.loads((current_dir(saved) / MANIFEST).read_text(encoding="utf-8"))
    del raw["dim"]
    raw["surprise"] = True
    (current_dir(saved) / MANIFEST).write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(IndexStoreError, match="is corrupt"):
        load_index(saved)


def test_wrong_format_version(tmp_path: Path) -> None:
    path = tmp_path / "index"
    _save(path)
    raw = json.loads((current_dir(path) / MANIFEST).read_text(encoding="utf-8"))
    raw["format_version"] = FORMAT_VERSION + 98  # written by a future policyrag
    (current_dir(path) / MANIFEST).write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(
        IndexStoreError, match=f"index format {FORMAT_VERSION + 98}, this policyrag reads {FORMAT_VERSION}"
    ):
        load_index(path)


def test_embedder_mismatch(saved: Path) -> None:
    with pytest.raises(IndexStoreError, match="built with embedder 'fake-embedder', not 'e5-small'") as exc:
        load_index(saved, expect_embedder="e5-small")
    assert "--embedder e5-small" in str(exc.value)


def test_manifest_inconsistent_with_contents(tmp_path: Path) -> None:
    path = tmp_path / "index"
    _save(path, counts={"documents": 2, "chunks": 99})
    with pytest.raises(IndexStoreError, match="inconsistent with its manifest"):
        load_index(path)


def test_corrupt_chunks_with_matching_size(saved: Path) -> None:
    size = (current_dir(saved) / "chunks.jsonl").stat().st_size
    (current_dir(saved) / "chunks.jsonl").write_bytes(b"{" * size)
    with pytest.raises(IndexStoreError, match="is corrupt"):
        load_index(saved)


# --- atomic replacement ---------------------------------------------------------------------------


def test_failed_save_leaves_previous_index_intact(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = {p.relative_to(saved): p.read_bytes() for p in saved.rglob("*") if p.is_file()}

    def broken_publish(path: Path, version: Path) -> None:  # every file written, the swap fails
        raise OSError("disk full")

    monkeypatch.setattr("retriever.store.publish", broken_publish)
    with pytest.raises(OSError, match="disk full"):
        _save(saved, chunks=CHUNKS[:1], corpus_fingerprint="fp-2")

    after = {p.relative_to(saved): p.read_bytes() for p in saved.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in saved.parent.iterdir()] == ["index"]  # no temporary folder remains
    monkeypatch.undo()
    loaded = load_index(saved)
    assert loaded.chunks == CHUNKS
    assert loaded.manifest.corpus_fingerprint == "fp-1"


def test_failed_first_save_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_save(self: BM25Index) -> tuple[bytes, bytes]:
        raise RuntimeError("interrupted")

    monkeypatch.setattr(BM25Index, "to_bytes", broken_save)
    with pytest.raises(RuntimeError, match="interrupted"):
        _save(tmp_path / "index")
    assert list(tmp_path.iterdir()) == []
