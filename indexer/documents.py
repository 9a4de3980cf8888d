"""Find the logical documents inside one file.

Web scrapes put several documents into one file, sometimes as one physical line
(file 000 holds a regulation, its 解读 and an unrelated article). Two pure steps:

1. ``reflow_lines`` cuts over-long physical lines at structural markers
   (第X章, 第X条, 一、, （一）, 《…》解读) so that the parser sees one unit per line.
2. ``split_documents`` starts a new document at an interpretation header
   (``《T》解读``), at a heading glued to the end of an over-long line, or at a
   regulation title that follows articles already seen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from indexer.formats.meta import is_header_line
from indexer.mojibake import is_mojibake, map_private_use
from indexer.normalise import is_boilerplate, is_traditional, normalise_line, strip_pinyin
from indexer.records import Line, LogicalDocument

NUM = "一二三四五六七八九十百千零〇两"
REFLOW_MIN_CHARS = 600  # physical lines longer than this are treated as flattened layout
_SENTENCE_END = "。；;：:！？!?"

_CUT = re.compile(
    "|".join(
        [
            f"(?<![本该此前各下例法])第[{NUM}]+[编章节](?=\\s|[^条款项])",  # chapter headings
            f"第[{NUM}]+条(?:之[{NUM}]+)?(?=\\s)",  # article label followed by a space
            f"(?<=[{_SENTENCE_END}])第[{NUM}]+条(?:之[{NUM}]+)?",  # article label after a sentence end
            "《[^》]{2,60}》解读",  # start of an interpretation
            f"(?<=[。；;])[{NUM}]{{1,3}}、",  # outline level 1 after a sentence end
            f"(?<=[{_SENTENCE_END}])[（(][{NUM}]{{1,3}}[)）]",  # outline level 2 / 项
        ]
    )
)
_TERMINAL = re.compile(f"[{_SENTENCE_END}]$")


def reflow_line(text: str) -> tuple[list[str], bool]:
    """Cut one over-long line at structural markers.

    Returns the pieces and whether the last piece is a short heading glued to
    the end of the line (no terminal punctuation), which in scraped pages is the
    title of whatever follows.
    """
    if len(text) < REFLOW_MIN_CHARS:
        return [text], False
    cuts = sorted({m.start() for m in _CUT.finditer(text) if m.start() > 0})
    pieces = [text[a:b].strip() for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    pieces = [p for p in pieces if p]
    glued = False
    last = pieces[-1]
    # A glued heading follows the last sentence end of the last piece.
    tail_start = max(last.rfind(ch) for ch in "。；;") + 1
    tail = last[tail_start:].strip()
    if 0 < tail_start < len(last) and 4 <= len(tail) <= 40 and not _TERMINAL.search(tail):
        pieces[-1] = last[:tail_start].strip()
        pieces.append(tail)
        glued = True
    return pieces, glued


def prepare_lines(text: str, pages: Sequence[int | None] = ()) -> tuple[list[Line], list[int], int]:
    """Reflow, check and normalise every line of a decoded file.

    ``pages`` gives the page of each physical line for paged sources. Returns the kept
    lines, the source line numbers dropped as mojibake, and the number of boilerplate
    lines dropped.
    """
    lines: list[Line] = []
    damaged: list[int] = []
    boilerplate = 0
    simplify = is_traditional(strip_pinyin(text))
    for no, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        # Unknown symbol-font characters (a stray \ue004 after a 项 in the law collection) are cut; the line stays.
        raw, _ = map_private_use(strip_pinyin(raw))
        if is_mojibake(raw):
            damaged.append(no)
            continue
        pieces, glued = reflow_line(raw)
        reflowed = len(pieces) > 1
        for i, piece in enumerate(pieces):
            line = normalise_line(piece, simplify=simplify)
            if not line:
                continue
            if is_boilerplate(line):
                boilerplate += 1
                continue
            is_tail = glued and i == len(pieces) - 1
            page = pages[no - 1] if no <= len(pages) else None
            lines.append(Line(no=no, text=line, reflowed=reflowed, glued_tail=is_tail, page=page))
    return lines, damaged, boilerplate


_INTERPRETATION = re.compile(r"^《([^》]{2,60})》\s*解读\s*(.*)$")
_REG_TITLE = re.compile(r"^[^，。；：]{4,60}(条例|办法|规定|细则|决定|规则)$")
_ARTICLE = re.compile(f"^第[{NUM}]+条")
_DIVISION = re.compile(f"^第[{NUM}]+(?:[编章节]|分编)")
_DOC_TITLE_WORDS = re.compile("(条例|办法|规定|细则|决定|规则|计划|方案|规划|意见|通知|纲要|指引|解读)$")
_QUOTED_TITLE = re.compile(r"《([^》]{4,60})》")


def split_documents(source: str, lines: list[Line], damaged: Iterable[int] = ()) -> list[LogicalDocument]:
    """Split a file's lines into logical documents (see module docstring for the rules)."""
    damaged = tuple(damaged)
    groups: list[tuple[str | None, list[Line]]] = [(None, [])]
    seen_article = False
    i = 0
    while i < len(lines):
        line = lines[i]
        title: str | None = None
        rest: str | None = None
        m = _INTERPRETATION.match(line.text)
        nxt = lines[i + 1].text if i + 1 < len(lines) else ""
        if m:
            title, rest = f"{m.group(1)}解读", m.group(2)
        elif re.fullmatch(r"《[^》]{2,60}》", line.text) and nxt.startswith("解读"):
            title, rest = f"{line.text[1:-1]}解读", nxt[2:]
            i += 1
        elif line.glued_tail or (seen_article and _REG_TITLE.match(line.text) and not _DIVISION.match(line.text)):
            title, rest = line.text, ""
        if title is not None and (groups[-1][1] or groups[-1][0]):
            groups.append((title, []))
            seen_article = False
            if rest:
                groups[-1][1].append(Line(line.no, rest.strip(), line.reflowed, page=line.page))
        elif title is not None:
            groups[-1] = (title, groups[-1][1])
            if rest:
                groups[-1][1].append(Line(line.no, rest.strip(), line.reflowed, page=line.page))
        else:
            groups[-1][1].append(line)
            seen_article = seen_article or bool(_ARTICLE.match(line.text))
        i += 1

    docs: list[LogicalDocument] = []
    for title, body in (g for g in groups if g[1]):
        if title is None:
            # 红头 (深圳市人民政府文件), 文号 and 签发人 lines head an official document: metadata, not its title.
            while len(body) > 1 and is_header_line(body[0].text):
                body = body[1:]
        title = title or detect_title(body)
        if title and body and body[0].text == title:
            body = body[1:]
        if not body:  # a title with nothing under it (e.g. a page header) is not a document
            continue
        first, last = body[0].no, body[-1].no
        in_doc = tuple(n for n in damaged if first <= n <= last + 1)
        docs.append(LogicalDocument(source, len(docs), title, tuple(body), in_doc))
    return docs


def detect_title(lines: list[Line]) -> str | None:
    """The document's title: its first line if that reads as a title, else a 《title》 it announces.

    The 《…》 fallback is only used for documents with articles, where the
    promulgation notice names the regulation (``《X条例》经…通过``).
    """
    if not lines:
        return None
    first = lines[0].text
    outline_start = re.match(f"^([{NUM}]{{1,3}}、|[（(][{NUM}]{{1,3}}[)）]|\\d{{1,2}}[.．、]|专栏\\s*\\d)", first)
    if len(first) <= 60 and not re.search("[。；;！？!?]", first) and not _ARTICLE.match(first) and not outline_start:
        return first
    if any(_ARTICLE.match(line.text) for line in lines):
        for line in lines[:5]:
            for m in _QUOTED_TITLE.finditer(line.text):
                if _DOC_TITLE_WORDS.search(m.group(1)):
                    return m.group(1)
    return None
