"""Values in Chinese policy text: numbers, times, bodies, places — found, compared and grounded.

A value is what a slot question asks for and what a confident wrong answer invents: an amount
(``1000万元``, ``一千万元``), a percentage (``百分之五`` = ``5%``), a date or period (``三十日`` =
``30日``), an organisation (``市工业和信息化部门``), a person or a place. Chinese numerals are read with
``cn2an``; numbers are compared by value, with 万/亿 multipliers applied (``一千亿元`` = ``1000亿元``).

Part-of-speech tags come from the caller's jieba tagger (``(word, flag)`` pairs): ``ns`` places,
``nr`` person names, ``nt`` organisations.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import cn2an

Tagger = Callable[[str], list[tuple[str, str]]]

CN_DIGITS = "零〇一二两三四五六七八九十百千万亿"  # Chinese numeral characters (also answer/slots.py)
_UNITS = (
    "个|项|家|所|名|人|位|次|倍|年|月|日|天|周|小时|分钟|秒|元|美元|万|亿|千|百|件|款|条|种|类|期|届|座|台|套|米|公里|吨|"
    "岁|成|大|批|部|篇|份|段|层|级|代|户|片|平方|亩|度|瓦|纳米|章|节|%"
)
_ARABIC = re.compile(r"(\d+(?:[.,]\d+)*)\s*(万亿|亿|万|千|百)?\s*(%|％)?")
_PERCENT_CN = re.compile(rf"百分之([{CN_DIGITS}点]+)")
_CHINESE = re.compile(rf"([{CN_DIGITS}]+(?:点[{CN_DIGITS}]+)?)(?=({_UNITS}))")
# "一" with an ordinary measure word is an article, not a figure (建立一个机制, 一批企业, 一系列).
_ARTICLE_ONE = re.compile(r"^一$")
_ARTICLE_UNITS = frozenset("个 项 家 所 名 人 位 次 件 款 条 种 类 批 部 篇 份 段 层 级 代 户 片 大".split())
_MULTIPLIER = {"万亿": 1e12, "亿": 1e8, "万": 1e4, "千": 1e3, "百": 1e2}

_TIME = re.compile(
    r"\d+\s*(?:年|月|日|天|周|个?工作日|个?月|小时|季度)|每(?:年|季度|个?月|半年|周)|[上下]半年|年[底初末中]|"
    r"(?:之日|公布之日|发布之日|施行之日)起|即日起"
)
_URL = re.compile(r"(?:https?://|www\.)[\w./%-]+|[\w-]+\.(?:gov\.cn|com\.cn|org\.cn|cn|com|org|net)\b")
ORG_SUFFIXES = tuple(
    """
    部门 委员会 管理局 局 厅 办公室 中心 人民政府 政府 协会 联盟 研究院 研究所 实验室 公司 集团 大学 学院
    法院 检察院 常委会 常务委员会 人大 基金会 委 办 署 部 院 司 医院 学校 银行
    """.split()
)
# Modifiers that make an organisation word generic rather than a name (有关部门, 各部门, 相关机构).
_GENERIC_ORG_PREFIX = frozenset("有关 相关 各 其他 其它 该 本 上述 各级 各类 主管 行政 职能 责任 政府 国家".split())
_PLACE_SUFFIX = re.compile(r"(?:区|市|省|县|镇|街道|园区|合作区|新区|城|湾区)$")


@dataclass(frozen=True)
class Number:
    """A number found in text: as written, and its value (multipliers applied)."""

    surface: str
    value: float
    percent: bool
    raw: float  # the value without its 万/亿 multiplier (1000万 → 1000), as a quote may write the unit apart


def _to_float(text: str) -> float | None:
    try:
        return float(cn2an.cn2an(text, "smart"))
    except (ValueError, KeyError, IndexError):
        return None


def numbers(text: str) -> list[Number]:
    """Numbers in ``text`` (Arabic, Chinese with a unit after them, 百分之…); article-like 一个 left out."""
    out: list[Number] = []
    for m in _ARABIC.finditer(text):
        digits = m.group(1).replace(",", "")
        try:
            value = float(digits)
        except ValueError:
            continue
        raw = value
        value *= _MULTIPLIER.get(m.group(2) or "", 1.0)
        out.append(Number(m.group(0).strip(), value, bool(m.group(3)), raw))
    taken = [m.span() for m in _PERCENT_CN.finditer(text)]
    for m in _PERCENT_CN.finditer(text):
        pct = _to_float(m.group(1))
        if pct is not None:
            out.append(Number(m.group(0), pct, True, pct))
    for m in _CHINESE.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        surface, unit = m.group(1), m.group(2)
        if _ARTICLE_ONE.match(surface) and unit in _ARTICLE_UNITS:
            continue
        if surface in {"万", "亿", "千", "百", "十"}:
            continue  # a bare multiplier character after a word (千万, 百万) reads as an adverb
        base = _to_float(surface)
        if base is None:
            continue
        scaled = base * _MULTIPLIER.get(unit, 1.0)
        out.append(Number(surface + (unit if unit == "%" or unit in _MULTIPLIER else ""), scaled, unit == "%", base))
    return out


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def number_values(text: str) -> list[float]:
    """The values of :func:`numbers`, each also without its 万/亿 multiplier (``1000万`` → 1e7 and 1000)."""
    values: list[float] = []
    for n in numbers(text):
        values += [n.value, n.raw] if n.raw != n.value else [n.value]
    return values


def has_time(text: str) -> bool:
    """A date, period or recurring time (2022年, 三十日, 每年, 上半年, 之日起)."""
    return bool(_TIME.search(_arabic(text)))


_DATE = re.compile(r"\d{4}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?|\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}-\d{4}")
_DURATION = re.compile(r"\d+(?:\.\d+)?\s*(?:个)?(?:年|月|日|天|周|小时|工作日|季度)|每(?:年|季度|个?月|半年|周)")


def has_duration(text: str) -> bool:
    """A period (三十日内, 3年, 每年) rather than a date (2022年11月1日): dates are removed first."""
    return bool(_DURATION.search(_DATE.sub(" ", _arabic(text))))


def _arabic(text: str) -> str:
    """Chinese numerals before units written as Arabic digits, for the regular expressions above."""
    out, last = [], 0
    for m in _CHINESE.finditer(text):
        value = _to_float(m.group(1))
        if value is None or (_ARTICLE_ONE.match(m.group(1)) and m.group(2) in _ARTICLE_UNITS):
            continue
        out.append(text[last : m.start()] + (str(int(value)) if value == int(value) else str(value)))
        last = m.end(1)
    out.append(text[last:])
    return "".join(out)


def has_quantity(text: str, *, percent: bool = False, money: bool = False, exclude: Iterable[float] = ()) -> bool:
    """A figure that is not a year or an ordinal (第六条); ``percent``/``money`` ask for that kind;
    figures equal to one of ``exclude`` (the question's own) do not count."""
    converted = _arabic(re.sub(r"《[^》]*》", "", text))
    known = list(exclude)
    for m in _ARABIC.finditer(converted):
        value = float(m.group(1).replace(",", "")) if re.fullmatch(r"[\d.]+", m.group(1).replace(",", "")) else None
        if value is not None and any(_same(value, k) for k in known):
            continue
        before, after = converted[max(0, m.start() - 1) : m.start()], converted[m.end() : m.end() + 2]
        if before == "第" or (re.match(r"\s*年", after) and re.fullmatch(r"(19|20)\d\d", m.group(1))):
            continue
        if re.match(r"\s*[月日号时]", after):
            continue  # a date (7月24日) is a time, not a quantity
        if percent and not (m.group(3) or after.startswith("成")):
            continue
        if money and not re.match(r"\s*(?:元|美元|港元|欧元)", converted[m.end() :]):
            continue
        return True
    return (not money and "百分之" in text) if percent else False


def org_mentions(text: str, cut: Callable[[str], list[str]]) -> list[str]:
    """Organisations in ``text``: a word ending in an organisation suffix with the word before it
    (``信息化部门``, ``伦理委员会``); generic ones (有关部门, 各部门) left out."""
    tokens = cut(text)
    out: list[str] = []
    for i, tok in enumerate(tokens):
        if not tok.endswith(ORG_SUFFIXES) or not re.search(r"[\u4e00-\u9fff]", tok):
            continue
        prev = tokens[i - 1] if i else ""
        if tok in ORG_SUFFIXES or len(tok) <= 2:
            if not prev or prev in _GENERIC_ORG_PREFIX or not re.fullmatch(r"[\u4e00-\u9fff]{2,}", prev):
                continue
            out.append(prev + tok)
        else:
            out.append(tok)
    return out


def people(text: str, tagger: Tagger) -> list[str]:
    """Person names (jieba ``nr``, two to four characters)."""
    return [w for w, flag in tagger(text) if flag == "nr" and 2 <= len(w) <= 4]


def places(text: str, tagger: Tagger) -> list[str]:
    """Place names (jieba ``ns``)."""
    return [w for w, flag in tagger(text) if flag == "ns"]


def urls(text: str) -> list[str]:
    """Web addresses."""
    return _URL.findall(text)


# An enumeration: three or more short items joined by 、 (智能政务、智能交通、智能安防), the last may follow 和/及.
_ENUMERATION = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]{2,12}(?:、[\u4e00-\u9fffA-Za-z0-9]{2,12}){2,}")
_ITEM_FILLER = frozenset("等 等等 其他 其它 以及 和 及 与 或 方面 领域 工作".split())


