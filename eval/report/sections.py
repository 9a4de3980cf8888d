"""Markdown sections of the benchmark report, one pure function per evaluation JSON.

Every function takes the loaded JSON (or None with the reason it is missing) and returns Markdown; nothing here
reads files. ``level`` is the heading level of the section (2 in benchmark.md, 3 inside the README).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

METRICS = ("R@1", "R@5", "R@10", "R@100", "MRR@10", "nDCG@10")
Report = Mapping[str, Any]


def num(x: float | None, digits: int = 3) -> str:
    """A metric with ``digits`` decimals, or an en dash when absent."""
    return "–" if x is None else f"{x:.{digits}f}"


def ms(x: float | None) -> str:
    """A latency: ``23 ms``, ``4.7 s`` from 1 s up."""
    if x is None:
        return "–"
    return f"{x / 1000:.1f} s" if x >= 1000 else f"{x:.0f} ms" if x >= 10 else f"{x:.1f} ms"


def secs(x: float | None) -> str:
    """A duration: ``0.8 s``, ``47 s``, ``12.5 min`` from 2 min up."""
    if x is None:
        return "–"
    if x >= 120:
        return f"{x / 60:.1f} min"
    return f"{x:.0f} s" if x >= 10 else f"{x:.1f} s"


def mb(x: float | None) -> str:
    """A size in MB; GB from 1,000 MB up."""
    if x is None:
        return "–"
    return f"{x / 1024:.2f} GB" if x >= 1000 else f"{x:.1f} MB" if x < 100 else f"{x:.0f} MB"


def heading(level: int, text: str) -> str:
    """A Markdown heading."""
    return f"{'#' * level} {text}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def not_run(level: int, title: str, reason: str) -> str:
    """The section of an evaluation whose results are missing."""
    return f"{heading(level, title)}\n\nnot run ({reason})"


def metric_rows(methods: Sequence[Report], *, with_items: bool = False) -> list[list[str]]:
    """One table row per method: name, description, [items indexed], the six metrics."""
    rows = []
    for m in methods:
        row = [f"`{m['name']}`", m.get("description", "")]
        if with_items:
            row.append(f"{m.get('items_indexed', 0):,}")
        row += [num(m["metrics"].get(k)) for k in METRICS]
        rows.append(row)
    return rows


def target_lines(targets: Mapping[str, float], methods: Sequence[Report]) -> list[str]:
    """``target hybrid R@10 ≥ 0.60: met (0.641)`` for a ``"<method> <metric>"`` key; a bare ``"<metric>"`` key
    is met by any method reaching it (``met by `a` (0.7)`` / ``not met (best: `b` 0.65)``)."""
    lines = []
    names = {m["name"]: m for m in methods}
    for key, goal in targets.items():
        method, _, metric = key.rpartition(" ")
        if method in names:
            value = names[method]["metrics"].get(metric)
            if value is None:
                lines.append(f"- target {key} ≥ {goal:.2f}: `{method}` does not report {metric}")
            else:
                lines.append(
                    f"- target {key} ≥ {goal:.2f}: {'**met**' if value >= goal else '**not met**'} ({value:.3f})"
                )
            continue
        scored = [(m["metrics"][key], m["name"]) for m in methods if m["metrics"].get(key) is not None]
        if not scored:
            lines.append(f"- target {key} ≥ {goal:.2f}: no method reports {key}")
            continue
        met = [f"`{name}` ({value:.3f})" for value, name in scored if value >= goal]
        best_value, best_name = max(scored)
        verdict = f"**met** by {', '.join(met)}" if met else f"**not met** (best: `{best_name}` {best_value:.3f})"
        lines.append(f"- target {key} ≥ {goal:.2f}: {verdict}")
    return lines


def statute_table(data: Report) -> str:
    """Methods × metrics, plus R@10 on the held-out questions (those not used to tune the fusion) when given."""
    methods = data.get("methods", [])
    rows = metric_rows(methods)
    header = ["method", "what", *METRICS]
    if any(m.get("held_out") for m in methods):
        header.append(f"R@10 held out ({data.get('held_out_questions', '?')} q)")
        for row, m in zip(rows, methods, strict=True):
            cell = num((m.get("held_out") or {}).get("R@10"))
            if "adapter" in m.get("name", "") and data.get("adapter_held_out_questions") is not None:
                # The adapter's own unseen questions: neither the fusion's nor the adapter's training questions.
                cell += f" ({data['adapter_held_out_questions']} q)"
            row.append(cell)
    return table(header, rows)


def held_out_target_line(data: Report) -> str | None:
    """Issue 12's target: hybrid (+ adapter, when there is one) R@10 ≥ 0.62 on questions not used for any tuning."""
    goal = data.get("held_out_target")
    if goal is None:
        return None
    methods = {m.get("name"): m for m in data.get("methods", [])}
    name = "hybrid+adapter" if "hybrid+adapter" in methods else "hybrid"
    value = (methods.get(name, {}).get("held_out") or {}).get("R@10")
    if value is None:
        return None
    n = data.get("adapter_held_out_questions") if name == "hybrid+adapter" else data.get("held_out_questions")
    verdict = "**met**" if value >= goal else "**not met**"
    return f"- target `{name}` R@10 on questions not used for any tuning ≥ {goal:.2f}: {verdict} ({value:.3f}, {n} q)"


