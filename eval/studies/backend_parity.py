"""Backend parity: the same index searched through the ``local`` backend (FAISS + bm25s) and through ``milvus``
(a Milvus Lite file), on the same questions.

Decided with it: the Milvus backend ranks like the local one (issue 14's target: R@10 and MRR@10 within 0.01),
so the fusion stays client-side; Milvus' own ``RRFRanker``/``WeightedRanker`` are measured beside it. Results:
``eval/reports/backend_parity_dev.json`` and ``eval/reports/backend_parity_stard.json``, summarised in
``docs/scale-out.md``.

``python -m eval.studies.backend_parity --dev --out eval/reports/backend_parity_dev.json`` builds the corpus index
(or takes ``--index``); ``--questions ../shared/datasets/stard/train.jsonl --index /work/cache/laws-int8 --sample
300 --out eval/reports/backend_parity_stard.json`` uses an already built law index. Either way the local index is
published to a fresh Lite file (``--uri``) and timed; both backends then answer every question.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.common.machine import machine_info
from eval.common.metrics import mrr_at_k, percentile, ranked_units, recall_at_k
from eval.common.questions import EvalQuestion, load_dev
from eval.common.statutes import load_stard, stard_eval_questions
from indexer.normalise import normalise_query
from retriever.fusion import fuse
from retriever.search import Searcher

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DEPTH = 100
METHODS = ("dense", "bm25", "hybrid")


def _du(path: Path) -> int:
    """Bytes on disk under ``path`` (``du -sb``)."""
    out = subprocess.run(["du", "-sb", str(path.resolve())], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0])


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


def ranked(searcher: Searcher, question: str) -> dict[str, list[int]]:
    """Ranked rows of each method for one question (current documents only, depth ``DEPTH``)."""
    cands = searcher.candidates(normalise_query(question), DEPTH, searcher.row_filter())
    return {
        "dense": [int(r) for r in cands.dense[1] if r >= 0],
        "bm25": [int(r) for r in cands.bm25[1]],
        "hybrid": [row for row, _ in fuse(searcher.fusion, cands.dense, cands.bm25)],
    }


def scores(lists: Sequence[list[str]], questions: Sequence[EvalQuestion]) -> dict[str, float]:
    """Mean R@10 (capped) and MRR@10."""
    return {
        "R@10": round(float(np.mean([recall_at_k(r, q.gold, 10) for r, q in zip(lists, questions, strict=True)])), 4),
        "MRR@10": round(float(np.mean([mrr_at_k(r, q.gold, 10) for r, q in zip(lists, questions, strict=True)])), 4),
    }


def latency(searches: dict[str, Callable[[str], object]], questions: Sequence[EvalQuestion]) -> dict[str, Any]:
    """Warm search latency per backend, ms; the backends take turns on each question, so a burst of load from
    other processes falls on both alike."""
    samples: dict[str, list[float]] = {name: [] for name in searches}
    for search in searches.values():
        search("预热")
    for q in questions:
        for name, search in searches.items():
            started = time.perf_counter()
            search(q.question)
            samples[name].append((time.perf_counter() - started) * 1000)
    return {
        name: {"p50": round(percentile(x, 50), 1), "p95": round(percentile(x, 95), 1), "n": len(x)}
        for name, x in samples.items()
    }


def _units_of(searcher: Searcher) -> Callable[[int], tuple[str]]:
    chunks = searcher.index.chunks
    return lambda row: (chunks[row].unit_citation,)


def compare(local: Searcher, milvus: Searcher, questions: Sequence[EvalQuestion]) -> dict[str, Any]:
    """Metrics side by side, top-10 overlap of the final results, native Milvus fusion, latency."""
    from pymilvus import RRFRanker, WeightedRanker

    from retriever.milvus_search import MilvusBackend

    backend = milvus.backend
    assert isinstance(backend, MilvusBackend)
    unit = {"local": _units_of(local), "milvus": _units_of(milvus)}
    lists: dict[str, dict[str, list[list[str]]]] = {
        f"{b}_{m}": {"runs": []} for b in ("local", "milvus") for m in METHODS
    }
    natives: dict[str, Callable[[int], Any]] = {
        "milvus_native_rrf": lambda n: RRFRanker(60),
        "milvus_native_weighted": lambda n: WeightedRanker(1.0, 0.05) if n == 2 else WeightedRanker(1.0),
    }
    for name in natives:
        lists[name] = {"runs": []}
    overlap: list[float] = []
    identical = 0
    for q in questions:
        for name, searcher in (("local", local), ("milvus", milvus)):
            for method, rows in ranked(searcher, q.question).items():
                lists[f"{name}_{method}"]["runs"].append(ranked_units(rows, unit[name]))
        normalised = normalise_query(q.question)
        qvec = milvus.embedder.encode_queries([normalised])[0]
        terms = milvus.index.tokenizer.terms(normalised)
        for name, ranker_for in natives.items():
            _, native = backend.hybrid_native(qvec, terms, DEPTH, ranker_for, milvus.row_filter())
            lists[name]["runs"].append(ranked_units([int(r) for r in native], unit["milvus"]))
        a = [r.chunk_id for r in local.search(q.question, k=10).results]
        b = [r.chunk_id for r in milvus.search(q.question, k=10).results]
        overlap.append(len(set(a) & set(b)) / max(len(a), 1))
        identical += a == b
    metrics = {name: scores(v["runs"], questions) for name, v in lists.items()}
    diff = {
        m: {k: round(abs(metrics[f"local_{m}"][k] - metrics[f"milvus_{m}"][k]), 4) for k in ("R@10", "MRR@10")}
        for m in METHODS
    }
    return {
        "questions": len(questions),
        "metrics": metrics,
        "abs_difference": diff,
        "within_0.01": all(v <= 0.01 for d in diff.values() for v in d.values()),
        "top10_overlap_mean": round(float(np.mean(overlap)), 4),
        "top10_identical_share": round(identical / max(len(questions), 1), 4),
        "search_latency_ms": latency(
            {"local": lambda t: local.search(t, k=10), "milvus": lambda t: milvus.search(t, k=10)}, questions
        ),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", action="store_true", help="the policy dev set over corpus/")
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "data" / "dev_questions.jsonl")
    parser.add_argument("--index", type=Path, help="an already built local index (default with --dev: build one)")
    parser.add_argument("--uri", default="/tmp/policyrag-parity/parity.db", help="Milvus Lite file (recreated)")
    parser.add_argument("--sample", type=int, default=300, help="STARD: seeded sample size (seed 0)")
    parser.add_argument("--embedder", default="auto", help="--dev without --index: the embedder to build with")
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    from indexer.build import build_index
    from models.embedders import create_embedder
    from retriever.milvus_search import MilvusBackend, publish_index
    from retriever.store import load_index

    report: dict[str, Any] = {"machine": machine_info()}
    index_dir = args.index
    if index_dir is None:
        if not args.dev:
            parser.error("give --index DIR (a built law index) or --dev")
        embedder = create_embedder(args.embedder, models_dir=args.models_dir)
        index_dir = Path("/tmp/policyrag-parity/dev-index")
        shutil.rmtree(index_dir, ignore_errors=True)
        build = build_index(
            [ROOT / "corpus"], index_dir, embedder, cache_dir=Path("/tmp/policyrag-parity/.embcache"), progress=False
        )
        report["local_build_seconds"] = build.manifest.build_seconds
    rss0 = _rss_mb()
    local_index = load_index(index_dir)
    embedder = create_embedder(local_index.manifest.embedder, models_dir=args.models_dir)
    local = Searcher(local_index, embedder)
    rss_local = _rss_mb()
    report["local_build_seconds"] = report.get("local_build_seconds", local_index.manifest.build_seconds)
    uri = Path(args.uri)
    shutil.rmtree(uri, ignore_errors=True)
    uri.parent.mkdir(parents=True, exist_ok=True)
    published = publish_index(load_index(index_dir, searchable=False), str(uri))
    started = time.perf_counter()
    backend = MilvusBackend.open(str(uri))
    open_seconds = time.perf_counter() - started
    milvus = Searcher(backend.index, embedder, backend=backend)
    rss_milvus = _rss_mb()
    report.update(
        index=str(index_dir),
        embedder=local_index.manifest.embedder,
        chunks=len(local_index.chunks),
        documents=len(local_index.documents),
        milvus_publish_seconds=published.seconds,
        milvus_dense_index=published.dense_index,
        load_seconds={"local": round(local_index.load_seconds, 2), "milvus": round(open_seconds, 2)},
        disk_bytes={"local": _du(index_dir), "milvus_lite": _du(uri)},
        rss_after_load_mb={"local": round(rss_local - rss0, 1), "milvus_lite": round(rss_milvus - rss_local, 1)},
        versions={"milvus": backend.server.version},
    )
    if args.dev:
        questions = load_dev(args.questions)
        report["set"] = "dev (corpus/, in-corpus questions)"
    else:
        sample = load_stard(args.questions)
        sample = random.Random(0).sample(sample, args.sample) if args.sample < len(sample) else sample
        current = [d.title for d in local_index.documents if d.status != "superseded"]
        units = {c.unit_citation for c in local_index.chunks}
        questions, _, counts = stard_eval_questions(sample, current, units)
        report["set"] = f"STARD, seeded sample of {len(sample)} (seed 0), questions with gold units in the index"
        report["gold_counts"] = counts
    report.update(compare(local, milvus, questions))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(
        json.dumps(
            {k: report[k] for k in ("metrics", "abs_difference", "top10_overlap_mean", "search_latency_ms")}, indent=1
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
