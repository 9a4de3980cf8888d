"""Question → retrieved → gate → sources → slot check → draft → verified → result.

Each stage is a method that takes the previous stage's typed value; ``Answerer.ask`` reads
them in order on one screen. A stage that stops the answer returns an :class:`Outcome`
(abstain, or a partial answer saying what the corpus does and does not say).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from answer.answerability import MIN_QUESTION_PMI, question_pmi, unmentioned_places
from answer.confidence import Confidence, ConfidenceRule, assess
from answer.extractive import extractive_answer
from answer.prompt import ABSTAIN_SENTENCE, QUOTED_PREFIX, build_messages
from answer.question import AskedDetail, classify
from answer.slots import (
    CATEGORY_NOUNS,
    Partial,
    answering_passages,
    focus_terms,
    holds_focus,
    partial_answer,
    partial_text,
)
from answer.sources import Source, build_sources
from answer.values import Tagger
from answer.verify import Citation, VerifiedAnswer, refuses, verify_answer, with_markers
from indexer.normalise import normalise_query
from models.generators import QWEN_05B, Generator
from retriever.results import SearchResult
from retriever.search import Candidates, QueryError, Searcher

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 500
_PROCEDURE_NOUNS = ("流程", "程序", "步骤", "手续")
EXTRACTIVE_MODEL = "extractive"


@dataclass(frozen=True)
class AnswerSettings:
    """Knobs of the answering pipeline."""

    k: int = 4
    context_tokens: int = 900  # source text budget: keeps the first token fast on a 2-core CPU
    max_answer_tokens: int = 200
    prompt_style: str = "auto"  # "auto": plain for the default 0.5B model, cite for any other GGUF
    # With a model: abstain unless the best source makes the question this much more likely
    # (answer/answerability.py; nats). Calibrated on the dev set (eval/reports/pmi_calibration_dev.jsonl).
    min_question_pmi: float = MIN_QUESTION_PMI
    rule: ConfidenceRule = field(default_factory=ConfidenceRule)


@dataclass(frozen=True)
class AnswerResult:
    """The answer object shared by the CLI (--json) and the API."""

    question: str
    answer: str
    abstained: bool
    citations: tuple[Citation, ...]
    unsupported: tuple[str, ...]
    model: str
    took_ms: float
    first_token_ms: float | None
    partial: Partial | None = None  # abstained, but the corpus says something on the topic
    confidence: Confidence | None = None
    draft: str = ""  # the model's unverified text (for evaluation and debugging; not in the JSON)
    retrieved: tuple[str, ...] = ()  # chunk ids of the articles retrieved for the question (not in the JSON)
    question_pmi: float | None = None  # answerability score of the best source (not in the JSON)
    stage: str = ""  # the stage that decided the outcome (not in the JSON)

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "partial": self.partial.to_dict() if self.partial else None,
            "citations": [asdict(c) for c in self.citations],
            "unsupported": list(self.unsupported),
            "model": self.model,
            "took_ms": round(self.took_ms, 1),
            "first_token_ms": None if self.first_token_ms is None else round(self.first_token_ms, 1),
        }


@dataclass(frozen=True)
class Question:
    """Stage 1: the question as asked, normalised (simplified, half-width digits), and what it asks."""

    text: str
    normalised: str
    asked: AskedDetail


@dataclass(frozen=True)
class Retrieved:
    """Stage 2: the top articles, the candidate lists they came from, and the retrieval confidence."""

    results: tuple[SearchResult, ...]
    candidates: Candidates
    confidence: Confidence


@dataclass(frozen=True)
class Draft:
    """Stage 5: the model's text, unverified."""

    text: str
    first_token_ms: float | None
    question_pmi: float | None


@dataclass(frozen=True)
class Outcome:
    """What the pipeline decided: a verified answer, a partial answer, or an abstention."""

    stage: str
    verified: VerifiedAnswer | None = None
    partial: Partial | None = None
    unsupported: tuple[str, ...] = ()

    @property
    def answered(self) -> bool:
        """True when a verified answer with at least one citation is shown."""
        return self.verified is not None and bool(self.verified.citations)


