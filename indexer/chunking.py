"""Cut units into chunks that fit the embedder's window, never mid-sentence."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence

import cn2an

from indexer.records import Chunk, DocumentInfo, MergedUnit

MAX_CHUNK_CHARS = 1200
_SENTENCE = re.compile(r"[^。！？；\n]*(?:[。！？；]+[”’」）]*|\n|$)")
_SOFT_BREAK = "，、：,;: "


def chinese_number(n: int) -> str:
    """1 → 一, 12 → 十二, 1000 → 一千, 10086 → 一万零八十六 (paragraph numbers of any size, via cn2an)."""
    return str(cn2an.an2cn(n))


def split_sentences(text: str) -> list[str]:
    """Sentences ending in 。！？； (closing quotes stay with their sentence)."""
    return [s for s in (m.group(0).strip() for m in _SENTENCE.finditer(text)) if s]


def budget_for_window(max_model_tokens: int) -> int:
    """jieba-token budget for a chunk given the embedder window.

    On this corpus one jieba token is ~1.1 e5 tokens (measured: 0.89 jieba per
    e5 token); 64 model tokens are reserved for the title/label prefix.
    """
    return max(32, int((max_model_tokens - 64) * 0.85))


def citation_for(title: str, label: str | None, heading: str | None, page: int | None = None) -> str:
    """Copy-ready citation: 《title》第六条, or 《title》（heading） for unlabelled sections; paged sources add
    the page where the unit starts: 《title》第十二条（第3页）."""
    where = f"（第{page}页）" if page else ""
    if label:
        return f"《{title}》{label}{where}"
    return f"《{title}》（{heading or '前言'}）{where}"


def chunk_id(doc_id: str, unit_key: str, piece: int) -> str:
    """Stable id: the same document, unit and piece give the same id on every rebuild."""
    digest = hashlib.sha1(f"{doc_id}\x1f{unit_key}\x1f{piece}".encode()).hexdigest()
    return f"c{digest[:15]}"


def _pack(items: Sequence[str], budget: int, count: Callable[[str], int]) -> list[list[int]]:
    """Greedy packing of consecutive items (by index) under the budget; an oversize item stands alone."""
    groups: list[list[int]] = []
    used = 0
    for i, item in enumerate(items):
        n = count(item)
        joined = sum(len(items[j]) + 1 for j in groups[-1]) + len(item) if groups else 0  # +1: the "\n" joints
        if groups and used + n <= budget and joined <= MAX_CHUNK_CHARS:
            groups[-1].append(i)
            used += n
        else:
            groups.append([i])
            used = n
    return groups


def hard_split(text: str, budget: int, count: Callable[[str], int]) -> list[str]:
    """Last resort for a sentence over ``MAX_CHUNK_CHARS`` (a 1 MB line without 。): cut it into parts of at most
    ``MAX_CHUNK_CHARS`` characters and ``budget`` tokens, at a comma or space in the second half of a part when
    there is one. A sentence within the character cap comes back whole (never cut mid-sentence below it)."""
    if len(text) <= MAX_CHUNK_CHARS:
        return [text]
    parts: list[str] = []
    rest = text
    while rest:
        if len(rest) <= MAX_CHUNK_CHARS and count(rest) <= budget:
            parts.append(rest)
            break
        end = min(len(rest), MAX_CHUNK_CHARS)
        while end > 1 and count(rest[:end]) > budget:
            end = max(1, end * 3 // 4)
        soft = max(rest.rfind(ch, end // 2, end) for ch in _SOFT_BREAK)
        if soft > 0:
            end = soft + 1
        parts.append(rest[:end])
        rest = rest[end:]
    return [p for p in parts if p.strip()]


def _pieces(paragraphs: Sequence[str], budget: int, count: Callable[[str], int]) -> list[tuple[str, str | None]]:
    """Split a unit's paragraphs into (text, 款 range) pieces within the budget."""
    whole = "\n".join(paragraphs)
    if count(whole) <= budget and len(whole) <= MAX_CHUNK_CHARS:
        return [(whole, None)]
    pieces: list[tuple[str, str | None]] = []
    for group in _pack(paragraphs, budget, count):
        first, last = group[0] + 1, group[-1] + 1
        span = f"第{chinese_number(first)}款" + (f"至第{chinese_number(last)}款" if last != first else "")
        text = "\n".join(paragraphs[i] for i in group)
        if len(group) == 1 and (count(text) > budget or len(text) > MAX_CHUNK_CHARS):
            sentences = split_sentences(text)
            for sgroup in _pack(sentences, budget, count):
                piece = "".join(sentences[i] for i in sgroup)
                pieces.extend((part, span) for part in hard_split(piece, budget, count))
        else:
            pieces.append((text, span))
    return pieces


def chunk_units(
    doc: DocumentInfo,
    units: Sequence[MergedUnit],
    *,
    budget: int,
    count_tokens: Callable[[str], int],
) -> list[Chunk]:
    """One chunk per unit; a unit over ``budget`` jieba tokens is split at 款, then sentence, boundaries.

    Pieces of a regulation article are labelled with their 款 (第六十五条第一款);
    pieces of other units keep the unit's label.
    """
    chunks: list[Chunk] = []
    for merged in units:
        unit = merged.unit
        pieces = _pieces(unit.paragraphs, budget, count_tokens)
        for i, (text, span) in enumerate(pieces):
            label = unit.label
            if span and label and doc.doc_type == "regulation" and len(pieces) > 1:
                label = f"{label}{span}"
            heading = unit.heading if not unit.label else None
            citation = citation_for(doc.title, label, heading, unit.page)
            head = label or f"（{unit.heading or '前言'}）"
            if unit.label and unit.heading:
                head = f"{label} {unit.heading}"
            chunks.append(
                Chunk(
                    chunk_id=chunk_id(doc.doc_id, unit.key, i),
                    doc_id=doc.doc_id,
                    doc_title=doc.title,
                    doc_type=doc.doc_type,
                    article=label,
                    citation=citation,
                    path=unit.path,
                    text=text,
                    embed_text=f"{doc.title} {head}\n{text}",
                    unit_key=unit.key,
                    piece=i,
                    sources=merged.sources,
                )
            )
    return chunks
