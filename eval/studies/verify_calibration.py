"""Calibrate the citation verifier's thresholds on saved model drafts (no generation).

    policyrag eval answers --out /tmp/drafts.json      # once: generates and saves the drafts
    python -m eval.studies.verify_calibration /tmp/drafts.json

Re-verifies every saved draft against the same retrieved sources under a grid of
(threshold, unmarked_threshold) and prints, per setting, the share of in-corpus
questions whose verified answer cites a gold article, the share wrongly abstained,
and the share of out-of-corpus questions that abstain.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from answer.answerer import Answerer
from answer.sources import Source, build_sources
from answer.verify import verify_answer
from indexer.normalise import normalise_query


def sources_for(answerer: Answerer, question: str) -> list[Source]:
    """The numbered sources ``answerer`` shows its model for ``question`` (already normalised)."""
    searcher = answerer.searcher
    results = searcher.rank(searcher.candidates(question, 50, searcher.allowed_rows()), k=answerer.settings.k)
    count = answerer.generator.count_tokens if answerer.generator else len
    return build_sources(
        question, results, terms=answerer._terms, count_tokens=count, budget=answerer.settings.context_tokens
    )


def reverify(answerer: Answerer, rows: list[dict[str, Any]], threshold: float, unmarked: float) -> dict[str, float]:
    """Metrics of the saved drafts under one threshold setting."""
    chunks = {c.chunk_id: c for c in answerer.searcher.index.chunks}
    gold = wrong_abstain = ooc_abstain = n_in = n_out = 0
    for row in rows:
        if not row.get("draft"):
            abstained = True  # the gate (or an empty draft) abstained before verification
            cited: list[str] = []
        else:
            q = normalise_query(row["question"])
            sources = sources_for(answerer, q)
            v = verify_answer(
                row["draft"],
                sources,
                terms=answerer._terms,
                question=q,
                threshold=threshold,
                unmarked_threshold=unmarked,
            )
            abstained = not v.citations
            cited = [chunks[c.chunk_id].unit_citation for c in v.citations]
        if row["kind"] == "in_corpus":
            n_in += 1
            gold += bool(set(cited) & set(row["gold"]))
            wrong_abstain += abstained
        else:
            n_out += 1
            ooc_abstain += abstained
    return {
        "gold_cited": round(gold / max(1, n_in), 3),
        "wrongly_abstained": round(wrong_abstain / max(1, n_in), 3),
        "ooc_abstained": round(ooc_abstain / max(1, n_out), 3),
    }


def main() -> None:
    """Command-line entry point."""
    from policyrag.answering import open_answerer
    from policyrag.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("drafts", type=Path, help="JSON written by: policyrag eval answers --out FILE")
    args = parser.parse_args()
    rows = json.loads(args.drafts.read_text(encoding="utf-8"))["rows"]
    answerer = open_answerer(load_settings(), no_llm=False)
    for threshold in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65):
        for unmarked in (threshold, threshold + 0.05, threshold + 0.1):
            m = reverify(answerer, rows, threshold, round(unmarked, 2))
            print(json.dumps({"threshold": threshold, "unmarked": round(unmarked, 2), **m}), flush=True)


if __name__ == "__main__":
    main()
