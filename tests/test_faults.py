"""Fault injection (issue 13, "Also"): kill -9 at each build stage, every index file corrupted,
concurrent builds, unreadable and edited indexes — each with its expected clear outcome.

Builds run in child processes (``tests/fault_child.py``) so that SIGKILL ends them for real: no
``finally``, no clean-up. The slower, randomised variant is ``policyrag eval faults``.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import models.embedders
from indexer.build import build_index
from policyrag.cli import main
from retriever.index_dir import LOCK, POINTER
from retriever.store import IndexStoreError, current_dir, load_index
from tests.conftest import PLAN, REGULATION_CLEAN, FakeEmbedder

ROOT = Path(__file__).resolve().parents[1]
ADDED = "示范数据条例\n\n第一条 为了规范数据处理活动，制定本条例。\n\n第二条 市政务服务数据管理部门负责统筹数据工作。\n"


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.fault_child", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def built_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("faults")
    src = folder / "src"
    src.mkdir()
    (src / "reg.txt").write_text(REGULATION_CLEAN, encoding="utf-8")
    (src / "plan.txt").write_text(PLAN, encoding="utf-8")
    build_index([src], folder / "index", FakeEmbedder(), cache_dir=folder / "cache", progress=False)
    return folder


@pytest.fixture()
def built(built_once: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A fresh copy of a small index and its sources (building once per module keeps this suite fast)."""
    shutil.copytree(built_once, tmp_path / "copy")
    return tmp_path / "copy" / "src", tmp_path / "copy" / "index"


def _only_live(index: Path) -> None:
    assert sorted(p.name for p in index.iterdir()) == sorted([LOCK, POINTER, current_dir(index).name])


# --- kill -9 at each stage of a build ----------------------------------------------------------------

STAGES = {  # stage → documents in the live index right after the kill (2: the old index, 3: the new one)
    "ingest": 2,
    "embed": 2,
    "cache-shard": 2,
    "write-files": 2,
    "before-switch": 2,
    "after-switch": 3,
}


@pytest.mark.parametrize("stage", list(STAGES))
def test_kill_9_during_a_build_leaves_a_whole_index_and_the_next_build_cleans_up(
    built: tuple[Path, Path], fake_embedder: FakeEmbedder, stage: str
) -> None:
    src, index = built
    (src / "added.txt").write_text(ADDED, encoding="utf-8")
    proc = _child(stage, str(src), str(index))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == -9, err  # died by SIGKILL at the armed moment
    loaded = load_index(index)  # never a half index: the old one or the new one, whole
    assert loaded.manifest.counts["documents"] == STAGES[stage]

    report = build_index([src], index, fake_embedder, cache_dir=index.parent / "cache", progress=False)
    assert report.manifest.counts["documents"] == 3
    _only_live(index)  # the killed build's leftovers are gone
    assert load_index(index).manifest.counts["documents"] == 3


def test_kill_9_during_a_first_build_leaves_no_index_and_no_obstacle(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "reg.txt").write_text(REGULATION_CLEAN, encoding="utf-8")
    index = tmp_path / "index"
    proc = _child("write-files", str(src), str(index))
    proc.communicate(timeout=120)
    assert proc.returncode == -9
    with pytest.raises(IndexStoreError, match="not a complete index"):
        load_index(index)
    build_index([src], index, fake_embedder, cache_dir=tmp_path / "cache", progress=False)  # not refused
    _only_live(index)


# --- concurrent builds ------------------------------------------------------------------------------


def test_concurrent_builds_one_wins_the_other_gets_a_clear_error(built: tuple[Path, Path], tmp_path: Path) -> None:
    src, index = built
    (src / "added.txt").write_text(ADDED, encoding="utf-8")
    ready = tmp_path / "ready"
    slow = _child("slow", str(src), str(index), str(ready))
    deadline = time.monotonic() + 60
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), "the first build never started embedding"
    second = _child("none", str(src), str(index))
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2
    assert err.count("\n") == 1 and err.startswith("policyrag: error: another policyrag build (pid")
    assert "Traceback" not in err
    _, err = slow.communicate(timeout=120)
    assert slow.returncode == 0, err
    assert load_index(index).manifest.counts["documents"] == 3
    _only_live(index)


