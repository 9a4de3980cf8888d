"""Calibrate the retrieval-confidence gate (answer/confidence.py) on the dev set.

    python -m eval.studies.answer_calibration [--index DIR]

For every dev question it computes the gate's signals, then grid-searches the rule's
thresholds: the chosen rule blocks the most out-of-corpus questions while blocking
no in-corpus question (ties: the rule with the widest margin to the nearest in-corpus
question). Prints the signals' ranges and the chosen thresholds as JSON.

Decided with it: the gate's thresholds for e5-small, ``min_dense`` 0.83, ``min_coverage`` 0.15, ``sure_dense``
0.93 (``policyrag/settings.py``: ``abstain_min_dense``, ``abstain_min_coverage``, ``abstain_sure_dense``; the
rule in ``answer/confidence.py``). The output is printed only (no JSON). Re-run it for another embedder.
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from answer.confidence import Confidence, ConfidenceRule, assess
from eval.common.questions import DEFAULT_QUESTIONS, load_questions
from indexer.normalise import normalise_query
from retriever.search import Searcher


def signals(searcher: Searcher, questions_path: Path) -> list[tuple[str, Confidence]]:
    """(kind, signals) for every dev question, with an always-open rule."""
    out = []
    open_rule = ConfidenceRule(0.0, 0.0, 0.0)
    for q in load_questions(questions_path):
        n = normalise_query(q.question)
        cands = searcher.candidates(n, 50)
        top = searcher.rank(cands, k=1)
        conf = assess(n, cands, top[0].text if top else None, terms=searcher.index.tokenizer.terms, rule=open_rule)
        out.append((q.kind, conf))
    return out


def calibrate(rows: list[tuple[str, Confidence]]) -> tuple[ConfidenceRule, dict[str, float]]:
    """Grid search as described in the module docstring."""
    ins = [c for k, c in rows if k == "in_corpus"]
    outs = [c for k, c in rows if k != "in_corpus"]
    best: tuple[tuple[int, float], ConfidenceRule] | None = None
    dense_grid = np.round(np.arange(0.80, 0.95, 0.005), 3)
    cov_grid = np.round(np.arange(0.0, 0.61, 0.05), 2)
    for min_dense, min_cov, sure in itertools.product(dense_grid, cov_grid, (0.93, 0.95, 1.01)):
        rule = ConfidenceRule(float(min_dense), float(min_cov), float(sure))

        def passes(c: Confidence, r: ConfidenceRule = rule) -> bool:
            return c.dense_top >= r.sure_dense or (c.dense_top >= r.min_dense and c.coverage >= r.min_coverage)

        if not all(passes(c) for c in ins):
            continue
        blocked = sum(not passes(c) for c in outs)
        margin = min(
            min((c.dense_top - rule.min_dense for c in ins), default=1.0),
            min((c.coverage - rule.min_coverage for c in ins), default=1.0),
        )
        key = (blocked, margin)
        if best is None or key > best[0]:
            best = (key, rule)
    assert best is not None
    return best[1], {"out_of_corpus_blocked": best[0][0], "out_of_corpus": len(outs), "margin": round(best[0][1], 4)}


def main() -> None:
    """Command-line entry point."""
    from policyrag.common import open_searcher
    from policyrag.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path)
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    args = parser.parse_args()
    searcher = open_searcher(load_settings(index_dir=args.index))
    rows = signals(searcher, args.questions)
    for kind in ("in_corpus", "out_of_corpus"):
        d = [c.dense_top for k, c in rows if k == kind]
        cov = [c.coverage for k, c in rows if k == kind]
        print(
            kind,
            "dense_top min/median/max",
            np.round([min(d), np.median(d), max(d)], 3).tolist(),
            "coverage min/median/max",
            np.round([min(cov), np.median(cov), max(cov)], 3).tolist(),
        )
    rule, stats = calibrate(rows)
    print(json.dumps({"rule": asdict(rule), **stats}))


if __name__ == "__main__":
    main()
