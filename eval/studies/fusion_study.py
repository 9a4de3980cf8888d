"""Fusion study: which dense/BM25 fusion should be the default?

Decided with it: convex fusion, cosine + 0.05 × BM25 / best BM25 (``policyrag/settings.py``: ``fusion``,
``dense_weight``, ``bm25_weight``), the only setting at or above dense alone on every metric of both question
sets. Results: ``eval/reports/fusion_study_dev.json`` and ``eval/reports/fusion_study_stard.json``, summarised in
the README's "Choosing the fusion". The weight is tied to e5-small's narrow cosine spread: re-run this study
for another embedder.

Two steps, both runnable as ``python -m eval.studies.fusion_study``:

1. ``--make-subset LAWS_DIR --subset-dir DIR``: pick a fixed random sample of STARD
   questions, the laws their gold names point at (newest dated version) plus random
   distractor laws until the subset holds about ``--target-chunks`` chunks, and symlink
   those files into ``DIR`` (then build it with ``indexer.build.build_index``).
2. ``--questions FILE --index DIR``: evaluate dense alone, BM25 alone and a grid of
   RRF / convex fusions on one index. Each question is embedded once; every config
   fuses the same candidate lists. ``--questions`` is a STARD file, or with
   ``--dev`` the policy dev set (in-corpus questions, gold = citation strings).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from eval.common.law_subset import read_law_file, select_subset
from eval.common.metrics import RECALL_KS, ranked_units, score_ranking
from eval.common.questions import EvalQuestion, load_dev
from eval.common.statutes import load_stard, resolution_report, stard_eval_questions

logger = logging.getLogger(__name__)

DEPTH = 100


# ---------------------------------------------------------------- configurations


@dataclass(frozen=True)
class Method:
    """One ranking to evaluate: ``dense``, ``bm25`` or a fusion config."""

    name: str
    kind: str  # dense | bm25 | rrf | convex
    dense_weight: float = 1.0
    bm25_weight: float = 0.0
    rrf_k: int = 60


def default_methods() -> list[Method]:
    """The grid of the study."""
    methods = [Method("dense", "dense"), Method("bm25", "bm25")]
    for w in (1.0, 0.5, 0.3):
        methods.append(Method(f"rrf(1,{w:g})", "rrf", 1.0, w))
    for w in (0.1, 0.2, 0.3, 0.5, 0.8):
        methods.append(Method(f"convex(1,{w:g})", "convex", 1.0, w))
    # Added after the first run showed the best convex weight below 0.1 (post hoc: not held out).
    for w in (0.03, 0.05, 0.07):
        methods.append(Method(f"convex(1,{w:g})", "convex", 1.0, w))
    return methods


# ---------------------------------------------------------------- subset folder


def make_subset(args: argparse.Namespace) -> int:
    """CLI step 1: write the symlinked subset folder and a ``subset.json`` description beside it."""
    questions = load_stard(args.questions)
    files = [read_law_file(p) for p in sorted(Path(args.make_subset).rglob("*.md")) if p.name not in set(args.exclude)]
    sampled, gold_keys, distractors, groups = select_subset(
        questions, files, sample=args.sample, target_chunks=args.target_chunks, max_chunks=args.max_chunks
    )
    out: Path = args.subset_dir
    out.mkdir(parents=True, exist_ok=True)
    chosen = [f for k in [*gold_keys, *distractors] for f in groups[k]]
    for f in chosen:
        link = out / f.path.name
        if link.exists() or link.is_symlink():
            raise SystemExit(f"{link} exists (two chosen files share a name?); use an empty --subset-dir")
        link.symlink_to(f.path.resolve())
    info = {
        "sample": len(sampled),
        "seed": 0,
        "excluded": list(args.exclude),
        "question_ids": [q.id for q in sampled],
        "gold_laws": len(gold_keys),
        "distractor_laws": len(distractors),
        "files": len(chosen),
        "estimated_chunks": sum(f.est_chunks for f in chosen),
        "gold_files": [f.path.name for k in gold_keys for f in groups[k]],
        "distractor_files": [f.path.name for k in distractors for f in groups[k]],
    }
    (out.parent / f"{out.name}.json").write_text(json.dumps(info, ensure_ascii=False, indent=1), "utf-8")
    print(json.dumps({k: v for k, v in info.items() if not isinstance(v, list)}, ensure_ascii=False))
    return 0


# ---------------------------------------------------------------- evaluation


def rank_rows(method: Method, dense: tuple[np.ndarray, np.ndarray], bm25: tuple[np.ndarray, np.ndarray]) -> list[int]:
    """Rows ranked by ``method`` from the raw candidate lists."""
    from retriever.fusion import FusionConfig, fuse

    if method.kind == "dense":
        return [int(r) for r in dense[1] if r >= 0]
    if method.kind == "bm25":
        return [int(r) for r in bm25[1]]
    config = FusionConfig(method.kind, method.dense_weight, method.bm25_weight, method.rrf_k)
    return [row for row, _ in fuse(config, dense, bm25)]


def per_question_scores(
    questions: Sequence[EvalQuestion],
    candidates: Callable[[str], tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]],
    unit_of_row: Callable[[int], str],
    methods: Sequence[Method],
) -> dict[str, dict[str, list[float]]]:
    """Per-question metric values, by method then metric; ``candidates`` is called once per question."""
    scores: dict[str, dict[str, list[float]]] = {m.name: defaultdict(list) for m in methods}
    for q in questions:
        dense, bm25 = candidates(q.question)
        for m in methods:
            ranked = ranked_units(rank_rows(m, dense, bm25), lambda r: (unit_of_row(r),))
            for name, value in score_ranking(ranked, q.gold).items():
                scores[m.name][name].append(value)
    return scores


def evaluate(
    questions: Sequence[EvalQuestion],
    candidates: Callable[[str], tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]],
    unit_of_row: Callable[[int], str],
    methods: Sequence[Method],
) -> dict[str, dict[str, float]]:
    """Mean metrics per method."""
    scores = per_question_scores(questions, candidates, unit_of_row, methods)
    return {m: {k: round(float(np.mean(v)), 4) for k, v in s.items()} for m, s in scores.items()}


def paired_delta(a: Sequence[float], b: Sequence[float], *, resamples: int = 2000, seed: int = 0) -> dict[str, float]:
    """Mean of ``a - b`` with a 95% paired-bootstrap interval, and win/loss counts."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if diff.size == 0:
        return {"delta": 0.0, "lo": 0.0, "hi": 0.0, "wins": 0, "losses": 0}
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, size=(resamples, diff.size))].mean(axis=1)
    return {
        "delta": round(float(diff.mean()), 4),
        "lo": round(float(np.percentile(means, 2.5)), 4),
        "hi": round(float(np.percentile(means, 97.5)), 4),
        "wins": int((diff > 0).sum()),
        "losses": int((diff < 0).sum()),
    }


