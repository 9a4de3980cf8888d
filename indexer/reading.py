"""Read corpus files into text: encoding detection that never garbles."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from indexer.mojibake import foreign_ratio

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md")
MAX_FOREIGN_RATIO = 0.01  # kana/bopomofo/box-drawing per Chinese character in a plausible decode


class UnreadableFileError(ValueError):
    """A file that is not text in an encoding we can decode without loss."""


@dataclass(frozen=True)
class SourceFile:
    """One decoded input file."""

    path: Path
    name: str
    text: str
    encoding: str


def decode_bytes(data: bytes, *, name: str = "<bytes>") -> tuple[str, str]:
    """Decode ``data`` strictly and return ``(text, encoding)``.

    Order: UTF-8 (with or without BOM), UTF-16 with BOM, GB18030 (a superset of
    GBK/GB2312). Each attempt is strict, so a wrong guess raises instead of
    producing mojibake; only when all fail do we ask charset-normalizer, and we
    still refuse a guess that needed replacement characters.
    """
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableFileError(f"{name}: looks like a binary file (NUL bytes), not text")
    if data.startswith(b"\xef\xbb\xbf"):
        return _strict(data[3:], "utf-8", name), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _strict(data, "utf-16", name), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # GB18030 accepts almost any byte string, Big5 included, so a successful decode
    # proves little: accept it only when the result reads as Chinese text.
    decoded = []
    for encoding in ("gb18030", "big5"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        ratio = foreign_ratio(text)
        if ratio <= MAX_FOREIGN_RATIO:
            return text, encoding
        decoded.append((ratio, encoding))
    if decoded:
        raise UnreadableFileError(
            f"{name}: decodes as {', '.join(e for _, e in decoded)} only as garbled text; convert it to UTF-8 first"
        )
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - dependency is declared
        raise UnreadableFileError(f"{name}: not UTF-8 or GB18030 text") from None
    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise UnreadableFileError(f"{name}: cannot detect a text encoding")
    text = _strict(data, best.encoding, name)
    return text, best.encoding


def _strict(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(f"{name}: invalid {encoding} text ({exc.reason} at byte {exc.start})") from exc


def read_source(path: Path) -> SourceFile:
    """Read one ``.txt``/``.md`` file, detecting its encoding."""
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise UnreadableFileError(f"{path}: unsupported file type (expected {', '.join(SUPPORTED_SUFFIXES)})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(f"{path}: cannot read ({exc.strerror})") from exc
    text, encoding = decode_bytes(data, name=str(path))
    if encoding not in ("utf-8", "utf-8-sig"):
        logger.info("%s decoded as %s", path.name, encoding)
    return SourceFile(path=path, name=path.name, text=text, encoding=encoding)


def iter_source_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand files and folders into the supported files below them, sorted.

    A path that does not exist raises ``UnreadableFileError`` rather than being
    skipped: silently indexing less than the user asked for is data loss.
    """
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
            if not found:
                logger.warning("%s: no .txt or .md files found", path)
            yield from found
        elif path.is_file():
            yield path
        else:
            raise UnreadableFileError(f"{path}: no such file or folder")
