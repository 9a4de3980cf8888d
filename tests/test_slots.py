"""The slot check and partial answers: a slot is answered only by a passage holding its focus and a value."""

from __future__ import annotations

from answer.question import classify
from answer.slots import answering_passages, partial_answer, partial_text
from answer.sources import Source, passages_of
from indexer.tokenise import JiebaTokenizer

TOK = JiebaTokenizer()

ART6 = "市工业和信息化部门是人工智能产业主管部门（以下简称市产业主管部门），负责实施、协调、督促本行政区域内人工智能产业发展工作。"
ART62 = "市产业主管部门应当于每年上半年向社会发布上一年度人工智能产业发展计划实施情况的报告。"
ART73 = "本条例自2022年11月1日起施行。"
CHIP = "华为发布了两款人工智能芯片：昇腾910和昇腾310。其中昇腾910采用7nm工艺，运算速度高达256T次。"
FUND = "统筹设立规模1000亿元的人工智能基金群，构筑人工智能高质量发展政策体系。"


def src(n: int, text: str, citation: str) -> Source:
    return Source(
        n=n, chunk_id=f"c{n}", citation=citation, doc_title="条例", article=None, text=text,
        passages=passages_of(text), score=1.0,
    )  # fmt: skip


SOURCES = [
    src(1, ART6, "《条例》第六条"),
    src(2, ART62, "《条例》第六十二条"),
    src(3, ART73, "《条例》第七十三条"),
    src(4, CHIP, "《四大优势》（芯片优势）"),
    src(5, FUND, "《政策分析》二、（三）"),
]


def answering(question: str) -> list[str]:
    ask = classify(question, TOK.cut).slots[0]
    return [s.citation for s, _ in answering_passages(ask, SOURCES, cut=TOK.cut, tagger=TOK.tag)]


def test_a_slot_is_answered_where_focus_and_value_meet() -> None:
    assert answering("人工智能产业的主管部门是哪个部门？")[0] == "《条例》第六条"
    assert answering("条例自什么时候起施行？") == ["《条例》第七十三条"]
    assert answering("年度报告什么时候发布？") == ["《条例》第六十二条"]
    assert answering("人工智能基金群的规模是多少？") == ["《政策分析》二、（三）"]


def test_a_detail_the_sources_leave_open_has_no_answering_passage() -> None:
    assert answering("人工智能产业发展年度报告要在哪个网站公布？") == []  # 发布 but no site
    assert answering("华为昇腾910芯片的市场售价是多少？") == []  # figures, but none is a price
    assert answering("市财政出资占基金群的比例是多少？") == []  # an amount, not a share
    assert answering("深圳市人工智能产业协会的会长是谁？") == []


def test_partial_answer_quotes_what_the_sources_say_and_names_the_gap() -> None:
    asked = classify("人工智能产业发展年度报告要在哪个网站公布？", TOK.cut)
    partial = partial_answer(asked, SOURCES, missing=asked.slots[0].detail, cut=TOK.cut, terms=TOK.terms)
    assert partial is not None and partial.missing == "公布网站"
    assert [c.citation for c in partial.related] == ["《条例》第六十二条"]
    assert partial.related[0].quote == ART62
    text = partial_text(partial)
    assert text.startswith("现有资料未规定该事项。相关规定：《条例》第六十二条规定：“市产业主管部门应当于每年上半年")
    assert text.endswith("但未规定公布网站。")
    assert partial.to_dict()["related"][0]["chunk_id"] == "c2"


def test_nothing_on_topic_is_no_partial_answer() -> None:
    asked = classify("申请公租房需要满足什么收入条件？", TOK.cut)
    assert partial_answer(asked, SOURCES, missing="", cut=TOK.cut, terms=TOK.terms) is None