class Answerer:
    """Answers questions from one index; the generator (if any) is loaded once and reused."""

    def __init__(
        self, searcher: Searcher, generator: Generator | None, *, settings: AnswerSettings | None = None
    ) -> None:
        self.searcher = searcher
        self.generator = generator
        self.settings = settings or AnswerSettings()

    # The index's tokenizer, read on each use: an upload may reload the index with a new user dictionary.
    @property
    def _terms(self) -> Callable[[str], list[str]]:
        return self.searcher.index.tokenizer.terms

    @property
    def _places(self) -> Callable[[str], set[str]]:
        return self.searcher.index.tokenizer.places

    @property
    def _cut(self) -> Callable[[str], list[str]]:
        return self.searcher.index.tokenizer.cut

    @property
    def _tagger(self) -> Tagger:
        return self.searcher.index.tokenizer.tag

    def ask(
        self,
        question: str,
        *,
        k: int | None = None,
        no_llm: bool = False,
        on_token: Callable[[str], None] | None = None,
        issuer: str | None = None,
        year: str | int | None = None,
    ) -> AnswerResult:
        """Answer ``question``; ``on_token`` receives generated text pieces as they stream.

        ``issuer`` and ``year`` restrict the sources to matching documents (see ``Searcher.allowed_rows``).
        """
        started = time.perf_counter()
        generator = None if no_llm else self.generator
        q = self.read(question)
        retrieved = self.retrieve(q, k or self.settings.k, issuer=issuer, year=year)
        draft: Draft | None = None
        answering: list[list[tuple[Source, str]]] = []  # per slot; found once, used by the check and the decision
        sources = self.number_sources(q, retrieved, generator)
        outcome = self.gate(q, retrieved, sources) or self.check_places(q, sources)
        if outcome is None:
            answering = self.answering(q, sources)
            outcome = self.check_slots(q, sources, answering)
        if outcome is None and generator is not None:
            draft = self.draft(q, sources, generator, started, on_token)
            outcome = self.check_answerable(q, sources, draft)
        if outcome is None:
            verified = self.verify(q, sources, draft) if draft is not None else None
            outcome = self.decide(q, sources, verified, draft, answering)
        return self.result(q, retrieved, sources, outcome, draft, generator, started)

    # --- stages -------------------------------------------------------------------------------

    def read(self, question: str) -> Question:
        """Stage 1: validate and normalise the question, and read what it asks."""
        normalised = normalise_query(question)
        if not normalised:
            raise QueryError("the question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise QueryError(f"the question is too long ({len(question)} characters; at most {MAX_QUESTION_CHARS})")
        return Question(text=question, normalised=normalised, asked=classify(normalised, self._cut))

    def retrieve(self, q: Question, k: int, *, issuer: str | None = None, year: str | int | None = None) -> Retrieved:
        """Stage 2: the top ``k`` articles (of documents matching ``issuer``/``year``) and the retrieval
        confidence; one read-locked call, so an index reload (an upload) cannot slip in between."""
        cands, results = self.searcher.retrieve(q.normalised, k=k, issuer=issuer, year=year)
        confidence = assess(
            q.normalised,
            cands,
            results[0].text if results else None,
            terms=self._terms,
            rule=self.settings.rule,
        )
        return Retrieved(results=results, candidates=cands, confidence=confidence)

    def gate(self, q: Question, retrieved: Retrieved, sources: Sequence[Source]) -> Outcome | None:
        """Stage 4: abstain when nothing retrieved could answer (answer/confidence.py); what is on the
        question's topic is still quoted as a partial answer."""
        if retrieved.results and retrieved.confidence.answerable:
            return None
        logger.info("abstaining before generation: %s", retrieved.confidence)
        return self._partial("retrieval gate", q, sources)

    def number_sources(self, q: Question, retrieved: Retrieved, generator: Generator | None) -> list[Source]:
        """Stage 3: numbered sources [1]..[n] within the prompt's token budget."""
        count = generator.count_tokens if generator is not None else len
        return build_sources(
            q.normalised,
            retrieved.results,
            terms=self._terms,
            count_tokens=count,
            budget=self.settings.context_tokens,
        )

    def check_places(self, q: Question, sources: Sequence[Source]) -> Outcome | None:
        """Abstain on a question naming a place (广州) that no source mentions: the corpus does not cover it."""
        foreign = unmentioned_places(q.normalised, sources, self._places)
        if not foreign:
            return None
        logger.info("abstaining: the sources never mention %s", "、".join(sorted(foreign)))
        return Outcome(stage="places")

    def answering(self, q: Question, sources: Sequence[Source]) -> list[list[tuple[Source, str]]]:
        """For each slot of the question, the passages that hold its focus and a value of its type, best first."""
        return [
            answering_passages(
                ask, sources, cut=self._cut, tagger=self._tagger, question=q.normalised, terms=self._terms
            )
            for ask in q.asked.slots
        ]

    def check_slots(
        self, q: Question, sources: Sequence[Source], answering: Sequence[Sequence[tuple[Source, str]]]
    ) -> Outcome | None:
        """Stage 5: a slot question (amount, time, body, place) needs a passage holding its focus and a
        value of its type (``answering``, one list per slot); when none does, the answer is partial,
        before any generation."""
        for ask, found in zip(q.asked.slots, answering, strict=True):
            if not found:
                logger.info("no source gives %s (%s): partial answer", ask.detail, ask.kind)
                return self._partial("slot check", q, sources, missing=ask.detail)
        return None

    def draft(
        self,
        q: Question,
        sources: Sequence[Source],
        generator: Generator,
        started: float,
        on_token: Callable[[str], None] | None,
    ) -> Draft:
        """Stage 6: score answerability, then (if it passes) generate at temperature 0, streaming."""
        pmi = question_pmi(generator, q.normalised, sources[0])
        if pmi < self.settings.min_question_pmi:
            return Draft(text="", first_token_ms=None, question_pmi=pmi)
        style = self.settings.prompt_style
        if style == "auto":
            style = "plain" if generator.name == QWEN_05B else "cite"
        pieces: list[str] = []
        first_token_ms: float | None = None
        messages = build_messages(q.normalised, sources, style=style)
        for piece in generator.generate(messages, max_tokens=self.settings.max_answer_tokens, temperature=0.0):
            if first_token_ms is None:
                first_token_ms = (time.perf_counter() - started) * 1000
            pieces.append(piece)
            if on_token:
                on_token(piece)
        return Draft(text="".join(pieces), first_token_ms=first_token_ms, question_pmi=pmi)

    def check_answerable(self, q: Question, sources: Sequence[Source], draft: Draft) -> Outcome | None:
        """The model's likelihoods say the best source does not answer (answer/answerability.py)."""
        if draft.question_pmi is None or draft.question_pmi >= self.settings.min_question_pmi:
            return None
        logger.info("the best source does not answer (pmi %.1f): partial answer", draft.question_pmi)
        return self._partial("answerability", q, sources)

    def verify(self, q: Question, sources: Sequence[Source], draft: Draft) -> VerifiedAnswer:
        """Stage 7: every claim checked against its quote, values grounded (answer/verify.py)."""
        return verify_answer(
            draft.text,
            sources,
            terms=self._terms,
            question=q.normalised,
            places=self._places,
            tagger=self._tagger,
            cut=self._cut,
        )

    def decide(
        self,
        q: Question,
        sources: Sequence[Source],
        verified: VerifiedAnswer | None,
        draft: Draft | None,
        by_slot: Sequence[Sequence[tuple[Source, str]]],
    ) -> Outcome:
        """Stage 8: show the verified answer, or quotes that hold what is asked, or a partial answer.

        A slot question's answer must cite a passage holding its focus and a value of its type; an
        answer made of quotes (without a model, or when no generated claim survived) must quote
        passages holding the question's focus.
        """
        answering: list[tuple[Source, str]] = []  # every slot's answering passages, without repeats
        for found in by_slot:
            answering += [p for p in found if p not in answering]
        unsupported = verified.unsupported if verified else ()
        if verified is not None and verified.citations and self._cites_answer(q, verified, answering):
            if self._names_what_is_asked(q, verified, quotes=False):
                return Outcome(stage="verified", verified=verified)
            return self._partial("answer does not name what is asked", q, sources, unsupported=unsupported)
        if draft is not None and refuses(draft.text):
            return self._partial("model refused", q, sources, unsupported=unsupported)
        quoted = self._quotes(q, sources, answering)
        if quoted is None:
            return self._partial("no quote holds the focus", q, sources, unsupported=unsupported)
        prefix = QUOTED_PREFIX if draft is not None else ""
        shown = VerifiedAnswer(prefix + quoted.answer, quoted.citations, unsupported)
        return Outcome(stage="quoted" if draft is not None else "extractive", verified=shown)

    def result(
        self,
        q: Question,
        retrieved: Retrieved,
        sources: Sequence[Source],
        outcome: Outcome,
        draft: Draft | None,
        generator: Generator | None,
        started: float,
    ) -> AnswerResult:
        """The answer object (abstention text when nothing verified is shown)."""
        verified = outcome.verified if outcome.answered else None
        partial = outcome.partial
        if verified is not None:
            answer, citations, unsupported = verified.answer, verified.citations, verified.unsupported
        else:
            answer = partial_text(partial) if partial else ABSTAIN_SENTENCE
            citations, unsupported = (), outcome.unsupported
        return AnswerResult(
            question=q.text,
            answer=answer,
            abstained=verified is None,
            citations=citations,
            unsupported=unsupported,
            model=generator.name if generator is not None else EXTRACTIVE_MODEL,
            took_ms=(time.perf_counter() - started) * 1000,
            first_token_ms=draft.first_token_ms if draft else None,
            partial=partial,
            confidence=retrieved.confidence,
            draft=draft.text if draft else "",
            retrieved=tuple(r.chunk_id for r in retrieved.results),
            question_pmi=draft.question_pmi if draft else None,
            stage=outcome.stage,
        )

    # --- helpers --------------------------------------------------------------------------------

    def _cites_answer(self, q: Question, verified: VerifiedAnswer, answering: Sequence[tuple[Source, str]]) -> bool:
        """A slot question's answer cites at least one passage that can answer it; other answers pass."""
        if not q.asked.slots:
            return True
        wanted = {(s.chunk_id, p) for s, p in answering}
        return any((c.chunk_id, c.quote) in wanted for c in verified.citations)

    def _quotes(
        self, q: Question, sources: Sequence[Source], answering: Sequence[tuple[Source, str]]
    ) -> VerifiedAnswer | None:
        """Quotes that hold what is asked: a slot's answering passages; for a list question, passages
        naming the listed thing (哪些*税收优惠*); otherwise the passages most like the question."""
        if q.asked.slots:
            return _quote(answering[:2]) if answering else None
        quoted = extractive_answer(q.normalised, sources, terms=self._terms)
        return quoted if quoted.citations and self._names_what_is_asked(q, quoted) else None

    def _names_what_is_asked(self, q: Question, answer: VerifiedAnswer, *, quotes: bool = True) -> bool:
        """A procedure by name (评审*流程*, 什么*程序*) is answered only by a quote that names one; answered by
        quotes alone (``quotes``), a list of a named thing (哪些*税收优惠*) too — a list of a category
        (哪些政策, 哪些方面) and other asks pass. (A generated list is checked item by item by verification.)"""
        for ask in q.asked.asks:
            named = any(n in c.quote for c in answer.citations for n in _PROCEDURE_NOUNS)
            if ask.kind == "procedure" and ask.cue in _PROCEDURE_NOUNS and not named:
                return False
            if ask.kind == "list" and quotes:
                words = self._cut(ask.focus)
                terms = focus_terms(ask, self._cut) if words and words[-1] not in CATEGORY_NOUNS else ()
                if terms and not any(holds_focus(c.quote, terms) for c in answer.citations):
                    return False
        return True

    def _partial(
        self,
        stage: str,
        q: Question,
        sources: Sequence[Source],
        *,
        missing: str = "",
        unsupported: tuple[str, ...] = (),
    ) -> Outcome:
        partial = partial_answer(q.asked, sources, missing=missing, cut=self._cut, terms=self._terms)
        return Outcome(stage=stage, partial=partial, unsupported=unsupported)


def _quote(pairs: Sequence[tuple[Source, str]]) -> VerifiedAnswer:
    """Passages quoted verbatim, each cited."""
    citations = tuple(
        Citation(n=n, citation=s.citation, doc_title=s.doc_title, article=s.article, quote=p, chunk_id=s.chunk_id)
        for n, (s, p) in enumerate(pairs, start=1)
    )
    answer = "".join(with_markers(c.quote, [c.n]) for c in citations)
    return VerifiedAnswer(answer=answer, citations=citations, unsupported=())
