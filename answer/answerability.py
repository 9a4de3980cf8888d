"""Does the best source answer the question? The language model's own judgement, as a likelihood.

A 0.5B chat model asked "does the source answer the question?" is close to a coin toss
(AUC 0.65 on the dev set). Asked instead how *likely the question is* after reading the
source, it is a good judge (the idea behind unsupervised passage re-rankers, UPR): a source
that answers a question makes that question much more predictable. The score is the
pointwise mutual information, in nats summed over the question's tokens:

    pmi = log P(question | "资料：<source>\\n\\n根据这份资料可以回答的问题：")
        - log P(question | "问题：")

Out-of-corpus questions on topics near the corpus (another city's subsidies, a programme the
corpus never describes) get relevant-looking sources from retrieval but low PMI, because
their specific words (广州, 科技创新券) are not predicted by the source. The threshold is
calibrated on the dev set's saved drafts (eval/reports/pmi_calibration_dev.jsonl): AUC 0.94 separating its
120 in-corpus from its 20 out-of-corpus questions.

A second, cheaper test needs no model: a question naming a place (广州, 杭州市) that none of the
retrieved sources mentions, in its title or text, is about somewhere the corpus does not cover.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from answer.sources import Source

MIN_QUESTION_PMI = 10.0

SOURCE_PROMPT = "资料：{citation}：{text}\n\n根据这份资料可以回答的问题："
BASE_PROMPT = "问题："


class LikelihoodScorer(Protocol):
    """Anything that can score raw text (the local chat model, see models.generators.Generator)."""

    def text_logprob(self, prefix: str, text: str) -> float: ...


def question_pmi(scorer: LikelihoodScorer, question: str, source: Source) -> float:
    """How much ``source`` raises the likelihood of ``question`` (nats, summed over its tokens)."""
    informed = scorer.text_logprob(SOURCE_PROMPT.format(citation=source.citation, text=source.text), question)
    return informed - scorer.text_logprob(BASE_PROMPT, question)


def unmentioned(named: set[str], sources: Sequence[Source]) -> set[str]:
    """The places of ``named`` that no source mentions (title or any passage)."""
    if not named:
        return set()
    where = "".join(s.citation + "".join(s.passages) for s in sources)
    return {place for place in named if place not in where}


def unmentioned_places(question: str, sources: Sequence[Source], places: Callable[[str], set[str]]) -> set[str]:
    """Places named in ``question`` that no source mentions (title or any passage)."""
    return unmentioned(places(question), sources)
