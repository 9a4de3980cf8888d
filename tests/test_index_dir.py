"""The index folder: never write into or delete what is not an index; one build at a time; leftovers cleaned."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from indexer.build import build_index
from retriever.index_dir import (
    LOCK,
    POINTER,
    IndexFolderError,
    build_lock,
    check_not_in_sources,
    check_target,
    clean_leftovers,
    current_version,
)
from retriever.store import IndexStoreError, current_dir, load_index
from tests.conftest import PLAN, REGULATION_CLEAN, FakeEmbedder


def _corpus(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {"reg.txt": REGULATION_CLEAN, "plan.txt": PLAN}).items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _build(src: Path, index: Path, embedder: FakeEmbedder, **kw: object) -> None:
    build_index([src], index, embedder, cache_dir=index.parent / "cache", progress=False, **kw)  # type: ignore[arg-type]


# --- issue 13 item 1: never delete a user's folder ------------------------------------------------


def test_index_into_a_folder_of_user_files_is_refused_and_the_files_survive(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    src = _corpus(tmp_path / "src")
    mine = tmp_path / "my-documents"
    mine.mkdir()
    (mine / "notes.txt").write_text("years of work", encoding="utf-8")
    with pytest.raises(IndexFolderError, match=r"not a policyrag index .*'notes.txt'.*new or empty folder"):
        _build(src, mine, fake_embedder)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "years of work"


def test_index_equal_to_the_source_folder_is_refused(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    src = _corpus(tmp_path / "docs")
    before = sorted(p.name for p in src.iterdir())
    with pytest.raises(IndexFolderError, match="inside the source folder"):
        _build(src, src, fake_embedder)
    with pytest.raises(IndexFolderError, match="inside the source folder"):
        _build(src, src / "sub" / "index", fake_embedder)
    assert sorted(p.name for p in src.iterdir()) == before


def test_index_path_that_is_a_file_is_refused_and_kept(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    src = _corpus(tmp_path / "src")
    target = tmp_path / "index"
    target.write_text("not a folder", encoding="utf-8")
    with pytest.raises(IndexFolderError, match="is a file, not an index folder"):
        _build(src, target, fake_embedder)
    assert target.read_text(encoding="utf-8") == "not a folder"


def test_empty_folder_and_existing_index_are_accepted(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    src = _corpus(tmp_path / "src")
    empty = tmp_path / "empty"
    empty.mkdir()
    _build(src, empty, fake_embedder)
    _build(src, empty, fake_embedder, incremental=False)  # replacing an index is what --index is for
    assert load_index(empty).manifest.counts["documents"] == 2
    assert sorted(p.name for p in empty.iterdir()) == sorted([LOCK, POINTER, current_dir(empty).name])


def test_check_helpers(tmp_path: Path) -> None:
    check_target(tmp_path / "new")  # nothing there yet
    check_not_in_sources(tmp_path / "indexes" / "default", [tmp_path / "corpus"])
    with pytest.raises(IndexFolderError):
        check_not_in_sources(tmp_path / "corpus" / "idx", [tmp_path / "corpus"])


# --- issue 13 item 8: one build at a time, a single atomic switch, leftovers cleaned ------------------


def test_a_second_build_on_a_locked_index_fails_fast_with_a_clear_message(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    src = _corpus(tmp_path / "src")
    index = tmp_path / "index"
    _build(src, index, fake_embedder)
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with build_lock(index):
            held.set()
            release.wait(10)

    t = threading.Thread(target=holder)
    t.start()
    try:
        held.wait(5)
        with pytest.raises(IndexFolderError, match=r"another policyrag build \(pid \d+\) is writing"):
            _build(src, index, fake_embedder, incremental=False)
    finally:
        release.set()
        t.join()
    _build(src, index, fake_embedder, incremental=False)  # the lock is free again


def test_leftovers_of_killed_builds_are_removed_by_the_next_build(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    src = _corpus(tmp_path / "src")
    index = tmp_path / "default"
    _build(src, index, fake_embedder)
    live = current_version(index)
    half = index / "v-20200101T000000-1-abcdef"  # a version a killed build never published
    (half / "bm25").mkdir(parents=True)
    (half / "chunks.jsonl").write_text("half", encoding="utf-8")
    (index / ".CURRENT.99-abcdef.tmp").write_text("v-x\n", encoding="utf-8")
    old_swap = tmp_path / ".default.old-1234"  # what the previous layout's swap could leave beside the index
    old_swap.mkdir()
    (old_swap / "manifest.json").write_text("{}", encoding="utf-8")
    user = tmp_path / ".default.old-notes"  # a name that does not match is never touched
    user.mkdir()
    assert load_index(index).manifest.counts["documents"] == 2  # debris does not disturb loading
    _build(src, index, fake_embedder, incremental=False)
    assert not half.exists() and not old_swap.exists() and user.exists()
    assert not (index / ".CURRENT.99-abcdef.tmp").exists()
    assert live is not None and not live.exists()  # the replaced version is gone too
    assert sorted(p.name for p in index.iterdir()) == sorted([LOCK, POINTER, current_dir(index).name])


def test_the_previous_flat_layout_loads_and_is_replaced_cleanly(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    src = _corpus(tmp_path / "src")
    index = tmp_path / "index"
    _build(src, index, fake_embedder)
    flat = tmp_path / "flat"
    current_dir(index).rename(flat)  # an index folder as policyrag wrote it before versions
    manifest = json.loads((flat / "manifest.json").read_text(encoding="utf-8"))
    manifest["format_version"] = 1
    (flat / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert current_version(flat) == flat
    assert load_index(flat).manifest.counts["documents"] == 2
    (src / "plan.txt").write_text(PLAN + "\n三、保障措施\n加强组织领导。\n", encoding="utf-8")
    _build(src, flat, fake_embedder)  # incremental from the flat index, written as a version
    assert sorted(p.name for p in flat.iterdir()) == sorted([LOCK, POINTER, current_dir(flat).name])
    assert load_index(flat).manifest.format_version == 2


def test_clean_leftovers_keeps_the_live_version(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    src = _corpus(tmp_path / "src")
    index = tmp_path / "index"
    _build(src, index, fake_embedder)
    assert clean_leftovers(index) == []
    assert load_index(index).manifest.counts["documents"] == 2


def test_corrupt_pointer_is_a_clear_error(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    src = _corpus(tmp_path / "src")
    index = tmp_path / "index"
    _build(src, index, fake_embedder)
    (index / POINTER).write_text("../../etc\n", encoding="utf-8")
    with pytest.raises(IndexStoreError, match=r"CURRENT is corrupt.*rebuild"):
        load_index(index)
