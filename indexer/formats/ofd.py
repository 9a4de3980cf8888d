"""OFD (GB/T 33190): a ZIP of XML pages, read directly (no maintained Python reader keeps page layout).

Text objects are placed on the page in millimetres (y downwards). Each ``TextCode`` becomes a text segment
whose width comes from its ``DeltaX`` glyph advances (with the ``g N d`` repeat shorthand), so writers that put
one character in each text object are joined back into lines by the same layout code as PDF
(``pdf_layout``): lines, columns, page numbers, paragraph joins. Template pages hold running headers and are
not read.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from typing import Any

from indexer.formats.base import Block, FileMeta, FormatError, ReadResult
from indexer.formats.cleanup import clean_block
from indexer.formats.pdf_layout import PageLine, Segment, lay_out, page_lines

MM_TO_PT = 72 / 25.4


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: Any, name: str) -> list[Any]:
    return [c for c in el.iter() if _local(c.tag) == name]


def _floats(text: str | None) -> list[float]:
    return [float(x) for x in (text or "").split()]


def parse_delta(text: str | None) -> list[float]:
    """``DeltaX``/``DeltaY`` with the ``g N d`` shorthand expanded: ``"g 3 5.6 1.4"`` → ``[5.6, 5.6, 5.6, 1.4]``."""
    tokens = (text or "").split()
    out: list[float] = []
    i = 0
    while i < len(tokens):
        if tokens[i] == "g" and i + 2 < len(tokens):
            out.extend([float(tokens[i + 2])] * int(tokens[i + 1]))
            i += 3
        else:
            out.append(float(tokens[i]))
            i += 1
    return out


def _segments(page_xml: Any, page_height: float) -> list[Segment]:
    segs: list[Segment] = []
    for obj in _children(page_xml, "TextObject"):
        box = _floats(obj.get("Boundary"))
        if len(box) != 4:
            continue
        size = float(obj.get("Size") or box[3])
        for code in _children(obj, "TextCode"):
            text = code.text or ""
            if not text.strip():
                continue
            x = box[0] + float(code.get("X") or 0)
            baseline = box[1] + float(code.get("Y") or size)
            deltas = parse_delta(code.get("DeltaX"))
            last = size if ord(text[-1]) > 0x2E80 else size * 0.5
            width = sum(deltas[: len(text) - 1]) + last if deltas else len(text) * size
            top = baseline - size * 0.88
            bottom = baseline + size * 0.12
            segs.append(
                Segment(
                    text=text,
                    x0=x * MM_TO_PT,
                    y0=(page_height - bottom) * MM_TO_PT,
                    x1=(x + width) * MM_TO_PT,
                    y1=(page_height - top) * MM_TO_PT,
                    size=size * MM_TO_PT,
                )
            )
    return segs


def read_ofd(data: bytes, name: str) -> ReadResult:
    """Read an OFD file into paragraphs with page numbers."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        ofd = etree.fromstring(z.read("OFD.xml"), parser=parser)
        roots = [el.text.strip() for el in _children(ofd, "DocRoot") if el.text]
        if not roots:
            raise FormatError(f"{name}: OFD.xml names no document (DocRoot)")
        doc_path = roots[0].lstrip("/")
        document = etree.fromstring(z.read(doc_path), parser=parser)
        base = posixpath.dirname(doc_path)
        area = _children(document, "PhysicalBox")
        height = _floats(area[0].text)[3] if area else 297.0
        width = _floats(area[0].text)[2] if area else 210.0
        titles = [el.text.strip() for el in _children(ofd, "Title") if el.text and el.text.strip()]
        pages: list[list[PageLine]] = []
        widths: list[float] = []
        for number, page in enumerate(_children(document, "Page"), start=1):
            loc = page.get("BaseLoc") or ""
            page_xml = etree.fromstring(z.read(posixpath.normpath(posixpath.join(base, loc))), parser=parser)
            page_area = _children(page_xml, "PhysicalBox")
            h = _floats(page_area[0].text)[3] if page_area else height
            lines = page_lines(_segments(page_xml, h), number)
            pages.append(lines)
            widths.append(width * MM_TO_PT)
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError, ValueError, IndexError) as exc:
        raise FormatError(f"{name}: damaged OFD ({exc}); export it again from the OFD reader") from exc
    blocks = [Block(t, page=p) for text, p in lay_out(pages, widths) if (t := clean_block(text))]
    return ReadResult(name=name, format="ofd", blocks=tuple(blocks), meta=FileMeta(title=titles[0] if titles else None))
