"""Readers for the file formats analysts hold, behind one seam.

``read_bytes`` detects the format from the content (``detect_format``), runs the reader registered for it and
returns a ``ReadResult``: one block per paragraph (page number for paged formats, heading level where the
format says) that the text pipeline consumes unchanged. A file that cannot be read raises ``FormatError``
with the file, the reason and the fix.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from indexer.formats.base import Block, FileMeta, FormatError, MissingToolError, ReadResult
from indexer.formats.detect import FORMATS, describe_binary, detect_format

logger = logging.getLogger(__name__)

__all__ = [
    "FORMATS",
    "SUFFIXES",
    "Block",
    "FileMeta",
    "FormatError",
    "MissingToolError",
    "ReadOptions",
    "ReadResult",
    "detect_format",
    "read_bytes",
    "read_file",
]

# Extensions picked up when a folder is indexed; the content still decides the reader.
SUFFIXES = (
    ".txt", ".md", ".markdown", ".pdf", ".docx", ".doc", ".wps", ".dot", ".rtf", ".html", ".htm", ".shtml",
    ".xhtml", ".mht", ".mhtml", ".ofd",
)  # fmt: skip


@dataclass(frozen=True)
class ReadOptions:
    """How to read: OCR for scanned PDF pages (None → such pages are an error naming the extra)."""

    ocr: Callable[[object], list] | None = None
    on_page: Callable[[int, int, bool], None] | None = None


def _read_pdf(data: bytes, name: str, options: ReadOptions) -> ReadResult:
    from indexer.formats.pdf import read_pdf

    return read_pdf(data, name, ocr=options.ocr, on_page=options.on_page)


def _read_docx(data: bytes, name: str, options: ReadOptions) -> ReadResult:
    from indexer.formats.docx import read_docx

    return read_docx(data, name)


def _read_doc(data: bytes, name: str, options: ReadOptions) -> ReadResult:
    from indexer.formats.word97 import read_word97

    return read_word97(data, name)


def _read_rtf(data: bytes, name: str, options: ReadOptions) -> ReadResult:
    from indexer.formats.word97 import read_rtf

    return read_rtf(data, name)


def _read_html(data: bytes, name: str, options: ReadOptions) -> ReadResult:
    from indexer.formats.html import read_html

    return read_html(data, name)


def _read_mhtml(data: bytes, name: str, options: ReadOptions) -> ReadResult:
    from indexer.formats.html import read_mhtml

    return read_mhtml(data, name)


def _read_ofd(data: bytes, name: str, options: ReadOptions) -> ReadResult:
    from indexer.formats.ofd import read_ofd

    return read_ofd(data, name)


def _read_text(data: bytes, name: str, options: ReadOptions) -> ReadResult:
    from indexer.formats.text import read_text
    from indexer.reading import UnreadableFileError

    try:
        return read_text(data, name)
    except UnreadableFileError as exc:
        raise FormatError(str(exc)) from exc


def _read_markdown(data: bytes, name: str, options: ReadOptions) -> ReadResult:
    from indexer.formats.text import read_text
    from indexer.reading import UnreadableFileError

    try:
        return read_text(data, name, markdown=True)
    except UnreadableFileError as exc:
        raise FormatError(str(exc)) from exc


Reader = Callable[[bytes, str, ReadOptions], ReadResult]
READERS: dict[str, Reader] = {
    "text": _read_text,
    "markdown": _read_markdown,
    "pdf": _read_pdf,
    "docx": _read_docx,
    "doc": _read_doc,
    "rtf": _read_rtf,
    "html": _read_html,
    "mhtml": _read_mhtml,
    "ofd": _read_ofd,
}


def read_bytes(data: bytes, name: str, options: ReadOptions | None = None) -> ReadResult:
    """Read one file's bytes with the reader its content calls for; ``FormatError`` when none can."""
    if not data.strip():
        raise FormatError(f"{name}: the file is empty")
    fmt = detect_format(data, name)
    if fmt is None:
        raise FormatError(
            f"{name}: unsupported content ({describe_binary(data)}); supported: PDF, DOCX, DOC/WPS, RTF, HTML, "
            "MHTML, OFD, text and Markdown"
        )
    try:
        result = READERS[fmt](data, name, options or ReadOptions())
    except (FormatError, MemoryError):
        raise
    except Exception as exc:
        # Any library error on malformed input (pdfium, lxml, zip, codecs …): one bad file must not abort a build.
        logger.debug("reading %s failed", name, exc_info=True)
        raise FormatError(
            f"{name}: cannot read this {fmt.upper()} file ({type(exc).__name__}: {exc}); "
            "open it and save it again, or convert it to PDF or DOCX"
        ) from exc
    if any("\n" in b.text or "\r" in b.text for b in result.blocks):
        # One block is one line of ``text``: that is how pages map to lines downstream.
        blocks = [Block(part, b.page, b.heading) for b in result.blocks for part in (b.text.splitlines() or [""])]
        result = replace(result, blocks=tuple(blocks))
    if not any(b.text.strip() for b in result.blocks):
        hint = " (only images? a scan inside a DOCX/OFD is not OCR'd: export it as PDF)" if fmt != "text" else ""
        raise FormatError(f"{name}: no text found in this {fmt.upper()} file{hint}")
    return result


def read_file(path: Path, options: ReadOptions | None = None) -> ReadResult:
    """Read a file from disk (see ``read_bytes``); an unreadable file is a ``FormatError`` naming it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        fix = "check its permissions" if isinstance(exc, PermissionError) else "check that it exists and is a file"
        raise FormatError(f"{path}: cannot read ({exc.strerror or exc}); {fix}") from exc
    return read_bytes(data, str(path), options)
