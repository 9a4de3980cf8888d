"""Query-side levers for lay questions over statutes (issue 12, part 3): a learned linear adapter on query
embeddings, and pseudo-relevance feedback, measured on STARD questions they never saw.

Decided with it: the adapter is shipped (``retriever/adapters/stard-<embedder>.npz``, opt-in setting
``query_adapter``); pseudo-relevance feedback is reported and not shipped unless its CI is above 0. Results:
``eval/reports/query_adapter_study.json`` and the README's "Lay questions over statutes".

Splits (seeded, printed in the report): ``tune`` = the 300 questions the fusion weight was tuned on
(``eval.suites.statute_bench.tuning_ids``); ``rest`` = the other resolved questions. Experiment A trains on
``tune`` and is scored on all of ``rest``; experiment B (the shipped adapter) trains on ``tune`` plus a seeded
half of ``rest`` and is scored on the other half. Hyper-parameters are chosen by 5-fold cross-validation
inside each training set only.

Training: ``W`` (dim × dim, from the identity) maps a question's vector; loss = multi-positive InfoNCE of the
question against its gold chunks and its top-100 non-gold dense candidates (hard negatives), plus
``l2 · ‖W − I‖²``. Scoring: exact dense top-100 over current laws fused with the product's BM25 candidates by
the product's fusion, chunks → distinct articles, R@10 (mean capped recall); gains with a paired bootstrap 95%
CI (2,000 resamples).

    python -m eval.studies.query_adapter --index DIR [--stard FILE] [--out JSON] [--ship NAME]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.common.metrics import ranked_units, recall_at_k
from eval.common.questions import EvalQuestion
from eval.common.statutes import load_stard, stard_eval_questions
from eval.suites.statute_bench import tuning_ids
from indexer.lawmeta import SUPERSEDED
from indexer.normalise import normalise_query
from retriever.adapter import ADAPTER_DIR, QueryAdapter
from retriever.fusion import FusionConfig, fuse

logger = logging.getLogger(__name__)

DEPTH = 100
GRID: tuple[dict[str, Any], ...] = (
    {"l2": 0.1, "epochs": 60},
    {"l2": 0.03, "epochs": 60},
    {"l2": 0.01, "epochs": 100},
    {"l2": 0.003, "epochs": 100},
)
TEMPERATURE = 0.05
STARD = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "stard" / "train.jsonl"


@dataclass
class StudyData:
    """Everything the levers are scored on, computed once: vectors, gold rows, BM25 candidates."""

    questions: list[EvalQuestion]
    queries: np.ndarray  # (n, dim) unit question vectors
    docs: np.ndarray  # (rows, dim) unit chunk vectors of current laws
    rows: np.ndarray  # index row of each docs row
    unit_of_row: list[str]  # unit citation per index row
    gold_rows: list[np.ndarray]  # per question: positions in docs of gold chunks
    bm25: list[tuple[np.ndarray, np.ndarray]]  # per question: (scores, index rows)
    fusion: FusionConfig


def load_data(index_dir: Path, stard: Path, models_dir: Path) -> StudyData:
    """Embed every resolved STARD question and collect gold rows and BM25 candidates over current laws."""
    from models.embedders import create_embedder
    from retriever.store import load_index

    index = load_index(index_dir)
    embedder = create_embedder(index.manifest.embedder, models_dir=models_dir)
    current_docs = [d for d in index.documents if d.status != SUPERSEDED]
    current_ids = {d.doc_id for d in current_docs}
    units = {c.unit_citation for c in index.chunks}
    _, questions, _ = stard_eval_questions(load_stard(stard), [d.title for d in current_docs], units)
    allowed = np.array([c.doc_id in current_ids for c in index.chunks])
    rows = np.flatnonzero(allowed)
    docs = index.dense.vectors()[rows]
    unit_of_row = [c.unit_citation for c in index.chunks]
    position = {int(r): i for i, r in enumerate(rows)}
    texts = [normalise_query(q.question) for q in questions]
    queries = embedder.encode_queries(texts)
    gold_rows = []
    for q in questions:
        gold = set(q.gold)
        gold_rows.append(np.array([position[int(r)] for r in rows if unit_of_row[r] in gold], dtype=np.int64))
    bm25 = [index.bm25.search(index.tokenizer.terms(t), DEPTH, allowed=allowed) for t in texts]
    return StudyData(questions, queries, docs, rows, unit_of_row, gold_rows, bm25, FusionConfig())


def recall10(data: StudyData, queries: np.ndarray, which: Sequence[int]) -> np.ndarray:
    """Per-question hybrid R@10 (exact dense top-100 fused with the BM25 candidates) for question indices ``which``."""
    out = np.zeros(len(which))
    for n, i in enumerate(which):
        scores = data.docs @ queries[i]
        top = np.argpartition(-scores, DEPTH)[:DEPTH]
        top = top[np.argsort(-scores[top])]
        dense = (scores[top].astype(np.float32), data.rows[top])
        ranked = [row for row, _ in fuse(data.fusion, dense, data.bm25[i])]
        units = ranked_units(ranked, lambda r: (data.unit_of_row[r],))
        out[n] = recall_at_k(units, data.questions[i].gold, 10)
    return out


def _negatives(data: StudyData, which: Sequence[int], count: int = DEPTH) -> list[np.ndarray]:
    negs = []
    for i in which:
        scores = data.docs @ data.queries[i]
        top = np.argpartition(-scores, count + 20)[: count + 20]
        top = top[np.argsort(-scores[top])]
        gold = set(data.gold_rows[i].tolist())
        negs.append(np.array([t for t in top if t not in gold][:count]))
    return negs


def train_adapter(data: StudyData, which: Sequence[int], *, l2: float, epochs: int, seed: int = 0) -> np.ndarray:
    """Fit ``W`` on questions ``which`` (those with at least one gold chunk); returns a float32 matrix."""
    import torch

    torch.manual_seed(seed)
    usable = [i for i in which if len(data.gold_rows[i])]
    negs = _negatives(data, usable)
    width = DEPTH + max(len(data.gold_rows[i]) for i in usable)
    # Candidates per question, padded: gold rows first (is_pos), then hard negatives; padding masked out.
    cand = np.zeros((len(usable), width), dtype=np.int64)
    is_pos = np.zeros((len(usable), width), dtype=bool)
    valid = np.zeros((len(usable), width), dtype=bool)
    for n, (i, neg) in enumerate(zip(usable, negs, strict=True)):
        row = np.concatenate([data.gold_rows[i], neg])
        cand[n, : len(row)] = row
        is_pos[n, : len(data.gold_rows[i])] = True
        valid[n, : len(row)] = True
    docs = torch.from_numpy(data.docs)
    queries = torch.from_numpy(data.queries[usable])
    cand_t, pos_t, valid_t = torch.from_numpy(cand), torch.from_numpy(is_pos), torch.from_numpy(valid)
    eye = torch.eye(docs.shape[1])
    w = torch.nn.Parameter(eye.clone())
    opt = torch.optim.Adam([w], lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for batch in torch.randperm(len(usable), generator=generator).split(64):
            q = torch.nn.functional.normalize(queries[batch] @ w.T, dim=1)
            logits = torch.einsum("bcd,bd->bc", docs[cand_t[batch]], q) / TEMPERATURE
            logits = logits.masked_fill(~valid_t[batch], -1e9)
            positive = logits.masked_fill(~pos_t[batch], -1e9)
            loss = (torch.logsumexp(logits, 1) - torch.logsumexp(positive, 1)).mean()
            loss = loss + l2 * ((w - eye) ** 2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return w.detach().numpy().astype(np.float32)


def adapted(data: StudyData, matrix: np.ndarray) -> np.ndarray:
    """The question vectors through ``matrix``, normalised."""
    out = data.queries @ matrix.T
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def prf(data: StudyData, alpha: float, k: int = 5) -> np.ndarray:
    """Pseudo-relevance feedback: each question moved towards the mean of its top-``k`` dense chunks."""
    out = np.empty_like(data.queries)
    for i, q in enumerate(data.queries):
        scores = data.docs @ q
        top = np.argpartition(-scores, k)[:k]
        v = q + alpha * data.docs[top].mean(axis=0)
        out[i] = v / np.linalg.norm(v)
    return out


def choose(data: StudyData, train: Sequence[int], *, folds: int = 5, seed: int = 0) -> dict[str, Any]:
    """The grid point with the best mean R@10 over ``folds`` folds of ``train`` (cross-validation inside it)."""
    shuffled = list(train)
    random.Random(seed).shuffle(shuffled)
    parts = [shuffled[f::folds] for f in range(folds)]
    best: dict[str, Any] = {}
    for params in GRID:
        scores = []
        for f in range(folds):
            fit = [i for g, part in enumerate(parts) if g != f for i in part]
            w = train_adapter(data, fit, l2=params["l2"], epochs=params["epochs"])
            scores.append(recall10(data, adapted(data, w), parts[f]).mean())
        mean = float(np.mean(scores))
        logger.info("cv %s → R@10 %.4f", params, mean)
        if not best or mean > best["cv_r10"]:
            best = {**params, "cv_r10": round(mean, 4)}
    return best


def bootstrap(base: np.ndarray, new: np.ndarray, *, resamples: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Mean gain of ``new`` over ``base`` (paired, per question) with a 95% bootstrap interval."""
    diff = new - base
    rng = np.random.default_rng(seed)
    means = np.array([diff[rng.integers(0, len(diff), len(diff))].mean() for _ in range(resamples)])
    return {
        "base": round(float(base.mean()), 4),
        "new": round(float(new.mean()), 4),
        "gain": round(float(diff.mean()), 4),
        "ci95": [round(float(np.percentile(means, 2.5)), 4), round(float(np.percentile(means, 97.5)), 4)],
        "questions": len(diff),
    }


