"""Citation verification: no claim reaches the user with a citation its source does not support.

For every sentence of a generated answer:

1. its ``[n]`` markers are read; a marker outside ``1..len(sources)`` is dropped;
2. each remaining marker is kept only if the source supports the sentence:
   ``support(sentence, passage) >= threshold`` for the source's best passage;
3. a sentence with no surviving marker gets the best-supporting source if that
   source clearly supports it (``>= unmarked_threshold``);
4. a sentence that is still unsupported is removed from the answer and listed in
   ``unsupported`` — except short connective text with too few content words to
   be a claim, which is kept without a citation;
5. a sentence saying the sources do not answer (``资料中没有提及…``) is dropped; an
   answer left with no cited claim is an abstention (decided by the caller).

Support is lexical: the mean of (a) the share of the sentence's jieba terms found in
the passage and (b) the share of its Chinese character bigrams found there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from answer.sources import Source

SUPPORT_THRESHOLD = 0.5
UNMARKED_THRESHOLD = 0.6
MIN_CLAIM_TERMS = 3

_MARKER = re.compile(r"[\[【［]\s*(\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)\s*[\]】］]")
_SENTENCE_END = re.compile(r"[。！？；!?;\n]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_REFUSAL = re.compile(r"无法回答|不能回答|没有(提及|提到|相关|涉及)|未(提及|提到|涉及)|资料中(没有|并未|未)")


@dataclass(frozen=True)
class Claim:
    """One sentence of the answer with the source numbers it cites."""

    text: str  # without markers
    markers: tuple[int, ...]


@dataclass(frozen=True)
class Citation:
    """A verified citation: which source, and the exact passage that supports the claim."""

    n: int
    citation: str
    doc_title: str
    article: str | None
    quote: str
    chunk_id: str


@dataclass(frozen=True)
class VerifiedAnswer:
    """The answer after verification: text with renumbered markers, its citations, what was removed."""

    answer: str
    citations: tuple[Citation, ...]
    unsupported: tuple[str, ...]


def split_claims(answer: str) -> list[Claim]:
    """Split into sentences; markers written after the full stop (``…部门。[1]``) stay with their sentence."""
    claims: list[Claim] = []
    pos = 0
    text = answer.strip()
    while pos < len(text):
        m = _SENTENCE_END.search(text, pos)
        end = m.end() if m else len(text)
        # absorb markers (and spaces) that follow the sentence end
        while True:
            tail = re.match(r"\s*" + _MARKER.pattern, text[end:])
            if not tail:
                break
            end += tail.end()
        raw = text[pos:end]
        pos = end
        markers = tuple(int(x) for g in _MARKER.findall(raw) for x in re.split(r"[,，、]", g) if x.strip())
        body = _MARKER.sub("", raw).strip()
        if body and body != "\n":
            claims.append(Claim(body, markers))
    return claims


def _bigrams(text: str) -> set[str]:
    chars = "".join(_CJK.findall(text))
    return {chars[i : i + 2] for i in range(len(chars) - 1)}


def support(claim: str, passage: str, terms: Callable[[str], list[str]]) -> float:
    """How well ``passage`` supports ``claim`` (0..1, see module docstring)."""
    claim_terms = set(terms(claim))
    grams = _bigrams(claim)
    if not claim_terms and not grams:
        return 0.0
    passage_terms = set(terms(passage))
    term_share = len(claim_terms & passage_terms) / len(claim_terms) if claim_terms else 0.0
    gram_share = len(grams & _bigrams(passage)) / len(grams) if grams else 0.0
    return (term_share + gram_share) / 2


def best_passage(claim: str, source: Source, terms: Callable[[str], list[str]]) -> tuple[str, float]:
    """The source passage that best supports the claim, and its score."""
    scored = [(p, support(claim, p, terms)) for p in source.passages] or [(source.text, 0.0)]
    return max(scored, key=lambda item: item[1])


def with_markers(sentence: str, numbers: Sequence[int]) -> str:
    """Put ``[n]`` markers before the sentence's closing punctuation: ``…部门[1]。``."""
    marks = "".join(f"[{n}]" for n in numbers)
    if sentence and sentence[-1] in "。！？；!?;":
        return f"{sentence[:-1]}{marks}{sentence[-1]}"
    return sentence + marks


def is_refusal(text: str) -> bool:
    """True when the model says the sources do not answer."""
    return bool(_REFUSAL.search(text))


def verify_answer(
    answer: str,
    sources: Sequence[Source],
    *,
    terms: Callable[[str], list[str]],
    threshold: float = SUPPORT_THRESHOLD,
    unmarked_threshold: float = UNMARKED_THRESHOLD,
) -> VerifiedAnswer:
    """Check every claim against the sources it cites (see module docstring)."""
    by_n = {s.n: s for s in sources}
    numbering: dict[tuple[str, str], int] = {}
    citations: list[Citation] = []
    parts: list[str] = []
    unsupported: list[str] = []
    for claim in split_claims(answer):
        if is_refusal(claim.text):
            continue  # "the sources do not say …" is not a claim; an answer of only these abstains
        kept: list[tuple[Source, str]] = []
        for n in dict.fromkeys(claim.markers):
            source = by_n.get(n)
            if source is None:
                continue
            quote, score = best_passage(claim.text, source, terms)
            if score >= threshold:
                kept.append((source, quote))
        if not kept and sources:
            best = max(((s, *best_passage(claim.text, s, terms)) for s in sources), key=lambda x: x[2])
            if best[2] >= unmarked_threshold:
                kept.append((best[0], best[1]))
        if not kept:
            if len(set(terms(claim.text))) < MIN_CLAIM_TERMS and not claim.markers:
                parts.append(claim.text)  # connective text, not a claim
            else:
                unsupported.append(claim.text)
            continue
        numbers = []
        for source, quote in kept:
            key = (source.chunk_id, quote)
            if key not in numbering:
                numbering[key] = len(citations) + 1
                citations.append(
                    Citation(numbering[key], source.citation, source.doc_title, source.article, quote, source.chunk_id)
                )
            numbers.append(numbering[key])
        parts.append(with_markers(claim.text, numbers))
    return VerifiedAnswer("".join(parts), tuple(citations), tuple(unsupported))
