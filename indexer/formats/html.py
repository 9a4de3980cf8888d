"""HTML and MHTML pages saved from government sites.

Decoding: the declared charset (BOM, ``<meta charset>``, ``http-equiv``, or the MIME part's), with gb2312/gbk
read as gb18030 (pages declared gb2312 routinely hold GBK-only characters); an undeclared page goes through the
strict text decoder. The article body is the first of the usual government CMS containers found with
selectolax (TRS ``div.TRS_Editor``, ``#UCAP-CONTENT``, ``#zoom`` …); a page without one falls back to
readability-lxml. Title, 文号, 发文机关 and dates come from ``<meta name="ArticleTitle">``-style tags and the
信息公开 table; navigation, share bars, QR-code text, related links and ICP footers are outside the body.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from email.message import Message
from itertools import pairwise

from indexer.formats.base import Block, FileMeta, FormatError, ReadResult
from indexer.formats.cleanup import clean_block
from indexer.formats.meta import normalise_date
from indexer.reading import UnreadableFileError, decode_bytes

BODY_SELECTORS = (
    "div.TRS_Editor",
    "div.trs_editor_view",
    "#UCAP-CONTENT",
    "div.view.TRS_UEDITOR",
    "#zoom",
    "#Zoom",
    ".zoom",
    "div.pages_content",
    "div.article-content",
    "div.article_content",
    "div.xxgk_content",
    "div.news_content",
    "#content",
    "div.content",
    "article",
)
logger = logging.getLogger(__name__)

_BLOCK_TAGS = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "section", "article", "blockquote", "pre", "center",
    "table", "tbody", "thead", "ul", "ol", "dl", "dt", "dd", "header", "footer", "form",
}  # fmt: skip
_SKIP_TAGS = {"script", "style", "noscript", "template", "iframe", "svg", "button", "input", "select", "textarea"}
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]+encoding=["']([\w-]+)""", re.I)
_CJK = re.compile("[\u4e00-\u9fff]")
_META_FIELDS = {
    "articletitle": "title",
    "dc.title": "title",
    "pubdate": "published",
    "firstpublishedtime": "published",
    "dc.date": "published",
    "contentsource": "issuer",
    "dc.publisher": "issuer",
}
_TABLE_FIELDS = {
    "title": ("名称", "标题", "文件名称"),
    "doc_number": ("文号", "发文字号", "文件编号"),
    "issuer": ("发布机构", "发文机关", "发文单位", "发布单位", "制发机关"),
    "published": ("发布日期", "公开日期", "发文日期", "成文日期"),
    "effective": ("生效日期", "施行日期", "实施日期"),
}


