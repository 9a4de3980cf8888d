"""Format readers on small generated documents: the hard cases each reader exists for."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from indexer.formats import FormatError, MissingToolError, detect_format, read_bytes, read_file
from indexer.formats.cleanup import clean_block, map_radicals
from indexer.formats.docx import chinese_counting, format_number
from indexer.formats.html import charset_of, read_html, read_mhtml
from indexer.formats.meta import find_text_meta, is_header_line, normalise_date
from indexer.formats.ofd import parse_delta
from indexer.formats.pdf_layout import PageLine, join_paragraphs, strip_furniture
from tests.format_fixtures import (
    GAZETTE_PARAGRAPHS,
    gazette_pdf,
    gbk_page_declared_gb2312,
    gongwen_docx,
    per_character_ofd,
    rtf_doc,
)

CJK_SPACE = re.compile(r"[\u4e00-\u9fff] +[\u4e00-\u9fff\d]|\d +[\u4e00-\u9fff]")


# --- detection by content ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("maker", "name", "expected"),
    [
        (gazette_pdf, "notice.doc", "pdf"),  # content wins over the extension
        (gongwen_docx, "notice.pdf", "docx"),
        (rtf_doc, "notice.doc", "rtf"),
        (gbk_page_declared_gb2312, "notice.doc", "html"),
        (per_character_ofd, "notice.zip", "ofd"),
    ],
)
def test_format_is_detected_from_content_not_extension(maker, name: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert detect_format(maker(), name) == expected


def test_detect_text_markdown_and_binaries() -> None:
    assert detect_format("第一条 总则".encode(), "a.txt") == "text"
    assert detect_format("# 标题\n正文".encode(), "a.md") == "markdown"
    assert detect_format("第一条 总则\n".encode("utf-16-le"), "a.txt") == "text"  # no BOM: still text
    assert detect_format(b"\x89PNG\r\n\x1a\n\x00\x00", "scan.pdf") is None
    assert detect_format(b"\x7fELF\x02\x01\x01\x00\x00\x00", "a.txt") is None
    assert detect_format(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "book.xls") is None  # OLE, not Word
    mhtml = b"From: <Saved by Blink>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=x\r\n"
    assert detect_format(mhtml, "page.mht") == "mhtml"


def test_unsupported_content_is_a_clear_error() -> None:
    with pytest.raises(FormatError, match=r"scan\.pdf: unsupported content \(a PNG image\)"):
        read_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "scan.pdf")


def test_damaged_files_are_format_errors_not_crashes(tmp_path: Path) -> None:
    docx = gongwen_docx()
    for name, data in [("bad.pdf", b"%PDF-1.4\n1 0 obj <<>> garbage"), ("bad.docx", docx[: len(docx) // 2])]:
        with pytest.raises(FormatError, match=re.escape(name)):
            read_bytes(data, name)
    missing = tmp_path / "gone.pdf"
    with pytest.raises(FormatError, match="cannot read"):
        read_file(missing)


# --- PDF -----------------------------------------------------------------------------------------------------


def test_two_column_gazette_pdf_without_tounicode_reads_column_by_column() -> None:
    result = read_bytes(gazette_pdf(), "gazette.pdf")
    texts = [b.text for b in result.blocks]
    # Masthead, then every article whole and in order: left column, right column, on into page 2.
    assert texts == ["深圳市公共数据开放管理办法", *GAZETTE_PARAGRAPHS]
    assert [b.page for b in result.blocks] == [1, 1, 1, 1, 1, 1, 1]
    assert not any("公报" in t or "—" in t for t in texts)  # running header and page numbers are gone


def _line(text: str, page: int, x0: float, x1: float, y: float, size: float = 10.0) -> PageLine:
    return PageLine(text, x0, y, x1, y + size, page, size, left=0.0, right=100.0)


def test_header_equal_to_title_is_stripped_once_per_edge() -> None:
    title, header = "人工智能产业促进条例", "人工智能产业促进条例"
    pages = [
        [_line(header, 1, 30, 70, 95, 6), _line(title, 1, 10, 90, 80, 14), _line("正文一", 1, 0, 100, 60)],
        [_line(header, 2, 30, 70, 95, 6), _line("正文二", 2, 0, 100, 60)],
        [_line(header, 3, 30, 70, 95, 6), _line("正文三", 3, 0, 100, 60)],
    ]
    kept = strip_furniture(pages)
    assert [line.text for line in kept[0]] == [title, "正文一"]  # the 14 pt title stays
    assert [[line.text for line in page] for page in kept[1:]] == [["正文二"], ["正文三"]]


def test_wrapped_lines_join_without_spaces_except_between_latin_words() -> None:
    lines = [
        _line("第一条　本办法所称人工智能，是指利用计", 1, 20, 100, 90),
        _line("算机模拟人类智能的技术，包括 machine", 1, 0, 100, 78),
        _line("learning 等。", 1, 0, 40, 66),
        _line("第二条　下一条。", 1, 20, 60, 54),
    ]
    paragraphs = [text for text, _ in join_paragraphs(lines)]
    assert paragraphs == [
        "第一条　本办法所称人工智能，是指利用计算机模拟人类智能的技术，包括 machine learning 等。",
        "第二条　下一条。",
    ]


def test_scanned_pdf_without_ocr_is_an_error_naming_the_extra() -> None:
    pytest.importorskip("pypdfium2")
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    pdf.new_page(595, 842)
    import io

    buf = io.BytesIO()
    pdf.save(buf)
    with pytest.raises(FormatError, match=r"no text layer.*policyrag\[ocr\]"):
        read_bytes(buf.getvalue(), "scan.pdf")


# --- DOCX, DOC, RTF -------------------------------------------------------------------------------------------


def test_docx_keeps_text_box_content_control_numbering_headings_and_tables() -> None:
    result = read_bytes(gongwen_docx(), "notice.docx")
    texts = [b.text for b in result.blocks]
    assert texts == [
        "深圳市人民政府文件",  # 红头 in a text box, once (its VML fallback copy is skipped)
        "深府〔2019〕1号",  # a content control
        "深圳市数据开放管理办法",
        "第一章总则",
        "第一条　为了规范公共数据开放，制定本办法。",
        "第二条　本办法适用于下列数据：",
        "（一）政务数据；",  # automatic chineseCounting numbering with its level text
        "（二）公共服务数据。",
        "任务 | 责任单位",
        "加强基础研究 | 市科技创新委",
    ]
    assert [b.heading for b in result.blocks][2:4] == [1, 2]


def test_chinese_numbering_formats() -> None:
    assert [chinese_counting(n) for n in (1, 10, 12, 20, 21, 100, 105, 110)] == [
        "一", "十", "十二", "二十", "二十一", "一百", "一百零五", "一百一十",
    ]  # fmt: skip
    assert format_number(3, "ideographTraditional") == "丙"
    assert format_number(4, "upperRoman") == "IV"
    assert format_number(2, "decimalEnclosedCircle") == "②"


def test_rtf_named_doc_is_read_in_its_code_page() -> None:
    result = read_bytes(rtf_doc(), "notice.doc")
    assert result.format == "rtf"
    assert [b.text for b in result.blocks] == [
        "深圳市公共数据管理办法",
        "第一条　为了规范公共数据管理，制定本办法。",
        "第二条　本办法自2023年1月1日起施行。",
        "数据开放",
    ]


def test_word97_without_converters_names_the_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "WordDocument".encode("utf-16-le") + b"\x00" * 512
    with pytest.raises(MissingToolError, match=r"antiword.*libreoffice-writer-nogui"):
        read_bytes(ole, "old.wps")


# --- HTML ----------------------------------------------------------------------------------------------------


def test_gbk_page_declared_gb2312_decodes_and_keeps_only_the_body() -> None:
    data = gbk_page_declared_gb2312()
    with pytest.raises(UnicodeDecodeError):
        data.decode("gb2312")  # precondition: the declared charset alone would fail
    assert charset_of(data) == "gb18030"
    result = read_html(data, "page.html")
    assert [b.text for b in result.blocks] == [
        "关于朱镕基同志题词的说明",
        "一、朱镕基同志题词的原件由市档案馆保存。",
        "二、复制件可在政务服务大厅查阅。",
    ]
    assert result.meta.doc_number == "某府办〔2021〕7号"
    assert result.meta.issuer == "某市人民政府办公厅"
    assert result.meta.published == "2021-03-05"


def test_page_without_a_cms_container_falls_back_to_readability() -> None:
    body = "".join(
        f"<p>第{n}条　这是一段足够长的政策正文，用于检验正文抽取的回退路径是否可用。</p>" for n in "一二三四五"
    )
    page = (
        "<html><head><title>测试办法_某市政府网</title></head><body>"
        '<div class="nav"><a href="/">首页</a> <a href="/n">新闻</a></div>'
        f'<div class="main-wrap"><div class="text">{body}</div></div>'
        '<div class="footer"><a href="#">网站地图</a> 版权所有</div></body></html>'
    )
    texts = [b.text for b in read_html(page.encode(), "x.html").blocks]
    assert texts[0] == "测试办法"
    assert "第三条　这是一段足够长的政策正文，用于检验正文抽取的回退路径是否可用。" in texts
    assert not any("首页" in t or "版权所有" in t for t in texts)


def test_mhtml_reads_its_html_part_in_the_part_charset() -> None:
    html = gbk_page_declared_gb2312().replace(b"charset=gb2312", b"")
    import base64

    mhtml = (
        b'From: <Saved by Blink>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="B"\r\n\r\n'
        b'--B\r\nContent-Type: text/html; charset="gbk"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + base64.encodebytes(html)
        + b"\r\n--B--\r\n"
    )
    result = read_mhtml(mhtml, "page.mht")
    assert result.blocks[1].text == "一、朱镕基同志题词的原件由市档案馆保存。"


# --- OFD -----------------------------------------------------------------------------------------------------


def test_per_character_ofd_joins_into_lines_and_drops_template_and_page_number() -> None:
    result = read_bytes(per_character_ofd(), "notice.ofd")
    assert [b.text for b in result.blocks] == [
        "深圳市公共数据开放管理办法",
        "第一条为了规范公共数据开放，制定本办法。",
        "第二条本办法适用于本市行政机关开放公共数据的活动。",
    ]
    assert {b.page for b in result.blocks} == {1}
    assert result.meta.title == "深圳市公共数据开放管理办法"


def test_ofd_delta_shorthand() -> None:
    assert parse_delta("g 3 5.6 1.4") == [5.6, 5.6, 5.6, 1.4]
    assert parse_delta(None) == []


# --- normalisation after every reader, metadata ---------------------------------------------------------------


def test_cleanup_drops_layout_spaces_and_maps_radicals() -> None:
    assert clean_block("自 2022 年 8 月 30 日起施行") == "自2022年8月30日起施行"
    assert clean_block("第一条　本条例所称⼈⼯智能") == "第一条　本条例所称人工智能"  # Kangxi radicals
    assert map_radicals("⻓江⻔户") == "长江门户"  # CJK radicals supplement
    assert clean_block("page 12 of 30") == "page 12 of 30"  # Latin spacing kept
    assert not CJK_SPACE.search(clean_block("人工 智能 产业 2023 年"))


def test_dates_and_header_lines() -> None:
    assert normalise_date("2020/1/13 11:45") == "2020-01-13"
    assert normalise_date("二〇一九年五月十四日") == "2019-05-14"
    assert normalise_date("无日期") is None
    assert is_header_line("深圳市人民政府文件")
    assert is_header_line("国发〔2017〕35号")
    assert not is_header_line("深圳市新一代人工智能发展行动计划（2019-2023年）")


def test_text_metadata_from_the_head_of_a_document() -> None:
    meta = find_text_meta(
        [
            "深圳市人民政府文件",
            "深府〔2019〕32号",
            "深圳市人民政府关于印发新一代人工智能发展行动计划的通知",
            "各区人民政府，市政府直属各单位：",
            "现将《行动计划》印发给你们，请认真组织实施。",
            "本计划自2019年6月1日起施行。",
            "二〇一九年五月十四日",
        ]
    )
    assert meta.doc_number == "深府〔2019〕32号"
    assert meta.issuer == "深圳市人民政府"
    assert meta.effective == "2019-06-01"
    assert meta.published == "2019-05-14"


def _fake_tool(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(0o755)


def test_word97_goes_to_libreoffice_when_antiword_cannot_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docx = tmp_path / "converted.docx"
    docx.write_bytes(gongwen_docx())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_tool(bin_dir, "antiword", 'echo "is not a Word Document" >&2; exit 1\n')
    # soffice --headless --convert-to docx --outdir DIR FILE → DIR/<stem>.docx (what LibreOffice does)
    _fake_tool(
        bin_dir,
        "soffice",
        f'for a; do last="$a"; done\nout=""; prev=""\nfor a; do [ "$prev" = "--outdir" ] && out="$a"; prev="$a"; done\n'
        f'stem=$(basename "$last"); cp "{docx}" "$out/${{stem%.*}}.docx"\n',
    )
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")  # our fakes first; sh, cp, basename after
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "WordDocument".encode("utf-16-le") + b"\x00" * 512
    result = read_bytes(ole, "wps-native.wps")
    assert result.format == "doc"
    assert "（一）政务数据；" in [b.text for b in result.blocks]


def test_word97_antiword_failure_without_libreoffice_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("soffice", path="/usr/bin:/bin") or shutil.which("libreoffice", path="/usr/bin:/bin"):
        pytest.skip("LibreOffice is installed here: the message for its absence cannot be checked")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_tool(bin_dir, "antiword", "exit 1\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")  # our fakes first; sh, cp, basename after
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "WordDocument".encode("utf-16-le") + b"\x00" * 512
    with pytest.raises(MissingToolError, match="apt-get install libreoffice-writer-nogui"):
        read_bytes(ole, "wps-native.wps")


def test_pdf_text_scaled_by_the_text_matrix_is_laid_out_by_its_drawn_size() -> None:
    from tests.format_fixtures import _pdf

    def op(text: str, x: float, y: float) -> bytes:  # "/F1 1 Tf" and a 12x text matrix, as some producers write
        return f"BT /F1 1 Tf 12 0 0 12 {x} {y} Tm <{text.encode('utf-16-be').hex().upper()}> Tj ET\n".encode()

    lines = [
        (62.0, 700.0, "第一条　为了规范公共数据开放，促进数据要素"),
        (38.0, 682.0, "流通，根据有关法律法规，制定本办法。"),
        (62.0, 664.0, "第二条　本办法适用于本市行政机关和公共服"),
        (38.0, 646.0, "务机构。"),
    ]
    data = _pdf([b"".join(op(t, x, y) for x, y, t in lines)])
    assert [b.text for b in read_bytes(data, "scaled.pdf").blocks] == [
        "第一条　为了规范公共数据开放，促进数据要素流通，根据有关法律法规，制定本办法。",
        "第二条　本办法适用于本市行政机关和公共服务机构。",
    ]


def test_a_reader_crash_becomes_a_format_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.formats as formats

    def boom(data: bytes, name: str, options: object) -> None:
        raise RuntimeError("pdfium: bad xref")

    monkeypatch.setitem(formats.READERS, "pdf", boom)
    with pytest.raises(FormatError, match=r"x\.pdf: cannot read this PDF file \(RuntimeError: pdfium: bad xref\)"):
        read_bytes(b"%PDF-1.7\n", "x.pdf")


def test_page_saved_as_utf8_that_still_declares_gb2312_is_read_as_utf8() -> None:
    page = gbk_page_declared_gb2312().decode("gbk").encode("utf-8")  # what a browser's "save as" leaves
    result = read_html(page, "saved.html")
    assert result.encoding == "utf-8"
    assert result.blocks[1].text == "一、朱镕基同志题词的原件由市档案馆保存。"


def test_scan_with_a_text_stamp_is_still_read_by_ocr() -> None:
    from indexer.formats.pdf import OcrLine, read_pdf
    from tests.format_fixtures import _pdf, _text_op

    stamp = _text_op("深圳市人民政府公报2023年第5期", 200.0, 810.0, 9.0)  # a little real text on top of a scan
    scan = _pdf([b"q 595 0 0 842 0 0 cm /Im1 Do Q\n" + stamp], image=True)
    plain = _pdf([stamp])
    seen: list[object] = []

    def fake_ocr(image: object) -> list[OcrLine]:
        seen.append(image)
        return [OcrLine("第一条　本办法自公布之日起施行。", 100.0, 300.0, 900.0, 340.0)]

    result = read_pdf(scan, "scan.pdf", ocr=fake_ocr)
    assert len(seen) == 1 and result.notes == ("1 page(s) without a text layer read by OCR",)
    assert result.ocr_pages == (1,)
    assert "第一条　本办法自公布之日起施行。" in [b.text for b in result.blocks]
    # The same stamp without the image is a (short) text page: no OCR.
    assert [b.text for b in read_pdf(plain, "cover.pdf", ocr=fake_ocr).blocks] == ["深圳市人民政府公报2023年第5期"]
    assert len(seen) == 1


@pytest.mark.parametrize(
    "number", ["— 3 —", "- 12 -", "·3·", "3", "第3页", "第 3 页 共 26 页", "3/26", "Page 3 of 26", "iv"]
)
def test_page_numbers_at_a_page_edge_are_removed(number: str) -> None:
    pages = [[_line("第一条　正文。", 1, 0, 60, 80), _line(number, 1, 45, 55, 5, 9)]]
    assert [line.text for line in strip_furniture(pages)[0]] == ["第一条　正文。"]


def test_a_short_last_line_is_not_taken_for_a_page_number() -> None:
    pages = [[_line("第一条　正文。", 1, 0, 60, 80), _line("附件3", 1, 0, 20, 5)]]
    assert [line.text for line in strip_furniture(pages)[0]] == ["第一条　正文。", "附件3"]


def test_empty_and_textless_files_are_reported() -> None:
    with pytest.raises(FormatError, match=r"empty\.txt: the file is empty"):
        read_bytes(b"  \n", "empty.txt")
    import io
    import zipfile

    buf = io.BytesIO()  # the 公文 DOCX with every text node removed: a document of images only
    with zipfile.ZipFile(io.BytesIO(gongwen_docx())) as src, zipfile.ZipFile(buf, "w") as dst:
        for item in src.namelist():
            data = src.read(item)
            if item == "word/document.xml":
                data = re.sub(rb"<w:t( [^>]*)?>[^<]*</w:t>", b"", data)
            dst.writestr(item, data)
    with pytest.raises(FormatError, match="no text found in this DOCX file"):
        read_bytes(buf.getvalue(), "images-only.docx")


def test_password_protected_office_file_says_so() -> None:
    encrypted = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 512
    with pytest.raises(FormatError, match="password-protected Office file"):
        read_bytes(encrypted, "secret.docx")


def test_a_block_is_always_one_line_so_pages_map_to_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    import indexer.formats as formats
    from indexer.formats import Block, ReadResult

    def reader(data: bytes, name: str, options: object) -> ReadResult:
        return ReadResult(name, "pdf", (Block("第一条　甲。\n第二条　乙。", page=1), Block("第三条　丙。", page=2)))

    monkeypatch.setitem(formats.READERS, "pdf", reader)
    result = read_bytes(b"%PDF-1.7\n", "x.pdf")
    assert result.text.splitlines() == ["第一条　甲。", "第二条　乙。", "第三条　丙。"]
    assert result.pages == (1, 1, 2)
