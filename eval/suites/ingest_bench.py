"""Ingest throughput of the format readers, without embedding and without OCR.

    python -m eval.suites.ingest_bench [--formats ../shared/datasets/formats] [--min-seconds 3] [--ocr]
        [--out eval/reports/ingest.json]
    policyrag eval ingest [--ocr]   (the same, from the CLI)

For each fixture file the reader runs on bytes already in memory, repeated until ``--min-seconds`` have passed;
PDF and OFD throughput is reported in pages/s, every format in files/s. A second figure runs the text pipeline
from the bytes to citable units (reading → lines → logical documents → 条/款 units), still without embedding
(and without building the jieba tokeniser, a fixed ~1 s per index build whatever the formats).
Scanned PDFs (no text layer) are left out: OCR is timed separately (seconds per page, ``--ocr``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from indexer.formats import ReadOptions, detect_format, read_bytes

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FORMATS = ROOT.parent / "shared" / "datasets" / "formats"
SCANNED = "reg_scanned.pdf"


def _pages(data: bytes, fmt: str) -> int | None:
    if fmt == "pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(data)
        try:
            return len(pdf)
        finally:
            pdf.close()
    if fmt == "ofd":
        result = read_bytes(data, "x.ofd")
        return max((b.page or 0) for b in result.blocks) or None
    return None


def _timed(run: Callable[[], object], min_seconds: float) -> tuple[int, float]:
    """Run at least once and until ``min_seconds`` have passed: (runs, seconds)."""
    runs, started = 0, time.perf_counter()
    while True:
        run()
        runs += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return runs, elapsed


def _to_units(data: bytes, name: str) -> int:
    from indexer.documents import prepare_lines, split_documents
    from indexer.structure import parse_units

    result = read_bytes(data, name, ReadOptions())
    lines, damaged, _ = prepare_lines(result.text, result.pages)
    return sum(len(parse_units(doc)) for doc in split_documents(name, lines, damaged))


def measure_file(path: Path, *, min_seconds: float) -> dict[str, Any]:
    """Reader and whole-pipeline throughput for one fixture file."""
    data = path.read_bytes()
    fmt = detect_format(data, path.name) or "unsupported"
    pages = _pages(data, fmt)
    runs, seconds = _timed(lambda: read_bytes(data, path.name, ReadOptions()), min_seconds)
    per_file = seconds / runs
    pipe_runs, pipe_seconds = _timed(lambda: _to_units(data, path.name), min_seconds)
    row: dict[str, Any] = {
        "file": path.name,
        "format": fmt,
        "bytes": len(data),
        "pages": pages,
        "read_ms": round(per_file * 1000, 2),
        "files_per_s": round(1 / per_file, 2),
        "pages_per_s": round(pages / per_file, 1) if pages else None,
        "units_ms": round(pipe_seconds / pipe_runs * 1000, 1),
        "runs": runs,
    }
    return row


def measure_ocr(path: Path) -> dict[str, Any]:
    """Seconds per page of OCR on a scanned PDF (model load timed apart)."""
    from indexer.formats.ocr import create_ocr

    started = time.perf_counter()
    ocr = create_ocr()
    load = time.perf_counter() - started
    data = path.read_bytes()
    started = time.perf_counter()
    result = read_bytes(data, path.name, ReadOptions(ocr=ocr))
    seconds = time.perf_counter() - started
    pages = max((b.page or 0) for b in result.blocks)
    return {"file": path.name, "pages": pages, "load_s": round(load, 2), "s_per_page": round(seconds / pages, 2)}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Throughput per format: total pages (or files) over total reading time."""
    out: dict[str, Any] = {}
    for fmt in sorted({r["format"] for r in rows}):
        mine = [r for r in rows if r["format"] == fmt]
        seconds = sum(r["read_ms"] for r in mine) / 1000
        entry: dict[str, Any] = {"files": len(mine), "files_per_s": round(len(mine) / seconds, 2)}
        pages = sum(r["pages"] or 0 for r in mine)
        if pages:
            entry["pages_per_s"] = round(pages / seconds, 1)
        out[fmt] = entry
    return out


def run(formats: Path, *, min_seconds: float = 3.0, ocr: bool = False) -> dict[str, Any]:
    """Measure every fixture in ``formats`` (the scanned PDF only with ``ocr``)."""
    from eval.common.machine import machine_info

    files = sorted(p for p in formats.iterdir() if p.is_file() and not p.name.endswith("_groundtruth.txt"))
    rows = [measure_file(p, min_seconds=min_seconds) for p in files if p.name != SCANNED]
    report: dict[str, Any] = {
        "machine": machine_info(),
        "what": "reader on bytes in memory (no embedding, no OCR); units = reading through 条/款 units",
        "files": rows,
        "by_format": summarise(rows),
    }
    if ocr and (formats / SCANNED).is_file():
        report["ocr"] = measure_ocr(formats / SCANNED)
    return report


def format_report(report: dict[str, Any]) -> str:
    """A Markdown table of the figures."""
    lines = [
        "| file | format | pages | read (ms) | pages/s | files/s | bytes → units (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["files"]:
        pages_s = "" if r["pages_per_s"] is None else f"{r['pages_per_s']:.0f}"
        lines.append(
            f"| {r['file']} | {r['format']} | {r['pages'] or ''} | {r['read_ms']:.1f} | {pages_s} | "
            f"{r['files_per_s']:.1f} | {r['units_ms']:.0f} |"
        )
    for fmt, s in report["by_format"].items():
        pages = f", {s['pages_per_s']:.0f} pages/s" if "pages_per_s" in s else ""
        lines.append(f"- {fmt}: {s['files_per_s']:.1f} files/s{pages}")
    if "ocr" in report:
        o = report["ocr"]
        lines.append(f"- OCR ({o['file']}): {o['s_per_page']:.1f} s a page, model load {o['load_s']:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry (``python -m eval.suites.ingest_bench``)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--formats", type=Path, default=DEFAULT_FORMATS, help="fixture folder (default: %(default)s)")
    p.add_argument("--min-seconds", type=float, default=3.0, help="time each file at least this long")
    p.add_argument("--ocr", action="store_true", help="also time OCR on the scanned PDF (slow)")
    p.add_argument("--out", type=Path, default=ROOT / "eval" / "reports" / "ingest.json")
    args = p.parse_args(argv)
    if not args.formats.is_dir():
        print(f"ingest: skipped: {args.formats} not found (see ../shared/README.md)")
        return 0
    report = run(args.formats, min_seconds=args.min_seconds, ocr=args.ocr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(format_report(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
