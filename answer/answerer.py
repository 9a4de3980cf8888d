"""Question → retrieval → confidence check → (local LLM or extractive) answer → verified citations."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from answer.answerability import MIN_QUESTION_PMI, question_pmi, unmentioned_places
from answer.confidence import Confidence, ConfidenceRule, assess
from answer.extractive import extractive_answer
from answer.prompt import ABSTAIN_SENTENCE, QUOTED_PREFIX, build_messages
from answer.sources import Source, build_sources
from answer.verify import Citation, VerifiedAnswer, refuses, verify_answer
from indexer.normalise import normalise_query
from models.generators import QWEN_05B, Generator
from retriever.search import QueryError, Searcher

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 500
EXTRACTIVE_MODEL = "extractive"


@dataclass(frozen=True)
class AnswerSettings:
    """Knobs of the answering pipeline."""

    k: int = 4
    context_tokens: int = 900  # source text budget: keeps the first token fast on a 2-core CPU
    max_answer_tokens: int = 200
    prompt_style: str = "auto"  # "auto": plain for the default 0.5B model, cite for any other GGUF
    # With a model: abstain unless the best source makes the question this much more likely
    # (answer/answerability.py; nats). Calibrated on the dev set (eval/pmi_calibration.py).
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
    confidence: Confidence | None = None
    draft: str = ""  # the model's unverified text (for evaluation and debugging; not in the JSON)
    retrieved: tuple[str, ...] = ()  # chunk ids of the articles retrieved for the question (not in the JSON)
    question_pmi: float | None = None  # answerability score of the best source (not in the JSON)

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [asdict(c) for c in self.citations],
            "unsupported": list(self.unsupported),
            "model": self.model,
            "took_ms": round(self.took_ms, 1),
            "first_token_ms": None if self.first_token_ms is None else round(self.first_token_ms, 1),
        }


class Answerer:
    """Answers questions from one index; the generator (if any) is loaded once and reused."""

    def __init__(
        self, searcher: Searcher, generator: Generator | None, *, settings: AnswerSettings | None = None
    ) -> None:
        self.searcher = searcher
        self.generator = generator
        self.settings = settings or AnswerSettings()
        self._terms = searcher.index.tokenizer.terms
        self._places = searcher.index.tokenizer.places

    def ask(
        self,
        question: str,
        *,
        k: int | None = None,
        no_llm: bool = False,
        on_token: Callable[[str], None] | None = None,
    ) -> AnswerResult:
        """Answer ``question``; ``on_token`` receives generated text pieces as they stream."""
        started = time.perf_counter()
        normalised = normalise_query(question)
        if not normalised:
            raise QueryError("the question is empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise QueryError(f"the question is too long ({len(question)} characters; at most {MAX_QUESTION_CHARS})")
        k = k or self.settings.k
        cands = self.searcher.candidates(normalised, max(50, 5 * k), self.searcher.allowed_rows())
        results = self.searcher.rank(cands, k=k)
        confidence = assess(
            normalised,
            cands,
            results[0].text if results else None,
            terms=self._terms,
            rule=self.settings.rule,
        )
        use_llm = self.generator is not None and not no_llm
        model = self.generator.name if use_llm and self.generator else EXTRACTIVE_MODEL

        retrieved = tuple(r.chunk_id for r in results)
        pmi: float | None = None

        def finish(verified: VerifiedAnswer | None, first_token_ms: float | None) -> AnswerResult:
            took = (time.perf_counter() - started) * 1000
            if verified is None or not verified.citations:
                unsupported = verified.unsupported if verified else ()
                return AnswerResult(
                    question,
                    ABSTAIN_SENTENCE,
                    True,
                    (),
                    unsupported,
                    model,
                    took,
                    first_token_ms,
                    confidence,
                    retrieved=retrieved,
                    question_pmi=pmi,
                )
            return AnswerResult(
                question,
                verified.answer,
                False,
                verified.citations,
                verified.unsupported,
                model,
                took,
                first_token_ms,
                confidence,
                retrieved=retrieved,
                question_pmi=pmi,
            )

        if not confidence.answerable or not results:
            logger.info("abstaining before generation: %s", confidence)
            return finish(None, None)
        count = self.generator.count_tokens if use_llm and self.generator else len
        sources = build_sources(
            normalised, results, terms=self._terms, count_tokens=count, budget=self.settings.context_tokens
        )
        foreign = unmentioned_places(normalised, sources, self._places)
        if foreign:
            logger.info("abstaining: the sources never mention %s", "、".join(sorted(foreign)))
            return finish(None, None)
        if not use_llm:
            return finish(extractive_answer(normalised, sources, terms=self._terms), None)
        assert self.generator is not None
        pmi = question_pmi(self.generator, normalised, sources[0])
        if pmi < self.settings.min_question_pmi:
            logger.info("abstaining before generation: the best source does not answer (pmi %.1f)", pmi)
            return finish(None, None)
        pieces: list[str] = []
        first_token_ms: float | None = None
        style = self.settings.prompt_style
        if style == "auto":
            style = "plain" if self.generator.name == QWEN_05B else "cite"
        messages = build_messages(normalised, sources, style=style)
        for piece in self.generator.generate(messages, max_tokens=self.settings.max_answer_tokens, temperature=0.0):
            if first_token_ms is None:
                first_token_ms = (time.perf_counter() - started) * 1000
            pieces.append(piece)
            if on_token:
                on_token(piece)
        draft = "".join(pieces)
        verified = verify_or_quote(draft, sources, question=normalised, terms=self._terms, places=self._places)
        return replace(finish(verified, first_token_ms), draft=draft)


def verify_or_quote(
    draft: str,
    sources: Sequence[Source],
    *,
    question: str,
    terms: Callable[[str], list[str]],
    places: Callable[[str], set[str]],
) -> VerifiedAnswer:
    """Verify a draft from sources that answer the question (the answerability check passed).

    When every claim was removed by verification and the model did not refuse, the small model
    got it wrong: quote the sources (marked as quotes) rather than say "not found".
    """
    verified = verify_answer(draft, sources, terms=terms, question=question, places=places)
    if verified.citations or refuses(draft):
        return verified
    logger.info("no generated claim survived verification: answering with quotes")
    quoted = extractive_answer(question, sources, terms=terms)
    if quoted.citations:
        quoted = replace(quoted, answer=QUOTED_PREFIX + quoted.answer)
    return replace(quoted, unsupported=verified.unsupported)
