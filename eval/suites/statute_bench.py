"""Statute retrieval benchmark: STARD questions against the whole law collection.

The index is the product's own index of ``../shared/datasets/laws`` (same ingestion as
``corpus/``); superseded versions are left out of search, as for a user. Each question
is embedded once; BM25, dense, the product's hybrid fusion and hybrid + the authority
prior (``retriever/rerank.py``, boost 0.02 chosen on the 300 tuning questions) rank the
same candidate lists (depth 100). Two other second stages were tried on the fusion
study's subset and dropped (boosting laws that dominate the top 20/50, boosting laws
named in the question): both moved R@10 by less than 0.01. A ranked list of chunks becomes a ranked list of
distinct units (``《title》第X条``) before scoring, so the pieces of one long article count
once. Gold names resolve against the index's titles with or without 中华人民共和国;
gold articles the collection does not contain count as misses.

The default fusion weight was chosen on 300 of these questions (``eval.studies.fusion_study``,
seed 0), so the report also scores the other 935 on their own (``held_out``).
"""

from __future__ import annotations

import logging
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from tqdm import tqdm

from eval.common.metrics import ranked_units, recall_at_k, score_ranking
from eval.common.questions import EvalQuestion
from eval.common.statutes import StatuteQuestion, resolution_report, stard_eval_questions
from indexer.lawmeta import SUPERSEDED
from indexer.normalise import normalise_query
from retriever.fusion import FusionConfig, fuse
from retriever.rerank import AuthorityPrior
from retriever.search import Candidates, Searcher

logger = logging.getLogger(__name__)

DEPTH = 100
CURVE_KS = tuple(range(1, DEPTH + 1))
TUNING_SAMPLE = 300  # questions the fusion weight was tuned on (eval.studies.fusion_study, seed 0)
ANCHORS = {"jieba+bm25s R@10 (measured by the issue author)": 0.45, "jieba+bm25s MRR@10": 0.37}
TARGET = {"hybrid R@10": 0.60}
HELD_OUT_TARGET = 0.62  # issue 12: hybrid R@10 on questions used for no tuning (fusion or adapter)
AUTHORITY_BOOST = 0.02  # best of 0.005/0.01/0.02/0.03/0.05 on the 300 tuning questions


@dataclass(frozen=True)
class MethodResult:
    """Mean metrics of one ranking method over the evaluated questions."""

    name: str
    description: str
    metrics: dict[str, float]
    recall_curve: list[float]  # mean capped recall at k = 1..DEPTH
    held_out: dict[str, float]  # the same metrics over the questions not used for tuning


def method_descriptions(searcher: Searcher, prior: AuthorityPrior) -> dict[str, str]:
    """The methods of the report, in order, with one line each."""
    f = searcher.fusion
    return {
        "bm25": "jieba terms + bm25s",
        "dense": f"{searcher.embedder.name} cosine (FAISS)",
        "hybrid": f"{f.method} fusion, dense {f.dense_weight} + BM25 {f.bm25_weight}",
        "hybrid+rerank": f"hybrid, then {prior.describe()}",
    }


def rank_methods(cands: Candidates, fusion: FusionConfig, prior: AuthorityPrior) -> dict[str, list[int]]:
    """Ranked rows of every method from one question's candidates (fused once, reranked from that)."""
    fused = fuse(fusion, cands.dense, cands.bm25)
    return {
        "bm25": [int(r) for r in cands.bm25[1]],
        "dense": [int(r) for r in cands.dense[1]],
        "hybrid": [row for row, _ in fused],
        "hybrid+rerank": [row for row, _ in prior.rerank(fused)],
    }


def tuning_ids(questions: Sequence[StatuteQuestion]) -> set[str]:
    """Ids of the questions the fusion study sampled (seed 0) to choose the default fusion."""
    if len(questions) <= TUNING_SAMPLE:
        return {q.id for q in questions}
    return {q.id for q in random.Random(0).sample(list(questions), TUNING_SAMPLE)}


def rank_all(
    searcher: Searcher, questions: Sequence[EvalQuestion], prior: AuthorityPrior, *, progress: bool = True
) -> dict[str, list[list[str]]]:
    """Ranked distinct units per method and question (current laws only, depth 100)."""
    chunks = searcher.index.chunks
    allowed = searcher.row_filter()
    ranked: dict[str, list[list[str]]] = defaultdict(list)
    for q in tqdm(questions, desc="statute questions", unit="q", disable=not progress):
        cands = searcher.candidates(normalise_query(q.question), DEPTH, allowed)
        for name, rows in rank_methods(cands, searcher.fusion, prior).items():
            ranked[name].append(ranked_units(rows, lambda r: (chunks[r].unit_citation,)))
    return ranked


def summarise(
    ranked: Sequence[Sequence[str]], questions: Sequence[EvalQuestion]
) -> tuple[dict[str, float], list[float]]:
    """Mean metrics and the mean recall curve of one method's rankings (empty when there are no questions)."""
    if not questions:
        return {}, []
    per_q = [score_ranking(r, q.gold) for r, q in zip(ranked, questions, strict=True)]
    metrics = {k: round(float(np.mean([s[k] for s in per_q])), 4) for k in per_q[0]}
    curve = [
        round(float(np.mean([recall_at_k(r, q.gold, k) for r, q in zip(ranked, questions, strict=True)])), 4)
        for k in CURVE_KS
    ]
    return metrics, curve


