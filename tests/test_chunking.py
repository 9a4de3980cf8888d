"""Cutting units into chunks: citations, 款 labels, sentence boundaries, size limits, stable ids."""

from __future__ import annotations

import re

import pytest

from indexer.chunking import (
    MAX_CHUNK_CHARS,
    budget_for_window,
    chinese_number,
    chunk_id,
    chunk_units,
    citation_for,
    hard_split,
    split_sentences,
)
from indexer.records import Chunk, DocumentInfo, MergedUnit, Unit

TITLE = "深圳经济特区人工智能产业促进条例"
REGULATION = DocumentInfo("sz-ai-regulation", TITLE, "regulation", sources=("001.txt",))
PLAN = DocumentInfo("sz-ai-plan", "深圳市新一代人工智能发展行动计划（2019-2023年）", "plan")
ARTICLE = DocumentInfo("sz-ai-four", "深圳四大优势，成为中国人工智能第三“极”", "article")

SIXTH = (
    "市工业和信息化部门是人工智能产业主管部门（以下简称市产业主管部门），负责实施、协调、督促本行政区域内人工智能产业发展工作。",
    "市发展改革、教育、科技创新、公安、财政等部门在各自职责范围内，负责人工智能产业发展相关工作。",
)
SENTENCE_END = re.compile(r"[。！？；][”’」）]*$")


def _count(text: str) -> int:
    """A deterministic stand-in for jieba: one token per non-whitespace character."""
    return len(re.sub(r"\s", "", text))


def _merged(unit: Unit, doc: DocumentInfo = REGULATION, sources: tuple[str, ...] = ("001.txt",)) -> MergedUnit:
    return MergedUnit(doc.doc_id, unit, sources, len(sources))


def _chunks(doc: DocumentInfo, unit: Unit, budget: int) -> list[Chunk]:
    return chunk_units(doc, [_merged(unit, doc)], budget=budget, count_tokens=_count)


def _long_paragraph(n: int) -> str:
    """n sentences of varied length, ending in 。 or ； (and one quoted question)."""
    parts = []
    for i in range(n):
        body = "人工智能产业" * (1 + i % 4) + f"第{chinese_number(i + 1)}项措施"
        parts.append(f"“{body}？”" if i == 3 else body + ("；" if i % 3 == 0 else "。"))
    return "".join(parts)


# --- one chunk per short unit ---------------------------------------------------------------------


def test_short_regulation_unit_is_one_chunk_with_citation() -> None:
    unit = Unit("第六条", None, ("第一章 总则", "第六条"), SIXTH, order=6)
    (chunk,) = _chunks(REGULATION, unit, budget=1000)
    assert chunk.citation == "《深圳经济特区人工智能产业促进条例》第六条"
    assert chunk.article == "第六条"
    assert chunk.text == "\n".join(SIXTH)
    assert chunk.embed_text == f"{TITLE} 第六条\n" + "\n".join(SIXTH)
    assert chunk.path == ("第一章 总则", "第六条")
    assert chunk.doc_id == "sz-ai-regulation"
    assert chunk.doc_title == TITLE
    assert chunk.doc_type == "regulation"
    assert chunk.unit_key == "第六条"
    assert chunk.piece == 0
    assert chunk.sources == ("001.txt",)


def test_outline_unit_citation_and_embed_text_carry_label_and_heading() -> None:
    unit = Unit(
        "三、（一）1.",
        "加强基础理论研究",
        ("三、主要任务", "（一）强化前沿基础研究", "1.加强基础理论研究"),
        ("加强基础理论研究。聚焦人工智能重大科学前沿导向。",),
        order=3,
    )
    (chunk,) = _chunks(PLAN, unit, budget=1000)
    assert chunk.citation == f"《{PLAN.title}》三、（一）1."
    assert (
        chunk.embed_text
        == f"{PLAN.title} 三、（一）1. 加强基础理论研究\n加强基础理论研究。聚焦人工智能重大科学前沿导向。"
    )


def test_prose_and_preamble_units_are_cited_by_heading() -> None:
    prose = Unit(None, "芯片优势", ("芯片优势",), ("华为是人工智能芯片技术的引领者。",), order=1)
    preamble = Unit(None, "前言", (), ("人工智能已经成为继互联网+之后的又一“飓风口”。",), order=0)
    (c1,) = _chunks(ARTICLE, prose, budget=1000)
    (c2,) = _chunks(ARTICLE, preamble, budget=1000)
    assert c1.article is None
    assert c1.citation == f"《{ARTICLE.title}》（芯片优势）"
    assert c1.embed_text.startswith(f"{ARTICLE.title} （芯片优势）\n")
    assert c1.unit_key == "（芯片优势）"
    assert c2.citation == f"《{ARTICLE.title}》（前言）"


