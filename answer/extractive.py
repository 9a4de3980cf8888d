"""Answer without a language model: the most relevant sentences of the top articles, cited."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from answer.sources import Source
from answer.verify import Citation, VerifiedAnswer, support, with_markers


def extractive_answer(
    question: str,
    sources: Sequence[Source],
    *,
    terms: Callable[[str], list[str]],
    max_sentences: int = 2,
    max_sources: int = 3,
) -> VerifiedAnswer:
    """Pick the passages of the top sources that share most with the question; quote them verbatim."""
    scored: list[tuple[float, int, Source, str]] = []
    for rank, source in enumerate(sources[:max_sources]):
        for passage in source.passages:
            # support(question, passage): share of the question's words found in the passage
            scored.append((support(question, passage, terms, check_negation=False), -rank, source, passage))
    scored.sort(key=lambda x: (x[0], x[1]), reverse=True)
    chosen = [(s, p) for score, _, s, p in scored[:max_sentences] if score > 0]
    citations: list[Citation] = []
    parts: list[str] = []
    for source, passage in chosen:
        n = len(citations) + 1
        citations.append(Citation(n, source.citation, source.doc_title, source.article, passage, source.chunk_id))
        parts.append(with_markers(passage, [n]))
    return VerifiedAnswer("".join(parts), tuple(citations), ())
