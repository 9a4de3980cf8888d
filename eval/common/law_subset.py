"""The seeded STARD law subset shared by the fusion study and the baselines: law files, one entry per law, the sample.

The subset holds the laws a fixed random sample of STARD questions names as gold (newest dated version; the
Civil Code's parts together) plus random distractor laws up to a chunk budget, so that embedding it several
ways stays affordable on a small CPU. Pure functions of the files' text and names.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from eval.common.statutes import StatuteQuestion, resolve_gold, title_index, title_key

CIVIL_CODE_FOLDER = "民法典"  # its files are parts (编) of one law: always kept together

_DATE = re.compile(r"\((\d{4}-\d{2}-\d{2})\)")
_ARTICLE_LINE = re.compile(r"^第[一二三四五六七八九十百千零〇两]+条", re.M)
_HEADING_LINE = re.compile(r"^#{2,} ", re.M)


@dataclass(frozen=True)
class LawFile:
    """A law Markdown file with its title (first ``# `` line) and a chunk estimate."""

    path: Path
    title: str
    date: str  # from the file name, "" when undated
    est_chunks: int


def read_law_file(path: Path) -> LawFile:
    """Title, date and estimated chunk count (articles, else ``##`` sections) of one law file."""
    text = path.read_text(encoding="utf-8")
    title = next((ln[2:].strip() for ln in text.splitlines() if ln.startswith("# ")), path.stem)
    m = _DATE.search(path.name)
    units = len(_ARTICLE_LINE.findall(text)) or len(_HEADING_LINE.findall(text)) + 1
    return LawFile(path, title, m.group(1) if m else "", units)


def law_groups(files: Sequence[LawFile]) -> dict[str, list[LawFile]]:
    """One entry per law (key: ``title_key``), holding the files to index for it.

    Versions of one law (same title) keep only the newest dated file; the Civil Code
    folder's files are parts of one law and are all kept.
    """
    versions: dict[str, list[LawFile]] = defaultdict(list)
    for f in files:
        versions[title_key(f.title)].append(f)
    groups: dict[str, list[LawFile]] = {}
    for key, fs in sorted(versions.items()):
        parts = [f for f in fs if f.path.parent.name == CIVIL_CODE_FOLDER]
        groups[key] = sorted(parts, key=lambda f: f.path.name) or [
            max(fs, key=lambda f: (f.date, f.path.parent.name, f.path.name))
        ]
    return groups


def select_subset(
    questions: Sequence[StatuteQuestion],
    files: Sequence[LawFile],
    *,
    sample: int,
    target_chunks: int,
    max_chunks: int,
    seed: int = 0,
) -> tuple[list[StatuteQuestion], list[str], list[str], dict[str, list[LawFile]]]:
    """Sample questions; return them, the gold law keys, the distractor law keys and all groups."""
    sampled = random.Random(seed).sample(list(questions), sample) if sample < len(questions) else list(questions)
    groups = law_groups(files)
    titles = title_index(f.title for fs in groups.values() for f in fs)
    gold_keys = sorted({title_key(r[0]) for q in sampled for g in q.gold if (r := resolve_gold(g, titles)) is not None})
    size = sum(f.est_chunks for k in gold_keys for f in groups[k])
    others = [k for k in groups if k not in set(gold_keys)]
    random.Random(seed).shuffle(others)
    distractors: list[str] = []
    for key in others:
        if size >= target_chunks:
            break
        extra = sum(f.est_chunks for f in groups[key])
        if size + extra > max_chunks:
            continue
        distractors.append(key)
        size += extra
    return sampled, gold_keys, distractors, groups
