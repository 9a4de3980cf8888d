"""PDF: the text layer through pdfium (pypdfium2); pages without text go to OCR.

pdfium decodes CJK fonts that lack a ToUnicode map through their predefined CMaps (the 公文 / OFD→PDF case).
Layout (lines, columns, running headers, paragraph joins) is in ``pdf_layout``.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Callable
from dataclasses import dataclass

from indexer.formats.base import Block, FormatError, ReadResult
from indexer.formats.cleanup import clean_block
from indexer.formats.pdf_layout import (
    PageLine,
    Segment,
    lay_out,
    page_lines,
    snap_sizes,
)

logger = logging.getLogger(__name__)

OCR_DPI = 200
MIN_TEXT_CHARS = 8  # a page with fewer real characters than this has no usable text layer
SPARSE_TEXT_CHARS = 200  # ... and a page mostly covered by an image with fewer than this is a scan with a stamp
SCAN_COVERAGE = 0.5


def needs_ocr(text_chars: int, image_coverage: float) -> bool:
    """A page is read by OCR when it has (almost) no text layer, or a little text (a gazette stamp, a page
    number) on top of an image covering most of the page."""
    return text_chars < MIN_TEXT_CHARS or (text_chars < SPARSE_TEXT_CHARS and image_coverage >= SCAN_COVERAGE)


def _image_coverage(page: object, width: float, height: float) -> float:
    """Share of the page covered by image objects (bounding boxes, clipped to the page, capped at 1)."""
    import pypdfium2.raw as pdfium_c

    area = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):  # type: ignore[attr-defined]
        left, bottom, right, top = obj.get_bounds()
        w = max(0.0, min(right, width) - max(left, 0.0))
        h = max(0.0, min(top, height) - max(bottom, 0.0))
        area += w * h
    return min(1.0, area / (width * height)) if width and height else 0.0


@dataclass(frozen=True)
class OcrLine:
    """One line of text recognised on a page image, box in image pixels (y downwards)."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float


OcrEngine = Callable[[object], list[OcrLine]]  # page image (numpy array, RGB) → lines


def _page_text(raw: object, n: int) -> str:
    """All ``n`` characters of a text page in one call (one UTF-16 unit per character index)."""
    import pypdfium2.raw as pdfium_c

    buf = ctypes.create_string_buffer(2 * (n + 1))
    pdfium_c.FPDFText_GetText(raw, 0, n, ctypes.cast(buf, ctypes.POINTER(ctypes.c_ushort)))
    return buf.raw[: 2 * n].decode("utf-16-le", errors="replace")


def _segments(textpage: object) -> list[Segment]:
    import pypdfium2.raw as pdfium_c

    raw = textpage.raw  # type: ignore[attr-defined]
    n = pdfium_c.FPDFText_CountChars(raw)
    text = _page_text(raw, n)
    if len(text) != n:  # surrogate pairs or an odd buffer: fall back to one call per character
        text = "".join(chr(pdfium_c.FPDFText_GetUnicode(raw, i) or 0xFFFE) for i in range(n))
    rect = pdfium_c.FS_RECTF()
    rect_ref = ctypes.byref(rect)
    get_box = pdfium_c.FPDFText_GetLooseCharBox
    segs: list[Segment] = []
    cur: list[tuple[str, float, float, float, float, float]] = []
    font_size = 0.0

    def flush() -> None:
        if cur:
            segs.append(
                Segment(
                    text="".join(c[0] for c in cur),
                    x0=min(c[1] for c in cur),
                    y0=min(c[2] for c in cur),
                    x1=max(c[3] for c in cur),
                    y1=max(c[4] for c in cur),
                    size=max(c[5] for c in cur),
                )
            )
            cur.clear()

    for i, ch in enumerate(text):
        if ch in "\x00\ufffe\uffff\r\n":
            flush()
            continue
        if ch == " " and pdfium_c.FPDFText_IsGenerated(raw, i) == 1:
            # pdfium's guess at a word break: kept only between Latin words (see pdf_layout._join)
            if cur:
                cur.append((" ", cur[-1][3], cur[-1][2], cur[-1][3], cur[-1][4], cur[-1][5]))
            continue
        get_box(raw, i, rect_ref)
        if not cur:  # the font size rarely changes inside a run: ask once per segment
            font_size = pdfium_c.FPDFText_GetFontSize(raw, i)
        # Producers that write "/F1 1 Tf" and scale with the text matrix report size 1: the loose box (ascent
        # to descent, ~0.91 of the size for CJK fonts) gives the size actually drawn.
        size = max(font_size, (rect.top - rect.bottom) / 0.91)
        if cur:
            last = cur[-1]
            same_line = abs((last[2] + last[4]) / 2 - (rect.bottom + rect.top) / 2) < 0.5 * size
            near = -0.5 * size < rect.left - last[3] < 1.0 * size
            if not (same_line and near):
                flush()
                font_size = pdfium_c.FPDFText_GetFontSize(raw, i)
                size = max(font_size, (rect.top - rect.bottom) / 0.91)
        if ch.strip() or cur:
            cur.append((ch, rect.left, rect.bottom, rect.right, rect.top, size))
    flush()
    return segs


