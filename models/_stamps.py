"""Verification stamps: remember that an assembled asset was hashed, so later runs can skip re-hashing.

A stamp lists every file of the asset with its size, mtime and sha256. A file whose size and mtime
still match is trusted without hashing; a file whose mtime changed is re-hashed against the
recorded sha256.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

STAMP_VERSION = 1
_HASH_BLOCK = 4 * 1024 * 1024


@dataclass(frozen=True)
class FileRecord:
    """Size, mtime and sha256 of one file of an asset, keyed by its path relative to the models dir."""

    relpath: str
    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True)
class Stamp:
    """What was verified: the asset's expected archive/file hash and the files it produced."""

    asset: str
    sha256: str
    size: int
    files: tuple[FileRecord, ...]


@dataclass(frozen=True)
class StampCheck:
    """Result of comparing a stamp with the files on disk, without hashing anything."""

    missing: tuple[str, ...]  # listed files that are gone
    resized: tuple[str, ...]  # listed files whose size changed (certainly modified)
    touched: tuple[FileRecord, ...]  # same size, different mtime: need a re-hash to decide

    @property
    def clean(self) -> bool:
        """True when every listed file still has its recorded size and mtime."""
        return not (self.missing or self.resized or self.touched)


def chmod_default(path: Path, *, directory: bool) -> None:
    """Give a mkstemp/mkdtemp result (0600/0700) the permissions a normal create would have had."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod((0o777 if directory else 0o666) & ~umask)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_HASH_BLOCK):
            h.update(block)
    return h.hexdigest()


def record_file(models_dir: Path, path: Path, sha256: str) -> FileRecord:
    """Build a FileRecord for ``path`` (whose hash the caller already knows) as it is on disk now."""
    st = path.stat()
    return FileRecord(path.relative_to(models_dir).as_posix(), st.st_size, st.st_mtime_ns, sha256)


def stamp_path(models_dir: Path, asset: str) -> Path:
    """Where the stamp of ``asset`` lives."""
    return models_dir / ".cache" / f"{asset}.verified"


def write_stamp(models_dir: Path, stamp: Stamp) -> None:
    """Atomically write ``stamp`` (temp file + rename, so a reader never sees half a stamp)."""
    path = stamp_path(models_dir, stamp.asset)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {
        "version": STAMP_VERSION,
        "asset": stamp.asset,
        "sha256": stamp.sha256,
        "size": stamp.size,
        "files": {r.relpath: {"size": r.size, "mtime_ns": r.mtime_ns, "sha256": r.sha256} for r in stamp.files},
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{stamp.asset}.", suffix=".stamp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=1, sort_keys=True)
        chmod_default(Path(tmp), directory=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stamp(models_dir: Path, asset: str) -> None:
    """Delete the stamp of ``asset`` if there is one."""
    stamp_path(models_dir, asset).unlink(missing_ok=True)


def read_stamp(models_dir: Path, asset: str) -> Stamp | None:
    """Load the stamp of ``asset``; None if absent. An unreadable stamp counts as absent (logged)."""
    path = stamp_path(models_dir, asset)
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("version") != STAMP_VERSION or raw.get("asset") != asset:
            raise ValueError(f"unexpected version/asset {raw.get('version')!r}/{raw.get('asset')!r}")
        files = tuple(
            FileRecord(rel, int(v["size"]), int(v["mtime_ns"]), str(v["sha256"]))
            for rel, v in sorted(raw["files"].items())
        )
        return Stamp(asset, str(raw["sha256"]), int(raw["size"]), files)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        logger.warning("ignoring unreadable stamp %s: %s", path, exc)
        return None


def check_stamp(models_dir: Path, stamp: Stamp) -> StampCheck:
    """Compare a stamp's file list with the disk by size and mtime only."""
    missing: list[str] = []
    resized: list[str] = []
    touched: list[FileRecord] = []
    for rec in stamp.files:
        try:
            st = (models_dir / rec.relpath).stat()
        except FileNotFoundError:
            missing.append(rec.relpath)
            continue
        if st.st_size != rec.size:
            resized.append(rec.relpath)
        elif st.st_mtime_ns != rec.mtime_ns:
            touched.append(rec)
    return StampCheck(tuple(missing), tuple(resized), tuple(touched))
