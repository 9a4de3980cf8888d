"""Detect mojibake: text decoded with the wrong code page somewhere upstream.

The corpus shows GBK-as-Big5 style damage such as ``。ㄒ唬┭芯恐贫ㄈ斯ぶ悄`` or
``發展?jié)摿Υ蟮``. Such text must never reach the index as if it were Chinese.
The rule is deliberately simple and stated here so that it can be tested:
a line is mojibake when it contains, next to Chinese text,

characters from scripts that do not occur in Chinese policy prose (bopomofo,
kana, box drawing, Greek/Cyrillic letters, private-use, U+FFFD). A ``?`` between
two Chinese characters is NOT taken as damage: scraped pages write ``是什么?`` with
half-width punctuation.
"""

from __future__ import annotations

import re

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

_FOREIGN_SCRIPT = re.compile(
    "["
    "\u3100-\u312f\u31a0-\u31bf"  # bopomofo
    "\u3040-\u30ff\uff66-\uff9f"  # kana (full and half width)
    "\u2500-\u257f"  # box drawing
    "\u0370-\u03ff\u0400-\u04ff"  # Greek, Cyrillic
    "\ue000-\uf8ff"  # private use area
    "\ufffd"  # replacement character
    "]"
)
_HAS_CJK = re.compile(f"[{_CJK}]")


def mojibake_spans(line: str) -> list[tuple[int, int]]:
    """Return the character spans in ``line`` that show mojibake (empty if clean)."""
    if not _HAS_CJK.search(line):
        return []
    return [(m.start(), m.end()) for m in _FOREIGN_SCRIPT.finditer(line)]


def foreign_ratio(text: str) -> float:
    """Share of characters from scripts foreign to Chinese prose, over Chinese characters (decode sanity check)."""
    cjk = len(_HAS_CJK.findall(text))
    return len(_FOREIGN_SCRIPT.findall(text)) / cjk if cjk else 0.0


def is_mojibake(line: str) -> bool:
    """True when ``line`` contains mojibake by the rule in the module docstring."""
    return bool(mojibake_spans(line))
