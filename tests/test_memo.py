"""The brief export: items → Markdown / .docx (read back with python-docx)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from docx import Document
from docx.oxml.ns import qn

from indexer.records import Chunk, DocumentInfo
from memo.export import FORMATS, UnknownFormatError, export_brief, get_format
from memo.items import (
    AnswerItem,
    ItemError,
    QuoteItem,
    answer_item,
    build_brief,
    chinese_date,
    quote_paragraphs,
    unit_item,
)
from memo.markdown import render_markdown


def _chunk(cid: str, article: str | None, text: str, *, doc: str = "reg", title: str = "示范人工智能促进条例",
           doc_type: str = "regulation") -> Chunk:
    label = article or "（芯片优势）"
    return Chunk(cid, doc, title, doc_type, article, f"《{title}》{label}", (label,), text, text, label)


CHUNKS = {
    c.chunk_id: c
    for c in (
        _chunk("c2", "第二条", "市工业和信息化部门是人工智能产业主管部门（以下简称市产业主管部门），负责统筹协调产业发展工作。\n市发展改革、科技创新等部门在各自职责范围内负责相关工作。"),
        _chunk("c3", "第三条", "市人民政府应当设立人工智能伦理委员会，履行下列职责：（一）研究制定“伦理安全规范”；（二）评估伦理风险。"),
        _chunk("c9", None, "华为发布了多款人工智能芯片，算力领先。", doc="art", title="深圳芯片产业观察", doc_type="article"),
    )
}
DOCS = {
    "reg": DocumentInfo("reg", "示范人工智能促进条例", "regulation", issuer="示范市人大常委会", adopted="2022-08-30",
                        effective="2022-11-01"),
    "art": DocumentInfo("art", "深圳芯片产业观察", "article"),
}
ANSWER = {
    "question": "產業主管部門是哪個部門？",
    "answer": "人工智能产业主管部门是市工业和信息化部门[1]。",
    "abstained": False,
    "citations": [{"n": 1, "citation": "《示范人工智能促进条例》第二条", "doc_title": "示范人工智能促进条例",
                   "article": "第二条", "chunk_id": "c2",
                   "quote": "市工业和信息化部门是人工智能产业主管部门（以下简称市产业主管部门），负责统筹协调产业发展工作。"}],
    "unsupported": [],
}


def _brief(items: list[QuoteItem | AnswerItem]):  # type: ignore[no-untyped-def]
    return build_brief(items, DOCS, index_name="default（2 份文件）", date=dt.date(2026, 11, 30))


def _docx_paragraphs(data: bytes) -> list[str]:
    return [p.text for p in Document(io.BytesIO(data)).paragraphs]


def test_quote_is_gongwen_style_with_inner_quotes_turned_single() -> None:
    q = unit_item(CHUNKS, "c3").quote
    assert quote_paragraphs(q) == [
        "《示范人工智能促进条例》第三条规定：“市人民政府应当设立人工智能伦理委员会，履行下列职责：（一）研究制定‘伦理安全规范’；（二）评估伦理风险。”"
    ]


def test_multi_paragraph_quote_opens_each_paragraph_and_closes_the_last() -> None:
    paras = quote_paragraphs(unit_item(CHUNKS, "c2").quote)
    assert paras[0].startswith("《示范人工智能促进条例》第二条规定：“市工业") and not paras[0].endswith("”")
    assert paras[1] == "“市发展改革、科技创新等部门在各自职责范围内负责相关工作。”"


def test_non_regulation_is_introduced_with_zhichu() -> None:
    assert quote_paragraphs(unit_item(CHUNKS, "c9").quote)[0].startswith("《深圳芯片产业观察》（芯片优势）指出：“华为")


def test_three_items_in_docx_hold_quotes_and_citations_verbatim_in_order() -> None:
    items = [unit_item(CHUNKS, "c3", note="伦理委员会的职责"), unit_item(CHUNKS, "c9"), answer_item(CHUNKS, ANSWER)]
    data = export_brief(_brief(items), "docx")
    text = "\n".join(_docx_paragraphs(data))
    expected = [
        "一、《示范人工智能促进条例》第三条",
        "《示范人工智能促进条例》第三条规定：“市人民政府应当设立人工智能伦理委员会",
        "按：伦理委员会的职责",
        "二、《深圳芯片产业观察》（芯片优势）",
        "“华为发布了多款人工智能芯片，算力领先。”",
        "三、问：產業主管部門是哪個部門？",
        "答：人工智能产业主管部门是市工业和信息化部门[1]。",
        "[1] 《示范人工智能促进条例》第二条规定：“市工业和信息化部门是人工智能产业主管部门（以下简称市产业主管部门），负责统筹协调产业发展工作。”",
        "资料来源",
        "1. 《示范人工智能促进条例》，示范市人大常委会，2022年8月30日通过，2022年11月1日施行；引用：第三条、第二条。",
        "2. 《深圳芯片产业观察》；引用：（芯片优势）。",
    ]
    positions = [text.find(e) for e in expected]
    assert all(p >= 0 for p in positions), [e for e, p in zip(expected, positions, strict=True) if p < 0]
    assert positions == sorted(positions)
    assert "生成日期：2026年11月30日　检索库：default（2 份文件）" in text


def test_docx_styles_name_chinese_fonts_for_word_and_wps() -> None:
    doc = Document(io.BytesIO(export_brief(_brief([unit_item(CHUNKS, "c2")]), "docx")))
    east_asian = {
        name: doc.styles[name].element.rPr.rFonts.get(qn("w:eastAsia")) for name in ("Normal", "Heading 1", "引文")
    }
    assert east_asian == {"Normal": "仿宋", "Heading 1": "黑体", "引文": "楷体"}
    # No theme font may override the explicit one (Word would show 等线).
    heading_fonts = doc.styles["Heading 1"].element.rPr.rFonts
    assert heading_fonts.get(qn("w:eastAsiaTheme")) is None and heading_fonts.get(qn("w:asciiTheme")) is None
    defaults = doc.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
    assert defaults.find(qn("w:lang")).get(qn("w:eastAsia")) == "zh-CN"  # “” in the East Asian font
    assert defaults.find(qn("w:rFonts")).get(qn("w:eastAsiaTheme")) is None
    quote = next(p for p in doc.paragraphs if p.text.startswith("《示范"))
    assert quote.style.name == "引文"
    assert round(doc.sections[0].page_width.mm) == 210


def test_markdown_brief() -> None:
    md = render_markdown(_brief([unit_item(CHUNKS, "c2"), answer_item(CHUNKS, ANSWER, note="待核实")]))
    assert md.startswith("# 政策依据摘编\n\n生成日期：2026年11月30日")
    assert "## 一、《示范人工智能促进条例》第二条\n\n> 《示范人工智能促进条例》第二条规定：“市工业" in md
    assert ">\n> “市发展改革、科技创新等部门在各自职责范围内负责相关工作。”" in md
    assert "## 二、问：產業主管部門是哪個部門？\n\n答：人工智能产业主管部门是市工业和信息化部门[1]。" in md
    assert "> [1] 《示范人工智能促进条例》第二条规定：“市工业" in md
    assert "按：待核实" in md and md.rstrip().endswith("引用：第二条。")


def test_answer_quote_not_in_the_article_is_refused() -> None:
    forged = {**ANSWER, "citations": [{**ANSWER["citations"][0], "quote": "市财政部门是主管部门。"}]}
    with pytest.raises(ItemError, match="not text of that article"):
        answer_item(CHUNKS, forged)


def test_unknown_chunk_is_a_clear_error() -> None:
    with pytest.raises(ItemError, match="no unit 'nope'"):
        unit_item(CHUNKS, "nope")
    with pytest.raises(ItemError, match="at least one item"):
        _brief([])


def test_abstained_answer_says_so_and_lists_related_articles_when_partial() -> None:
    plain = answer_item(CHUNKS, {"question": "芯片售价？", "answer": "根据现有资料无法回答该问题。", "abstained": True,
                                 "citations": []})
    partial = answer_item(CHUNKS, {"question": "伦理委员会主任是谁？", "answer": "根据现有资料无法回答该问题。",
                                   "abstained": True, "citations": [],
                                   "partial": {"missing": "主任人选", "related": [{"n": 1, "chunk_id": "c3",
                                               "citation": "《示范人工智能促进条例》第三条", "quote": "评估伦理风险。"}]}})
    md = render_markdown(_brief([plain, partial]))
    assert "答：根据现有资料无法回答该问题。（未找到可靠依据，已拒答）" in md
    assert "答：资料未规定主任人选，无法回答该问题（已拒答）。" in md
    assert "以下相关规定不回答该问题，仅供参考：" in md
    assert "> 《示范人工智能促进条例》第三条规定：“评估伦理风险。”" in md
    # An AnswerResult without a partial attribute works too (before and after the answer change).
    assert answer_item(CHUNKS, type("R", (), {"question": "q", "answer": "a", "abstained": True,
                                               "citations": ()})()).related == ()


def test_formats_registry_lists_valid_names() -> None:
    assert set(FORMATS) == {"docx", "md"}
    with pytest.raises(UnknownFormatError, match="valid: docx, md"):
        get_format("pdf")


def test_chinese_dates() -> None:
    assert chinese_date("2022-11-01") == "2022年11月1日" and chinese_date("2019-05") == "2019年5月"
    assert chinese_date(dt.date(2026, 1, 2)) == "2026年1月2日" and chinese_date("未知") == "未知"


def test_source_line_prints_the_document_number_when_the_index_has_one() -> None:
    from dataclasses import replace

    from memo.items import source_entries, source_line

    entry = source_entries([unit_item(CHUNKS, "c2")], DOCS)[0]
    assert entry.doc_number is None  # DocumentInfo without a 文号 field (older indexes) still works
    numbered = replace(entry, doc_number="示人发〔2022〕5号")
    assert source_line(numbered).startswith("《示范人工智能促进条例》（示人发〔2022〕5号），示范市人大常委会，")


def test_answer_result_with_a_partial_part() -> None:
    from answer.answerer import AnswerResult
    from answer.slots import Partial
    from answer.verify import Citation

    related = (Citation(1, "《示范人工智能促进条例》第三条", "示范人工智能促进条例", "第三条", "评估伦理风险。", "c3"),)
    result = AnswerResult(
        question="伦理委员会主任是谁？", answer="现有资料未规定该事项。", abstained=True, citations=(), unsupported=(),
        model="m", took_ms=1.0, first_token_ms=None, partial=Partial(missing="主任人选", related=related),
    )
    item = answer_item(CHUNKS, result)
    assert item.abstained and item.missing == "主任人选" and [q.chunk_id for q in item.related] == ["c3"]
    via_json = answer_item(CHUNKS, result.to_dict())  # what the page sends back
    assert via_json == item
