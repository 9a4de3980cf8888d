"""A brief as a Word document (.docx) through python-docx, in 公文 layout (GB/T 9704 in spirit).

A4, 公文 margins, 仿宋 三号 body with a fixed 28 pt line pitch and two-character first-line indent,
黑体 headings, 楷体 quotes. Fonts are the ones Word and WPS ship on Chinese Windows (宋体, 仿宋, 楷体,
黑体); each style names its East Asian font explicitly, because Word otherwise takes East Asian text
from the theme and a 公文 would come out in 等线.
"""

from __future__ import annotations

import datetime as dt
import io

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.styles.style import ParagraphStyle

from memo.items import (
    RELATED_NOTE,
    AnswerItem,
    Brief,
    Quote,
    QuoteItem,
    answer_text,
    item_heading,
    meta_line,
    quote_paragraphs,
    source_line,
)

LATIN_FONT = "Times New Roman"
BODY_SIZE = Pt(16)  # 三号
LINE_PITCH = Pt(28)
QUOTE_STYLE = "引文"
NOTE_STYLE = "按语"
SOURCE_STYLE = "资料来源"
META_STYLE = "生成信息"


def _fonts(style: ParagraphStyle, east_asian: str, size: Pt, *, bold: bool = False) -> None:
    style.font.name = LATIN_FONT
    style.font.size = size
    style.font.bold = bold
    style.font.color.rgb = RGBColor(0, 0, 0)
    rfonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    rfonts.set(qn("w:eastAsia"), east_asian)
    # Theme font attributes win over explicit names in Word; built-in heading styles carry them.
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)


def _paragraph_style(doc: DocxDocument, name: str) -> ParagraphStyle:
    styles = doc.styles
    if name in [s.name for s in styles]:
        return styles[name]
    style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = styles["Normal"]
    return style


def _defaults(doc: DocxDocument) -> None:
    # Document defaults of python-docx's template: theme fonts and an en-US East Asian language. Word picks the
    # font of “”、— by that language, so without zh-CN the quotation marks of a 公文 come out in the Latin font.
    rpr = doc.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
    if rpr is None:
        return
    for rfonts in rpr.findall(qn("w:rFonts")):
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            rfonts.attrib.pop(qn(attr), None)
        rfonts.set(qn("w:ascii"), LATIN_FONT)
        rfonts.set(qn("w:hAnsi"), LATIN_FONT)
        rfonts.set(qn("w:eastAsia"), "仿宋")
    for lang in rpr.findall(qn("w:lang")):
        lang.set(qn("w:eastAsia"), "zh-CN")


def _setup(doc: DocxDocument) -> None:
    _defaults(doc)
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)

    normal = doc.styles["Normal"]
    _fonts(normal, "仿宋", BODY_SIZE)
    pf = normal.paragraph_format
    pf.line_spacing = LINE_PITCH
    pf.space_before = pf.space_after = Pt(0)
    pf.first_line_indent = Pt(32)  # two characters
    pf.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY

    title = doc.styles["Title"]
    _fonts(title, "宋体", Pt(22), bold=True)  # 二号
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.first_line_indent = Pt(0)
    title.paragraph_format.space_after = Pt(12)
    title.paragraph_format.line_spacing = Pt(36)
    # The default template underlines titles with a border; a 公文 title has none.
    ppr = title.element.get_or_add_pPr()
    for border in ppr.findall(qn("w:pBdr")):
        ppr.remove(border)

    heading = doc.styles["Heading 1"]
    _fonts(heading, "黑体", BODY_SIZE)
    heading.paragraph_format.first_line_indent = Pt(32)
    heading.paragraph_format.space_before = Pt(12)
    heading.paragraph_format.space_after = Pt(0)
    heading.paragraph_format.line_spacing = LINE_PITCH

    quote = _paragraph_style(doc, QUOTE_STYLE)
    _fonts(quote, "楷体", BODY_SIZE)
    quote.paragraph_format.left_indent = Pt(32)
    quote.paragraph_format.first_line_indent = Pt(32)

    note = _paragraph_style(doc, NOTE_STYLE)
    _fonts(note, "楷体", BODY_SIZE)

    source = _paragraph_style(doc, SOURCE_STYLE)
    _fonts(source, "仿宋", Pt(14))  # 四号
    source.paragraph_format.left_indent = Pt(28)
    source.paragraph_format.first_line_indent = Pt(-28)
    source.paragraph_format.line_spacing = Pt(24)

    meta = _paragraph_style(doc, META_STYLE)
    _fonts(meta, "楷体", Pt(14))
    meta.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    meta.paragraph_format.first_line_indent = Pt(0)
    meta.paragraph_format.space_after = Pt(12)


def _quote(doc: DocxDocument, q: Quote, *, marker: bool) -> None:
    for i, text in enumerate(quote_paragraphs(q)):
        doc.add_paragraph((f"[{q.n}] " if marker and q.n is not None and i == 0 else "") + text, QUOTE_STYLE)


def render_docx(brief: Brief) -> bytes:
    """The brief as the bytes of a .docx file."""
    doc = Document()
    _setup(doc)
    doc.core_properties.title = brief.title
    doc.core_properties.author = "policyrag"
    doc.core_properties.created = dt.datetime.combine(brief.date, dt.time())
    doc.add_paragraph(brief.title, "Title")
    doc.add_paragraph(meta_line(brief), META_STYLE)
    for number, item in enumerate(brief.items, 1):
        doc.add_paragraph(item_heading(number, item), "Heading 1")
        if isinstance(item, QuoteItem):
            _quote(doc, item.quote, marker=False)
        elif isinstance(item, AnswerItem):
            doc.add_paragraph(answer_text(item))
            for q in item.quotes:
                _quote(doc, q, marker=True)
            if item.related:
                doc.add_paragraph(RELATED_NOTE)
                for q in item.related:
                    _quote(doc, q, marker=False)
        if item.note:
            para = doc.add_paragraph(style=NOTE_STYLE)
            para.add_run("按：").bold = True
            para.add_run(item.note)
    doc.add_paragraph("资料来源", "Heading 1")
    for i, s in enumerate(brief.sources, 1):
        doc.add_paragraph(f"{i}. {source_line(s)}", SOURCE_STYLE)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()
