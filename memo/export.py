"""Export formats by name: a brief → file bytes, media type and file extension."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from memo.items import Brief


class UnknownFormatError(ValueError):
    """A format name that is not in ``FORMATS``."""


@dataclass(frozen=True)
class ExportFormat:
    """One output format."""

    name: str
    extension: str
    media_type: str
    render: Callable[[Brief], bytes]


def _markdown(brief: Brief) -> bytes:
    from memo.markdown import render_markdown

    return render_markdown(brief).encode("utf-8")


def _docx(brief: Brief) -> bytes:
    from memo.word import render_docx

    return render_docx(brief)


FORMATS = {
    "docx": ExportFormat(
        "docx", ".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", _docx
    ),
    "md": ExportFormat("md", ".md", "text/markdown; charset=utf-8", _markdown),
}


def get_format(name: str) -> ExportFormat:
    """The format called ``name``; the error lists the valid names."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormatError(f"unknown export format {name!r}; valid: {', '.join(FORMATS)}") from None


def format_for_path(path: Path, default: str | None = None) -> ExportFormat:
    """The format named by ``default``, else by the file's extension (.docx / .md)."""
    if default:
        return get_format(default)
    for fmt in FORMATS.values():
        if path.suffix.lower() == fmt.extension:
            return fmt
    raise UnknownFormatError(f"cannot tell the export format of {path.name!r}: use a .docx or .md name, or --format")


def export_brief(brief: Brief, fmt: str) -> bytes:
    """Render ``brief`` in the format called ``fmt``."""
    return get_format(fmt).render(brief)