def test_citation_for() -> None:
    assert citation_for(TITLE, "第六条", None) == f"《{TITLE}》第六条"
    assert citation_for(TITLE, None, "芯片优势") == f"《{TITLE}》（芯片优势）"
    assert citation_for(TITLE, None, None) == f"《{TITLE}》（前言）"


# --- splitting long units -------------------------------------------------------------------------


def test_long_article_is_split_at_kuan_boundaries() -> None:
    paragraphs = ("甲" * 60 + "。", "乙" * 60 + "。", "丙" * 60 + "。")
    unit = Unit("第六十五条", None, ("第六章 治理原则与措施", "第六十五条"), paragraphs, order=65)
    chunks = _chunks(REGULATION, unit, budget=100)  # one 款 fits, two do not
    assert [c.article for c in chunks] == ["第六十五条第一款", "第六十五条第二款", "第六十五条第三款"]
    assert [c.citation for c in chunks] == [f"《{TITLE}》第六十五条第{n}款" for n in "一二三"]
    assert [c.text for c in chunks] == list(paragraphs)
    assert [c.piece for c in chunks] == [0, 1, 2]
    assert all(c.unit_key == "第六十五条" for c in chunks)
    assert chunks[1].embed_text == f"{TITLE} 第六十五条第二款\n{paragraphs[1]}"


def test_kuan_are_packed_greedily_into_ranges() -> None:
    paragraphs = ("甲" * 60 + "。", "乙" * 60 + "。", "丙" * 60 + "。")
    unit = Unit("第六十五条", None, ("第六十五条",), paragraphs, order=65)
    chunks = _chunks(REGULATION, unit, budget=130)  # two 款 fit
    assert [c.article for c in chunks] == ["第六十五条第一款至第二款", "第六十五条第三款"]
    assert chunks[0].text == f"{paragraphs[0]}\n{paragraphs[1]}"


def test_long_unit_of_other_documents_keeps_its_label() -> None:
    paragraphs = ("甲" * 60 + "。", "乙" * 60 + "。")
    unit = Unit("三、（一）", "强化前沿基础研究", ("三、主要任务",), paragraphs, order=2)
    chunks = _chunks(PLAN, unit, budget=100)
    assert len(chunks) == 2
    assert {c.article for c in chunks} == {"三、（一）"}
    assert {c.citation for c in chunks} == {f"《{PLAN.title}》三、（一）"}


@pytest.mark.parametrize("budget", [40, 80, 150])
def test_huge_kuan_is_split_at_sentence_boundaries(budget: int) -> None:
    paragraph = _long_paragraph(40)
    assert _count(paragraph) > budget
    unit = Unit("第七十二条", None, ("第七十二条",), (paragraph,), order=72)
    chunks = _chunks(REGULATION, unit, budget=budget)
    assert len(chunks) > 1
    assert "".join(c.text for c in chunks) == paragraph  # nothing lost, nothing repeated
    sentences = set(split_sentences(paragraph))
    for c in chunks:
        assert SENTENCE_END.search(c.text), c.text  # no piece ends mid-sentence
        assert _count(c.text) <= budget or c.text in sentences  # only a lone oversize sentence may exceed
        assert len(c.text) <= MAX_CHUNK_CHARS
    assert {c.article for c in chunks} == {"第七十二条第一款"}
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_single_sentence_over_budget_stands_alone() -> None:
    giant = "人工智能" * 40 + "。"
    paragraph = "第一句。" + giant + "第三句。"
    unit = Unit("第一条", None, ("第一条",), (paragraph,), order=1)
    chunks = _chunks(REGULATION, unit, budget=50)
    assert [c.text for c in chunks] == ["第一句。", giant, "第三句。"]


def test_pieces_respect_the_character_limit_even_with_a_large_token_budget() -> None:
    paragraph = "深圳市人民政府应当推进人工智能在民生服务、社会治理、经济发展等领域的融合应用。" * 80
    assert len(paragraph) > 2 * MAX_CHUNK_CHARS
    unit = Unit("第三十七条", None, ("第三十七条",), (paragraph,), order=37)
    chunks = _chunks(REGULATION, unit, budget=10**6)
    assert len(chunks) >= 3
    assert all(len(c.text) <= MAX_CHUNK_CHARS for c in chunks)
    assert "".join(c.text for c in chunks) == paragraph


def test_packed_kuan_respect_the_character_limit() -> None:
    half = MAX_CHUNK_CHARS // 2
    paragraphs = ("甲" * (half - 1) + "。", "乙" * (half - 1) + "。")
    unit = Unit("第六条", None, ("第六条",), paragraphs, order=6)
    chunks = _chunks(REGULATION, unit, budget=10**6)
    assert all(len(c.text) <= MAX_CHUNK_CHARS for c in chunks)


