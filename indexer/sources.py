"""Read every source file through the format readers; a file that cannot be read is skipped and reported."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from indexer.formats import FormatError, ReadOptions, ReadResult, read_file
from indexer.formats.pdf import OcrLine

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SkippedFile:
    """A file left out of the index: its path and the message (reason and fix)."""

    path: str
    message: str


class LazyOcr:
    """Loads the OCR engine on the first scanned page only, and shows a progress bar while it works."""

    def __init__(self, *, progress: bool | None = None) -> None:
        self._engine = None
        self._bar: tqdm | None = None
        self._progress = progress
        self.pages = 0

    def __call__(self, image: object) -> list[OcrLine]:
        if self._engine is None:
            from indexer.formats.ocr import create_ocr

            self._engine = create_ocr()  # type: ignore[assignment]
        if self._bar is None:
            # disable=None: a bar on a terminal, silence in logs and tests (unless asked for).
            disable = None if self._progress is None else not self._progress
            self._bar = tqdm(desc="OCR (pages without text)", unit="page", disable=disable)
        lines = self._engine(image)  # type: ignore[misc]
        self.pages += 1
        self._bar.update(1)
        return lines

    def close(self) -> None:
        """Close the progress bar."""
        if self._bar is not None:
            self._bar.close()


def read_sources(
    files: Sequence[Path], *, progress: bool | None = None
) -> tuple[list[tuple[Path, ReadResult]], list[SkippedFile]]:
    """Read each file; those that fail are returned as ``SkippedFile`` (and logged), never raised."""
    ocr = LazyOcr(progress=progress)
    results: list[tuple[Path, ReadResult]] = []
    skipped: list[SkippedFile] = []
    disable = None if progress is None else not progress  # None: a bar on a terminal only
    try:
        for path in tqdm(files, desc="reading", unit="file", disable=disable or len(files) < 20):
            try:
                result = read_file(path, ReadOptions(ocr=ocr))
            except FormatError as exc:
                logger.info("skipped %s", exc)  # reported in the ingest summary
                skipped.append(SkippedFile(str(path), str(exc)))
                continue
            for note in result.notes:
                logger.info("%s: %s", path.name, note)
            if result.encoding and result.encoding not in ("utf-8", "utf-8-sig"):
                logger.info("%s decoded as %s", path.name, result.encoding)
            results.append((path, result))
    finally:
        ocr.close()
    return results, skipped