def read_pdf(
    data: bytes,
    name: str,
    *,
    ocr: OcrEngine | None = None,
    on_page: Callable[[int, int, bool], None] | None = None,
) -> ReadResult:
    """Read a PDF into paragraphs with page numbers.

    ``ocr`` recognises pages without a text layer; without it such pages make the read fail (scanned
    documents must not silently index as empty). ``on_page(done, total, was_ocr)`` reports progress.
    """
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise FormatError(f"{name}: the PDF is password-protected; save an unprotected copy") from exc
        raise FormatError(f"{name}: not a readable PDF ({exc}); re-export or repair it") from exc
    pages: list[list[PageLine]] = []
    widths: list[float] = []
    ocr_pages: list[int] = []
    try:
        total = len(pdf)
        for index in range(total):
            page = pdf[index]
            width, height = page.get_size()
            segs = _segments(page.get_textpage())
            chars = sum(len(s.text.strip()) for s in segs)
            # Image coverage only matters for sparse pages; walking every page object costs time on text pages.
            coverage = _image_coverage(page, width, height) if chars < SPARSE_TEXT_CHARS else 0.0
            if needs_ocr(chars, coverage):
                if ocr is None:
                    raise FormatError(
                        f"{name}: page {index + 1} has no text layer (scanned); OCR is needed: "
                        "pip install 'policyrag[ocr]' (rapidocr)"
                    )
                image = page.render(scale=OCR_DPI / 72).to_numpy()
                scale = 72 / OCR_DPI
                lines = ocr(image)
                segs = snap_sizes(
                    [
                        Segment(
                            text=ln.text,
                            x0=ln.x0 * scale,
                            y0=height - ln.y1 * scale,
                            x1=ln.x1 * scale,
                            y1=height - ln.y0 * scale,
                            size=(ln.y1 - ln.y0) * scale,
                        )
                        for ln in lines
                    ]
                )
                ocr_pages.append(index + 1)
            pages.append(page_lines(segs, index + 1))
            widths.append(width)
            if on_page is not None:
                on_page(index + 1, total, bool(ocr_pages and ocr_pages[-1] == index + 1))
    finally:
        pdf.close()
    blocks = []
    for text, page_no in lay_out(pages, widths):
        cleaned = clean_block(text)
        if cleaned:
            blocks.append(Block(cleaned, page=page_no))
    notes = (f"{len(ocr_pages)} page(s) without a text layer read by OCR",) if ocr_pages else ()
    return ReadResult(name=name, format="pdf", blocks=tuple(blocks), notes=notes, ocr_pages=tuple(ocr_pages))