# --- ids ------------------------------------------------------------------------------------------


def test_chunk_ids_are_stable_and_distinct() -> None:
    units = [
        _merged(Unit("第六条", None, ("第六条",), SIXTH, order=0)),
        _merged(Unit("第七十二条", None, ("第七十二条",), (_long_paragraph(40),), order=1)),
    ]
    first = chunk_units(REGULATION, units, budget=60, count_tokens=_count)
    second = chunk_units(REGULATION, units, budget=60, count_tokens=_count)
    assert [c.chunk_id for c in first] == [c.chunk_id for c in second]
    assert len(first) > 2
    assert len({c.chunk_id for c in first}) == len(first)
    assert all(re.fullmatch(r"c[0-9a-f]{15}", c.chunk_id) for c in first)
    other_doc = DocumentInfo("another-doc", TITLE, "regulation")
    assert chunk_units(other_doc, units[:1], budget=60, count_tokens=_count)[0].chunk_id != first[0].chunk_id


def test_chunk_id_depends_on_doc_unit_and_piece() -> None:
    base = chunk_id("doc", "第六条", 0)
    assert base == chunk_id("doc", "第六条", 0)
    assert len({base, chunk_id("doc", "第六条", 1), chunk_id("doc", "第七条", 0), chunk_id("doc2", "第六条", 0)}) == 4


# --- small helpers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "零"),
        (1, "一"),
        (9, "九"),
        (10, "十"),
        (11, "十一"),
        (12, "十二"),
        (20, "二十"),
        (25, "二十五"),
        (99, "九十九"),
        (112, "一百一十二"),
        (1000, "一千"),
        (1005, "一千零五"),
        (12345, "一万二千三百四十五"),
    ],
)
def test_chinese_number(n: int, expected: str) -> None:
    assert chinese_number(n) == expected


def test_unit_with_a_hundred_paragraphs_can_be_chunked() -> None:
    paragraphs = tuple(f"深圳人工智能企业第{i}段介绍。" for i in range(120))
    unit = Unit(None, "前言", (), paragraphs, order=0)  # an untitled prose article: one big preamble
    chunks = _chunks(ARTICLE, unit, budget=50)
    assert "".join(c.text.replace("\n", "") for c in chunks) == "".join(paragraphs)


def test_regulation_article_with_over_a_thousand_paragraphs_is_labelled_not_crashed() -> None:
    # Issue 13 item 2: paragraph numbers ≥ 1000 raised IndexError in the hand-written numeral table.
    paragraphs = tuple(f"第{i}段规定的内容。" for i in range(1200))
    unit = Unit("第一条", None, ("第一条",), paragraphs, order=0)
    chunks = _chunks(REGULATION, unit, budget=8)
    assert len(chunks) == 1200
    assert chunks[999].article == "第一条第一千款"
    assert chunks[-1].article == "第一条第一千二百款"


def test_a_line_without_sentence_ends_is_cut_at_the_hard_character_cap() -> None:
    # Issue 13 item 4: a 1 MB line without 。 became one 350,000-character chunk.
    text = "人工智能产业发展" * 40_000 + "，数据开放" * 100
    unit = Unit(None, "前言", (), (text,), order=0)
    budget = budget_for_window(512)
    chunks = _chunks(ARTICLE, unit, budget=budget)
    assert all(len(c.text) <= MAX_CHUNK_CHARS and _count(c.text) <= budget for c in chunks)
    assert "".join(c.text for c in chunks) == text  # nothing lost at the cuts
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_hard_cap_respects_the_token_budget_and_prefers_commas() -> None:
    text = "甲乙丙丁戊" * 40 + "，" + "己庚辛壬癸" * 220  # over the character cap: cut, within 300 tokens a part
    parts = hard_split(text, 300, _count)
    assert parts[0].endswith("，") and "".join(parts) == text
    assert all(_count(p) <= 300 for p in parts)
    assert hard_split("短句" * 500, 300, _count) == ["短句" * 500]  # within the cap: a sentence stays whole


def test_split_sentences_keeps_closing_quotes() -> None:
    text = "第一句。第二句！“第三句？”第四句；尾巴"
    assert split_sentences(text) == ["第一句。", "第二句！", "“第三句？”", "第四句；", "尾巴"]
    assert split_sentences("") == []
    assert split_sentences("第一行\n第二行。") == ["第一行", "第二行。"]


def test_budget_for_window() -> None:
    assert budget_for_window(512) == int((512 - 64) * 0.85)
    assert budget_for_window(8192) > budget_for_window(512)
    assert budget_for_window(64) == 32  # never below the floor
