"""Read corpus files into text: encoding detection that never garbles."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from indexer.formats.detect import utf16_without_bom
from indexer.mojibake import foreign_ratio

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md")
_HAS_CJK_CHAR = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")
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
    if data.startswith(b"\xef\xbb\xbf"):
        return _checked(_strict(data[3:], "utf-8", name), name), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _strict(data, "utf-16", name), "utf-16"
    if b"\x00" in data[:4096]:
        if utf16 := utf16_without_bom(data):  # Windows tools write UTF-16 without a BOM too
            return _strict(data, utf16, name), utf16
        raise UnreadableFileError(f"{name}: looks like a binary file (NUL bytes), not text")
    try:
        return _checked(data.decode("utf-8"), name), "utf-8"
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


_LATIN1_MOJIBAKE = re.compile(
    "[\u00c0-\u00ff][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013-\u203a\u20ac\u2122]"
)


def latin1_mojibake(text: str) -> bool:
    """True for UTF-8 Chinese that was once decoded as Latin-1/cp1252 and saved again (``æ·±åœ³``).

    Such text has no CJK characters but many lead-byte/continuation-byte pairs, and encoding it back to
    cp1252 gives valid UTF-8 with Chinese in it.
    """
    sample = text[:20000]
    pairs = len(_LATIN1_MOJIBAKE.findall(sample))
    if _HAS_CJK_CHAR.search(sample) or pairs < 5:
        return False
    non_ascii = sum(ord(ch) > 127 for ch in sample)
    return repair_latin1(sample) is not None or pairs * 2 >= 0.6 * non_ascii


def repair_latin1(text: str) -> str | None:
    """The original text of Latin-1/cp1252 mojibake, or None when it does not round-trip cleanly."""
    for codec in ("cp1252", "latin-1"):
        try:
            fixed = text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if _HAS_CJK_CHAR.search(fixed):
            return fixed
    return None


def _checked(text: str, name: str) -> str:
    if latin1_mojibake(text):
        raise UnreadableFileError(
            f"{name}: UTF-8 Chinese that was decoded as Latin-1 and saved again (mojibake such as "
            f"{text.strip()[:12]!r}); export it again as UTF-8 from the program that wrote it (the text is "
            "recoverable: text.encode('cp1252').decode('utf-8'))"
        )
    return text


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


@dataclass(frozen=True)
class SourceScan:
    """The files found under the given paths, and what could not be looked into (reported, never silent)."""

    files: tuple[Path, ...]
    problems: tuple[str, ...] = ()


def scan_sources(paths: Iterable[Path], suffixes: tuple[str, ...] | None = None) -> SourceScan:
    """Expand files and folders into the files to read: folders recursively (sorted, by extension), files as given.

    A path that does not exist raises ``UnreadableFileError``: silently indexing less than the user asked for
    is data loss. Unreadable subfolders and symlinked subfolders (not followed: they can loop or leave the
    folder) are reported in ``problems``, as are files of other types in the folders.
    """
    from indexer.formats import SUFFIXES

    wanted = suffixes or SUFFIXES
    files: list[Path] = []
    problems: list[str] = []
    for path in paths:
        if path.is_dir():
            found, other = _walk(path, wanted, problems)
            if not found:
                logger.warning("%s: no supported files found (%s)", path, ", ".join(wanted))
            if other:
                kinds = ", ".join(f"{suffix or '(none)'}: {n}" for suffix, n in sorted(other.items()))
                problems.append(f"{path}: ignored {sum(other.values())} file(s) of other types ({kinds})")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.exists():
            raise UnreadableFileError(f"{path}: not a regular file or folder")
        else:
            raise UnreadableFileError(f"{path}: no such file or folder")
    return SourceScan(tuple(files), tuple(problems))


def _walk(root: Path, wanted: tuple[str, ...], problems: list[str]) -> tuple[list[Path], dict[str, int]]:
    found: list[Path] = []
    other: dict[str, int] = {}

    def failed(exc: OSError) -> None:
        problems.append(f"{exc.filename}: folder not readable ({exc.strerror}); check its permissions")

    for folder, dirnames, filenames in os.walk(root, onerror=failed, followlinks=False):
        for d in list(dirnames):
            full = Path(folder) / d
            if d.startswith("."):
                dirnames.remove(d)
            elif full.is_symlink():
                problems.append(f"{full}: symlinked folder not followed; pass its target as a path to index it")
        dirnames.sort()
        for f in filenames:
            full = Path(folder) / f
            if f.startswith("."):
                continue
            if full.is_symlink() and not full.exists():
                problems.append(f"{full}: broken symbolic link (its target is missing); skipped")
                continue
            if not full.is_file():
                continue
            suffix = full.suffix.lower()
            if suffix in wanted:
                found.append(full)
            elif f != "catalog.toml":
                other[suffix] = other.get(suffix, 0) + 1
    return sorted(found), other


def iter_source_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """The files ``scan_sources`` finds (see there), in order."""
    yield from scan_sources(paths).files
