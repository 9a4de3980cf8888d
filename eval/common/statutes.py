"""STARD statute questions: loading, resolving gold article names against ingested law titles, gold as unit ids.

A STARD gold name is a law title followed by an article label, e.g.
``中华人民共和国民法典第五十四条`` or ``刑法第一百三十三条之一``. Law titles in the
corpus may carry or omit the prefix ``中华人民共和国`` (also inside a quoted title:
``最高人民法院关于适用《民法典》…`` vs ``…《中华人民共和国民法典》…``), so titles are
compared by ``title_key``. All functions here are pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from eval.common.questions import EvalQuestion

PRC_PREFIX = "中华人民共和国"
NUM = "一二三四五六七八九十百千零〇两"

_GOLD = re.compile(f"^(?P<title>.+?)(?P<article>第[{NUM}]+条(?:之[{NUM}]+)?)$")
_SPACE = re.compile(r"\s+")
_WIDTH = str.maketrans({"(": "（", ")": "）", "<": "《", ">": "》"})


@dataclass(frozen=True)
class StatuteQuestion:
    """One STARD question and the statute articles that answer it."""

    id: str
    question: str
    gold: tuple[str, ...]


@dataclass(frozen=True)
class GoldResolution:
    """How many gold names of a question set resolve against the known titles."""

    questions: int
    gold_names: int
    resolved_names: int
    questions_all_resolved: int
    questions_any_resolved: int
    unparsed: tuple[str, ...]  # gold names without a recognisable article label
    unknown_titles: tuple[tuple[str, int], ...]  # (title, count), most frequent first

    @property
    def resolved_share(self) -> float:
        """Share of gold names that resolve (0 when there are none)."""
        return self.resolved_names / self.gold_names if self.gold_names else 0.0


def load_stard(path: Path) -> list[StatuteQuestion]:
    """Read a STARD JSONL file (``{"id", "question", "gold": [...]}`` a line); blank lines are skipped."""
    questions: list[StatuteQuestion] = []
    with path.open(encoding="utf-8") as fh:
        for no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                questions.append(
                    StatuteQuestion(str(obj["id"]), str(obj["question"]), tuple(str(g) for g in obj["gold"]))
                )
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{no}: not a STARD record ({exc})") from exc
    return questions


def title_key(title: str) -> str:
    """Comparison key of a law title: no ``中华人民共和国`` anywhere, full-width brackets, no spaces."""
    return _SPACE.sub("", title).translate(_WIDTH).replace(PRC_PREFIX, "")


def split_gold(gold_name: str) -> tuple[str, str] | None:
    """Split ``中华人民共和国民法典第五十四条`` into ``("中华人民共和国民法典", "第五十四条")``.

    Article labels may carry a suffix (``第一百三十三条之一``). Returns None when the
    name does not end in an article label or has no title before it.
    """
    m = _GOLD.match(_SPACE.sub("", gold_name))
    if not m:
        return None
    return m.group("title"), m.group("article")


def title_index(known_titles: Iterable[str]) -> dict[str, str]:
    """Map ``title_key`` → title for the known titles (the first title wins on a key clash)."""
    index: dict[str, str] = {}
    for title in known_titles:
        index.setdefault(title_key(title), title)
    return index


def resolve_gold(gold_name: str, known_titles: Iterable[str] | Mapping[str, str]) -> tuple[str, str] | None:
    """Resolve a gold name to ``(known title, article label)``, or None.

    ``known_titles`` are the ingested document titles; pass a ``title_index`` mapping
    instead when resolving many names, to avoid rebuilding it per call.
    """
    parts = split_gold(gold_name)
    if parts is None:
        return None
    index = known_titles if isinstance(known_titles, Mapping) else title_index(known_titles)
    title = index.get(title_key(parts[0]))
    return (title, parts[1]) if title is not None else None


def unit_id(title: str, article: str) -> str:
    """The evaluation identity of a unit: ``《title》article`` (the product's citation form)."""
    return f"《{title}》{article}"


def resolution_report(
    questions: Sequence[StatuteQuestion], known_titles: Iterable[str] | Mapping[str, str]
) -> GoldResolution:
    """Count how many gold names (and questions) resolve against ``known_titles``."""
    index = known_titles if isinstance(known_titles, Mapping) else title_index(known_titles)
    unparsed: list[str] = []
    unknown: dict[str, int] = {}
    names = resolved = all_ok = any_ok = 0
    for q in questions:
        hits = 0
        for g in q.gold:
            names += 1
            parts = split_gold(g)
            if parts is None:
                unparsed.append(g)
            elif resolve_gold(g, index) is None:
                unknown[parts[0]] = unknown.get(parts[0], 0) + 1
            else:
                hits += 1
        resolved += hits
        all_ok += bool(q.gold) and hits == len(q.gold)
        any_ok += hits > 0
    return GoldResolution(
        questions=len(questions),
        gold_names=names,
        resolved_names=resolved,
        questions_all_resolved=all_ok,
        questions_any_resolved=any_ok,
        unparsed=tuple(unparsed),
        unknown_titles=tuple(sorted(unknown.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


def stard_eval_questions(
    questions: Sequence[StatuteQuestion], titles: Sequence[str], units: set[str]
) -> tuple[list[EvalQuestion], list[EvalQuestion], dict[str, int]]:
    """Gold resolved to unit identities.

    Returns (questions whose resolved gold units exist in the index, questions whose gold
    title resolves — missing units then count as misses, counts).
    """
    index = title_index(titles)
    present: list[EvalQuestion] = []
    resolved_q: list[EvalQuestion] = []
    counts = {"resolved_names": 0, "names_in_index": 0}
    for q in questions:
        gold = [unit_id(*r) for g in q.gold if (r := resolve_gold(g, index)) is not None]
        gold = list(dict.fromkeys(gold))
        in_index = [g for g in gold if g in units]
        counts["resolved_names"] += len(gold)
        counts["names_in_index"] += len(in_index)
        if gold:
            resolved_q.append(EvalQuestion(q.id, q.question, tuple(gold)))
        if in_index:
            present.append(EvalQuestion(q.id, q.question, tuple(in_index)))
    return present, resolved_q, counts
