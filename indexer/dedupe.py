"""Merge duplicate copies of a document, article by article, choosing the clean variant.

Copies are found by content, not by file name: documents with the same
normalised title, or whose text shares most of its 8-character shingles
(bottom-k sketch, Jaccard estimate ≥ ``SIMILARITY_THRESHOLD``), are one document.

Within a document, the variants of each unit (same key, e.g. 第十条) are merged
and ONE is kept by this rule, applied in order:

1. variants that lost a mojibake line are out (unless every copy did);
2. the text held by the most copies wins (compared without whitespace);
3. then fewer anomalies: Latin words inside Chinese text (``监管规则 and 标准``);
4. then a copy whose layout survived (more paragraphs, i.e. 款 boundaries kept);
5. then the first source file by name.

Every file that holds a variant is kept as provenance.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from indexer.records import LogicalDocument, Unit

SIMILARITY_THRESHOLD = 0.6
SKETCH_SIZE = 128
SHINGLE = 8

_NOISE = re.compile(r"[\s，。；：！？、（）《》“”‘’,.;:!?()\"'\-—…·]")
_LATIN_IN_CJK = re.compile(r"(?<=[\u4e00-\u9fff])\s*[A-Za-z]+(?:\s+[A-Za-z]+)*\s*(?=[\u4e00-\u9fff])")


def comparison_key(text: str) -> str:
    """Text with whitespace and punctuation removed: what two copies must share to be 'the same'."""
    return _NOISE.sub("", text)


def anomaly_count(text: str) -> int:
    """Latin words squeezed into Chinese text, a sign of a corrupted copy (``规则 and 标准``)."""
    return sum(1 for m in _LATIN_IN_CJK.finditer(text) if m.group(0).strip().islower())


def sketch(text: str, k: int = SKETCH_SIZE) -> frozenset[int]:
    """Bottom-k MinHash sketch of the text's shingles."""
    key = comparison_key(text)
    hashes = {
        int.from_bytes(hashlib.blake2b(key[i : i + SHINGLE].encode(), digest_size=8).digest(), "big")
        for i in range(max(1, len(key) - SHINGLE + 1))
    }
    return frozenset(sorted(hashes)[:k])


def estimated_jaccard(a: frozenset[int], b: frozenset[int], k: int = SKETCH_SIZE) -> float:
    """Jaccard estimate from two bottom-k sketches."""
    union = sorted(a | b)[:k]
    if not union:
        return 0.0
    both = a & b
    return sum(1 for h in union if h in both) / len(union)


def _title_key(title: str | None) -> str | None:
    return comparison_key(title) if title else None


_VERSION_DATE = re.compile(r"[(（](\d{4}-\d{2}-\d{2})[)）]")


def version_date(source: str) -> str | None:
    """The version date a file name carries, e.g. ``公司法(2023-12-29).md`` → ``2023-12-29``."""
    m = _VERSION_DATE.search(source)
    return m.group(1) if m else None


class SketchMemo:
    """Sketches by text, carried from one build to the next (a sketch depends on the text alone)."""

    def __init__(self, known: dict[str, list[int]] | None = None) -> None:
        self.known = known or {}
        self.used: dict[str, list[int]] = {}

    def __call__(self, text: str) -> frozenset[int]:
        key = hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()
        if key not in self.known:
            self.known[key] = sorted(sketch(text))
        self.used[key] = self.known[key]
        return frozenset(self.used[key])


