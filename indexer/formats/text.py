"""Plain text and Markdown: strict decoding (see ``indexer.reading.decode_bytes``)."""

from __future__ import annotations

from indexer.formats.base import Block, ReadResult
from indexer.reading import decode_bytes


def read_text(data: bytes, name: str, *, markdown: bool = False) -> ReadResult:
    """A ``.txt``/``.md`` file: lines kept as they are (blank lines too, so line numbers match the file)."""
    text, encoding = decode_bytes(data, name=name)
    blocks = tuple(Block(line) for line in text.splitlines())
    return ReadResult(name=name, format="markdown" if markdown else "text", blocks=blocks, encoding=encoding)
