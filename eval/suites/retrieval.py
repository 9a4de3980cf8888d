"""Retrieval evaluation on the development question set: BM25, dense and hybrid side by side, plus latency."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.common.metrics import mrr_at_k, percentile, ranked_units, recall_at_k
from eval.common.questions import load_questions
from indexer.normalise import normalise_query
from retriever.fusion import fuse
from retriever.search import Searcher

KS = (1, 5, 10)
DEPTH = 100


@dataclass(frozen=True)
class MethodScores:
    """Metrics of one retrieval method."""

    method: str
    recall: dict[int, float]
    mrr10: float


@dataclass(frozen=True)
class RetrievalReport:
    """The evaluation result."""

    questions: int
    traditional: int
    embedder: str
    fusion: str
    methods: tuple[MethodScores, ...]
    latency_ms: dict[str, float]
    misses: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def evaluate_retrieval(searcher: Searcher, questions_path: Path, *, latency_runs: int = 1) -> RetrievalReport:
    """Score BM25, dense and the searcher's hybrid fusion on in-corpus questions; time hybrid search."""
    questions = [q for q in load_questions(questions_path) if q.kind == "in_corpus"]
    ranked: dict[str, list[list[str]]] = {"bm25": [], "dense": [], "hybrid": []}
    chunks = searcher.index.chunks

    def unit_of(row: int) -> tuple[str]:
        return (chunks[row].unit_citation,)

    for q in questions:
        cands = searcher.candidates(normalise_query(q.question), DEPTH)
        ranked["dense"].append(ranked_units([int(r) for r in cands.dense[1]], unit_of))
        ranked["bm25"].append(ranked_units([int(r) for r in cands.bm25[1]], unit_of))
        fused = fuse(searcher.fusion, cands.dense, cands.bm25)
        ranked["hybrid"].append(ranked_units([row for row, _ in fused], unit_of))
    methods = tuple(
        MethodScores(
            method,
            {k: float(np.mean([recall_at_k(r, q.gold, k) for r, q in zip(lists, questions, strict=True)])) for k in KS},
            float(np.mean([mrr_at_k(r, q.gold, 10) for r, q in zip(lists, questions, strict=True)])),
        )
        for method, lists in ranked.items()
    )
    searcher.search("预热")  # warm caches so latency is steady-state
    timings = []
    for _ in range(latency_runs):
        for q in questions:
            started = time.perf_counter()
            searcher.search(q.question, k=10)
            timings.append((time.perf_counter() - started) * 1000)
    misses = tuple(
        {"id": q.id, "question": q.question, "gold": list(q.gold), "top3": r[:3]}
        for q, r in zip(questions, ranked["hybrid"], strict=True)
        if recall_at_k(r, q.gold, 5) == 0
    )
    f = searcher.fusion
    return RetrievalReport(
        questions=len(questions),
        traditional=sum(q.script == "traditional" for q in questions),
        embedder=searcher.embedder.name,
        fusion=f"{f.method} (dense {f.dense_weight}, bm25 {f.bm25_weight})",
        methods=methods,
        latency_ms={
            "p50": round(percentile(timings, 50), 1),
            "p95": round(percentile(timings, 95), 1),
            "mean": round(float(np.mean(timings)), 1),
        },
        misses=misses,
    )


def format_table(report: RetrievalReport) -> str:
    """Markdown table of the report."""
    lines = [
        f"{report.questions} in-corpus questions ({report.traditional} in traditional Chinese); "
        f"embedder {report.embedder}; hybrid = {report.fusion}",
        "",
        "| method | R@1 | R@5 | R@10 | MRR@10 |",
        "|---|---|---|---|---|",
    ]
    for m in report.methods:
        lines.append(f"| {m.method} | {m.recall[1]:.3f} | {m.recall[5]:.3f} | {m.recall[10]:.3f} | {m.mrr10:.3f} |")
    lat = report.latency_ms
    lines += ["", f"hybrid search latency (warm, k=10): p50 {lat['p50']} ms, p95 {lat['p95']} ms"]
    if report.misses:
        lines.append(f"{len(report.misses)} question(s) with no gold article in the hybrid top 5")
    return "\n".join(lines)
