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


PLAN = "到2023年，建成20家以上创新载体，培育20家以上龙头企业，人工智能核心产业规模突破300亿元。"
REG = "对违反伦理安全规范的行为，市产业主管部门应当在三十日内作出处理决定。"
ROBOT = "ATRIS先后在深圳第三人民医院等多个医院得到应用。"
TITLED = "2021年，国家新一代人工智能治理专业委员会发布了《新一代人工智能伦理规范》。"
MORE = [
    src(6, PLAN, "《计划》二、"),
    src(7, REG, "《条例》第七十条"),
    src(8, ROBOT, "《四大优势》（应用优势）"),
    src(9, TITLED, "《解读》一、"),
]


def answering_in(question: str, sources: list[Source]) -> list[str]:
    ask = classify(question, TOK.cut).slots[0]
    found = answering_passages(ask, sources, cut=TOK.cut, tagger=TOK.tag, question=question, terms=TOK.terms)
    return [s.citation for s, _ in found]


def test_a_count_carries_the_asked_measure() -> None:
    assert answering_in("计划要培育多少家龙头企业？", MORE) == ["《计划》二、"]
    assert answering_in("计划要建设多少所示范学校？", MORE) == []  # figures, but none counts 所


def test_a_duration_is_not_a_date() -> None:
    assert answering_in("主管部门要在多长时间内作出处理决定？", MORE) == ["《条例》第七十条"]
    assert answering_in("条例的试点期一般是多长时间？", SOURCES) == []  # 2022年11月1日 is a date, not a period


def test_a_value_the_question_states_is_no_answer() -> None:
    assert answering_in("除了深圳第三人民医院，ATRIS还在深圳哪家医院投入使用？", MORE) == []


def test_a_document_the_question_names_must_be_the_one_quoted() -> None:
    assert answering_in("《新一代人工智能伦理规范》是哪一年发布的？", MORE) == ["《解读》一、"]
    assert answering_in("《广东省新一代人工智能实施方案》是哪一年发布的？", MORE) == []
