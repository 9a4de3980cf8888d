"""Pure text normalisation: pinyin annotations, traditional → simplified, widths, spaces, noise."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from indexer.mojibake import is_mojibake, map_private_use

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_PUNCT = "，。；：！？、（）《》“”‘’【】—…·「」『』"

# Pinyin syllable (tone marks removed first): optional initial + final.
_PINYIN_SYLLABLE = re.compile(
    r"^(zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(iong|uang|iang|ueng|ang|eng|ing|ong|uai|uan|ian|iao|van|ai|ei|ao|ou|an|en|er|in|un|vn|ia|ie|iu|"
    r"ua|uo|ui|ue|ve|a|o|e|i|u|v|n|ng)$"
)
_TONE_MARKS = str.maketrans(
    "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ",
    "aaaaeeeeiiiioooouuuuvvvvvnnnm",
)
_PINYIN_ANNOTATION = re.compile(f"(?<=[{CJK}])\\(([a-zA-Zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ]{{1,7}})\\)")


def _is_pinyin(word: str) -> bool:
    return bool(_PINYIN_SYLLABLE.match(word.lower().translate(_TONE_MARKS)))


def strip_pinyin(text: str) -> str:
    """Remove inline pinyin annotations: ``經(jīng)濟(jì)`` → ``經濟``.

    Only a bracketed single pinyin syllable directly after a Chinese character
    is removed, so ``车联网(C-V2X)`` or ``人工智能(AI)`` stay as they are.
    """

    def repl(m: re.Match[str]) -> str:
        word = m.group(1)
        if word.isupper() or not _is_pinyin(word):
            return m.group(0)
        return ""

    return _PINYIN_ANNOTATION.sub(repl, text)


@lru_cache(maxsize=1)
def _opencc() -> Callable[[str], str]:
    import opencc

    converter = opencc.OpenCC("t2s")
    return converter.convert


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese with OpenCC (``t2s``)."""
    return _opencc()(text) if text else text


TRADITIONAL_MIN_SHARE = 0.03


def is_traditional(text: str) -> bool:
    """True when OpenCC ``t2s`` would change at least 3% (and two) of the Chinese characters.

    t2s is not the identity on simplified text: it also maps variants that are correct
    simplified characters (``昇腾`` → ``升腾``, a brand name). So conversion is decided
    once per file or query, not applied blindly: real traditional text changes 20-30%
    of its characters, simplified text well under 1%.
    """
    cjk = re.findall(f"[{CJK}]", text)
    if not cjk:
        return False
    converted = to_simplified("".join(cjk))
    changed = sum(a != b for a, b in zip(cjk, converted, strict=False))
    # Two changed characters at least, so that one variant in a short query (昇腾芯片) is kept.
    return changed >= 2 and changed / len(cjk) >= TRADITIONAL_MIN_SHARE


# CJK Radicals Supplement forms that stand for a simplified ideograph (no NFKC mapping exists for them).
_RADICAL_SUPPLEMENT = {
    "\u2e9f": "母", "\u2ea0": "民", "\u2ec4": "西", "\u2ec5": "见", "\u2ec6": "角", "\u2ec9": "贝",
    "\u2ecb": "车", "\u2ed3": "长", "\u2ed4": "门", "\u2ed8": "青", "\u2eda": "页", "\u2edb": "风",
    "\u2edc": "飞", "\u2edd": "食", "\u2ee2": "马", "\u2ee3": "骨", "\u2ee4": "鬼", "\u2ee5": "鱼",
    "\u2ee6": "鸟", "\u2ee8": "麦", "\u2ee9": "黄", "\u2eec": "齐", "\u2eee": "齿", "\u2ef0": "龙",
    "\u2ef3": "龟",
}  # fmt: skip
_RADICALS = re.compile("[\u2e80-\u2eff\u2f00-\u2fdf]")


def _radical(m: re.Match[str]) -> str:
    ch = m.group(0)
    if ch in _RADICAL_SUPPLEMENT:
        return _RADICAL_SUPPLEMENT[ch]
    mapped = unicodedata.normalize("NFKC", ch)
    return mapped if mapped != ch else ch


def map_radicals(text: str) -> str:
    """Kangxi radicals (U+2F00–U+2FDF) and common CJK radical-supplement forms → the ideographs they depict."""
    return _RADICALS.sub(_radical, text)


_FULLWIDTH_ALNUM = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u3000\u2000-\u200a]")
_HALF_TO_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！"}
_HALF_PUNCT_IN_CJK = re.compile(f"(?<=[{CJK}{_CJK_PUNCT}\\d%）])([,;:?!])(?=[{CJK}{_CJK_PUNCT}“‘（(《])")
_HALF_PUNCT_AFTER_CJK = re.compile(f"(?<=[{CJK}])([,;:?!])")
_PAREN_PAIR = re.compile(r"\(([^()]{0,80})\)")
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{CJK}{_CJK_PUNCT}\\d])[ \t\u00a0]+(?=[{CJK}{_CJK_PUNCT}\\d])")
_MULTISPACE = re.compile(r"[ \t\u00a0]{2,}")