def evaluate_statutes(
    searcher: Searcher,
    questions: Sequence[StatuteQuestion],
    *,
    progress: bool = True,
    adapted: Searcher | None = None,
) -> dict[str, Any]:
    """Score every method on the STARD questions whose gold titles resolve; returns the report dict.

    With ``adapted`` (the same index, a query adapter set), rows ``hybrid+adapter`` and ``hybrid+adapter+rerank``
    are added; their held-out questions also leave out the questions the adapter was trained on.
    """
    started = time.perf_counter()
    index = searcher.index
    current = [d for d in index.documents if d.status != SUPERSEDED]
    titles = [d.title for d in current]
    units = {c.unit_citation for c in index.chunks}
    resolution = resolution_report(questions, titles)
    _, resolved, counts = stard_eval_questions(questions, titles, units)
    prior = AuthorityPrior.for_titles([c.doc_title for c in index.chunks], AUTHORITY_BOOST)
    methods = method_descriptions(searcher, prior)
    ranked = rank_all(searcher, resolved, prior, progress=progress)
    tuned = tuning_ids(questions)
    held = [i for i, q in enumerate(resolved) if q.id not in tuned]
    results: list[MethodResult] = []
    for name, description in methods.items():
        metrics, curve = summarise(ranked[name], resolved)
        held_metrics, _ = summarise([ranked[name][i] for i in held], [resolved[i] for i in held])
        results.append(MethodResult(name, description, metrics, curve, held_metrics))
    adapter_held = len(held)
    if adapted is not None and adapted.adapter is not None:
        seen = tuned | set(adapted.adapter.trained_on)
        unseen = [i for i, q in enumerate(resolved) if q.id not in seen]
        adapter_held = len(unseen)
        extra = rank_all(adapted, resolved, prior, progress=progress)
        for name in ("hybrid", "hybrid+rerank"):
            label = name.replace("hybrid", "hybrid+adapter")
            metrics, curve = summarise(extra[name], resolved)
            held_metrics, _ = summarise([extra[name][i] for i in unseen], [resolved[i] for i in unseen])
            # The plain methods on the adapter's unseen questions, for a like-for-like comparison.
            base_metrics, _ = summarise([ranked[name][i] for i in unseen], [resolved[i] for i in unseen])
            description = f"{methods[name]}; query adapter {adapted.adapter.name!r} ({name} on its unseen: " + (
                f"R@10 {base_metrics.get('R@10', 0):.3f})"
            )
            results.append(MethodResult(label, description, metrics, curve, held_metrics))
    superseded = sum(d.status == SUPERSEDED for d in index.documents)
    allowed = searcher.allowed_rows()
    return {
        "kind": "statutes",
        "embedder": searcher.embedder.name,
        "depth": DEPTH,
        "questions": len(questions),
        "evaluated_questions": len(resolved),
        "held_out_questions": len(held),
        "adapter_held_out_questions": adapter_held,
        "resolution": {
            "gold_names": resolution.gold_names,
            "resolved_names": resolution.resolved_names,
            "resolved_in_index": counts["names_in_index"],
            "questions_any_resolved": resolution.questions_any_resolved,
            "questions_all_resolved": resolution.questions_all_resolved,
            "unparsed": list(resolution.unparsed),
            "unknown_titles": [list(t) for t in resolution.unknown_titles[:30]],
        },
        "index": {
            "path": str(index.path),
            "documents": len(index.documents),
            "current_documents": len(index.documents) - superseded,
            "superseded_documents": superseded,
            "chunks": len(index.chunks),
            "searchable_chunks": int(allowed.sum()) if allowed is not None else len(index.chunks),
        },
        "methods": [asdict(r) for r in results],
        "anchors": ANCHORS,
        "target": TARGET,
        "held_out_target": HELD_OUT_TARGET,
        "seconds": round(time.perf_counter() - started, 1),
    }


def format_statutes(report: dict[str, Any]) -> str:
    """Markdown table of a statute report."""
    cols = ["R@1", "R@5", "R@10", "R@100", "MRR@10", "nDCG@10"]
    res = report["resolution"]
    lines = [
        f"{report['evaluated_questions']} of {report['questions']} STARD questions have a gold article that resolves "
        f"({res['resolved_names']}/{res['gold_names']} gold names; {res['resolved_in_index']} found in the index); "
        f"index: {report['index']['current_documents']} current laws "
        f"({report['index']['superseded_documents']} superseded versions left out), "
        f"{report['index']['searchable_chunks']} searchable chunks; embedder {report['embedder']}",
        "",
        "| method | " + " | ".join(cols) + " | R@10 held out |",
        "|---" * (len(cols) + 2) + "|",
    ]
    for m in report["methods"]:
        row = " | ".join(f"{m['metrics'][c]:.3f}" for c in cols)
        held = m["held_out"].get("R@10")
        lines.append(f"| {m['name']} | {row} | {'–' if held is None else f'{held:.3f}'} |")
    return "\n".join(lines)
