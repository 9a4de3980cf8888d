"""What every format reader returns: blocks of text with their page and heading level, plus file metadata."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


class FormatError(ValueError):
    """A file that cannot be read: the message names the file, the reason and the fix."""


class MissingToolError(FormatError):
    """A reader needs a program or package that is not installed (the message names it)."""


@dataclass(frozen=True)
class Block:
    """One paragraph or heading of a document, on one line."""

    text: str
    page: int | None = None  # 1-based page for paged formats (PDF, OFD)
    heading: int | None = None  # heading level where the format says so (1 = top)


@dataclass(frozen=True)
class FileMeta:
    """Metadata a file states about itself (HTML meta tags, 信息公开 tables, DOCX properties)."""

    title: str | None = None
    doc_number: str | None = None  # 文号, e.g. 国发〔2017〕35号
    issuer: str | None = None  # 发文机关
    published: str | None = None  # ISO date
    effective: str | None = None


@dataclass(frozen=True)
class ReadResult:
    """A file read into blocks; ``text`` is what the text pipeline consumes, one block a line."""

    name: str
    format: str  # a key of the reader registry (pdf, docx, html, ...)
    blocks: tuple[Block, ...]
    meta: FileMeta = field(default_factory=FileMeta)
    encoding: str | None = None
    notes: tuple[str, ...] = ()  # e.g. "3 page(s) read by OCR"
    ocr_pages: tuple[int, ...] = ()  # pages read by OCR (no text layer)

    @property
    def text(self) -> str:
        """The blocks as lines (line ``i`` is block ``i - 1``)."""
        return "\n".join(b.text for b in self.blocks)

    @property
    def pages(self) -> tuple[int | None, ...]:
        """Page of each line of ``text``."""
        return tuple(b.page for b in self.blocks)


def blocks_from_lines(lines: Iterable[str], *, page: int | None = None) -> list[Block]:
    """Blocks from text lines (blank lines dropped); multi-line strings are split so one block is one line."""
    out: list[Block] = []
    for line in lines:
        for part in line.splitlines():
            if part.strip():
                out.append(Block(part.strip(), page=page))
    return out