def render_statutes(data: Report | None, reason: str = "", *, level: int = 2, compact: bool = False) -> str:
    """STARD questions over the law collection: metrics per method, targets, anchors, gold resolution."""
    title = "Statute retrieval (STARD questions over the national law collection)"
    if data is None:
        return not_run(level, title, reason)
    idx, res = data.get("index", {}), data.get("resolution", {})
    parts = [
        heading(level, title),
        "",
        f"{data.get('evaluated_questions', 0):,} of {data.get('questions', 0):,} questions evaluated "
        f"(gold articles found in the index), embedder `{data.get('embedder')}`, ranking depth {data.get('depth')}; "
        f"index: {idx.get('documents', 0):,} documents ({idx.get('current_documents', 0):,} current, "
        f"{idx.get('superseded_documents', 0):,} superseded), {idx.get('searchable_chunks', 0):,} searchable of "
        f"{idx.get('chunks', 0):,} chunks.",
        "",
        statute_table(data),
    ]
    if data.get("target"):
        parts += ["", *target_lines(data["target"], data.get("methods", []))]
    held_line = held_out_target_line(data)
    if held_line:
        parts.append(held_line)
    if data.get("anchors"):
        anchors = "; ".join(f"{k} {v:.3f}" for k, v in data["anchors"].items())
        parts += ["", f"Reference points (anchors): {anchors}."]
    if not compact and res:
        parts += [
            "",
            f"Gold resolution: {res.get('resolved_names', 0):,} of {res.get('gold_names', 0):,} gold article names "
            f"resolve to a law title ({res.get('resolved_in_index', 0):,} of them to an article in the index); "
            f"{res.get('questions_all_resolved', 0):,} questions have every gold article resolved, "
            f"{res.get('questions_any_resolved', 0):,} at least one.",
        ]
        unknown = res.get("unknown_titles", [])[:10]
        if unknown:
            parts.append("Most frequent unresolved titles: " + ", ".join(f"{t} ({n})" for t, n in unknown) + ".")
    return "\n".join(parts)


COMPACT_BASELINE_METRICS = ("R@1", "R@10", "nDCG@10")


def baselines_side_by_side(data: Report) -> str:
    """One table, one row per configuration, a few metrics per question set side by side."""
    sets = data.get("sets", [])
    names: list[str] = []
    for st in sets:
        names += [r["name"] for r in st.get("rows", []) if r["name"] not in names]
    header = ["configuration", *(f"{st['name']} {k}" for st in sets for k in COMPACT_BASELINE_METRICS)]
    rows = []
    for name in names:
        row = [f"`{name}`"]
        for st in sets:
            found = next((r for r in st.get("rows", []) if r["name"] == name), None)
            row += [num((found or {}).get("metrics", {}).get(k)) for k in COMPACT_BASELINE_METRICS]
        rows.append(row)
    return table(header, rows)


def render_baselines(data: Report | None, reason: str = "", *, level: int = 2, compact: bool = False) -> str:
    """Baselines and ablations: one table per question set (``compact``: the sets side by side, three metrics)."""
    title = "Baselines and ablations"
    if data is None:
        return not_run(level, title, reason)
    parts = [heading(level, title), "", f"Embedder `{data.get('embedder')}`, ranking depth {data.get('depth')}."]
    if compact:
        sizes = "; ".join(f"{st['name']}: {st.get('questions', 0):,} questions" for st in data.get("sets", []))
        parts[-1] += f" {sizes}."
        parts += ["", baselines_side_by_side(data)]
    else:
        for st in data.get("sets", []):
            parts += [
                "",
                f"**{st['name']}** — {st.get('description', '')} ({st.get('questions', 0):,} questions; "
                f"{st.get('scope', '')})",
                "",
                table(["row", "what", "items indexed", *METRICS], metric_rows(st.get("rows", []), with_items=True)),
            ]
    for note in data.get("skipped", []):
        parts += ["", f"- not run: {note}"]
    return "\n".join(parts)


_DEV_NAMES = {"bm25": "BM25 (jieba) alone", "dense": "dense ({embedder}) alone", "hybrid": "**hybrid (default)**"}


