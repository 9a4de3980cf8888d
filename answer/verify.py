"""Citation verification: no claim reaches the user with a citation its source does not support.

For every sentence of a generated answer:

1. its ``[n]`` markers are read; a marker outside ``1..len(sources)`` is dropped;
2. each remaining marker is kept only if the source supports the sentence:
   ``support(sentence, passage) >= threshold`` for the source's best passage;
3. a sentence with no surviving marker gets the best-supporting source if that
   source clearly supports it (``>= unmarked_threshold``);
4. a sentence that is still unsupported is removed from the answer and listed in
   ``unsupported`` — except short connective text with too few content words to
   be a claim and no value in it, which is kept without a citation;
5. **values are grounded**: every number, amount, date, percentage, organisation,
   person, place and web address in a kept sentence must stand in its cited quotes
   (or their citations), compared by value (``三十日`` = ``30日``, answer/values.py);
   a sentence with an ungrounded value is removed and listed in ``unsupported``;
6. a sentence that is itself a question, or only restates the question (no word
   beyond the question's own), is never an answer: removed and listed;
7. a sentence saying the sources do not answer (``资料中没有提及…``) is dropped; an
   answer left with no cited claim is an abstention (decided by the caller).

Support is lexical: the mean of (a) the share of the sentence's jieba terms found in
the passage and (b) the share of its Chinese character bigrams found there. Given the
question, a sentence that restates it also counts as supported when its new words are
in a passage that addresses the question (see ``support``); a sentence whose negation
disagrees with the passage's is never supported, nor is one naming a place its source never mentions.
The thresholds were calibrated on the dev
set's saved model drafts by a grid script, since retired (eval/verify_calibration.py in git history); to re-tune
them, change them and replay saved drafts through the whole pipeline with ``python -m eval.studies.answer_replay``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from answer.answerability import unmentioned
from answer.sources import Source
from answer.values import Tagger, ungrounded

SUPPORT_THRESHOLD = 0.5
UNMARKED_THRESHOLD = 0.5
MIN_CLAIM_TERMS = 3

_MARKER = re.compile(r"[\[【［]\s*(\d{1,2}(?:\s*[,，、]\s*\d{1,2})*)\s*[\]】］]")
_SENTENCE_END = re.compile(r"[。！？；!?;\n]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_NEGATION = re.compile(r"不|没有|无须|无需|未|禁止|严禁")
_ASKING = re.compile(r"[？?]$|多少|哪个|哪些|什么时候|何时|是否|能否|吗$")
_CONTENT_CHAR = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
_FILLER = frozenset("的了是有在和与及等也都要会就为以其该所")
_YES_NO = re.compile(r"是否|能否|可否|能不能|可不可以|要不要|需不需要|算不算|有没有|是不是|会不会|吗[？?]?$")
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


def _share(terms_: set[str], grams: set[str], passage_terms: set[str], passage_grams: set[str]) -> float:
    """Mean share of the terms and of the bigrams found in the passage, over the non-empty ones
    (1.0 when there is nothing to find)."""
    shares = [
        len(items & found) / len(items) for items, found in ((terms_, passage_terms), (grams, passage_grams)) if items
    ]
    return sum(shares) / len(shares) if shares else 1.0


def _negated(text: str) -> bool:
    # "能不能", "是不是", "要不要", "有没有" ask; they do not negate.
    return bool(_NEGATION.search(re.sub(r"(.)[不没]\1", "", text)))


def support(
    claim: str,
    passage: str,
    terms: Callable[[str], list[str]],
    question: str | None = None,
    *,
    check_negation: bool = True,
) -> float:
    """How well ``passage`` supports ``claim`` (0..1, see module docstring).

    Without a question: the share of the claim's words found in the passage. With the
    question: also accepted is a claim whose *new* words (those not already in the
    question: a small model restates the question, ``企业可以通过捐款…参与…``) are in a
    passage that itself addresses the question — the lower of those two shares. A claim
    that negates what the passage states (or affirms what it negates) scores 0; pass
    ``check_negation=False`` when ``claim`` is a question, which asserts nothing.
    """
    claim_terms, claim_grams = set(terms(claim)), _bigrams(claim)
    if not claim_terms and not claim_grams:
        return 0.0
    if check_negation and _negated(claim) != _negated(passage):
        return 0.0
    p_terms, p_grams = set(terms(passage)), _bigrams(passage)
    score = _share(claim_terms, claim_grams, p_terms, p_grams)
    if question:
        q_terms, q_grams = set(terms(question)), _bigrams(question)
        # Words only: bigrams across the seam of a restated question (``量可``) are noise.
        novel = _share(claim_terms - q_terms, set(), p_terms, p_grams)
        relevance = _share(q_terms, q_grams, p_terms, p_grams)
        score = max(score, min(novel, relevance))
    return score


def with_markers(sentence: str, numbers: Sequence[int]) -> str:
    """Put ``[n]`` markers before the sentence's closing punctuation: ``…部门[1]。``.

    A sentence without one (a quoted 款 ending in ``）`` or ``：``) gets a full stop after its markers, so the
    next quote or claim does not read as part of it, for a reader or for re-checking.
    """
    marks = "".join(f"[{n}]" for n in numbers)
    if sentence and sentence[-1] in "。！？；!?;":
        return f"{sentence[:-1]}{marks}{sentence[-1]}"
    return f"{sentence}{marks}。"


def is_refusal(text: str) -> bool:
    """True when the model says the sources do not answer."""
    return bool(_REFUSAL.search(text))


def refuses(answer: str) -> bool:
    """True when every sentence of ``answer`` says the sources do not answer (and there is one)."""
    claims = split_claims(answer)
    return bool(claims) and all(is_refusal(c.text) for c in claims)


def restates(claim: str, question: str | None) -> bool:
    """True when ``claim`` is a question, or says nothing beyond the question's own words.

    The answer to a yes/no question may restate it as a statement (能不能…？ → 可以…。): its
    content is then checked against the passage like any claim.
    """
    if _ASKING.search(claim.strip()):
        return True
    if not question or _YES_NO.search(question):
        return False
    # Characters, not words: 履行职责 is one jieba word in the claim and two in 履行哪些职责.
    novel = set(_CONTENT_CHAR.findall(claim)) - set(_CONTENT_CHAR.findall(question)) - _FILLER
    return not novel


def verify_answer(
    answer: str,
    sources: Sequence[Source],
    *,
    terms: Callable[[str], list[str]],
    question: str | None = None,
    threshold: float = SUPPORT_THRESHOLD,
    unmarked_threshold: float = UNMARKED_THRESHOLD,
    places: Callable[[str], set[str]] | None = None,
    tagger: Tagger | None = None,
    cut: Callable[[str], list[str]] | None = None,
) -> VerifiedAnswer:
    """Check every claim against the sources it cites (see module docstring).

    ``places`` (a place-name tagger) makes a source unable to support a claim about a place it never names.
    ``tagger`` (jieba part-of-speech pairs) and ``cut`` (jieba segmentation) ground the claim's values in
    its quotes; without them values are not checked (unit tests of support alone).
    """

    def values(claim: str, haystack: str) -> list[str]:
        if tagger is None or cut is None:
            return []
        return ungrounded(claim, haystack, cut=cut, tagger=tagger)

    by_n = {s.n: s for s in sources}
    numbering: dict[tuple[str, str], int] = {}
    citations: list[Citation] = []
    parts: list[str] = []
    unsupported: list[str] = []
    for claim in split_claims(answer):
        if is_refusal(claim.text):
            continue  # "the sources do not say …" is not a claim; an answer of only these abstains
        if restates(claim.text, question):
            unsupported.append(claim.text)
            continue
        # A small model restates the question's place ("广州对…有以下奖励政策：") before copying a
        # Shenzhen article: the words match, the place does not, and the claim is false.
        named = places(claim.text) if places is not None else set()
        candidates = [s for s in sources if not unmentioned(named, [s])]
        supported = False  # some source supports the words; set when only its values fail

        def grounded(source: Source, floor: float, claim: Claim = claim) -> tuple[str, float] | None:
            """The source's best passage that supports the claim and holds all its values."""
            nonlocal supported
            scored = sorted(
                ((p, support(claim.text, p, terms, question)) for p in source.passages), key=lambda x: -x[1]
            )
            for passage, score in scored:
                if score < floor:
                    break
                supported = True
                if not values(claim.text, source.citation + passage):
                    return passage, score
            return None

        kept: list[tuple[Source, str]] = []
        for n in dict.fromkeys(claim.markers):
            source = by_n.get(n)
            if source is None or source not in candidates:
                continue
            found = grounded(source, threshold)
            if found:
                kept.append((source, found[0]))
        if not kept and candidates:
            options = [(s, g) for s in candidates if (g := grounded(s, unmarked_threshold))]
            if options:
                best_source, (best_quote, _) = max(options, key=lambda x: x[1][1])
                kept.append((best_source, best_quote))
        if not kept:
            connective = len(set(terms(claim.text))) < MIN_CLAIM_TERMS and not claim.markers
            if connective and not supported and not values(claim.text, ""):
                parts.append(claim.text)  # connective text, not a claim
            else:
                # unsupported, or supported in words but holding a value its quotes do not: invented
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