# --- every index file corrupted ---------------------------------------------------------------------


def _files(index: Path) -> list[str]:
    live = current_dir(index)
    return sorted(str(p.relative_to(live)) for p in live.rglob("*") if p.is_file() and p.name != "manifest.json")


def test_every_index_file_is_covered(built: tuple[Path, Path]) -> None:
    assert _files(built[1]) == [
        "bm25/params.json",
        "bm25/terms.jsonl",
        "chunks.jsonl",
        "documents.json",
        "ingest.jsonl.gz",
        "memo.json.gz",
        "userdict.txt",
        "vectors.faiss",
    ]


@pytest.mark.parametrize(
    "rel",
    [
        "bm25/params.json",
        "bm25/terms.jsonl",
        "chunks.jsonl",
        "documents.json",
        "ingest.jsonl.gz",
        "memo.json.gz",
        "userdict.txt",
        "vectors.faiss",
    ],
)
@pytest.mark.parametrize("how", ["one-byte", "same-size-shuffle"])
def test_one_changed_byte_or_shuffled_rows_in_any_file_is_caught_by_its_checksum(
    built: tuple[Path, Path], rel: str, how: str
) -> None:
    path = current_dir(built[1]) / rel
    data = bytearray(path.read_bytes())
    if how == "one-byte":
        data[len(data) // 2] ^= 0x01
    else:  # the same bytes in another order: sizes match, only the checksum can tell
        half = len(data) // 2
        data = data[half:] + data[:half]
    path.write_bytes(bytes(data))
    with pytest.raises(IndexStoreError, match=rf"corrupt: {rel} does not match its checksum.*policyrag index"):
        load_index(built[1], with_caches=True)
    if rel.endswith(".gz"):  # a build cache: search does not read it; the next build ignores it (full rebuild)
        assert load_index(built[1]).manifest.counts["documents"] == 2
        report = build_index([built[0]], built[1], FakeEmbedder(), cache_dir=built[1].parent / "cache", progress=False)
        assert report.files_read == 2 and report.previous.startswith("not reused")
    else:
        with pytest.raises(IndexStoreError, match=rf"corrupt: {rel} does not match its checksum"):
            load_index(built[1])


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    return main(argv, out=out, stdin=io.StringIO("")), out.getvalue()


@pytest.fixture()
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every embedder name resolves to a fake; ``embeddinggemma-300m`` has its real width (768)."""

    def create(name: str, **_: object) -> FakeEmbedder:
        return FakeEmbedder(name=name, dim=768 if name == "embeddinggemma-300m" else 64)

    monkeypatch.setattr(models.embedders, "create_embedder", create)


def _manifest_edit(index: Path, **changes: object) -> None:
    mpath = current_dir(index) / "manifest.json"
    raw = json.loads(mpath.read_text(encoding="utf-8"))
    raw.update(changes)
    mpath.write_text(json.dumps(raw), encoding="utf-8")


def _cli_error(index: Path, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    code, _ = _run(["search", "主管部门", "--index", str(index)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("policyrag: error: ") and err.count("\n") == 1, err
    return err


def test_bad_byte_in_an_index_file_is_a_one_line_error(
    built: tuple[Path, Path], registry: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = current_dir(built[1]) / "vectors.faiss"
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    assert "vectors.faiss does not match its checksum" in _cli_error(built[1], capsys)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"dim": "64"}, "dim: Input should be a valid integer"),
        ({"counts": {"chunks": "many"}}, "counts.chunks"),
        ({"sources": 5}, "sources"),
        ({"checksums": None}, "checksums"),
    ],
)
def test_wrong_type_in_the_manifest_is_a_one_line_error(
    built: tuple[Path, Path], registry: None, capsys: pytest.CaptureFixture[str], changes: dict, message: str
) -> None:
    _manifest_edit(built[1], **changes)
    err = _cli_error(built[1], capsys)
    assert "manifest.json is corrupt" in err and message in err


def test_wrong_type_inside_a_checksummed_file_is_a_one_line_error(
    built: tuple[Path, Path], registry: None, capsys: pytest.CaptureFixture[str]
) -> None:
    import hashlib

    live = current_dir(built[1])
    docs = json.loads((live / "documents.json").read_text(encoding="utf-8"))
    docs[0]["sources"] = 5  # valid JSON, wrong type, and the manifest updated to match
    data = json.dumps(docs).encode()
    (live / "documents.json").write_bytes(data)
    raw = json.loads((live / "manifest.json").read_text(encoding="utf-8"))
    raw["files"]["documents.json"] = len(data)
    raw["checksums"]["documents.json"] = hashlib.sha256(data).hexdigest()
    (live / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    err = _cli_error(built[1], capsys)
    assert "is corrupt" in err and "sources" in err


def test_manifest_naming_another_valid_embedder_is_a_one_line_error(
    built: tuple[Path, Path], registry: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _manifest_edit(built[1], embedder="embeddinggemma-300m")
    err = _cli_error(built[1], capsys)
    assert "manifest names embedder 'embeddinggemma-300m' (dim 768) but its vectors have dim 64" in err


def test_permission_denied_is_reported_as_such_not_as_corruption(
    built: tuple[Path, Path], registry: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root here, where chmod 000 does not stop reads: deny the read itself.
    original = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self.name == "vectors.faiss":
            raise PermissionError(13, "Permission denied", str(self))
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    err = _cli_error(built[1], capsys)
    assert "cannot read the index" in err and "Permission denied" in err and "vectors.faiss" in err
    assert "corrupt" not in err and "rebuild" not in err


def test_unreadable_index_folder_is_a_one_line_error(
    built: tuple[Path, Path], registry: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Path.is_file

    def denied(self: Path) -> bool:
        if self.name == POINTER:
            raise PermissionError(13, "Permission denied", str(self))
        return original(self)

    monkeypatch.setattr(Path, "is_file", denied)
    err = _cli_error(built[1], capsys)
    assert "Permission denied" in err and "corrupt" not in err


# --- the same outcomes through the real CLI parser ---------------------------------------------------


def test_cli_refuses_a_source_folder_as_index_and_keeps_its_files(
    tmp_path: Path, registry: None, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "reg.txt").write_text(REGULATION_CLEAN, encoding="utf-8")
    code, _ = _run(["index", str(docs), "--index", str(docs), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("policyrag: error: index folder") and "inside the source folder" in err
    assert [p.name for p in docs.iterdir()] == ["reg.txt"]


def test_cli_refuses_a_file_as_index(tmp_path: Path, registry: None, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "reg.txt").write_text(REGULATION_CLEAN, encoding="utf-8")
    target = tmp_path / "notes.txt"
    target.write_text("keep me", encoding="utf-8")
    code, _ = _run(["index", str(docs), "--index", str(target), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "is a file, not an index folder" in err and err.count("\n") == 1
    assert target.read_text(encoding="utf-8") == "keep me"


def test_cli_build_while_another_holds_the_index_is_a_one_line_error(
    built: tuple[Path, Path], registry: None, capsys: pytest.CaptureFixture[str]
) -> None:
    import threading

    from retriever.index_dir import build_lock

    src, index = built
    (src / "added.txt").write_text(ADDED, encoding="utf-8")
    result: dict[str, int] = {}
    with build_lock(index):
        t = threading.Thread(target=lambda: result.update(code=_run(["index", str(src), "--index", str(index)])[0]))
        t.start()
        t.join(60)
    err = capsys.readouterr().err
    assert result["code"] == 2 and err.startswith("policyrag: error: another policyrag build (pid")
    assert err.count("\n") == 1
    assert load_index(index).manifest.counts["documents"] == 2  # untouched
