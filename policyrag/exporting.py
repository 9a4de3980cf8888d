"""The CLI's brief export: ``policyrag cite CHUNK_ID…`` and ``policyrag ask … --export FILE``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from policyrag.common import CLIError, settings_from_args


def add_cite_parser(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """``policyrag cite``."""
    p = sub.add_parser("cite", help="export articles (by chunk id) as a .docx or .md brief")
    p.add_argument("chunk_ids", nargs="+", metavar="CHUNK_ID", help="chunk ids from search results (--json)")
    p.add_argument("--format", choices=["md", "docx"], help="output format (default: from -o's extension, else md)")
    p.add_argument("-o", "--output", type=Path, help="write to this file (default: Markdown on stdout)")
    p.add_argument("--title", default="", help="title of the brief (default: 政策依据摘编)")
    add_common(p)


def index_label(index_dir: Path, documents: int) -> str:
    """The index's folder name and size, as printed in the brief."""
    return f"{index_dir.name}（{documents} 份文件）"


def write_brief(
    items: Sequence[Any],
    index: Any,
    index_dir: Path,
    *,
    fmt: str | None,
    output: Path | None,
    title: str,
    out: TextIO,
    binary_out: BinaryIO | None = None,
) -> str:
    """Render ``items`` and write the file (or Markdown to ``out``); returns a one-line report."""
    from memo.export import format_for_path, get_format
    from memo.items import ItemError, build_brief
    from memo.markdown import render_markdown

    try:
        brief = build_brief(
            items,
            {d.doc_id: d for d in index.documents},
            index_name=index_label(index_dir, len(index.documents)),
            date=dt.date.today(),
            title=title,
        )
        chosen = format_for_path(output, fmt) if output else get_format(fmt or "md")
    except (ItemError, ValueError) as exc:
        raise CLIError(str(exc)) from exc
    if output is None:
        if chosen.name == "md":
            out.write(render_markdown(brief))
            return ""
        stream = binary_out or getattr(sys.stdout, "buffer", None)
        if stream is None or (hasattr(stream, "isatty") and stream.isatty()):
            raise CLIError("a .docx brief is binary: give -o FILE.docx")
        stream.write(chosen.render(brief))
        return ""
    data = chosen.render(brief)
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise CLIError(f"cannot write {output} ({exc.strerror})") from exc
    return f"wrote {output} ({len(brief.items)} items, {len(brief.sources)} sources, {len(data):,} bytes)"


def cmd_cite(args: argparse.Namespace, out: TextIO) -> int:
    """``policyrag cite``: the named articles, in the order given, as a brief."""
    from memo.items import ItemError, unit_item
    from retriever.store import load_index

    settings = settings_from_args(args)
    index = load_index(settings.index_dir)
    chunks = {c.chunk_id: c for c in index.chunks}
    try:
        items = [unit_item(chunks, cid) for cid in args.chunk_ids]
    except ItemError as exc:
        raise CLIError(str(exc)) from exc
    report = write_brief(
        items, index, settings.index_dir, fmt=args.format, output=args.output, title=args.title, out=out
    )
    if report:
        print(report, file=sys.stderr)
    return 0


def export_answer(result: Any, searcher: Any, index_dir: Path, output: Path, out: TextIO) -> str:
    """``ask --export FILE``: the answer (with its quotes) as a one-item brief."""
    from memo.items import ItemError, answer_item

    index = searcher.index
    try:
        item = answer_item({c.chunk_id: c for c in index.chunks}, result)
    except ItemError as exc:
        raise CLIError(str(exc)) from exc
    return write_brief([item], index, index_dir, fmt=None, output=output, title="", out=out)