def render_dev_retrieval(data: Report | None, reason: str = "", *, level: int = 2) -> str:
    """The 120 in-corpus development questions: BM25, dense, hybrid; warm latency."""
    title = "Retrieval on the development question set (corpus/)"
    if data is None:
        return not_run(level, title, reason)
    rows = []
    for m in data.get("methods", []):
        name = _DEV_NAMES.get(m["method"], m["method"]).format(embedder=data.get("embedder"))
        r = m["recall"]
        rows.append([name, num(r.get("1")), num(r.get("5")), num(r.get("10")), num(m.get("mrr10"))])
    lat = data.get("latency_ms", {})
    return "\n".join(
        [
            heading(level, title),
            "",
            f"{data.get('questions')} in-corpus questions written for this corpus (`eval/data/dev_questions.jsonl`: "
            f"natural paraphrases, {data.get('traditional')} in traditional Chinese, every document covered), "
            f"embedder `{data.get('embedder')}`, hybrid = {data.get('fusion')}. Recall@k is capped recall (gold "
            "articles in the top k ÷ min(#gold, k)). These questions were used to choose the fusion: development "
            "figures, not held-out ones.",
            "",
            table(["method", "R@1", "R@5", "R@10", "MRR@10"], rows),
            "",
            f"Warm hybrid search latency, k=10: p50 {ms(lat.get('p50'))}, p95 {ms(lat.get('p95'))}.",
        ]
    )


# The answer issues' targets (in-corpus gold cited, wrongly abstained; out-of-corpus abstained; values ungrounded).
ANSWER_TARGETS = {"gold_cited": 0.85, "wrongly_abstained": 0.10, "ooc_abstained": 0.95, "values_ungrounded": 0}


def _answer_row(label: str, data: Report) -> list[str]:
    ooc = data.get("out_of_corpus", 0)
    ooc_share = data.get("ooc_abstained", 0.0)
    partial = data.get("ooc_partial")
    lat = data.get("latency_ms", {})
    return [
        label,
        str(data.get("in_corpus")),
        num(data.get("gold_cited")) if data.get("in_corpus") else "–",
        num(data.get("wrongly_abstained")) if data.get("in_corpus") else "–",
        num(data.get("citation_precision")),
        str(data.get("outside_retrieved")),
        f"{num(ooc_share)} ({round(ooc_share * ooc)}/{ooc})" if ooc else "–",
        num(partial) if ooc and partial is not None else "–",
        str(data.get("values_ungrounded", "–")),
        str(data.get("unsupported_removed")),
        ms(lat.get("total_p50")),
    ]


def _met(data: Report) -> bool:
    ins, ooc = data.get("in_corpus", 0), data.get("out_of_corpus", 0)
    return bool(
        (not ins or data.get("gold_cited", 0.0) >= ANSWER_TARGETS["gold_cited"])
        and (not ooc or data.get("ooc_abstained", 0.0) >= ANSWER_TARGETS["ooc_abstained"])
        and data.get("values_ungrounded", 0) == ANSWER_TARGETS["values_ungrounded"]
    )


def render_answers(
    data: Report | None,
    reason: str = "",
    *,
    level: int = 2,
    others: Sequence[tuple[str, Report | None, str]] = (),
) -> str:
    """Answer quality on the dev set and on ``others`` — (label, report or None, why missing) — and latency."""
    title = "Answers (`policyrag ask`) on the development and held-out question sets"
    if data is None:
        return not_run(level, title, reason)
    lat = data.get("latency_ms", {})
    header = [
        "question set",
        "in-corpus",
        "gold article cited (in-corpus)",
        "wrongly abstained (in-corpus)",
        "citation precision",
        "citations outside the retrieved set",
        "out-of-corpus abstained",
        "of which partial",
        "values ungrounded",
        "unsupported sentences removed",
        "whole answer p50",
    ]
    rows = [_answer_row("dev (thresholds calibrated on it)", data)]
    verdicts = [f"dev {'**met**' if _met(data) else '**not met**'}"]
    missing = ""
    for label, other, why in others:
        if other is None:
            missing += f" {label}: not run ({why or 'no results'})."
            continue
        rows.append(_answer_row(label, other))
        verdicts.append(f"{label} {'**met**' if _met(other) else '**not met**'}")
    return "\n".join(
        [
            heading(level, title),
            "",
            f"Model `{data.get('model')}`; every question goes through retrieval, the confidence gate, the slot "
            "check, the answerability check, generation and citation verification with value grounding.",
            "",
            table(header, rows),
            "",
            f"Latency (dev): first token p50 {ms(lat.get('first_token_p50'))}, p95 {ms(lat.get('first_token_p95'))}; "
            f"whole answer p50 {ms(lat.get('total_p50'))}, p95 {ms(lat.get('total_p95'))}. Targets "
            f"(gold article cited ≥ {ANSWER_TARGETS['gold_cited']:.2f}, out-of-corpus abstained ≥ "
            f"{ANSWER_TARGETS['ooc_abstained']:.2f}, values ungrounded = 0): {', '.join(verdicts)}. "
            "Out-of-corpus counts near-topic questions too; *of which partial*: abstentions that quote what the "
            "corpus says on the topic. *Values ungrounded* re-reads every shown sentence: a figure, date, body, "
            "place or address not in its cited quote. Citation precision counts citations whose quote is text of "
            "the cited article, which holds by construction." + missing,
        ]
    )
