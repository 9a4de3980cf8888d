"""Front matter of Markdown law files, and which dated version of a law is current.

The law collection (LawRefBook layout) writes every file as::

    # 中华人民共和国民法典          ← title
    # 侵权责任编                    ← optional part heading (the Civil Code is split across files)
    2020年5月28日 第十三届全国人民代表大会第三次会议通过
    2021年1月1日 施行
    <!-- INFO END -->
    ## 第一章 一般规定
    第一千一百六十四条 …

Everything before ``<!-- INFO END -->`` is metadata, not text: it must not become a
searchable preamble. Several versions of one law carry the date in the file name,
``代表法(2015-08-29).md`` and ``代表法(2025-03-11).md``; the newest is current and the
older ones are superseded. All functions here are pure.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

INFO_END = "<!-- INFO END -->"
CURRENT = "current"
SUPERSEDED = "superseded"

_VERSION = re.compile(r"\((\d{4}-\d{2}-\d{2})\)")
_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_HEADING = re.compile(r"^#\s+(.+?)\s*$")


@dataclass(frozen=True)
class FrontMatter:
    """Metadata read from the head of a Markdown law file."""

    title: str | None  # the first ``# `` heading
    parts: tuple[str, ...]  # further ``# `` headings before the body (e.g. 侵权责任编)
    info: tuple[str, ...]  # the other metadata lines (adoption, amendments, entry into force)
    body_start: int  # 0-based index of the first body line of the file
    adopted: str | None = None  # ISO date of the first "…通过" line
    amended: str | None = None  # ISO date of the last "…修正/修订" line
    effective: str | None = None  # ISO date of the first "…施行" line


def _iso(line: str) -> str | None:
    m = _DATE.search(line)
    return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}" if m else None


def parse_front_matter(text: str) -> FrontMatter | None:
    """Split a Markdown law file's metadata from its body; None when the file has neither.

    With an ``<!-- INFO END -->`` line, every line above it is metadata. Without one,
    only leading ``# `` headings are (a plain Markdown file with a title). Text files
    without a leading ``# `` heading and without the marker return None.
    """
    lines = text.splitlines()
    end = next((i for i, line in enumerate(lines) if line.strip() == INFO_END), None)
    if end is None:
        end = 0
        while end < len(lines) and (not lines[end].strip() or _HEADING.match(lines[end])):
            end += 1
        if not any(_HEADING.match(line) for line in lines[:end]):
            return None
        body_start = end
    else:
        body_start = end + 1
    headings = [m.group(1) for line in lines[:end] if (m := _HEADING.match(line))]
    info = tuple(s for line in lines[:end] if (s := line.strip()) and not _HEADING.match(line))
    adopted = next((d for s in info if "通过" in s and (d := _iso(s))), None)
    amended = [d for s in info if re.search("修正|修订|修改", s) and (d := _iso(s))]
    effective = next((d for s in info if "施行" in s and (d := _iso(s))), None)
    return FrontMatter(
        title=headings[0] if headings else None,
        parts=tuple(headings[1:]),
        info=info,
        body_start=body_start,
        adopted=adopted,
        amended=amended[-1] if amended else None,
        effective=effective,
    )


def blank_front_matter(text: str, front: FrontMatter) -> str:
    """The file's text with the metadata lines blanked except the title heading.

    The title line stays where it is so that document splitting sees the file as
    before; blanking (not deleting) keeps body line numbers those of the file.
    """
    lines = text.splitlines()
    title_at = next((i for i, line in enumerate(lines[: front.body_start]) if _HEADING.match(line)), None)
    head = [line if i == title_at else "" for i, line in enumerate(lines[: front.body_start])]
    return "\n".join(head + lines[front.body_start :])


def version_of(file_name: str) -> str | None:
    """The version date a file name carries, ``代表法(2015-08-29).md`` → ``2015-08-29``."""
    found = _VERSION.findall(file_name)
    return found[-1] if found else None


@dataclass(frozen=True)
class VersionedDocument:
    """What ``version_status`` needs to know about one document."""

    doc_id: str
    title: str
    version: str | None


def version_status(docs: Sequence[VersionedDocument]) -> dict[str, str | None]:
    """Map doc_id → the doc_id that supersedes it, or None when the document is current.

    Documents with the same title are versions of one law; when at least two of them
    carry a version date, the newest dated one is current and every older dated one is
    superseded by it. An undated document is never hidden: without a date we cannot tell
    which text is in force.
    """
    by_title: dict[str, list[VersionedDocument]] = defaultdict(list)
    for d in docs:
        by_title[d.title].append(d)
    status: dict[str, str | None] = {d.doc_id: None for d in docs}
    for versions in by_title.values():
        dated = [d for d in versions if d.version]
        if len(dated) < 2:
            continue
        newest = max(dated, key=lambda d: (d.version or "", d.doc_id))
        for d in dated:
            if d is not newest:
                status[d.doc_id] = newest.doc_id
    return status
