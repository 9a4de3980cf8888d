"""The build's CPU-bound per-item stages across worker processes: reading + normalising files, and cutting
chunks into BM25 terms with jieba.

Results come back in input order, so a parallel build gives the same index as a serial one (the serial path
is kept as the oracle, and used for small inputs where starting workers costs more than it saves). Workers
start with ``forkserver``: the parent may already run threads (onnxruntime, tqdm), which ``fork`` does not
survive safely.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from tqdm import tqdm

from indexer.formats import FormatError, ReadOptions, read_file
from indexer.pipeline import FileIngest, ingest_file
from indexer.sources import LazyOcr, SkippedFile, read_sources
from indexer.tokenise import JiebaTokenizer
from models.embedders import available_cores

logger = logging.getLogger(__name__)

MIN_FILES = 40  # fewer files than this are read in this process
MIN_TEXTS = 2000  # fewer chunks than this are cut in this process
_TERMS_BATCH = 256

_worker_tokenizer: JiebaTokenizer | None = None
_worker_ocr: LazyOcr | None = None


def default_workers() -> int:
    """One worker per core this process may use."""
    return available_cores()


def _pool(workers: int, initializer: Callable[..., object] | None = None, initargs: tuple[Any, ...] = ()) -> Executor:
    context = multiprocessing.get_context("forkserver")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=initializer, initargs=initargs)


def _bar(total: int, desc: str, unit: str, progress: bool | None) -> tqdm:
    # disable=None: a bar on a terminal only (None keeps tqdm's own check).
    return tqdm(total=total, desc=desc, unit=unit, disable=None if progress is None else not progress)


# --- reading --------------------------------------------------------------------------------------------


def _read_one(path: Path) -> FileIngest | SkippedFile:
    global _worker_ocr
    if _worker_ocr is None:
        _worker_ocr = LazyOcr(progress=False)
    try:
        result = read_file(path, ReadOptions(ocr=_worker_ocr))
    except FormatError as exc:
        return SkippedFile(str(path), str(exc))
    return ingest_file(path, result)


def read_and_ingest(
    files: Sequence[Path], *, workers: int, progress: bool | None = None
) -> tuple[list[tuple[Path, FileIngest]], list[SkippedFile]]:
    """Read and normalise each file (``indexer.pipeline.ingest_file``); unreadable files come back as skipped.

    With ``workers`` > 1 and enough files, the files are spread over worker processes; the results are the
    serial path's, in the same order.
    """
    if workers <= 1 or len(files) < MIN_FILES:
        results, unread = read_sources(files, progress=progress)
        return [(path, ingest_file(path, result)) for path, result in results], unread
    ingested: list[tuple[Path, FileIngest]] = []
    skipped: list[SkippedFile] = []
    with _pool(workers) as pool, _bar(len(files), "reading", "file", progress) as bar:
        for path, outcome in zip(files, pool.map(_read_one, files, chunksize=4), strict=True):
            if isinstance(outcome, SkippedFile):
                logger.info("skipped %s", outcome.message)
                skipped.append(outcome)
            else:
                ingested.append((path, outcome))
            bar.update(1)
    return ingested, skipped


# --- BM25 terms -----------------------------------------------------------------------------------------


def _start_tokenizer(user_words: tuple[str, ...]) -> None:
    global _worker_tokenizer
    _worker_tokenizer = JiebaTokenizer(user_words)
    _worker_tokenizer.warm()


def _apply(method: str, texts: list[str]) -> list[Any]:
    assert _worker_tokenizer is not None, "worker started without its tokenizer"
    apply = getattr(_worker_tokenizer, method)
    return [apply(t) for t in texts]


def _batches(texts: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(texts), size):
        yield list(texts[start : start + size])


def _per_text(
    method: str, texts: Sequence[str], tokenizer: JiebaTokenizer, *, workers: int, progress: bool | None, desc: str
) -> list[Any]:
    """``getattr(tokenizer, method)(text)`` for each text, in order; in worker processes when there are enough."""
    out: list[Any] = []
    with _bar(len(texts), desc, "text", progress) as bar:
        if workers <= 1 or len(texts) < MIN_TEXTS:
            apply = getattr(tokenizer, method)
            for text in texts:
                out.append(apply(text))
                bar.update(1)
            return out
        with _pool(workers, _start_tokenizer, (tokenizer.user_words,)) as pool:
            for results in pool.map(partial(_apply, method), _batches(texts, _TERMS_BATCH)):
                out.extend(results)
                bar.update(len(results))
    return out


def count_tokens(
    texts: Sequence[str], tokenizer: JiebaTokenizer, *, workers: int, progress: bool | None = None
) -> list[int]:
    """jieba token counts (``tokenizer.count``, the chunker's measure) of each text, in order."""
    return _per_text("count", texts, tokenizer, workers=workers, progress=progress, desc="token counts")


def cut_terms(
    texts: Sequence[str], tokenizer: JiebaTokenizer, *, workers: int, progress: bool | None = None
) -> list[list[str]]:
    """BM25 terms (``tokenizer.terms``) of each text, in order; spread over worker processes when it pays."""
    return _per_text("terms", texts, tokenizer, workers=workers, progress=progress, desc="BM25 terms")
