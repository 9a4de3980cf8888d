"""Numbered sources for the prompt: retrieved units trimmed to a token budget, keeping the most relevant 款."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from indexer.chunking import split_sentences
from retriever.results import SearchResult


@dataclass(frozen=True)
class Source:
    """One numbered source [n] as shown to the model."""

    n: int
    chunk_id: str
    citation: str
    doc_title: str
    article: str | None
    text: str  # what the model sees (may be trimmed)
    passages: tuple[str, ...]  # the unit's 款 / sentences, for quoting
    score: float


def passages_of(text: str) -> tuple[str, ...]:
    """Quotable passages of a unit: its 款 (lines); a long 款 is cut into sentences."""
    out: list[str] = []
    for para in (p.strip() for p in text.split("\n")):
        if not para:
            continue
        out.extend(split_sentences(para) if len(para) > 160 else [para])
    return tuple(out)


def _overlap(terms: Callable[[str], list[str]], question_terms: set[str], passage: str) -> float:
    return len(question_terms & set(terms(passage))) / (len(question_terms) or 1)


def build_sources(
    question: str,
    results: Sequence[SearchResult],
    *,
    terms: Callable[[str], list[str]],
    count_tokens: Callable[[str], int],
    budget: int,
    per_source_min: int = 60,
) -> list[Source]:
    """Number the results [1]..[n] and fit their text into ``budget`` tokens.

    Each source gets an equal share of the budget (at least ``per_source_min``);
    a unit over its share keeps its passages most similar to the question (by
    jieba-term overlap), in their original order, joined with "…".
    """
    if not results:
        return []
    share = max(per_source_min, budget // len(results))
    q_terms = set(terms(question))
    sources: list[Source] = []
    used = 0
    for r in results:
        passages = passages_of(r.text)
        text = r.text
        if count_tokens(text) > share:
            ranked = sorted(range(len(passages)), key=lambda i: -_overlap(terms, q_terms, passages[i]))
            keep: list[int] = []
            spent = 0
            for i in ranked:
                cost = count_tokens(passages[i])
                if spent + cost > share and keep:
                    continue
                keep.append(i)
                spent += cost
            text = "…".join(passages[i] for i in sorted(keep))
        cost = count_tokens(text)
        if sources and used + cost > budget:
            break
        used += cost
        sources.append(
            Source(
                n=len(sources) + 1,
                chunk_id=r.chunk_id,
                citation=r.citation,
                doc_title=r.doc_title,
                article=r.article,
                text=text,
                passages=passages,
                score=r.score,
            )
        )
    return sources
