"""Small documents for the reader tests, generated in code (nothing binary committed).

Each builder returns bytes that look like what real producers write for the hard cases: a 公文 DOCX whose
红头 sits in a text box and whose 文号 is a content control, with automatic numbering; a two-column gazette PDF
whose CJK font has no ToUnicode map; RTF named ``.doc``; a GBK page that declares gb2312; an OFD whose text
objects hold one character each.
"""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
# Word declares these on every document root; readers rely on them.
DOC_NS = (
    W + ' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    ' xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    ' xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"'
    ' xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
    ' xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"'
    ' xmlns:v="urn:schemas-microsoft-com:vml"'
)


def _p(text: str, style: str | None = None, num: int | None = None) -> str:
    ppr = ""
    if style or num is not None:
        ppr = "<w:pPr>"
        if style:
            ppr += f'<w:pStyle w:val="{style}"/>'
        if num is not None:
            ppr += f'<w:numPr><w:ilvl w:val="0"/><w:numId w:val="{num}"/></w:numPr>'
        ppr += "</w:pPr>"
    return f'<w:p>{ppr}<w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'


def gongwen_docx() -> bytes:
    """红头 in a text box, 文号 in a content control, numbered list items, a heading style, a table."""
    textbox = (
        "<w:p><w:r><mc:AlternateContent>"
        '<mc:Choice Requires="wps"><w:drawing><wp:anchor><a:graphic><a:graphicData><wps:wsp><wps:txbx><w:txbxContent>'
        + _p("深圳市人民政府文件")
        + "</w:txbxContent></wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing>"
        "</mc:Choice><mc:Fallback><w:pict><v:shape><v:textbox>"
        "<w:txbxContent>" + _p("深圳市人民政府文件") + "</w:txbxContent></v:textbox></v:shape></w:pict>"
        "</mc:Fallback></mc:AlternateContent></w:r></w:p>"
    )
    sdt = (
        '<w:sdt><w:sdtPr><w:alias w:val="文号"/></w:sdtPr><w:sdtContent>'
        + _p("深府〔2019〕1号")
        + "</w:sdtContent></w:sdt>"
    )
    table = (
        "<w:tbl>"
        + "".join(
            "<w:tr>" + "".join(f"<w:tc>{_p(c)}</w:tc>" for c in row) + "</w:tr>"
            for row in (("任务", "责任单位"), ("加强基础研究", "市科技创新委"))
        )
        + "</w:tbl>"
    )
    body = (
        textbox
        + sdt
        + _p("深圳市数据开放管理办法", "Title")
        + _p("第一章 总则", "Heading1")
        + _p("第一条　为了规范公共数据开放，制定本办法。")
        + _p("第二条　本办法适用于下列数据：")
        + _p("政务数据；", num=1)
        + _p("公共服务数据。", num=1)
        + table
    )
    document = f'<?xml version="1.0" encoding="UTF-8"?><w:document {DOC_NS}><w:body>{body}</w:body></w:document>'
    numbering = (
        f'<?xml version="1.0" encoding="UTF-8"?><w:numbering {W}><w:abstractNum w:abstractNumId="0"><w:lvl w:ilvl="0">'
        '<w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="（%1）"/></w:lvl></w:abstractNum>'
        '<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num></w:numbering>'
    )
    styles = (
        f'<?xml version="1.0" encoding="UTF-8"?><w:styles {W}>'
        '<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/></w:style>'
        '<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/>'
        '<w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style></w:styles>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/styles" Target="styles.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/numbering" Target="numbering.xml"/></Relationships>'
    )
    content_types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/'
        'document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main'
        '+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'wordprocessingml.styles+xml"/><Override PartName="/word/numbering.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.wordprocessingml.numbering+xml"/></Types>'
    )
    root_rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", content_types)
        z.writestr("_rels/.rels", root_rels)
        z.writestr("word/document.xml", document)
        z.writestr("word/styles.xml", styles)
        z.writestr("word/numbering.xml", numbering)
        z.writestr("word/_rels/document.xml.rels", rels)
    return buf.getvalue()


def _rtf_escape_gbk(text: str) -> str:
    out = []
    for ch in text:
        if ord(ch) < 128:
            out.append(ch)
        else:
            out.extend(f"\\'{b:02x}" for b in ch.encode("gbk"))
    return "".join(out)


def rtf_doc() -> bytes:
    """RTF as WPS/Word write it for Chinese (code page 936, \\'xx escapes, one \\uN), to be named ``.doc``."""
    paras = [
        "深圳市公共数据管理办法",
        "第一条　为了规范公共数据管理，制定本办法。",
        "第二条　本办法自2023年1月1日起施行。",
    ]
    body = "".join(f"{{\\pard {_rtf_escape_gbk(p)}\\par}}\n" for p in paras)
    body += "{\\pard \\u25968?\\u25454?\\u24320?\\u25918?\\par}\n"  # 数据开放, as Unicode escapes
    return ("{\\rtf1\\ansi\\ansicpg936\\deff0{\\fonttbl{\\f0\\fnil\\fcharset134 SimSun;}}\n" + body + "}").encode(
        "ascii"
    )
