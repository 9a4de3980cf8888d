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


def _pdf(pages: list[bytes], *, image: bool = False) -> bytes:
    """A PDF whose pages show the given content streams in STSong-Light through the predefined CMap
    UniGB-UCS2-H: a CJK font with no ToUnicode map (text must be decoded through the CMap). With ``image``,
    each page's stream may draw ``/Im1`` (a 1×1 grey image) as a stand-in for a scan."""
    objects: list[bytes] = []
    n_pages = len(pages)
    font_id = 3 + 2 * n_pages
    xobject = f" /XObject << /Im1 {font_id + 3} 0 R >>" if image else ""
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    for i, stream in enumerate(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 {font_id} 0 R >>{xobject} >> "
            f"/Contents {4 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(
        f"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        f"/DescendantFonts [{font_id + 1} 0 R] >>".encode()
    )
    objects.append(
        f"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) "
        f"/Ordering (GB1) /Supplement 2 >> /FontDescriptor {font_id + 2} 0 R /DW 1000 >>".encode()
    )
    objects.append(
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 4 /FontBBox [-25 -254 1000 880] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>"
    )
    if image:
        objects.append(
            b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8 "
            b"/Length 1 >>\nstream\n\xc0\nendstream"
        )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _text_op(text: str, x: float, y: float, size: float) -> bytes:
    hexed = text.encode("utf-16-be").hex().upper()
    return f"BT /F1 {size} Tf 1 0 0 1 {x} {y} Tm <{hexed}> Tj ET\n".encode()


def _wrap(text: str, width: int, indent: int) -> list[str]:
    """Cut a paragraph into lines of ``width`` glyphs, the first ``indent`` glyphs shorter."""
    lines, first = [], width - indent
    lines.append(text[:first])
    rest = text[first:]
    while rest:
        lines.append(rest[:width])
        rest = rest[width:]
    return lines


GAZETTE_PARAGRAPHS = [
    "第一条　为了规范公共数据开放，促进数据要素流通，根据有关法律法规，结合本市实际，制定本办法。",
    "第二条　本办法适用于本市行政机关和公共服务机构开放公共数据的活动及其监督管理。",
    "第三条　公共数据开放应当遵循需求导向、安全可控、分级分类、统一标准的原则，依法保护个人信息和商业秘密。",
    "第四条　市政务服务数据管理部门负责统筹全市公共数据开放工作，建设统一的公共数据开放平台。",
    "第五条　各区人民政府应当加强本区公共数据开放工作的组织领导，将所需经费纳入财政预算。",
    "第六条　公共数据开放主体应当编制公共数据开放目录，并根据法律法规和实际需要动态调整。",
]


def gazette_pdf() -> bytes:
    """Two pages of a two-column gazette: a full-width masthead, columns of 12 pt text with a 2-glyph
    first-line indent, a running header and a page number; a paragraph runs from the left column into the
    right one, and from page 1 into page 2."""
    size, width = 12.0, 19  # 19 glyphs of 12 pt = 228 pt a column
    columns = (50.0, 317.0)
    pages: list[bytes] = []
    lines_per_column = 8
    flow: list[tuple[str, bool]] = []  # (line, starts a paragraph)
    for para in GAZETTE_PARAGRAPHS:
        for i, line in enumerate(_wrap(para, width, 2)):
            flow.append((line, i == 0))
    pos = 0
    for page_no in (1, 2):
        ops = bytearray()
        ops += _text_op("深圳市人民政府公报", 210.0, 800.0, 9.0)  # running header
        if page_no == 1:
            ops += _text_op("深圳市公共数据开放管理办法", 141.5, 760.0, 18.0)  # masthead title, full width
        for x in columns:
            y = 720.0
            for _ in range(lines_per_column):
                if pos >= len(flow):
                    break
                line, starts = flow[pos]
                ops += _text_op(line, x + (2 * size if starts else 0), y, size)
                y -= 18.0
                pos += 1
        ops += _text_op(f"— {page_no} —", 280.0, 40.0, 9.0)
        pages.append(bytes(ops))
    assert pos == len(flow), "gazette fixture: text does not fit the pages"
    return _pdf(pages)


def gbk_page_declared_gb2312() -> bytes:
    """A CMS page declared gb2312 whose text holds 镕, a GBK-only character (strict gb2312 would fail)."""
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        '<meta name="ArticleTitle" content="关于朱镕基同志题词的说明"><title>关于朱镕基同志题词的说明_政务公开</title></head>'
        '<body><div class="nav">首页 | 政务公开 | 政策文件</div>'
        "<table><tr><td>发布机构：</td><td>某市人民政府办公厅</td><td>文号：</td><td>某府办〔2021〕7号</td></tr>"
        "<tr><td>发布日期：</td><td>2021年3月5日</td></tr></table>"
        '<div id="zoom"><p>一、朱镕基同志题词的原件由市档案馆保存。</p><p>二、复制件可在政务服务大厅查阅。</p></div>'
        '<div class="share">分享到：微信 微博</div><div class="footer">粤ICP备12345678号</div></body></html>'
    )
    return html.encode("gbk")


def per_character_ofd() -> bytes:
    """An OFD page where every character is its own text object (as some writers do), a template page with a
    running header, and the page number as a separate object."""
    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    lines = [
        (30.0, 40.0, "深圳市公共数据开放管理办法", 6.0),
        (40.0, 60.0, "第一条　为了规范公共数据开放，制定本办法。", 5.0),
        (40.0, 70.0, "第二条　本办法适用于本市行政机关开放公共数据", 5.0),
        (30.0, 77.0, "的活动。", 5.0),
    ]
    objects = []
    oid = 10
    for x, y, text, size in lines:
        for i, ch in enumerate(text):
            oid += 1
            objects.append(
                f'<ofd:TextObject ID="{oid}" Boundary="{x + i * size:.3f} {y:.3f} {size:.3f} {size * 1.2:.3f}" '
                f'Font="1" Size="{size}"><ofd:TextCode X="0" Y="{size:.3f}">{escape(ch)}</ofd:TextCode>'
                "</ofd:TextObject>"
            )
    objects.append(
        '<ofd:TextObject ID="99" Boundary="100 280 20 5" Font="1" Size="4"><ofd:TextCode X="0" Y="4" '
        'DeltaX="g 4 2">- 1 -</ofd:TextCode></ofd:TextObject>'
    )
    page = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}><ofd:Template TemplateID="2"/><ofd:Content>'
        f'<ofd:Layer ID="3">{"".join(objects)}</ofd:Layer></ofd:Content></ofd:Page>'
    )
    template = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}><ofd:Content><ofd:Layer ID="4">'
        '<ofd:TextObject ID="5" Boundary="80 12 60 5" Font="1" Size="3.5"><ofd:TextCode X="0" Y="3.5">'
        "深圳市人民政府公报</ofd:TextCode></ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>"
    )
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}><ofd:CommonData><ofd:PageArea>'
        "<ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea>"
        '<ofd:TemplatePage ID="2" BaseLoc="Tpls/Tpl_0/Content.xml"/></ofd:CommonData>'
        '<ofd:Pages><ofd:Page ID="100" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>'
    )
    ofd = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} Version="1.0" DocType="OFD"><ofd:DocBody>'
        "<ofd:DocInfo><ofd:Title>深圳市公共数据开放管理办法</ofd:Title></ofd:DocInfo>"
        "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("OFD.xml", ofd)
        z.writestr("Doc_0/Document.xml", document)
        z.writestr("Doc_0/Tpls/Tpl_0/Content.xml", template)
        z.writestr("Doc_0/Pages/Page_0/Content.xml", page)
    return buf.getvalue()
