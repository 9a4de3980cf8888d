"""Page layout of a PDF text layer, as pure functions on text boxes.

pdfium gives text segments with boxes (PDF points, y upwards). From them:

1. ``page_lines``: segments on one baseline form a line; a wide horizontal gap splits it (column gutter).
2. ``strip_furniture``: the top and bottom line of each page are running headers/footers when they repeat across
   pages (digits ignored) at the same edge, or page numbers (``— 3 —``, ``第3页``, ``3/26``). At most one line per
   edge per page is removed, and only when its glyph height matches the running line's, so a title equal to the
   header on page 1 survives.
3. ``order_columns``: a page with a vertical gutter that no line crosses is read column by column, band by band
   (a full-width line — a headline — separates bands).
4. ``join_paragraphs``: a line continues the previous one unless it is indented (first-line indent), the previous
   line stopped short of the column's right edge, or there is extra vertical space. Lines are joined without a
   space unless both sides are Latin letters or digits.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

_LATIN_END = re.compile(r"[A-Za-z0-9]$")
_LATIN_START = re.compile(r"^[A-Za-z0-9]")
_PAGE_NUMBER = re.compile(
    r"^[-—–─~·•・\s]*(\d{1,4}|[ivxlcdm]{1,6})[-—–─~·•・\s]*$"
    r"|^第\s*\d{1,4}\s*页(\s*[/，,]?\s*共\s*\d{1,4}\s*页)?$"
    r"|^(page\s*)?\d{1,4}\s*(/|of)\s*\d{1,4}$",
    re.I,
)
_NUM = "一二三四五六七八九十百千零〇两"
_STRUCTURE_START = re.compile(f"^(第[{_NUM}]+[编章节条]|[{_NUM}]{{1,3}}、|[（(][{_NUM}]{{1,3}}[)）])")
_SENTENCE_END = tuple("。；：！？;:!?")


@dataclass(frozen=True)
class Segment:
    """A run of text with its box (x0 < x1, y0 < y1; y upwards as in PDF)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    size: float  # font size in points (glyph boxes vary with the glyph; the size does not)