def compare_to(
    scores: dict[str, dict[str, list[float]]], baseline: str, metrics: Sequence[str]
) -> dict[str, dict[str, dict[str, float]]]:
    """Paired deltas of every method against ``baseline`` for the given metrics."""
    return {
        m: {k: paired_delta(s[k], scores[baseline][k]) for k in metrics} for m, s in scores.items() if m != baseline
    }


def run_eval(args: argparse.Namespace) -> int:
    """CLI step 2: evaluate every method on one index and write the JSON report."""
    from indexer.normalise import normalise_query
    from models.embedders import create_embedder
    from retriever.search import Searcher
    from retriever.store import load_index

    index = load_index(args.index)
    embedder = create_embedder(index.manifest.embedder, models_dir=args.models_dir)
    searcher = Searcher(index, embedder)
    chunks = index.chunks

    def unit_of_row(row: int) -> str:
        return chunks[row].unit_citation

    units = {unit_of_row(i) for i in range(len(chunks))}
    report: dict[str, object] = {
        "index": str(args.index),
        "embedder": index.manifest.embedder,
        "index_counts": index.manifest.counts,
        "depth": DEPTH,
    }
    sets: dict[str, list[EvalQuestion]] = {}
    if args.dev:
        qs = load_dev(args.questions)
        missing = sorted({g for q in qs for g in q.gold if g not in units})
        report.update(questions=len(qs), gold_names=sum(len(q.gold) for q in qs), gold_not_in_index=missing)
        sets["main"] = qs
    else:
        all_q = load_stard(args.questions)
        sampled = random.Random(0).sample(all_q, args.sample) if args.sample < len(all_q) else all_q
        titles = [d.title for d in index.documents]
        res = resolution_report(sampled, titles)
        present, resolved_q, counts = stard_eval_questions(sampled, titles, units)
        report.update(
            sample=len(sampled),
            sample_seed=0,
            gold_names=res.gold_names,
            resolved_gold_names=res.resolved_names,
            questions_any_gold_resolved=res.questions_any_resolved,
            questions_all_gold_resolved=res.questions_all_resolved,
            resolved_names_in_index=counts["names_in_index"],
            questions_with_gold_in_index=len(present),
            unknown_titles=res.unknown_titles[:30],
            missing_units=sorted({g for q in resolved_q for g in q.gold if g not in units})[:200],
        )
        sets["main"] = present
        sets["title_resolved"] = resolved_q

    cache: dict[str, tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]] = {}

    def candidates(question: str) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        if question not in cache:
            c = searcher.candidates(normalise_query(question), DEPTH)
            cache[question] = (c.dense, c.bm25)
        return cache[question]

    methods = default_methods()
    started = time.perf_counter()
    per_q = {name: per_question_scores(qs, candidates, unit_of_row, methods) for name, qs in sets.items()}
    results = {
        name: {m: {k: round(float(np.mean(v)), 4) for k, v in s.items()} for m, s in table.items()}
        for name, table in per_q.items()
    }
    report["vs_dense"] = {
        name: compare_to(table, "dense", ("R@10", "nDCG@10", "MRR@10")) for name, table in per_q.items()
    }
    report["evaluated_questions"] = {name: len(qs) for name, qs in sets.items()}
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["methods"] = [asdict(m) for m in methods]
    report["results"] = results
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    for name, table in results.items():
        print(f"\n[{name}] n={len(sets[name])}")
        print(format_table(table))
    return 0