def group_copies(docs: Sequence[LogicalDocument], memo: SketchMemo | None = None) -> list[list[int]]:
    """Cluster documents that are copies of each other; returns index groups in first-seen order."""
    parent = list(range(len(docs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    dates = [version_date(doc.source) for doc in docs]

    def union(i: int, j: int) -> None:
        # Dated versions of one law (公司法(2018-10-26).md, 公司法(2023-12-29).md) are
        # different texts in force at different times, not copies: never merge them.
        if dates[i] and dates[j] and dates[i] != dates[j]:
            return
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)

    by_title: dict[str, int] = {}
    for i, doc in enumerate(docs):
        key = _title_key(doc.title)
        if key is not None:
            if key in by_title:
                union(by_title[key], i)
            else:
                by_title[key] = i
    sketch_of = memo or sketch
    sketches = [sketch_of("".join(line.text for line in doc.lines)) for doc in docs]
    # Identical sketches are copies however many there are (60 copies of one file must still merge);
    # only one representative of each goes into the candidate search below.
    first_with: dict[frozenset[int], int] = {}
    representatives: list[int] = []
    for i, sk in enumerate(sketches):
        if sk in first_with:
            union(first_with[sk], i)
            if find(i) == find(first_with[sk]):
                continue
        else:
            first_with[sk] = i
        representatives.append(i)
    # Candidates share at least one sketch hash; this keeps large corpora far from all-pairs.
    postings: dict[int, list[int]] = defaultdict(list)
    for i in representatives:
        for h in sketches[i]:
            postings[h].append(i)
    candidates: set[tuple[int, int]] = set()
    for ids in postings.values():
        if len(ids) > 50:  # a shingle everyone shares says nothing
            continue
        candidates.update((a, b) for x, a in enumerate(ids) for b in ids[x + 1 :])
    for a, b in candidates:
        if find(a) != find(b) and estimated_jaccard(sketches[a], sketches[b]) >= SIMILARITY_THRESHOLD:
            union(a, b)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(docs)):
        groups[find(i)].append(i)
    return sorted(groups.values(), key=lambda g: g[0])


@dataclass(frozen=True)
class Variant:
    """One copy of a unit and where it came from."""

    unit: Unit
    source: str
    layout_intact: bool


def choose_variant(variants: Sequence[Variant]) -> Variant:
    """Pick the clean variant by the rule in the module docstring."""
    pool = [v for v in variants if not v.unit.damaged] or list(variants)
    keys = Counter(comparison_key((v.unit.heading or "") + v.unit.text) for v in pool)

    def rank(v: Variant) -> tuple[int, int, int, int, str]:
        key = comparison_key((v.unit.heading or "") + v.unit.text)
        return (
            -keys[key],
            anomaly_count(v.unit.text),
            0 if v.layout_intact else 1,
            -len(v.unit.paragraphs),
            v.source,
        )

    return min(pool, key=rank)


_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNIT = {"十": 10, "百": 100, "千": 1000}
_ARTICLE_KEY = re.compile(r"^第([零〇一二三四五六七八九十百千两]+)条(?:之([零〇一二三四五六七八九十]+))?$")


def chinese_to_int(numeral: str) -> int:
    """一千二百六十 → 1260, 十二 → 12, 一百零五 → 105 (numerals below 10,000)."""
    total = digit = 0
    for ch in numeral:
        if ch in _CN_DIGIT:
            digit = _CN_DIGIT[ch]
        elif ch in _CN_UNIT:
            total += (digit or 1) * _CN_UNIT[ch]
            digit = 0
        else:
            raise ValueError(f"not a Chinese numeral: {numeral!r}")
    return total + digit


def article_number(key: str) -> float | None:
    """Sort position of an article key: 第三条 → 3, 第三条之一 → 3.001; None for other units."""
    m = _ARTICLE_KEY.match(key)
    if not m:
        return None
    suffix = chinese_to_int(m.group(2)) / 1000 if m.group(2) else 0.0
    return chinese_to_int(m.group(1)) + suffix


@dataclass(frozen=True)
class MergedDocument:
    """A document after merging its copies."""

    title: str | None
    sources: tuple[str, ...]
    units: tuple[tuple[Unit, tuple[str, ...], int], ...]  # (chosen unit, sources holding it, copies)
    primary: LogicalDocument  # the copy whose unit order is used


def merge_copies(
    docs: Sequence[LogicalDocument], units: Sequence[Sequence[Unit]], memo: SketchMemo | None = None
) -> list[MergedDocument]:
    """Merge copies of each document into one, unit by unit."""
    merged: list[MergedDocument] = []
    for group in group_copies(docs, memo):
        # The copy with the most units and intact layout defines the order.
        primary = min(group, key=lambda i: (docs[i].reflowed, -len(units[i]), docs[i].source))
        variants: dict[str, list[Variant]] = defaultdict(list)
        order: dict[str, tuple[int, float]] = {}
        for i in group:
            for u in units[i]:
                variants[u.key].append(Variant(u, docs[i].source, not docs[i].reflowed))
                rank = (0 if i == primary else 1, u.order)
                order[u.key] = min(order.get(u.key, rank), rank)
        if len({docs[i].source for i in group}) > 1 and all(article_number(k) is not None for k in variants):
            # A law split across files (the Civil Code, one file per 编): article numbers give the order.
            order = {k: (0, article_number(k) or 0) for k in variants}
        chosen = []
        for key in sorted(variants, key=lambda k: order[k]):
            vs = variants[key]
            best = choose_variant(vs)
            sources = tuple(sorted({v.source for v in vs}))
            chosen.append((best.unit, sources, len(vs)))
        titles = Counter(docs[i].title for i in group if docs[i].title)
        title = titles.most_common(1)[0][0] if titles else None
        merged.append(
            MergedDocument(
                title=title,
                sources=tuple(sorted({docs[i].source for i in group})),
                units=tuple(chosen),
                primary=docs[primary],
            )
        )
    return merged