@dataclass(frozen=True)
class PageLine:
    """A line on a page, with the edges of the column it belongs to (set by ``order_columns``)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    page: int
    size: float
    left: float = 0.0  # column's left edge
    right: float = 0.0  # column's right edge


def _join(a: str, b: str) -> str:
    a, b = a.rstrip(), b.lstrip()
    if _LATIN_END.search(a) and _LATIN_START.search(b):
        return f"{a} {b}"
    return a + b


def page_lines(segments: Sequence[Segment], page: int) -> list[PageLine]:
    """Group segments into lines (same baseline), split at gaps wider than two glyph heights."""
    segs = sorted((s for s in segments if s.text.strip()), key=lambda s: (-s.y1, s.x0))
    rows: list[list[Segment]] = []
    for seg in segs:
        centre = (seg.y0 + seg.y1) / 2
        for row in rows[-3:]:
            top = max(s.y1 for s in row)
            bottom = min(s.y0 for s in row)
            if bottom <= centre <= top and abs(row[0].size - seg.size) <= 0.6 * max(row[0].size, seg.size):
                row.append(seg)
                break
        else:
            rows.append([seg])
    lines: list[PageLine] = []
    for row in rows:
        row.sort(key=lambda s: s.x0)
        height = max(s.size for s in row)
        pieces: list[list[Segment]] = [[row[0]]]
        for seg in row[1:]:
            gap = seg.x0 - pieces[-1][-1].x1
            if gap > max(2.0 * height, 18.0):
                pieces.append([seg])
            else:
                pieces[-1].append(seg)
        for piece in pieces:
            text = ""
            for seg in piece:
                text = _join(text, seg.text) if text else seg.text.strip()
            lines.append(
                PageLine(
                    text=text.strip(),
                    x0=piece[0].x0,
                    y0=min(s.y0 for s in piece),
                    x1=piece[-1].x1,
                    y1=max(s.y1 for s in piece),
                    page=page,
                    size=max(s.size for s in piece),
                )
            )
    return [line for line in lines if line.text]


def _gutter(lines: Sequence[PageLine], width: float) -> float | None:
    """x of a vertical gutter that splits the page into two columns, or None for a one-column page."""
    if len(lines) < 6:
        return None
    best: tuple[int, float] | None = None
    for step in range(30, 71):
        x = width * step / 100
        crossing = sum(line.x0 < x < line.x1 for line in lines)
        left = [line for line in lines if line.x1 <= x]
        right = [line for line in lines if line.x0 >= x]
        if len(left) < 3 or len(right) < 3 or crossing > 0.15 * len(lines):
            continue
        # Columns run side by side: many left lines share a baseline with a right line.
        beside = sum(any(abs(r.y0 - line.y0) < line.size for r in right) for line in left)
        if beside >= 0.5 * min(len(left), len(right)) and (best is None or crossing < best[0]):
            best = (crossing, x)
    return best[1] if best else None


def _densest(values: Sequence[float], tolerance: float, *, rightmost: bool = False) -> tuple[float, float]:
    """The window of width ``tolerance`` holding most values: (its lowest, its highest).

    Ties go to the leftmost window, or the rightmost with ``rightmost``.
    """
    ordered = sorted(values)
    best = (0, ordered[0], ordered[0])
    for i, v in enumerate(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] <= v + tolerance:
            j += 1
        if j - i + 1 > best[0] or (rightmost and j - i + 1 == best[0]):
            best = (j - i + 1, v, ordered[j])
    return best[1], best[2]


def _edges(lines: Sequence[PageLine]) -> tuple[float, float]:
    """Left edge = where most lines start; right edge = where most lines end (the justified margin).

    Starts and ends are clustered within half a glyph, so scanned pages (OCR boxes jitter) work too.
    """
    if not lines:
        return 0.0, 0.0
    size = sorted(line.size for line in lines)[len(lines) // 2]
    left = _densest([line.x0 for line in lines], 0.5 * size)[0]
    right = _densest([line.x1 for line in lines], 0.5 * size, rightmost=True)[1]
    return left, max(right, max(line.x1 for line in lines) - 2)


def order_columns(lines: Sequence[PageLine], width: float) -> list[PageLine]:
    """Lines in reading order, column by column within bands; each line gets its column's edges."""
    lines = sorted(lines, key=lambda line: (-line.y1, line.x0))
    gutter = _gutter(lines, width)
    if gutter is None:
        left, right = _edges(lines)
        return [replace(line, left=left, right=right) for line in lines]
    left_col = [line for line in lines if line.x1 <= gutter]
    right_col = [line for line in lines if line.x0 >= gutter]
    le, re_ = _edges(left_col), _edges(right_col)
    full = _edges(lines)
    out: list[PageLine] = []
    band_left: list[PageLine] = []
    band_right: list[PageLine] = []

    def flush() -> None:
        out.extend(replace(line, left=le[0], right=le[1]) for line in band_left)
        out.extend(replace(line, left=re_[0], right=re_[1]) for line in band_right)
        band_left.clear()
        band_right.clear()

    for line in lines:
        if line.x1 <= gutter:
            band_left.append(line)
        elif line.x0 >= gutter:
            band_right.append(line)
        else:
            flush()
            out.append(replace(line, left=full[0], right=full[1]))
    flush()
    return out


