"""Calibrate the answerability threshold (answer/answerability.py) on saved drafts.

    POLICYRAG_ABSTAIN_MIN_PMI=-1000 policyrag eval answers --out /tmp/drafts.json   # once: every draft
    python -m eval.pmi_calibration /tmp/drafts.json

The drafts file must come from a run with the threshold switched off, so that every question
past the retrieval gate has a draft and a recorded ``question_pmi``. For each candidate
threshold the script replays the answering rule without generating: below the threshold the
question abstains; above it the draft is verified, and when no claim survives (and the model
did not refuse) the sources are quoted. It prints, per threshold, the share of in-corpus
questions citing a gold article, the share wrongly abstained, the share of out-of-corpus
questions abstained, and the AUC of the PMI between in- and out-of-corpus questions.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from answer.answerer import Answerer, verify_or_quote
from eval.verify_calibration import sources_for
from indexer.normalise import normalise_query

THRESHOLDS = (-1000.0, 0.0, 2.0, 4.0, 6.0, 8.0, 9.0, 10.0, 11.0, 12.0, 14.0, 16.0)


@dataclass(frozen=True)
class Replayed:
    """One saved question: its kind, gold units, PMI, and the units the answer would cite if not gated."""

    kind: str
    gold: frozenset[str]
    pmi: float | None  # None: abstained at the retrieval gate (no draft)
    cited: frozenset[str]


def replay(answerer: Answerer, rows: list[dict[str, Any]]) -> list[Replayed]:
    """Verify every saved draft (quoting the sources when nothing survives and the model did not refuse)."""
    chunks = {c.chunk_id: c for c in answerer.searcher.index.chunks}
    out = []
    for row in rows:
        pmi = row.get("question_pmi")
        cited: frozenset[str] = frozenset()
        if pmi is not None:
            q = normalise_query(row["question"])
            sources = sources_for(answerer, q)
            verified = verify_or_quote(
                row["draft"], sources, question=q, terms=answerer._terms, places=answerer._places
            )
            cited = frozenset(chunks[c.chunk_id].unit_citation for c in verified.citations)
        out.append(Replayed(row["kind"], frozenset(row["gold"]), pmi, cited))
    return out


def metrics(replayed: list[Replayed], threshold: float) -> dict[str, float]:
    """Answer metrics if questions below ``threshold`` abstained."""

    def answered(r: Replayed) -> frozenset[str]:
        return r.cited if r.pmi is not None and r.pmi >= threshold else frozenset()

    ins = [r for r in replayed if r.kind == "in_corpus"]
    outs = [r for r in replayed if r.kind != "in_corpus"]
    return {
        "threshold": threshold,
        "gold_cited": round(sum(bool(answered(r) & r.gold) for r in ins) / max(1, len(ins)), 3),
        "wrongly_abstained": round(sum(not answered(r) for r in ins) / max(1, len(ins)), 3),
        "ooc_abstained": round(sum(not answered(r) for r in outs) / max(1, len(outs)), 3),
    }


def auc(replayed: list[Replayed]) -> float:
    """P(an in-corpus question's PMI > an out-of-corpus one's), over questions past the retrieval gate."""
    ins = [r.pmi for r in replayed if r.kind == "in_corpus" and r.pmi is not None]
    outs = [r.pmi for r in replayed if r.kind != "in_corpus" and r.pmi is not None]
    pairs = [(i > o) + 0.5 * (i == o) for i in ins for o in outs]
    return sum(pairs) / len(pairs) if pairs else float("nan")


def main() -> None:
    """Command-line entry point."""
    from policyrag.answering import open_answerer
    from policyrag.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("drafts", type=Path, help="JSON from: POLICYRAG_ABSTAIN_MIN_PMI=-1000 policyrag eval answers")
    args = parser.parse_args()
    rows = json.loads(args.drafts.read_text(encoding="utf-8"))["rows"]
    if any(r.get("draft") and r.get("question_pmi") is None for r in rows):
        raise SystemExit(f"{args.drafts}: rows without question_pmi; re-run the eval with this version")
    if any(r.get("question_pmi") is not None and r.get("first_token_ms") is None for r in rows):
        raise SystemExit(
            f"{args.drafts}: some questions abstained on PMI without a draft; re-run the eval with "
            "POLICYRAG_ABSTAIN_MIN_PMI=-1000"
        )
    replayed = replay(open_answerer(load_settings(), no_llm=False), rows)
    print(json.dumps({"auc": round(auc(replayed), 3)}))
    for threshold in THRESHOLDS:
        print(json.dumps(metrics(replayed, threshold)), flush=True)


if __name__ == "__main__":
    main()