def charset_of(data: bytes) -> str | None:
    """The charset a page declares (BOM first), with gb2312/gbk widened to gb18030; None when undeclared."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    m = _CHARSET.search(data[:8192]) or _XML_ENCODING.search(data[:200])
    if not m:
        return None
    return widen_charset(m.group(1).decode("ascii", "replace"))


def widen_charset(name: str) -> str:
    """gb2312/gbk/x-gbk → gb18030 (a strict superset); other names as given, lower-cased."""
    name = name.lower().strip()
    return "gb18030" if name in ("gb2312", "gbk", "x-gbk", "gb_2312-80", "cp936", "euc-cn") else name


def _valid_utf8_with_multibyte(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return any(b >= 0x80 for b in data)


def decode_html(data: bytes, name: str, charset: str | None = None) -> tuple[str, str]:
    """``(text, encoding)``: the declared charset strictly, else the strict text decoder."""
    charset = widen_charset(charset) if charset else charset_of(data)
    if charset == "gb18030" and _valid_utf8_with_multibyte(data):
        # Browsers save pages as UTF-8 but keep the original <meta charset=gb2312>; GB18030 would accept those
        # bytes and return garbage, while real GBK text is practically never valid UTF-8.
        logger.info("%s: declared %s but is UTF-8; read as UTF-8", name, charset)
        charset = "utf-8"
    if charset:
        try:
            return data.decode(charset), charset
        except LookupError:
            pass  # an unknown charset name: detect instead
        except UnicodeDecodeError as exc:
            raise FormatError(
                f"{name}: declared {charset} but byte {exc.start} is not {charset}; "
                "the page is damaged or mislabelled — save it again from the browser"
            ) from exc
    try:
        return decode_bytes(data, name=name)
    except UnreadableFileError as exc:
        raise FormatError(str(exc)) from exc


def _walk(node: object, out: list[str], line: list[str]) -> None:
    for child in node.iter(include_text=True):  # type: ignore[attr-defined]
        tag = child.tag
        if tag == "-text":
            line.append(child.text_content or "")
        elif tag in _SKIP_TAGS or tag == "-comment":
            continue
        elif tag == "br":
            _flush(out, line)
        elif tag == "tr":
            _flush(out, line)
            cells = [" ".join(c.text(separator=" ").split()) for c in child.iter() if c.tag in ("td", "th")]
            row = " | ".join(c for c in cells if c)
            if row:
                out.append(row)
        elif tag in _BLOCK_TAGS:
            _flush(out, line)
            _walk(child, out, line)
            _flush(out, line)
        else:
            _walk(child, out, line)


def _flush(out: list[str], line: list[str]) -> None:
    text = "".join(line).strip()
    line.clear()
    if text:
        out.extend(t for t in text.splitlines() if t.strip())


def _body_lines(tree: object, html_text: str, name: str) -> list[str]:
    for selector in BODY_SELECTORS:
        node = tree.css_first(selector)  # type: ignore[attr-defined]
        if node is not None and len(_CJK.findall(node.text())) >= 20:
            out: list[str] = []
            line: list[str] = []
            _walk(node, out, line)
            _flush(out, line)
            return out
    try:
        from readability import Document
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise FormatError(f"{name}: no known article container and readability-lxml is not installed") from exc
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    summary = HTMLParser(Document(html_text).summary(html_partial=True))
    out, line = [], []
    root = summary.body or summary.root
    if root is not None:
        _walk(root, out, line)
    _flush(out, line)
    return out


def _page_meta(tree: object) -> dict[str, str]:
    found: dict[str, str] = {}
    for meta in tree.css("meta[name]"):  # type: ignore[attr-defined]
        field = _META_FIELDS.get((meta.attributes.get("name") or "").lower())
        value = (meta.attributes.get("content") or "").strip()
        if field and value and field not in found:
            found[field] = value
    cells = [" ".join(td.text().split()) for td in tree.css("table td, table th")]  # type: ignore[attr-defined]
    for label, value in pairwise(cells):
        key = label.rstrip("：:").replace(" ", "")
        for field, names in _TABLE_FIELDS.items():
            if key in names and value and field not in found and len(value) <= 80:
                found[field] = value
    return found


def read_html(data: bytes, name: str, *, charset: str | None = None, fmt: str = "html") -> ReadResult:
    """Read a saved web page: the article body as blocks, the page's own metadata as ``meta``."""
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    text, encoding = decode_html(data, name, charset)
    tree = HTMLParser(text)
    found = _page_meta(tree)
    title = found.get("title")
    if not title:
        h1 = tree.css_first("h1")
        title = h1.text().strip() if h1 is not None else None
    if not title and (t := tree.css_first("title")) is not None:
        title = re.split(r"[_|｜]| - ", t.text().strip())[0].strip() or None
    lines = [clean_block(line) for line in _body_lines(tree, text, name)]
    blocks = [Block(line) for line in lines if line]
    if title and not any(b.text == clean_block(title) for b in blocks[:3]):
        blocks.insert(0, Block(clean_block(title), heading=1))  # the title sits outside the body on CMS pages
    meta = FileMeta(
        title=title,
        doc_number=found.get("doc_number"),
        issuer=found.get("issuer"),
        published=normalise_date(found.get("published")),
        effective=normalise_date(found.get("effective")),
    )
    return ReadResult(name=name, format=fmt, blocks=tuple(blocks), meta=meta, encoding=encoding)


def read_mhtml(data: bytes, name: str) -> ReadResult:
    """An MHTML archive ("save as single file"): its first HTML part, decoded by the part's charset."""
    msg: Message = email.message_from_bytes(data, policy=email.policy.compat32)
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return read_html(payload, name, charset=part.get_content_charset(), fmt="mhtml")
    raise FormatError(f"{name}: MHTML archive without an HTML part; save the page again as .html")
