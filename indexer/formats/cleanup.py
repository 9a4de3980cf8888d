"""Normalisation applied to every reader's output: layout spaces, radicals, invisible characters.

Layout engines (Word/WPS PDF export, OFD writers) put spaces between CJK characters and digits
(``2022 年 8 月``) and some fonts map ideographs to Kangxi/CJK radical code points (``⼈⼯智能``), which look the
same but match nothing in search. Full-width punctuation is kept as it is.
"""

from __future__ import annotations

import re
import unicodedata

from indexer.normalise import tidy_spaces

# CJK Radicals Supplement forms that stand for a simplified ideograph (no NFKC mapping exists for them).
_RADICAL_SUPPLEMENT = {
    "\u2e9f": "母", "\u2ea0": "民", "\u2ec4": "西", "\u2ec5": "见", "\u2ec6": "角", "\u2ec9": "贝",
    "\u2ecb": "车", "\u2ed3": "长", "\u2ed4": "门", "\u2ed8": "青", "\u2eda": "页", "\u2edb": "风",
    "\u2edc": "飞", "\u2edd": "食", "\u2ee2": "马", "\u2ee3": "骨", "\u2ee4": "鬼", "\u2ee5": "鱼",
    "\u2ee6": "鸟", "\u2ee8": "麦", "\u2ee9": "黄", "\u2eec": "齐", "\u2eee": "齿", "\u2ef0": "龙",
    "\u2ef3": "龟",
}  # fmt: skip
_RADICALS = re.compile("[\u2e80-\u2eff\u2f00-\u2fdf]")
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad]")
_ODD_SPACES = re.compile("[\u00a0\u2002-\u200a\u202f\u205f]")


def _radical(m: re.Match[str]) -> str:
    ch = m.group(0)
    if ch in _RADICAL_SUPPLEMENT:
        return _RADICAL_SUPPLEMENT[ch]
    mapped = unicodedata.normalize("NFKC", ch)
    return mapped if mapped != ch else ch


def map_radicals(text: str) -> str:
    """Kangxi radicals (U+2F00–U+2FDF) and common CJK radical-supplement forms → the ideographs they depict."""
    return _RADICALS.sub(_radical, text)


def clean_block(text: str) -> str:
    """One reader block made fit for the text pipeline (pure): radicals, invisible characters, layout spaces."""
    text = _INVISIBLE.sub("", text)
    text = _ODD_SPACES.sub(" ", text)
    text = map_radicals(text)
    return tidy_spaces(text)
