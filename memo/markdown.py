"""A brief as Markdown: headings per item, quotes as block quotes, sources as a numbered list."""

from __future__ import annotations

from memo.items import (
    RELATED_NOTE,
    AnswerItem,
    Brief,
    Quote,
    QuoteItem,
    answer_text,
    item_heading,
    meta_line,
    quote_paragraphs,
    source_line,
)


def _block(q: Quote, marker: bool) -> list[str]:
    paras = quote_paragraphs(q)
    if marker and q.n is not None:
        paras[0] = f"[{q.n}] {paras[0]}"
    # A blank quoted line between paragraphs keeps them apart in every Markdown renderer.
    lines: list[str] = []
    for i, p in enumerate(paras):
        if i:
            lines.append(">")
        lines.append(f"> {p}")
    return [*lines, ""]


def render_markdown(brief: Brief) -> str:
    """The brief as one Markdown document."""
    out = [f"# {brief.title}", "", meta_line(brief), ""]
    for number, item in enumerate(brief.items, 1):
        out += [f"## {item_heading(number, item)}", ""]
        if isinstance(item, QuoteItem):
            out += _block(item.quote, marker=False)
        elif isinstance(item, AnswerItem):
            out += [answer_text(item), ""]
            for q in item.quotes:
                out += _block(q, marker=True)
            if item.related:
                out += [RELATED_NOTE, ""]
                for q in item.related:
                    out += _block(q, marker=False)
        if item.note:
            out += [f"按：{item.note}", ""]
    out += ["## 资料来源", ""]
    out += [f"{i}. {source_line(s)}" for i, s in enumerate(brief.sources, 1)]
    return "\n".join(out).rstrip() + "\n"
