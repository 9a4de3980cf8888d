"""Child-process side of the performance benchmark: one instrumented index build and an embedding-throughput sample.

    python -m eval.suites.perf_build --index DIR [--embedder auto] [--sample 256] --out result.json PATH...

Run by ``eval.suites.perf`` in a fresh process so that peak memory and wall time belong to this build alone. The build
is the real ``indexer.build.build_index``; its stages are timed by wrapping the functions it calls (in this
process only), so the split needs no change to ``indexer/``.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import random
import re
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eval.common.timing import CpuMeter
from models.embedders import Embedder

logger = logging.getLogger(__name__)

# Stages in the order build_index runs them; "other" (the remainder) is added by instrumented_build.
STAGES = ("ingest", "cache_load", "embed", "dense_index", "bm25_tokenise", "bm25_index", "fingerprint", "save")


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class CountingEmbedder:
    """Delegates to an embedder and counts the documents it encodes: what the embedding cache did not have."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self.encoded = 0

    def encode_queries(self, texts: Sequence[str]) -> Any:
        """As the wrapped embedder."""
        return self.inner.encode_queries(texts)

    def encode_documents(self, texts: Sequence[str], *, batch_size: int = 16, progress: bool = False) -> Any:
        """As the wrapped embedder, counting the texts."""
        self.encoded += len(texts)
        return self.inner.encode_documents(texts, batch_size=batch_size, progress=progress)

    def count_tokens(self, text: str) -> int:
        """As the wrapped embedder."""
        return self.inner.count_tokens(text)


