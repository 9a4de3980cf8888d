"""OCR for PDF pages without a text layer, with rapidocr (PP-OCR ONNX models shipped inside its wheel).

rapidocr is the optional extra ``ocr`` (``pip install 'policyrag[ocr]'``): it pulls onnxruntime and OpenCV
(~100 MB installed) that text-layer documents never need. ``create_ocr`` names the extra when it is missing.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from indexer.formats.base import MissingToolError
from indexer.formats.pdf import OcrEngine, OcrLine

logger = logging.getLogger(__name__)

OCR_MISSING = "OCR of scanned pages needs the optional extra: pip install 'policyrag[ocr]' (rapidocr)"


def ocr_available() -> bool:
    """True when rapidocr can be imported."""
    try:
        import rapidocr  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)
def _engine() -> object:
    try:
        from rapidocr import RapidOCR
    except ImportError as exc:
        raise MissingToolError(OCR_MISSING) from exc
    # Quiet: rapidocr logs every model load at INFO on its own logger.
    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    return RapidOCR(params={"Global.log_level": "warning"})


def create_ocr() -> OcrEngine:
    """An OCR engine for ``read_pdf``: page image (RGB array) → text lines with boxes."""
    engine = _engine()

    def run(image: object) -> list[OcrLine]:
        result = engine(image)  # type: ignore[operator]
        boxes = getattr(result, "boxes", None)
        texts = getattr(result, "txts", None)
        if boxes is None or texts is None:
            return []
        lines = []
        for box, text in zip(boxes, texts, strict=False):
            xs = [float(p[0]) for p in box]
            ys = [float(p[1]) for p in box]
            lines.append(OcrLine(text=str(text), x0=min(xs), y0=min(ys), x1=max(xs), y1=max(ys)))
        return lines

    return run