def unify_width(text: str) -> str:
    """Unify full/half-width forms where it is safe.

    Full-width ASCII letters, digits and the ideographic space become half-width
    (``２０２２`` → ``2022``). Half-width punctuation inside Chinese text becomes
    full-width (``发展,推进`` → ``发展，推进``); bracket pairs become ``（）`` when
    they touch or contain Chinese. Digits keep their separators (``12,000``).
    """
    text = _FULLWIDTH_ALNUM.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)

    def paren(m: re.Match[str]) -> str:
        inner = m.group(1)
        before = m.string[m.start() - 1] if m.start() > 0 else ""
        if re.search(f"[{CJK}]", inner) or re.match(f"[{CJK}]", before):
            return f"（{inner}）"
        return m.group(0)

    text = _PAREN_PAIR.sub(paren, text)
    text = _HALF_PUNCT_IN_CJK.sub(lambda m: _HALF_TO_FULL[m.group(1)], text)
    text = _HALF_PUNCT_AFTER_CJK.sub(lambda m: _HALF_TO_FULL[m.group(1)], text)
    return text


def tidy_spaces(text: str) -> str:
    """Drop spaces between Chinese characters/digits (``自 2022 年`` → ``自2022年``).

    A space between two digits is kept: removing it would change a number.
    """

    def repl(m: re.Match[str]) -> str:
        before, after = m.string[m.start() - 1], m.string[m.end()]
        return m.group(0) if before.isdigit() and after.isdigit() else ""

    text = _SPACE_BETWEEN_CJK.sub(repl, text)
    return _MULTISPACE.sub(" ", text).strip()


def normalise_line(line: str, *, simplify: bool = True) -> str:
    """Full normalisation of one line of already-decoded text (pure).

    ``simplify`` converts traditional → simplified; callers decide it per file with
    ``is_traditional`` so that simplified text is never altered.
    """
    line = map_radicals(strip_pinyin(line))
    if simplify:
        line = to_simplified(line)
    line = unify_width(line)
    line = re.sub(r"^[-*•·]\s+", "", line.strip())  # markdown/list bullets
    line = re.sub(r"^#{1,6}(\s+|$)", "", line)  # markdown headings: the text is the heading
    line = re.sub(r"<!--.*?-->", "", line)  # markdown/HTML comments (e.g. <!-- INFO END -->)
    return tidy_spaces(line)


def normalise_query(query: str) -> str:
    """Normalise a user query with the same rules as documents."""
    simplify = is_traditional(query)
    return " ".join(normalise_line(part, simplify=simplify) for part in query.splitlines() if part.strip())


_BOILERPLATE = [
    re.compile(p)
    for p in (
        r"微信扫描二维码|扫一扫|关注公众号|分享到[:：]?|打印本页|关闭窗口|【字号|字号[:：]?\s*[大中小]|责任编辑[:：]",
        r"^来源[:：].{0,30}$",
        r"浏览量|浏览次数|阅读量|点击数",
        r"^\d{4}[/-]\d{1,2}[/-]\d{1,2}\s+\d{1,2}:\d{2}",
        r"^[\u4e00-\u9fff]{0,8}(人大网|政府网|新闻网|人民网|新华网|政务网|门户网站)$",
        r"^[（(]\d{1,4}[)）]$",
        r"^(上一篇|下一篇|返回顶部|首页)[:：]?",
    )
]


def is_boilerplate(line: str) -> bool:
    """True for web-page furniture (site names, share prompts, view counters, page numbers)."""
    return any(p.search(line) for p in _BOILERPLATE)


@dataclass(frozen=True)
class DroppedLine:
    """A line that normalisation removed, with the reason, for the ingest report."""

    line_no: int
    reason: str  # "mojibake" | "boilerplate"
    text: str


@dataclass(frozen=True)
class NormalisedText:
    """Normalised lines of one file and what was dropped on the way."""

    lines: tuple[str, ...]
    line_numbers: tuple[int, ...]
    dropped: tuple[DroppedLine, ...] = field(default=())


def normalise_text(text: str) -> NormalisedText:
    """Normalise a whole decoded file line by line.

    Mojibake is detected on the raw line (after pinyin removal, before any
    conversion can disguise it) and the line is dropped; so are boilerplate
    lines. Blank lines are removed; 1-based source line numbers are kept.
    """
    lines: list[str] = []
    numbers: list[int] = []
    dropped: list[DroppedLine] = []
    simplify = is_traditional(strip_pinyin(text))
    for no, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        unpinyined, _ = map_private_use(strip_pinyin(raw))
        if is_mojibake(unpinyined):
            dropped.append(DroppedLine(no, "mojibake", raw.strip()))
            continue
        line = normalise_line(unpinyined, simplify=simplify)
        if not line:
            continue
        if is_boilerplate(line):
            dropped.append(DroppedLine(no, "boilerplate", line))
            continue
        lines.append(line)
        numbers.append(no)
    return NormalisedText(tuple(lines), tuple(numbers), tuple(dropped))
