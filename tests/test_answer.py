"""Answering with scripted fake generators: the verifier must keep every wrong citation from the user."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from answer.answerer import Answerer, AnswerSettings
from answer.confidence import ConfidenceRule
from answer.extractive import extractive_answer
from answer.prompt import ABSTAIN_SENTENCE, QUOTED_PREFIX, build_messages
from answer.sources import Source, build_sources, passages_of
from answer.verify import split_claims, support, verify_answer, with_markers
from indexer.build import build_index
from indexer.tokenise import JiebaTokenizer
from models.chat import ChatMessage
from retriever.search import QueryError, Searcher
from retriever.store import load_index
from tests.conftest import FakeEmbedder, overlap_logprob

TOK = JiebaTokenizer()
TERMS = TOK.terms

ART6 = (
    "市工业和信息化部门是人工智能产业主管部门（以下简称市产业主管部门），负责实施、协调、督促本行政区域内人工智能产业发展工作。\n"
    "市发展改革、科技创新等部门在各自职责范围内，负责人工智能产业发展相关工作。"
)
ART73 = "本条例自2022年11月1日起施行。"
ART65 = "市人民政府应当设立市人工智能伦理委员会，履行下列职责：\n（一）研究制定人工智能领域的伦理安全规范；\n（二）评估伦理风险。"


def src(n: int, text: str, article: str) -> Source:
    return Source(
        n=n,
        chunk_id=f"c{n}",
        citation=f"《条例》{article}",
        doc_title="条例",
        article=article,
        text=text,
        passages=passages_of(text),
        score=1.0,
    )


SOURCES = [src(1, ART6, "第六条"), src(2, ART73, "第七十三条"), src(3, ART65, "第六十五条")]


def test_split_claims_keeps_markers_with_their_sentence() -> None:
    claims = split_claims("主管部门是市工业和信息化部门。[1] 条例自2022年11月1日起施行[2]。")
    assert [c.markers for c in claims] == [(1,), (2,)]
    assert claims[0].text == "主管部门是市工业和信息化部门。"
    assert split_claims("见【1】和[2,3]。")[0].markers == (1, 2, 3)


def test_correct_markers_are_kept_with_quotes() -> None:
    v = verify_answer("人工智能产业主管部门是市工业和信息化部门[1]。本条例自2022年11月1日起施行[2]。", SOURCES, terms=TERMS)
    assert v.answer == "人工智能产业主管部门是市工业和信息化部门[1]。本条例自2022年11月1日起施行[2]。"
    assert [c.citation for c in v.citations] == ["《条例》第六条", "《条例》第七十三条"]
    assert v.citations[0].quote.startswith("市工业和信息化部门是人工智能产业主管部门")
    assert v.citations[1].quote == ART73
    assert v.unsupported == ()


def test_wrong_marker_is_replaced_by_the_supporting_source() -> None:
    # The model cites [3] (ethics committee) for a claim that only [2] supports.
    v = verify_answer("本条例自2022年11月1日起施行[3]。", SOURCES, terms=TERMS)
    assert [c.citation for c in v.citations] == ["《条例》第七十三条"]
    assert v.answer == "本条例自2022年11月1日起施行[1]。"


def test_out_of_range_marker_is_dropped() -> None:
    v = verify_answer("人工智能产业主管部门是市工业和信息化部门[7]。", SOURCES, terms=TERMS)
    assert "[7]" not in v.answer
    assert [c.n for c in v.citations] == [1] and v.citations[0].citation == "《条例》第六条"


def test_unsupported_claim_is_removed_never_cited() -> None:
    v = verify_answer(
        "人工智能产业主管部门是市工业和信息化部门[1]。交通事故赔偿标准为1000元[1]。", SOURCES, terms=TERMS
    )
    assert v.unsupported == ("交通事故赔偿标准为1000元。",)
    assert "1000" not in v.answer
    assert len(v.citations) == 1


def test_claim_without_markers_gets_its_source() -> None:
    v = verify_answer("人工智能产业的主管部门是市工业和信息化部门。", SOURCES, terms=TERMS)
    assert v.answer == "人工智能产业的主管部门是市工业和信息化部门[1]。"
    assert v.citations[0].citation == "《条例》第六条"


def test_refusal_only_answer_has_no_citations() -> None:
    v = verify_answer(ABSTAIN_SENTENCE, SOURCES, terms=TERMS)
    assert v.citations == () and v.answer == ""


def test_support_is_lexical_and_bounded() -> None:
    assert support("本条例自2022年11月1日起施行", ART73, TERMS) == pytest.approx(1.0)
    assert support("交通事故赔偿标准", ART73, TERMS) < 0.2


def test_with_markers_goes_before_the_full_stop() -> None:
    assert with_markers("施行。", [1, 2]) == "施行[1][2]。"
    # without closing punctuation the markers close the sentence, so a following quote starts a new one
    assert with_markers("施行", [1]) == "施行[1]。"
    assert with_markers("（责任单位：市科技创新委）", [1]) + "近年来深圳发展很快。" == "（责任单位：市科技创新委）[1]。近年来深圳发展很快。"
    assert [c.markers for c in split_claims("（责任单位：市科技创新委）[1]。近年来深圳市委重视[2]。")] == [(1,), (2,)]


def test_build_sources_trims_to_budget_keeping_relevant_paragraphs() -> None:
    from retriever.results import SearchResult

    long_text = "\n".join([f"第{i}段无关的内容，讲述其他事项和安排。" for i in range(30)] + ["伦理委员会负责研究制定伦理安全规范。"])
    results = [SearchResult(1, 1.0, "c1", "d", "条例", "regulation", "第一条", "《条例》第一条", long_text, ("a",))]
    sources = build_sources("伦理委员会负责什么", results, terms=TERMS, count_tokens=len, budget=100)
    assert len(sources[0].text) <= 130
    assert "伦理委员会负责研究制定伦理安全规范" in sources[0].text
    assert sources[0].passages == passages_of(long_text)  # quotes can still come from the whole unit


def test_prompt_styles() -> None:
    plain = build_messages("问题？", SOURCES[:1])
    cite = build_messages("问题？", SOURCES[:1], style="cite")
    assert "[1] 《条例》第六条：" in plain[1].content and "问题：问题？" in plain[1].content
    assert ABSTAIN_SENTENCE in cite[0].content and "[1]" in cite[0].content
    with pytest.raises(ValueError, match="valid: plain, cite"):
        build_messages("x", SOURCES, style="poetry")


def test_extractive_answer_quotes_verbatim() -> None:
    v = extractive_answer("人工智能产业的主管部门是哪个部门", SOURCES, terms=TERMS)
    assert v.citations[0].citation == "《条例》第六条"
    assert v.citations[0].quote in ART6
    assert v.answer.startswith(v.citations[0].quote.rstrip("。"))


# --- the whole pipeline with a scripted generator ------------------------------------------------


class ScriptedGenerator:
    """Streams a fixed reply; records the messages it was given."""

    name = "scripted"
    context_window = 4096

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.seen: list[Sequence[ChatMessage]] = []

    def count_tokens(self, text: str) -> int:
        return len(text)

    def text_logprob(self, prefix: str, text: str) -> float:
        return overlap_logprob(prefix, text)

    def generate(
        self, messages: Sequence[ChatMessage], *, max_tokens: int = 256, temperature: float = 0.0, stop: Sequence[str] = ()
    ) -> Iterator[str]:
        self.seen.append(messages)
        yield from (self.reply[i : i + 3] for i in range(0, len(self.reply), 3))


@pytest.fixture()
def searcher(tmp_path: Path, tiny_corpus: Path, fake_embedder: FakeEmbedder) -> Searcher:
    build_index([tiny_corpus], tmp_path / "idx", fake_embedder, cache_dir=tmp_path / "c", progress=False)
    return Searcher(load_index(tmp_path / "idx"), fake_embedder)


# The fake embedder's similarities are not e5's: accept everything at the retrieval gate.
OPEN = AnswerSettings(rule=ConfidenceRule(min_dense=0.0, min_coverage=0.0, sure_dense=0.0))


def test_ask_streams_and_verifies(searcher: Searcher) -> None:
    gen = ScriptedGenerator("人工智能产业主管部门是市工业和信息化部门。[9]")
    pieces: list[str] = []
    result = Answerer(searcher, gen, settings=OPEN).ask("產業主管部門是哪個部門？", on_token=pieces.append)
    assert "".join(pieces) == gen.reply
    assert not result.abstained
    assert result.citations[0].citation == "《示范人工智能促进条例》第二条"
    assert "[9]" not in result.answer and result.answer.endswith("[1]。")
    assert result.first_token_ms is not None and result.model == "scripted"
    assert result.citations[0].chunk_id in result.retrieved
    # The model saw simplified text and numbered sources.
    assert "产业主管部门是哪个部门" in gen.seen[0][1].content and "[1] 《" in gen.seen[0][1].content
    assert set(result.to_dict()) == {
        "question", "answer", "abstained", "partial", "citations", "unsupported", "model", "took_ms", "first_token_ms",
    }
    assert result.to_dict()["partial"] is None


def test_ask_abstains_before_generating_when_the_best_source_does_not_answer(searcher: Searcher) -> None:
    gen = ScriptedGenerator("交通事故赔偿标准为1000元[1]。")
    result = Answerer(searcher, gen, settings=OPEN).ask("交通事故中机动车一方负全责时赔偿标准怎么计算")
    assert result.abstained and result.answer == ABSTAIN_SENTENCE and result.citations == ()
    assert gen.seen == [] and result.first_token_ms is None
    assert result.question_pmi is not None and result.question_pmi < OPEN.min_question_pmi


def test_ask_quotes_sources_when_the_source_answers_but_the_draft_fails(searcher: Searcher) -> None:
    result = Answerer(searcher, ScriptedGenerator("交通事故赔偿标准为1000元[1]。"), settings=OPEN).ask(
        "伦理委员会履行哪些职责"
    )
    assert result.question_pmi is not None and result.question_pmi >= OPEN.min_question_pmi
    assert not result.abstained and result.model == "scripted"
    assert result.unsupported == ("交通事故赔偿标准为1000元。",)
    assert "1000" not in result.answer and result.answer.startswith(QUOTED_PREFIX)
    for c in result.citations:  # verbatim quotes of the cited units
        assert c.quote in result.answer.replace(f"[{c.n}]", "")


def test_ask_abstains_when_the_model_says_the_sources_do_not_answer(searcher: Searcher) -> None:
    result = Answerer(searcher, ScriptedGenerator("资料中没有提及伦理委员会的职责。"), settings=OPEN).ask(
        "伦理委员会履行哪些职责"
    )
    assert result.abstained and result.citations == ()
    # what the sources do say on the topic comes with the abstention, clearly marked as such
    assert result.partial is not None and result.answer.startswith("现有资料未规定该事项。相关规定：")
    assert result.partial.related[0].article == "第三条"


def test_answerability_threshold_is_a_setting(searcher: Searcher) -> None:
    gen = ScriptedGenerator("伦理委员会研究制定人工智能领域的伦理安全规范。")
    strict = AnswerSettings(rule=OPEN.rule, min_question_pmi=1e9)
    result = Answerer(searcher, gen, settings=strict).ask("伦理委员会履行哪些职责")
    assert result.abstained and gen.seen == []
    relaxed = Answerer(searcher, gen, settings=OPEN).ask("伦理委员会履行哪些职责")
    assert not relaxed.abstained and relaxed.citations[0].article == "第三条"


def test_ask_abstains_before_generating_when_retrieval_is_weak(searcher: Searcher) -> None:
    gen = ScriptedGenerator("不应被调用。")
    strict = AnswerSettings(rule=ConfidenceRule(min_dense=1.1, min_coverage=1.1, sure_dense=1.1))
    result = Answerer(searcher, gen, settings=strict).ask("主管部门是谁")
    assert result.abstained and gen.seen == [] and result.first_token_ms is None


def test_ask_without_model_is_extractive(searcher: Searcher) -> None:
    result = Answerer(searcher, None, settings=OPEN).ask("伦理委员会履行哪些职责")
    assert result.model == "extractive" and not result.abstained
    assert any("伦理委员会" in c.quote for c in result.citations)
    assert result.first_token_ms is None


def test_ask_rejects_bad_questions(searcher: Searcher) -> None:
    answerer = Answerer(searcher, None, settings=OPEN)
    with pytest.raises(QueryError, match="empty"):
        answerer.ask("   ")
    with pytest.raises(QueryError, match="too long"):
        answerer.ask("问" * 501)


ART19 = "鼓励企业和社会力量以设立基金、联合资助、慈善捐赠等形式多渠道参与基础研究与技术开发。"


def test_restated_question_is_supported_by_a_relevant_passage() -> None:
    # The claim restates the question; its only new word (可以) is a stop word, so what counts
    # is whether the passage addresses the question.
    question = "企业和社会力量能不能以设立基金、慈善捐赠等形式参与基础研究与技术开发？"
    claim = "企业和社会力量可以以设立基金、慈善捐赠等形式参与基础研究与技术开发。"
    assert support(claim, ART19, TERMS, question) >= support(claim, ART19, TERMS)
    assert support(claim, ART19, TERMS, question) >= 0.8


def test_restated_question_is_not_supported_by_an_irrelevant_passage() -> None:
    question = "广州对人工智能企业落户有哪些奖励政策？"
    assert support("广州对人工智能企业落户有奖励政策。", ART73, TERMS, question) < 0.3


def test_negation_mismatch_is_never_supported() -> None:
    question = "企业或社会力量能不能通过设立基金参与基础研究？"
    assert support("企业或社会力量不能通过设立基金参与基础研究。", ART19, TERMS, question) == 0.0
    assert support("企业和社会力量以设立基金等形式参与基础研究。", ART19, TERMS, question) > 0.5


# --- slots, values, restatements (issue 10): never fill a slot the sources leave empty -------------


def test_a_slot_no_source_fills_is_a_partial_answer_before_generating(searcher: Searcher) -> None:
    gen = ScriptedGenerator("伦理委员会的主任是李文[1]。")
    result = Answerer(searcher, gen, settings=OPEN).ask("人工智能伦理委员会的主任是谁？")
    assert gen.seen == [] and result.stage == "slot check"
    assert result.abstained and result.citations == ()
    assert result.partial is not None and result.partial.missing == "主任"
    assert result.partial.related[0].article == "第三条"
    assert "李文" not in result.answer and result.answer.endswith("但未规定主任。")
    payload = result.to_dict()["partial"]
    assert payload["missing"] == "主任" and payload["related"][0]["citation"] == "《示范人工智能促进条例》第三条"


def test_an_invented_value_under_a_real_citation_is_removed(searcher: Searcher) -> None:
    gen = ScriptedGenerator("本条例自2023年1月1日起施行[1]。")
    result = Answerer(searcher, gen, settings=OPEN).ask("本条例什么时候起施行？")
    assert result.unsupported == ("本条例自2023年1月1日起施行。",)
    assert "2023" not in result.answer
    # the sources do give the date: it is quoted, marked as a quote
    assert not result.abstained and result.answer.startswith(QUOTED_PREFIX)
    assert result.citations[0].quote == "本条例自2022年11月1日起施行。"


def test_a_restated_question_is_never_an_answer(searcher: Searcher) -> None:
    gen = ScriptedGenerator("人工智能产业主管部门是哪个部门？[1]")
    result = Answerer(searcher, gen, settings=OPEN).ask("人工智能产业主管部门是哪个部门？")
    assert result.unsupported == ("人工智能产业主管部门是哪个部门？",)
    assert "？" not in result.answer
    gen = ScriptedGenerator("伦理委员会要履行职责[1]。")
    result = Answerer(searcher, gen, settings=OPEN).ask("伦理委员会要履行哪些职责？")
    assert "伦理委员会要履行职责。" in result.unsupported


def test_a_larger_model_with_the_cite_prompt_gets_the_same_checks(searcher: Searcher) -> None:
    """The GPU path: any GGUF other than the default uses the cite prompt; slot check and grounding still hold."""
    gen = ScriptedGenerator("人工智能产业主管部门是市工业和信息化部门[1]。伦理委员会由市科技创新委员会管理[1]。")
    gen.name = "qwen2.5-7b-instruct-q4_k_m.gguf"
    result = Answerer(searcher, gen, settings=OPEN).ask("人工智能产业的主管部门是哪个部门？")
    assert "[1]" in gen.seen[0][0].content  # the cite instruction
    assert result.answer == "人工智能产业主管部门是市工业和信息化部门[1]。"
    assert result.unsupported == ("伦理委员会由市科技创新委员会管理。",)
    fills = ScriptedGenerator("伦理委员会主任由市长担任[1]。")
    fills.name = gen.name
    result = Answerer(searcher, fills, settings=OPEN).ask("人工智能伦理委员会的主任是谁？")
    assert fills.seen == [] and result.abstained and result.partial is not None