class StageTimer:
    """Accumulates wall time per stage for wrapped callables; only the outermost wrapped call counts.

    Nested calls (e.g. the tokenizer used inside ingest) are charged to the stage already running, so stages
    never overlap and their sum is at most the total.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._active = threading.local()

    def wrap(self, fn: Callable[..., Any], stage: str) -> Callable[..., Any]:
        """``fn`` timed under ``stage``."""

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if getattr(self._active, "stage", None) is not None:
                return fn(*args, **kwargs)
            self._active.stage = stage
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started
                self._active.stage = None

        return timed


@contextmanager
def instrumented(timer: StageTimer) -> Iterator[None]:
    """Wrap the functions build_index calls with ``timer``; restore them afterwards."""
    import indexer.build as build
    from indexer.embed_cache import EmbeddingCache
    from indexer.tokenise import JiebaTokenizer
    from retriever.dense import DenseIndex
    from retriever.sparse import BM25Index

    targets: list[tuple[object, str, str]] = [
        (build, "ingest_corpus", "ingest"),
        (build, "fingerprint_of", "fingerprint"),
        (build, "save_index", "save"),
        (EmbeddingCache, "_load", "cache_load"),
        (DenseIndex, "build", "dense_index"),
        (BM25Index, "build", "bm25_index"),
        (JiebaTokenizer, "terms", "bm25_tokenise"),
    ]
    saved = [(owner, attr, vars(owner)[attr]) for owner, attr, _ in targets]
    try:
        for owner, attr, stage in targets:
            setattr(owner, attr, timer.wrap(getattr(owner, attr), stage))
        yield
    finally:
        for owner, attr, original in saved:
            setattr(owner, attr, original)


def instrumented_build(
    paths: Sequence[Path], index_dir: Path, embedder: Embedder, *, cache_dir: Path | None = None, progress: bool = True
) -> dict[str, Any]:
    """Run the real build with stage timing; returns the ``build`` block of the performance JSON (plus counts)."""
    from indexer.build import build_index

    timer = StageTimer()
    counting = CountingEmbedder(embedder)
    with instrumented(timer), CpuMeter() as meter:
        report = build_index(list(paths), index_dir, counting, cache_dir=cache_dir, progress=progress)
    total = meter.wall
    stages = {name: round(timer.seconds.get(name, 0.0), 3) for name in STAGES}
    stages["embed"] = round(report.embed_seconds, 3)
    stages["other"] = round(max(0.0, total - sum(stages.values())), 3)
    chunks = report.manifest.counts["chunks"]
    return {
        "seconds": round(total, 3),
        "embed_seconds": round(report.embed_seconds, 3),
        # Counted at the embedder: BuildReport.cached_vectors is the cache's size before the build, not its hits.
        "cached_vectors": chunks - counting.encoded,
        "embedded_vectors": counting.encoded,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "stages": stages,
        # build_index's own stage clock (indexer/build.py): reading and BM25 terms include their worker processes.
        "build_stages": report.stage_seconds,
        "documents": report.manifest.counts["documents"],
        "chunks": chunks,
        "files": report.manifest.counts["files"],
        "dense_kind": report.manifest.dense_kind,
        "index_mb": round(sum(report.manifest.files.values()) / 1e6, 2),
        **meter.summary(),
    }


def measure_throughput(
    embedder: Embedder, texts: Sequence[str], *, sample: int = 256, seed: int = 0, batch_size: int = 16
) -> dict[str, Any]:
    """Encode a seeded sample of ``texts`` directly (no cache) and project the cold embedding time of all of them.

    ``cpu_utilisation`` is process CPU time ÷ (wall time × threads): near 1.0 means every core was busy.
    """
    if not texts:
        raise ValueError("no texts to sample")
    picked = random.Random(seed).sample(list(texts), min(sample, len(texts)))
    threads = os.cpu_count() or 1
    with CpuMeter() as meter:
        embedder.encode_documents(picked, batch_size=batch_size)
    rate = len(picked) / meter.wall
    return {
        "sample": len(picked),
        "batch_size": batch_size,
        "seconds": round(meter.wall, 3),
        "chunks_per_s": round(rate, 2),
        "threads": threads,
        **meter.summary(),
        "cpu_utilisation": round(meter.cpu / meter.wall / threads, 3),
        "projected_cold_embed_seconds": round(len(texts) / rate, 2),
    }


_TIME_FIELDS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "User time (seconds)": ("user_seconds", float),
    "System time (seconds)": ("system_seconds", float),
    "Percent of CPU this job got": ("cpu_percent", lambda v: float(v.rstrip("%"))),
    "Maximum resident set size (kbytes)": ("peak_rss_mb", lambda v: round(int(v) / 1024, 1)),
    "Exit status": ("exit_status", int),
}
_SHARD = 256  # EmbeddingCache.embed's default shard size: the bar's first step when nothing was cached
_BAR = re.compile(r"embedding:\s+\d+%\|[^|]*\|\s*(\d+)/(\d+) \[([\d:]+)<")
_SUMMARY = re.compile(r"embedded (\d+) chunks in ([\d.]+)s, (\d+) from cache; build ([\d.]+)s; ([\d.]+) MB")


def _clock_seconds(text: str) -> float:
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def parse_time_log(text: str) -> dict[str, Any]:
    """Facts from the log of ``/usr/bin/time -v policyrag index …``: wall time, peak RSS, embedding progress.

    The progress bar's first non-zero count is the cache hits (reported before encoding starts; a count of exactly
    one shard, 256, is read as no hits). The embedding rate is the chunks encoded after that over the time they
    took. Counts come from the bar because the CLI's "from cache" figure is the cache's size, not its hits.
    ``complete`` is False while the run is still going (no exit status yet).
    """
    out: dict[str, Any] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(": ")
        if key == "Command being timed":
            out["command"] = value.strip().strip('"')
        elif key.startswith("Elapsed (wall clock) time"):
            out["wall_seconds"] = _clock_seconds(value.strip())
        elif key in _TIME_FIELDS:
            name, convert = _TIME_FIELDS[key]
            out[name] = convert(value.strip())
    bars = [(int(n), int(total), _clock_seconds(t)) for n, total, t in _BAR.findall(text)]
    started = next((b for b in bars if b[0] > 0), None)
    if started and bars[-1][2] > started[2]:
        last = bars[-1]
        out["embed_progress"] = {"total": last[1], "first_count": started[0], "last_count": last[0]}
        out["embed_rate_chunks_per_s"] = round((last[0] - started[0]) / (last[2] - started[2]), 2)
        hits = 0 if started[0] == min(_SHARD, last[1]) else started[0]
        out["cached_vectors"], out["embedded_vectors"] = hits, last[1] - hits
    summary = _SUMMARY.search(text)
    if summary:
        out["embed_seconds"] = float(summary.group(2))
        out["build_seconds"] = float(summary.group(4))
        out["index_mb"] = float(summary.group(5))
    out["complete"] = "exit_status" in out
    return out


def indexed_texts(index_dir: Path) -> list[str]:
    """The embedded text of every chunk of a built index."""
    from retriever.store import current_dir

    with (current_dir(index_dir) / "chunks.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line)["embed_text"] for line in fh if line.strip()]


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point (run by eval.suites.perf in a child process)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--embedder", default="auto")
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("--sample", type=int, default=256, help="chunks in the throughput sample (0: skip)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from models.embedders import create_embedder

    started = time.perf_counter()
    embedder = create_embedder(args.embedder, models_dir=args.models_dir)
    load_seconds = time.perf_counter() - started
    build = instrumented_build(args.paths, args.index, embedder, progress=not args.no_progress)
    result: dict[str, Any] = {"embedder": embedder.name, "model_load_seconds": round(load_seconds, 3), "build": build}
    if args.sample > 0:
        result["embed_throughput"] = measure_throughput(embedder, indexed_texts(args.index), sample=args.sample)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