def list_items(text: str) -> list[str]:
    """The items after the first of each enumeration in ``text`` (the first item's start is not delimited)."""
    items: list[str] = []
    for match in _ENUMERATION.finditer(text):
        items += [re.sub(r"^(?:和|及|以及|与)|等.*$", "", item) for item in match.group(0).split("、")[1:]]
    return [item for item in items if len(item) >= 2]


def unlisted_items(claim: str, haystack: str, cut: Callable[[str], list[str]]) -> list[str]:
    """Items of the claim's enumerations whose words the haystack does not hold — when that is most of them.

    A small model asked 哪些 fills a list with plausible names that its quote never gives; one paraphrased
    item in a copied list is tolerated, a list whose items are mostly absent from the quote is invented.
    """
    missing = []
    items = list_items(claim)
    for item in items:
        words = [w for w in cut(item) if len(w) >= 2 and w not in _ITEM_FILLER]
        if words and not all(w in haystack for w in words):
            missing.append(item)
    return missing if 2 * len(missing) > len(items) else []


def _place_in(place: str, haystack: str) -> bool:
    return place in haystack or (len(place) > 2 and _PLACE_SUFFIX.sub("", place) in haystack)


def ungrounded(
    claim: str, haystack: str, *, cut: Callable[[str], list[str]], tagger: Tagger, ignore: Iterable[str] = ()
) -> list[str]:
    """Values in ``claim`` that ``haystack`` (its cited quotes and citations) does not hold.

    Numbers are compared by value; organisations by their name (the word before the suffix
    included); places with or without their 市/省/区 suffix; people and web addresses verbatim; the
    items of an enumeration by their words, when most of them are missing (``unlisted_items``).
    ``ignore``: words that are never values here (the question's own generic words).
    """
    skip = set(ignore)
    missing: list[str] = []
    found = number_values(haystack)
    for n in numbers(claim):
        if not any(_same(n.value, v) for v in found):
            missing.append(n.surface)
    for org in org_mentions(claim, cut):
        if org not in haystack and org not in skip and org.lstrip("市省区县") not in haystack:
            missing.append(org)
    missing += [p for p in places(claim, tagger) if p not in skip and not _place_in(p, haystack)]
    missing += [p for p in people(claim, tagger) if p not in skip and p not in haystack]
    missing += [u for u in urls(claim) if u not in haystack]
    missing += [i for i in unlisted_items(claim, haystack, cut) if i not in skip]
    return list(dict.fromkeys(missing))
