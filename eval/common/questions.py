"""The project's question sets (eval/data/*.jsonl, described in eval/data/README.md) as typed rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

DEFAULT_QUESTIONS = Path(__file__).resolve().parents[1] / "data" / "dev_questions.jsonl"
SEED = 0  # the seed of every question sample the performance suites draw (law queries, timed answers)


@dataclass(frozen=True)
class Question:
    """One evaluation question."""

    id: str
    question: str
    gold: tuple[str, ...]
    script: str
    kind: str
    split: str = ""  # tune | blind (slot and near-topic sets); "" elsewhere
    type: str = ""  # the asked answer type, where the set records it
    topic_units: tuple[str, ...] = ()  # near-topic sets: the units that discuss the topic (not the detail)


def load_questions(path: Path) -> list[Question]:
    """Read a JSONL question file (see eval/data/README.md)."""
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                q = json.loads(line)
                out.append(
                    Question(
                        id=q["id"],
                        question=q["question"],
                        gold=tuple(q["gold"]),
                        script=q.get("script", ""),
                        kind=q["kind"],
                        split=q.get("split", ""),
                        type=q.get("type", ""),
                        topic_units=tuple(q.get("topic_units", ())),
                    )
                )
    return out


@dataclass(frozen=True)
class EvalQuestion:
    """A question with its gold unit identities (``《title》label``)."""

    id: str
    question: str
    gold: tuple[str, ...]


def load_dev(path: Path) -> list[EvalQuestion]:
    """In-corpus questions of the policy dev set."""
    out: list[EvalQuestion] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            if obj.get("kind") == "in_corpus" and obj["gold"]:
                out.append(EvalQuestion(str(obj["id"]), obj["question"], tuple(obj["gold"])))
    return out