def format_table(table: dict[str, dict[str, float]]) -> str:
    """Markdown table: one row per method."""
    cols = [f"R@{k}" for k in RECALL_KS] + ["MRR@10", "nDCG@10"]
    lines = ["| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in table.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[c]:.3f}" for c in cols) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(prog="python -m eval.studies.fusion_study", description=__doc__.split("\n\n")[0])
    p.add_argument("--questions", type=Path, required=True)
    p.add_argument("--index", type=Path, help="index folder to evaluate")
    p.add_argument("--sample", type=int, default=300, help="STARD questions sampled with seed 0")
    p.add_argument("--dev", action="store_true", help="questions are the policy dev set (in-corpus only)")
    p.add_argument("--out", type=Path, default=Path("eval/reports/fusion_study_stard.json"))
    p.add_argument("--models-dir", type=Path, default=Path("models"))
    p.add_argument("--make-subset", metavar="LAWS_DIR", help="write the subset folder instead of evaluating")
    p.add_argument("--subset-dir", type=Path, default=Path("/tmp/stard_subset"))
    p.add_argument("--target-chunks", type=int, default=9000)
    p.add_argument("--max-chunks", type=int, default=9800)
    p.add_argument(
        "--exclude",
        action="append",
        default=["导弹及相关物项和技术出口管制条例(2002-08-22).md"],
        help="law file name to leave out (default: one that crashes chunking.chinese_number)",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.make_subset:
        return make_subset(args)
    if args.index is None:
        p.error("--index is required unless --make-subset is given")
    return run_eval(args)


if __name__ == "__main__":
    sys.exit(main())