def snap_sizes(segments: Sequence[Segment]) -> list[Segment]:
    """OCR boxes give no font size and their heights jitter: sizes within 20% of the page's median become it."""
    if not segments:
        return []
    median = sorted(s.size for s in segments)[len(segments) // 2]
    return [replace(s, size=median) if abs(s.size - median) <= 0.2 * median else s for s in segments]


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def strip_furniture(pages: Sequence[Sequence[PageLine]]) -> list[list[PageLine]]:
    """Remove running headers, footers and page numbers (see module docstring)."""
    n = len(pages)
    edges: dict[str, Counter[str]] = {"top": Counter(), "bottom": Counter()}
    heights: dict[tuple[str, str], list[float]] = {}
    for lines in pages:
        if not lines:
            continue
        for edge, line in (("top", max(lines, key=lambda x: x.y1)), ("bottom", min(lines, key=lambda x: x.y0))):
            edges[edge][_key(line.text)] += 1
            heights.setdefault((edge, _key(line.text)), []).append(line.size)
    need = max(2, round(0.4 * n)) if n > 1 else 2
    out: list[list[PageLine]] = []
    for lines in pages:
        kept = list(lines)
        if kept:
            for edge in ("top", "bottom"):
                line = max(kept, key=lambda x: x.y1) if edge == "top" else min(kept, key=lambda x: x.y0)
                key = _key(line.text)
                sizes = sorted(heights.get((edge, key), [line.size]))
                usual = sizes[len(sizes) // 2]
                running = edges[edge][key] >= need and abs(line.size - usual) <= 0.15 * usual
                if running or _PAGE_NUMBER.match(line.text.strip()):
                    kept.remove(line)
                    if not kept:
                        break
        out.append(kept)
    return out


def _centred(line: PageLine) -> bool:
    h = line.size
    return (
        line.x0 > line.left + 1.5 * h
        and line.x1 < line.right - 1.5 * h
        and (abs((line.x0 + line.x1) / 2 - (line.left + line.right) / 2) < 1.5 * h)
    )


def _unbalanced(text: str) -> bool:
    opened = text.count("（") + text.count("(")
    return opened > text.count("）") + text.count(")") or text.count("《") > text.count("》")


def join_paragraphs(lines: Sequence[PageLine]) -> list[tuple[str, int]]:
    """Rejoin wrapped lines into paragraphs: ``(text, page of its first line)`` in reading order."""
    paragraphs: list[tuple[str, int]] = []
    prev: PageLine | None = None
    gaps = [a.y0 - b.y1 for a, b in pairwise(lines) if a.page == b.page and a.y0 > b.y1]
    usual_gap = sorted(gaps)[len(gaps) // 2] if gaps else 0.0
    for line in lines:
        h = line.size
        if prev is None:
            paragraphs.append((line.text, line.page))
            prev = line
            continue
        indented = line.x0 > line.left + 0.7 * h
        ended = prev.text.endswith(_SENTENCE_END)
        # Line-start rules (no "，" at the start of a line) can leave a wrapped line two glyphs short.
        short = prev.x1 < prev.right - (1.2 if ended else 2.6) * prev.size
        spaced = prev.page == line.page and prev.y0 - line.y1 > usual_gap + 0.8 * h
        same_size = abs(prev.size - h) <= 0.15 * max(prev.size, h)
        # A title wrapped onto a centred second line (``…（2019-`` / ``2023年）``).
        heading_goes_on = (
            _centred(line)
            and (not short or _unbalanced(paragraphs[-1][0]))
            and same_size
            and not ended
            and not _STRUCTURE_START.match(line.text)
            and not spaced
        )
        if heading_goes_on or not (indented or short or spaced or not same_size):
            text, page = paragraphs[-1]
            paragraphs[-1] = (_join(text, line.text), page)
        else:
            paragraphs.append((line.text, line.page))
        prev = line
    return paragraphs


def lay_out(pages: Sequence[Sequence[PageLine]], widths: Sequence[float]) -> list[tuple[str, int]]:
    """Pages of raw lines → paragraphs ``(text, page)``: furniture removed first (so that a header does not
    widen a column's edges), then columns ordered, then wrapped lines joined."""
    body = strip_furniture(pages)
    ordered = [line for lines, width in zip(body, widths, strict=True) for line in order_columns(lines, width)]
    return join_paragraphs(ordered)
