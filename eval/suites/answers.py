"""Answer evaluation: gold citations, citation precision, abstention, partial answers, grounded values, latency.

policyrag eval answers [--questions FILE] [--split tune|blind] [--no-llm] [--limit N] [--out FILE.json]

``values_ungrounded`` is checked on the final output, independently of the verifier: every sentence
shown with a ``[n]`` marker is re-read and each number, date, organisation, person, place and web
address in it must stand in the quotes it cites (answer/values.py). It must be 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from answer.answerer import Answerer, AnswerResult
from answer.values import ungrounded
from answer.verify import split_claims
from eval.common.metrics import percentile
from eval.common.questions import load_questions


@dataclass(frozen=True)
class AnswerReport:
    """Aggregates of one answer-evaluation run."""

    model: str
    in_corpus: int
    out_of_corpus: int
    gold_cited: float  # share of in-corpus questions whose answer cites a gold article
    wrongly_abstained: float  # share of in-corpus questions that abstained
    citation_precision: float  # share of citations whose quote is in the cited unit's text
    outside_retrieved: int  # citations to units not in the retrieved set (must be 0)
    ooc_abstained: float  # share of out-of-corpus questions that abstained
    ooc_partial: float  # share of out-of-corpus questions answered with a partial answer (abstained)
    partial_on_topic: float | None  # near-topic sets: share of partial answers citing a unit on the topic
    unsupported_removed: int  # sentences removed by verification, all questions
    values_ungrounded: int  # shown sentences holding a value their cited quotes do not hold (must be 0)
    latency_ms: dict[str, float | None]
    rows: tuple[dict[str, Any], ...]
    split: str = ""  # the part of the question file evaluated ("" = all)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def _p(values: list[float], q: float) -> float | None:
    return round(percentile(values, q), 1) if values else None


def ungrounded_sentences(answerer: Answerer, result: AnswerResult) -> list[str]:
    """Shown sentences with a value that none of their cited quotes (or citations) holds."""
    by_n = {c.n: c for c in result.citations}
    tokenizer = answerer.searcher.index.tokenizer
    bad = []
    for claim in split_claims(result.answer):
        cited = [by_n[n] for n in claim.markers if n in by_n]
        if not cited:
            continue
        haystack = "\n".join(c.citation + c.quote for c in cited)
        if ungrounded(claim.text, haystack, cut=tokenizer.cut, tagger=tokenizer.tag):
            bad.append(claim.text)
    return bad


def evaluate_answers(
    answerer: Answerer,
    questions_path: Path,
    *,
    no_llm: bool = False,
    limit: int | None = None,
    split: str | None = None,
) -> AnswerReport:
    """Ask every question (in- and out-of-corpus; only ``split`` when given) and score the answers."""
    questions = load_questions(questions_path)
    if split:
        questions = [q for q in questions if q.split == split]
    if limit:
        ins = [q for q in questions if q.kind == "in_corpus"][:limit]
        outs = [q for q in questions if q.kind != "in_corpus"][: max(1, limit // 4)]
        questions = ins + outs
    chunks = {c.chunk_id: c for c in answerer.searcher.index.chunks}
    rows: list[dict[str, Any]] = []
    precise = total_citations = outside = 0
    for q in questions:
        result = answerer.ask(q.question, no_llm=no_llm)
        cited_units = []
        for c in result.citations:
            chunk = chunks[c.chunk_id]
            cited_units.append(chunk.unit_citation)
            total_citations += 1
            precise += c.quote in chunk.text
            outside += c.chunk_id not in result.retrieved
        rows.append(
            {
                "id": q.id,
                "kind": q.kind,
                "question": q.question,
                "gold": list(q.gold),
                "answer": result.answer,
                "draft": result.draft,
                "abstained": result.abstained,
                "cited": cited_units,
                "gold_cited": bool(set(cited_units) & set(q.gold)),
                "unsupported": list(result.unsupported),
                "partial": result.partial.to_dict() if result.partial else None,
                "partial_on_topic": (
                    bool({chunks[c.chunk_id].unit_citation for c in result.partial.related} & set(q.topic_units))
                    if result.partial and q.topic_units
                    else None
                ),
                "stage": result.stage,
                "type": q.type,
                "ungrounded": ungrounded_sentences(answerer, result),
                "dense_top": result.confidence.dense_top if result.confidence else None,
                "coverage": result.confidence.coverage if result.confidence else None,
                "question_pmi": None if result.question_pmi is None else round(result.question_pmi, 3),
                "took_ms": round(result.took_ms, 1),
                "first_token_ms": result.first_token_ms,
            }
        )
    ins_rows = [r for r in rows if r["kind"] == "in_corpus"]
    out_rows = [r for r in rows if r["kind"] != "in_corpus"]
    generated = [r for r in rows if r["first_token_ms"] is not None]
    return AnswerReport(
        model=answerer.generator.name if answerer.generator and not no_llm else "extractive",
        in_corpus=len(ins_rows),
        out_of_corpus=len(out_rows),
        gold_cited=float(np.mean([r["gold_cited"] for r in ins_rows])) if ins_rows else 0.0,
        wrongly_abstained=float(np.mean([r["abstained"] for r in ins_rows])) if ins_rows else 0.0,
        citation_precision=precise / total_citations if total_citations else 1.0,
        outside_retrieved=outside,
        ooc_abstained=float(np.mean([r["abstained"] for r in out_rows])) if out_rows else 0.0,
        ooc_partial=float(np.mean([r["partial"] is not None for r in out_rows])) if out_rows else 0.0,
        partial_on_topic=(
            float(np.mean([r["partial_on_topic"] for r in rows if r["partial_on_topic"] is not None]))
            if any(r["partial_on_topic"] is not None for r in rows)
            else None
        ),
        unsupported_removed=sum(len(r["unsupported"]) for r in rows),
        values_ungrounded=sum(len(r["ungrounded"]) for r in rows),
        split=split or "",
        latency_ms={
            "first_token_p50": _p([r["first_token_ms"] for r in generated], 50),
            "first_token_p95": _p([r["first_token_ms"] for r in generated], 95),
            "total_p50": _p([r["took_ms"] for r in rows if not r["abstained"]], 50),
            "total_p95": _p([r["took_ms"] for r in rows if not r["abstained"]], 95),
        },
        rows=tuple(rows),
    )


def format_answer_table(report: AnswerReport) -> str:
    """Markdown summary."""
    lat = report.latency_ms
    return "\n".join(
        [
            f"model {report.model}; {report.in_corpus} in-corpus and {report.out_of_corpus} out-of-corpus questions",
            "",
            "| gold article cited | wrongly abstained | citation precision | citations outside retrieved set "
            "| out-of-corpus abstained | of which partial | unsupported sentences removed | values ungrounded |",
            "|---|---|---|---|---|---|---|---|",
            f"| {report.gold_cited:.3f} | {report.wrongly_abstained:.3f} | {report.citation_precision:.3f} "
            f"| {report.outside_retrieved} | {report.ooc_abstained:.3f} | {report.ooc_partial:.3f} "
            f"| {report.unsupported_removed} | {report.values_ungrounded} |",
            "",
            f"latency: first token p50 {lat['first_token_p50']} ms, p95 {lat['first_token_p95']} ms; "
            f"whole answer p50 {lat['total_p50']} ms, p95 {lat['total_p95']} ms",
        ]
    )
