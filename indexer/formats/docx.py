"""DOCX: WordprocessingML read directly with lxml, in document order.

Why not docx2python or mammoth: both lose what Chinese official documents depend on. docx2python renders
automatic numbering as ``1)`` whatever the level text says and does not implement ``chineseCounting`` (it
substitutes ``--``), so the 项 numbers ``（一）`` of a regulation would be lost; mammoth turns numbering into
HTML lists without their labels. python-docx misses text boxes and content controls. This reader keeps:

- paragraphs everywhere in the body, including text boxes (the 红头 is often one) and content controls (文号,
  dates in templates); the VML fallback copy of a text box (``mc:Fallback``) is skipped;
- heading levels from paragraph styles (``Title`` → 1 … ``heading N`` / ``outlineLvl``);
- automatic numbering rendered with its level text (``（%1）`` with ``chineseCounting`` → ``（一）``);
- tables row by row, cells separated by `` | ``;
- no running headers/footers (they live in other parts), no deleted revisions, no field codes.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from indexer.formats.base import Block, FileMeta, FormatError, ReadResult
from indexer.formats.cleanup import clean_block

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_DC = "http://purl.org/dc/elements/1.1/"
_CN_DIGITS = "零一二三四五六七八九"
_TIANGAN = "甲乙丙丁戊己庚辛壬癸"


def _w(tag: str) -> str:
    return f"{{{_W}}}{tag}"


def chinese_counting(n: int) -> str:
    """1 → 一, 10 → 十, 21 → 二十一, 105 → 一百零五 (Word's ``chineseCounting``)."""
    if n <= 0:
        return str(n)
    if n < 10:
        return _CN_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        if rest == 0:
            return _CN_DIGITS[hundreds] + "百"
        mid = "零" if rest < 10 else ""
        tail = chinese_counting(rest) if rest >= 20 or rest < 10 else "一" + chinese_counting(rest)
        return _CN_DIGITS[hundreds] + "百" + mid + tail
    return str(n)


def _roman(n: int) -> str:
    out = ""
    for value, sym in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"),
                       (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):  # fmt: skip
        while n >= value:
            out, n = out + sym, n - value
    return out


def _letters(n: int) -> str:
    return chr(ord("A") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def format_number(n: int, fmt: str) -> str:
    """One counter value in a Word number format (unknown formats fall back to decimal)."""
    if fmt in ("chineseCounting", "chineseCountingThousand", "chineseLegalSimplified", "japaneseCounting"):
        return chinese_counting(n)
    if fmt == "ideographTraditional":
        return _TIANGAN[(n - 1) % 10]
    if fmt == "upperRoman":
        return _roman(n)
    if fmt == "lowerRoman":
        return _roman(n).lower()
    if fmt == "upperLetter":
        return _letters(n)
    if fmt == "lowerLetter":
        return _letters(n).lower()
    if fmt == "decimalEnclosedCircle" or fmt == "decimalEnclosedCircleChinese":
        return chr(0x2460 + n - 1) if 1 <= n <= 20 else str(n)
    if fmt == "decimalFullWidth":
        return "".join(chr(ord(c) + 0xFEE0) for c in str(n))
    return str(n)


@dataclass(frozen=True)
class _Level:
    fmt: str
    text: str  # lvlText, e.g. "（%1）" or "%1.%2"
    start: int


class _Numbering:
    """Counters for automatic numbering (numbering.xml), advanced paragraph by paragraph."""

    def __init__(self, root: object | None) -> None:
        self.levels: dict[str, dict[int, _Level]] = {}
        self.counters: dict[str, dict[int, int]] = {}
        if root is None:
            return
        abstract: dict[str, dict[int, _Level]] = {}
        for an in root.iter(_w("abstractNum")):  # type: ignore[attr-defined]
            levels = {}
            for lvl in an.iter(_w("lvl")):
                ilvl = int(lvl.get(_w("ilvl"), "0"))
                fmt = _val(lvl.find(_w("numFmt"))) or "decimal"
                text = _val(lvl.find(_w("lvlText"))) or ""
                start = int(_val(lvl.find(_w("start"))) or "1")
                levels[ilvl] = _Level(fmt, text, start)
            abstract[an.get(_w("abstractNumId"), "")] = levels
        for num in root.iter(_w("num")):  # type: ignore[attr-defined]
            ref = _val(num.find(_w("abstractNumId")))
            levels = dict(abstract.get(ref or "", {}))
            for override in num.iter(_w("lvlOverride")):
                ilvl = int(override.get(_w("ilvl"), "0"))
                restart = _val(override.find(_w("startOverride")))
                if restart and ilvl in levels:
                    lv = levels[ilvl]
                    levels[ilvl] = _Level(lv.fmt, lv.text, int(restart))
            self.levels[num.get(_w("numId"), "")] = levels

    def label(self, num_id: str, ilvl: int) -> str:
        levels = self.levels.get(num_id)
        if not levels or ilvl not in levels:
            return ""
        counts = self.counters.setdefault(num_id, {})
        counts[ilvl] = counts.get(ilvl, levels[ilvl].start - 1) + 1
        for deeper in [k for k in counts if k > ilvl]:
            del counts[deeper]
        level = levels[ilvl]
        if level.fmt in ("bullet", "none"):
            return ""

        def repl(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            lv = levels.get(k)
            value = counts.get(k, lv.start if lv else 1)
            return format_number(value, lv.fmt if lv else "decimal")

        return re.sub(r"%(\d)", repl, level.text)


def _val(el: object | None) -> str | None:
    return None if el is None else el.get(_w("val"))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Style:
    heading: int | None
    num: tuple[str, int] | None


def _styles(root: object | None) -> dict[str, _Style]:
    out: dict[str, _Style] = {}
    if root is None:
        return out
    for st in root.iter(_w("style")):  # type: ignore[attr-defined]
        sid = st.get(_w("styleId"), "")
        name = (_val(st.find(_w("name"))) or "").lower()
        heading: int | None = None
        if name == "title" or sid.lower() == "title":
            heading = 1
        elif m := re.fullmatch(r"heading\s*(\d)", name):
            heading = int(m.group(1)) + 1
        outline = st.find(f"{_w('pPr')}/{_w('outlineLvl')}")
        if heading is None and outline is not None and (_val(outline) or "9") != "9":
            heading = int(_val(outline) or "0") + 2
        num_pr = st.find(f"{_w('pPr')}/{_w('numPr')}")
        num = None
        if num_pr is not None and _val(num_pr.find(_w("numId"))):
            num = (_val(num_pr.find(_w("numId"))) or "", int(_val(num_pr.find(_w("ilvl"))) or "0"))
        out[sid] = _Style(heading, num)
    return out


def _run_text(el: object) -> str:
    """Text of an element, skipping fallback copies, deleted text and field codes."""
    parts: list[str] = []
    for node in el.iter():  # type: ignore[attr-defined]
        tag = node.tag
        if tag == _w("t"):
            if not _inside(node, (f"{{{_MC}}}Fallback", _w("del"))):
                parts.append(node.text or "")
        elif tag == _w("tab"):
            if not _inside(node, (f"{{{_MC}}}Fallback", _w("pPr"))):
                parts.append("\t")
        elif tag in (_w("br"), _w("cr")) and not _inside(node, (f"{{{_MC}}}Fallback",)):
            parts.append("\n")
    return "".join(parts)


def _inside(node: object, tags: tuple[str, ...]) -> bool:
    parent = node.getparent()  # type: ignore[attr-defined]
    while parent is not None:
        if parent.tag in tags:
            return True
        parent = parent.getparent()
    return False


class _Walker:
    def __init__(self, styles: dict[str, _Style], numbering: _Numbering) -> None:
        self.styles = styles
        self.numbering = numbering
        self.blocks: list[Block] = []

    def paragraph(self, p: object) -> None:
        # Text boxes inside this paragraph come first (a 红头 box is anchored to the first paragraph).
        own_runs = []
        for child in p:  # type: ignore[attr-defined]
            boxes = [
                bp
                for box in child.iter(_w("txbxContent"))
                if not _inside(box, (f"{{{_MC}}}Fallback",))
                for bp in box
                if bp.tag in (_w("p"), _w("tbl"), _w("sdt"))
            ]
            for bp in boxes:
                self.element(bp)
            if not boxes:
                own_runs.append(child)
        text = "".join(_run_text(r) for r in own_runs if r.tag != _w("pPr"))
        ppr = p.find(_w("pPr"))  # type: ignore[attr-defined]
        style = self.styles.get(_val(ppr.find(_w("pStyle"))) or "" if ppr is not None else "", _Style(None, None))
        num = style.num
        if ppr is not None and (num_pr := ppr.find(_w("numPr"))) is not None:
            num_id = _val(num_pr.find(_w("numId")))
            num = (num_id, int(_val(num_pr.find(_w("ilvl"))) or "0")) if num_id and num_id != "0" else None
        heading = style.heading
        if ppr is not None and (outline := ppr.find(_w("outlineLvl"))) is not None and heading is None:
            heading = int(_val(outline) or "0") + 2 if (_val(outline) or "9") != "9" else None
        for i, line in enumerate(text.split("\n")):
            if i == 0 and num and line.strip():
                label = self.numbering.label(*num)
                line = f"{label}{line.lstrip()}" if label else line
            cleaned = clean_block(line.replace("\t", " "))
            if cleaned:
                self.blocks.append(Block(cleaned, heading=heading))

    def table(self, tbl: object) -> None:
        for tr in tbl.iter(_w("tr")):  # type: ignore[attr-defined]
            if _nearest(tr, _w("tbl")) is not tbl:
                continue
            cells = []
            for tc in tr:
                if tc.tag != _w("tc"):
                    continue
                texts = [clean_block(_run_text(p).replace("\t", " ")) for p in tc.iter(_w("p"))]
                cells.append(" ".join(t for t in texts if t))
            row = " | ".join(c for c in cells if c)
            if row:
                self.blocks.append(Block(row))

    def element(self, el: object) -> None:
        tag = el.tag  # type: ignore[attr-defined]
        if tag == _w("p"):
            self.paragraph(el)
        elif tag == _w("tbl"):
            self.table(el)
        elif tag in (_w("sdt"), _w("sdtContent"), _w("customXml"), _w("smartTag"), _w("ins")):
            for child in el:  # type: ignore[attr-defined]
                if child.tag != _w("sdtPr"):
                    self.element(child)
        elif tag == f"{{{_MC}}}AlternateContent":
            choice = el.find(f"{{{_MC}}}Choice")  # type: ignore[attr-defined]
            for child in choice if choice is not None else []:
                self.element(child)


def _nearest(node: object, tag: str) -> object | None:
    parent = node.getparent()  # type: ignore[attr-defined]
    while parent is not None and parent.tag != tag:
        parent = parent.getparent()
    return parent


def _part(z: zipfile.ZipFile, name: str) -> object | None:
    from lxml import etree

    try:
        data = z.read(name)
    except KeyError:
        return None
    return etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, huge_tree=True, no_network=True))


def read_docx(data: bytes, name: str) -> ReadResult:
    """Read a .docx into paragraph blocks with heading levels (see module docstring)."""
    from lxml import etree

    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        document = _part(z, "word/document.xml")
        styles = _styles(_part(z, "word/styles.xml"))
        numbering = _Numbering(_part(z, "word/numbering.xml"))
        core = _part(z, "docProps/core.xml")
    except (zipfile.BadZipFile, etree.XMLSyntaxError, ValueError) as exc:
        raise FormatError(f"{name}: damaged DOCX ({exc}); open and re-save it in Word or WPS") from exc
    if document is None:
        raise FormatError(f"{name}: DOCX without word/document.xml; re-save it in Word or WPS")
    body = document.find(_w("body"))  # type: ignore[attr-defined]
    walker = _Walker(styles, numbering)
    for el in body if body is not None else []:
        walker.element(el)
    title = None
    if core is not None:
        el = core.find(f"{{{_DC}}}title")  # type: ignore[attr-defined]
        title = (el.text or "").strip() or None if el is not None else None
    return ReadResult(name=name, format="docx", blocks=tuple(walker.blocks), meta=FileMeta(title=title))
