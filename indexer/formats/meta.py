"""Document metadata found in the text itself: 文号, issuing body, dates (pure functions)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_CN_NUM = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "○": 0, "Ｏ": 0, "O": 0}
DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,12}[〔\[［(（]\s*(\d{4})\s*[〕\]］)）]\s*\d{1,5}\s*号")
_DATE = re.compile(r"(\d{4})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*日?")
_CN_DATE = re.compile(r"([〇一二三四五六七八九零○]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日")
_ISSUER_LINE = re.compile(
    r"^([\u4e00-\u9fff（）]{2,30}?(人民政府办公厅|人民政府办公室|人民政府|人民代表大会常务委员会|人大常委会|国务院办公厅|国务院"
    r"|委员会|管理局|办公厅|办公室|监督管理总局|总局|局|厅|部|委|署|院|会|中心))(文件|令)?$"
)
_ISSUER_ABOUT = re.compile(
    r"^([\u4e00-\u9fff]{2,30}?(人民政府办公厅|人民政府办公室|人民政府|国务院办公厅|国务院|委员会|办公厅|局|厅|部))关于"
)
RED_HEADER = re.compile(
    r"^[\u4e00-\u9fff、（）]{2,30}(文件|公报|令)$|^.{0,20}(签发人|密级|紧急程度|特急|加急)[：:]?"
)
_DATE_ONLY = re.compile(r"[\d年月日〇一二三四五六七八九十零○\s./-]+")
_ADOPTED = re.compile(r"(\d{4}年\d{1,2}月\d{1,2}日).{0,40}?(通过|审议通过|修订|修正|公布)")
_EFFECTIVE = re.compile(r"自(\d{4}年\d{1,2}月\d{1,2}日)起(施行|实施|执行|生效)")


def normalise_date(text: str | None) -> str | None:
    """``2020年1月13日``, ``2020/1/13 11:45``, ``二〇一九年五月十四日`` → ``2020-01-13``; None when no date."""
    if not text:
        return None
    if m := _DATE.search(text):
        y, mo, d = (int(g) for g in m.groups())
        return f"{y:04d}-{mo:02d}-{d:02d}" if 1 <= mo <= 12 and 1 <= d <= 31 else None
    if m := _CN_DATE.search(text):
        y = int("".join(str(_CN_NUM[c]) for c in m.group(1)))
        return f"{y:04d}-{_cn_small(m.group(2)):02d}-{_cn_small(m.group(3)):02d}"
    return None


def _cn_small(text: str) -> int:
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + _CN_NUM[text[1]]
    if "十" in text:
        tens, _, ones = text.partition("十")
        return _CN_NUM[tens] * 10 + (_CN_NUM[ones] if ones else 0)
    return _CN_NUM[text]


@dataclass(frozen=True)
class TextMeta:
    """Metadata found in the first lines of a document."""

    doc_number: str | None = None
    issuer: str | None = None
    adopted: str | None = None
    effective: str | None = None
    published: str | None = None


def is_header_line(line: str) -> bool:
    """True for 红头 lines (``深圳市人民政府文件``), 文号 lines and 签发人/密级 lines: never a document title."""
    line = line.strip()
    return bool(RED_HEADER.match(line) or DOC_NUMBER.fullmatch(line) or _ISSUER_LINE.match(line))


def find_text_meta(lines: Sequence[str], *, head: int = 12) -> TextMeta:
    """文号, issuing body (from a 红头 line), adoption/effective dates from the first ``head`` lines."""
    doc_number = issuer = adopted = effective = published = None
    first = [line.strip() for line in lines[:head]]
    for line in first:
        if doc_number is None and (m := DOC_NUMBER.search(line)) and len(line) <= 40:
            doc_number = re.sub(r"\s+", "", m.group(0)).replace("[", "〔").replace("]", "〕")
        if issuer is None and (m := _ISSUER_LINE.match(line) or _ISSUER_ABOUT.match(line)):
            issuer = m.group(1)
        if adopted is None and (m := _ADOPTED.search(line)) and len(line) <= 120:
            adopted = normalise_date(m.group(1))
    # The regulation's own final article says when it takes effect; a date quoted earlier (a 解读 citing
    # the law it explains) is not this document's.
    text = "\n".join(lines[-4:])
    if m := _EFFECTIVE.search(text):
        effective = normalise_date(m.group(1))
    tail = [line.strip() for line in lines[-6:]]
    for line in reversed(tail):
        if len(line) <= 20 and (date := normalise_date(line)) and _DATE_ONLY.fullmatch(line):
            published = date
            break
    return TextMeta(doc_number, issuer, adopted, effective, published)
