"""Replay saved model drafts through today's answer pipeline: tune the checks after generation without the LLM.

Decided with it: the slot check, value grounding and focus rules of issue 10 (answer/slots.py,
answer/values.py, answer/verify.py) were tuned on the dev set and the *tune* parts of the slot and
near-topic sets by replaying the drafts of one real run; results in eval/reports/*_answers.json come
from real runs (``policyrag eval answers``), never from a replay.

The replay generator answers a question with the draft a real run saved for it and returns the saved
answerability score; a question without a saved draft (it never reached generation before) is
generated for real. Retrieval and the prompt's token budget are the real ones, so sources match.

    python -m eval.studies.answer_replay eval/reports/dev_answers.json [more.json …]
"""

from __future__ import annotations

import argparse
import json
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from answer.answerability import SOURCE_PROMPT
from indexer.normalise import normalise_query
from models.chat import ChatMessage
from models.generators import Generator
from policyrag.answering import open_answerer
from policyrag.settings import Settings


class ReplayGenerator:
    """Saved drafts and answerability scores for known questions; the real model for the rest."""

    def __init__(self, real: Generator, saved: dict[str, dict[str, Any]]) -> None:
        self.real = real
        self.name = real.name
        self.saved = saved  # normalised question → {"draft": str, "question_pmi": float}
        self.replayed = 0

    def count_tokens(self, text: str) -> int:
        return self.real.count_tokens(text)

    def _row(self, text: str) -> dict[str, Any] | None:
        row = self.saved.get(text)
        return row if row and row.get("question_pmi") is not None else None

    def text_logprob(self, prefix: str, text: str) -> float:
        row = self._row(text)
        if row is None:
            return self.real.text_logprob(prefix, text)
        informed = prefix.startswith(SOURCE_PROMPT.split("{", 1)[0])
        return float(row["question_pmi"]) if informed else 0.0

    def generate(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        question = messages[-1].content.rsplit("问题：", 1)[-1]
        row = self._row(question)
        if row is not None and row.get("draft"):
            self.replayed += 1
            yield row["draft"]
            return
        yield from self.real.generate(messages, max_tokens=max_tokens, temperature=temperature, stop=stop)


def main(argv: list[str] | None = None) -> int:
    """Replay each report's rows and print what changed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("-v", "--verbose", action="store_true", help="print every changed row")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    answerer = open_answerer(Settings(), no_llm=False)
    assert answerer.generator is not None, "the replay needs the GGUF for token counts"
    units = {c.chunk_id: c.unit_citation for c in answerer.searcher.index.chunks}
    for path in args.reports:
        rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
        saved = {normalise_query(r["question"]): r for r in rows}
        replay = ReplayGenerator(answerer.generator, saved)
        answerer.generator = replay
        stages: Counter[tuple[str, str]] = Counter()
        ins = [r for r in rows if r["kind"] == "in_corpus"]
        gold = abst = ooc_abst = ooc_partial = 0
        for r in rows:
            result = answerer.ask(r["question"])
            cited = {units[c.chunk_id] for c in result.citations}
            hit = bool(cited & set(r["gold"]))
            stages[(r["kind"], result.stage)] += 1
            if r["kind"] == "in_corpus":
                gold += hit
                abst += result.abstained
            else:
                ooc_abst += result.abstained
                ooc_partial += result.partial is not None
            wrong = not result.abstained if r["kind"] != "in_corpus" else not hit
            if args.verbose and not wrong:
                continue
            if args.verbose:
                print(f"  {r['id']} {r['kind']} {result.stage}: {r['question']}\n     → {result.answer[:160]}")
                print(f"     cited {sorted(cited)} gold {r['gold']}")
        answerer.generator = replay.real
        outs = len(rows) - len(ins)
        print(
            f"{path.name}: gold cited {gold / max(1, len(ins)):.3f}, wrongly abstained {abst / max(1, len(ins)):.3f}, "
            f"ooc abstained {ooc_abst / max(1, outs):.3f} (partial {ooc_partial / max(1, outs):.3f}); "
            f"replayed {replay.replayed} drafts"
        )
        print("  stages:", dict(stages))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