def run(data: StudyData, stard_questions: Sequence[Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Both experiments and the PRF lever; returns the report and the trained matrices."""
    tuned = tuning_ids(stard_questions)
    tune = [i for i, q in enumerate(data.questions) if q.id in tuned]
    rest = [i for i, q in enumerate(data.questions) if q.id not in tuned]
    half = set(random.Random(1).sample(rest, len(rest) // 2))
    train_b = tune + sorted(half)
    unseen_b = [i for i in rest if i not in half]
    report: dict[str, Any] = {
        "splits": {
            "tune": len(tune),
            "rest": len(rest),
            "train_b": len(train_b),
            "unseen_b": len(unseen_b),
            "seeds": "tune: seed 0 (fusion study); half: seed 1",
        }
    }
    base_rest = recall10(data, data.queries, rest)
    alphas = {a: recall10(data, prf(data, a), tune).mean() for a in (0.1, 0.3, 0.5)}
    alpha = max(alphas, key=lambda a: alphas[a])
    report["prf"] = {
        "alpha_by_tune": {str(a): round(float(v), 4) for a, v in alphas.items()},
        "alpha": alpha,
        "held_out": bootstrap(base_rest, recall10(data, prf(data, alpha), rest)),
    }
    matrices = {}
    for name, train, test in (("A", tune, rest), ("B", train_b, unseen_b)):
        params = choose(data, train)
        w = train_adapter(data, train, l2=params["l2"], epochs=params["epochs"])
        matrices[name] = w
        report[f"adapter_{name}"] = {
            "trained_on": len(train),
            "params": params,
            "held_out": bootstrap(recall10(data, data.queries, test), recall10(data, adapted(data, w), test)),
        }
        logger.info("adapter %s: %s", name, report[f"adapter_{name}"])
    return report, matrices


def main(argv: Sequence[str] | None = None) -> int:
    """CLI of the study."""
    parser = argparse.ArgumentParser(prog="python -m eval.studies.query_adapter", description=__doc__.split("\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="an index of the law collection")
    parser.add_argument("--stard", type=Path, default=STARD)
    parser.add_argument("--models-dir", type=Path, default=Path(__file__).resolve().parents[2] / "models")
    parser.add_argument("--out", type=Path, default=Path("eval/reports/query_adapter_study.json"))
    parser.add_argument("--ship", help="write experiment B's adapter as retriever/adapters/NAME.npz")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    stard = load_stard(args.stard)
    data = load_data(args.index, args.stard, args.models_dir)
    report, matrices = run(data, stard)
    from retriever.store import read_manifest

    embedder = read_manifest(args.index).embedder
    report["embedder"] = embedder
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.ship:
        tuned = tuning_ids(stard)
        trained = [q.id for q in data.questions if q.id in tuned] + _half_ids(data, tuned)
        QueryAdapter(
            args.ship,
            embedder,
            matrices["B"],
            tuple(trained),
            notes=f"STARD experiment B, params {report['adapter_B']['params']}",
        ).save(ADAPTER_DIR / f"{args.ship}.npz")
    print(json.dumps(report, indent=1, ensure_ascii=False))
    return 0


def _half_ids(data: StudyData, tuned: set[str]) -> list[str]:
    # The same seeded half of ``rest`` as ``run`` draws for experiment B.
    rest = [i for i, q in enumerate(data.questions) if q.id not in tuned]
    return [data.questions[i].id for i in sorted(random.Random(1).sample(rest, len(rest) // 2))]


if __name__ == "__main__":
    sys.exit(main())
