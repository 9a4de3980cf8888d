"""Parse a logical document into citable units (pure functions).

Regulations: 编/章/节 headings, 第X条 articles; an article's following lines
are its 款 (paragraphs); （一）… lines are 项 and join the 款 that introduces them.
Outlines (plans, interpretations, articles): 一、 / （一） / 1. / 专栏N; one
unit per section that has its own text. Prose with unnumbered short headings:
one unit per heading. Text before the first structure is the preamble (前言).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from indexer.records import Line, LogicalDocument, Unit

NUM = "一二三四五六七八九十百千零〇两"
_DIVISION = re.compile(f"^第([{NUM}]+)(编|分编|章|节)\\s*([^。；，]{{0,30}})$")
_ARTICLE = re.compile(f"^(第[{NUM}]+条(?:之[{NUM}]+)?)\\s*(.*)$")
_ITEM = re.compile(f"^[（(][{NUM}]{{1,3}}[)）]")
_L1 = re.compile(f"^([{NUM}]{{1,3}})、\\s*(.*)$")
_L2 = re.compile(f"^[（(]([{NUM}]{{1,3}})[)）]\\s*(.*)$")
_L3 = re.compile(r"^(\d{1,2})[\.．、]\s*(?!\d)(.*)$")
_BOX = re.compile(r"^专栏\s*(\d{1,3})\s*(.*)$")
_TOC = re.compile(r"^目\s*录$")
_SENTENCE_END = "。！？；"
PROSE_HEADING_MAX = 30


def document_kind(doc: LogicalDocument) -> str:
    """``regulation`` when the text has articles (第X条), ``outline`` when it has 一、 headings, else ``prose``.

    Three article lines make a regulation; so do two when they are at least half the lines.
    """
    texts = [line.text for line in doc.lines]
    articles = sum(bool(_ARTICLE.match(t)) for t in texts)
    # A short part of a law split across files (the Civil Code's 附则 has two articles) is still one.
    if articles >= 3 or (articles >= 2 and articles * 2 >= len(texts)):
        return "regulation"
    if sum(bool(_L1.match(t)) for t in texts) >= 2:
        return "outline"
    return "prose"


def parse_units(doc: LogicalDocument) -> list[Unit]:
    """Parse ``doc`` into units in document order, marking units that lost a mojibake line."""
    kind = document_kind(doc)
    if kind == "regulation":
        units = _parse_regulation(doc.lines, doc.title)
    elif kind == "outline":
        units = _parse_outline(doc.lines)
    else:
        units = _parse_prose(doc.lines)
    pages = {line.no: line.page for line in doc.lines if line.page is not None}
    return _mark_damaged(units, doc.damaged_lines, pages)


class _Builder:
    """Collects units; each unit remembers the source line where it starts."""

    def __init__(self) -> None:
        self.units: list[tuple[int, Unit]] = []
        self._open: tuple[int, str | None, str | None, tuple[str, ...], list[str]] | None = None
        self._sentence_heading = False

    def open(
        self,
        line_no: int,
        label: str | None,
        heading: str | None,
        path: tuple[str, ...],
        *,
        sentence_heading: bool = False,
    ) -> None:
        self.close()
        self._open = (line_no, label, heading, path, [])
        self._sentence_heading = sentence_heading

    def add(self, text: str, *, join_previous: bool = False) -> None:
        if self._open is None:
            return
        paragraphs = self._open[4]
        if join_previous and paragraphs:
            paragraphs[-1] = f"{paragraphs[-1]}\n{text}"
        else:
            paragraphs.append(text)

    def close(self) -> None:
        if self._open is None:
            return
        line_no, label, heading, path, paragraphs = self._open
        self._open = None
        if not paragraphs and self._sentence_heading:
            # A "heading" that is a full sentence and has no body is a sentence glued to
            # its number (``一、立法必要性制定《条例》是…。``): keep it as text, not lose it.
            paragraphs = [f"{heading}。"]
        if paragraphs:
            unit = Unit(label, heading, path, tuple(paragraphs), order=len(self.units))
            self.units.append((line_no, unit))


def _parse_regulation(lines: Sequence[Line], title: str | None) -> list[tuple[int, Unit]]:
    b = _Builder()
    divisions: dict[str, str] = {}
    order = {"编": 0, "分编": 1, "章": 2, "节": 3}
    started = False
    b.open(lines[0].no if lines else 0, None, "前言", ())
    for line in lines:
        text = line.text
        div = _DIVISION.match(text)
        art = _ARTICLE.match(text)
        if div and (started or not art):
            level = div.group(2)
            name = f"第{div.group(1)}{level} {div.group(3)}".strip()
            divisions = {k: v for k, v in divisions.items() if order[k] < order[level]}
            divisions[level] = name
            if started:
                b.close()
            continue
        if art:
            started = True
            label = art.group(1)
            path = (*(divisions[k] for k in sorted(divisions, key=order.get)), label)  # type: ignore[arg-type]
            b.open(line.no, label, None, path)
            if art.group(2):
                b.add(art.group(2))
            continue
        if not started:
            if _TOC.match(text) or text == title:
                continue
            b.add(text)
        else:
            b.add(text, join_previous=bool(_ITEM.match(text)))
    b.close()
    return b.units


def _heading_and_body(rest: str) -> tuple[str, str]:
    """Split ``加强基础理论研究。聚焦…`` into heading and body.

    A short line holding at most one sentence is all heading
    (``美国：战略引领，资本支撑，技术领先。``).
    """
    rest = rest.strip()
    if len(rest) <= 40 and rest.count("。") <= (1 if rest.endswith("。") else 0):
        return rest.rstrip("。"), ""
    cut = rest.find("。")
    if cut < 0 or cut > 40:  # a paragraph that merely starts with a number
        return "", rest
    return rest[:cut].strip(), rest[cut + 1 :].strip()


def _parse_outline(lines: Sequence[Line]) -> list[tuple[int, Unit]]:
    b = _Builder()
    l1: tuple[str, str] | None = None  # (label, heading)
    l2: tuple[str, str] | None = None
    b.open(lines[0].no if lines else 0, None, "前言", ())
    for line in lines:
        text = line.text
        if m := _BOX.match(text):
            heading = m.group(2).strip()
            path = tuple(f"{lab}{h}" for lab, h in (x for x in (l1, l2) if x is not None))
            b.open(line.no, f"专栏{m.group(1)}", heading, (*path, f"专栏{m.group(1)} {heading}".strip()))
            continue
        if m := _L1.match(text):
            l1, l2 = (f"{m.group(1)}、", ""), None
            head, body = _heading_and_body(m.group(2))
            l1 = (l1[0], head)
            b.open(line.no, l1[0], head, (f"{l1[0]}{head}",), sentence_heading=m.group(2).endswith("。"))
            if body:
                b.add(body)
            continue
        if (m := _L2.match(text)) and l1 is not None:
            l2 = (f"（{m.group(1)}）", "")
            head, body = _heading_and_body(m.group(2))
            l2 = (l2[0], head)
            b.open(
                line.no,
                f"{l1[0]}{l2[0]}",
                head,
                (f"{l1[0]}{l1[1]}", f"{l2[0]}{head}"),
                sentence_heading=m.group(2).endswith("。"),
            )
            if body:
                b.add(body)
            continue
        if (m := _L3.match(text)) and l1 is not None:
            head, body = _heading_and_body(m.group(2))
            label = f"{l1[0]}{l2[0] if l2 else ''}{m.group(1)}."
            parents = [f"{l1[0]}{l1[1]}"] + ([f"{l2[0]}{l2[1]}"] if l2 else [])
            b.open(line.no, label, head, (*parents, f"{m.group(1)}.{head}"))
            b.add(f"{head}。{body}" if head and body else (body or head))
            continue
        b.add(text)
    b.close()
    return b.units


def _is_prose_heading(text: str, next_text: str | None) -> bool:
    return (
        len(text) <= PROSE_HEADING_MAX
        and text[-1] not in _SENTENCE_END + "，、：:"
        and next_text is not None
        and len(next_text) > len(text)
    )


def _parse_prose(lines: Sequence[Line]) -> list[tuple[int, Unit]]:
    b = _Builder()
    b.open(lines[0].no if lines else 0, None, "前言", ())
    for i, line in enumerate(lines):
        nxt = lines[i + 1].text if i + 1 < len(lines) else None
        if _is_prose_heading(line.text, nxt):
            b.open(line.no, None, line.text, (line.text,))
        else:
            b.add(line.text)
    b.close()
    return b.units


def _mark_damaged(
    units: list[tuple[int, Unit]], damaged: Sequence[int], pages: dict[int, int] | None = None
) -> list[Unit]:
    """A unit is damaged when a dropped mojibake line lies between its first line and the next unit's.

    Each unit also gets the page of its first line (paged sources only).
    """
    out: list[Unit] = []
    for i, (start, unit) in enumerate(units):
        end = units[i + 1][0] if i + 1 < len(units) else 10**9
        hit = any(start <= n < end for n in damaged)
        out.append(replace(unit, order=i, damaged=hit, page=(pages or {}).get(start)))
    return out
