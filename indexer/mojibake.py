"""Detect mojibake: text decoded with the wrong code page somewhere upstream.

The corpus shows GBK-as-Big5 damage such as ``。ㄒ唬┭芯恐贫ㄈ斯ぶ悄`` or ``發展?jié)摿Υ蟮``. Such text
must never reach the index as if it were Chinese, but real regulations also hold Greek and Cyrillic letters
(``汞≤0.6μg/g``, ``β-内酰胺``, ``λ·s``, ``Ф40mm``) and Word symbol-font characters in the private-use area
(``0\\ue01025千克``: a decimal point). So damage is judged by what it looks like, in a line with Chinese text:

- **strong marks**: characters that a wrong decode of Chinese produces and Chinese prose never uses — bopomofo,
  kana, box drawing, C1 control characters, U+FFFD — and an upper-case Greek/Cyrillic letter wedged between two
  ideographs (``摿Υ蟮``);
- **weak marks**: a lower-case Greek/Cyrillic letter wedged between two ideographs (``髮θ斯``). Next to a digit,
  a Latin letter, a hyphen or a unit sign it is a symbol (``β-内酰胺``), not damage; one or two are kept too
  (``β受体``, ``放射α粒子和β粒子``);
- a line with a strong mark, or with three weak marks, is garbled and dropped whole: the ideographs around the
  marks are garbage of the same decode, so no part of it can be trusted;
- private-use characters are symbol-font code points: known ones are mapped (``\\uf0b1`` → ``±``), one between
  two digits is a decimal point, and an unknown one is dropped on its own while the rest of the line is kept
  (the law collection has stray ``\ue004`` after list items: the old rule dropped 17 such lines in 4 files).

A ``?`` between two Chinese characters is NOT damage: scraped pages write ``是什么?`` with half-width punctuation.
"""

from __future__ import annotations

import re

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAS_CJK = re.compile(f"[{_CJK}]")
_IDEOGRAPH = re.compile(f"[{_CJK}]")

_STRONG = re.compile(
    "["
    "\u3100-\u312f\u31a0-\u31bf"  # bopomofo
    "\u3040-\u30ff\uff66-\uff9f"  # kana (full and half width)
    "\u2500-\u257f"  # box drawing
    "\u0080-\u009f"  # C1 controls (Latin-1 decode of multi-byte text)
    "\ufffd"  # replacement character
    "]"
)
WEAK_MARKS_FOR_DAMAGE = 3  # "放射α粒子和β粒子" has two and is a real sentence
_GREEK_CYRILLIC = re.compile("[\u0370-\u03ff\u0400-\u04ff]")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")

# Word's Symbol font (code points U+F020–U+F0FF) and common Wingdings bullets.
_SYMBOL_FONT = {
    **{0xF020 + i: ch for i, ch in enumerate(" !∀#∃%&∋()∗+,−./0123456789:;<=>?≅")},
    **{0xF041 + i: ch for i, ch in enumerate("ΑΒΧΔΕΦΓΗΙϑΚΛΜΝΟΠΘΡΣΤΥςΩΞΨΖ")},
    **{0xF061 + i: ch for i, ch in enumerate("αβχδεφγηιϕκλμνοπθρστυϖωξψζ")},
    0xF05B: "[", 0xF05D: "]", 0xF05F: "_", 0xF07B: "{", 0xF07C: "|", 0xF07D: "}", 0xF07E: "∼",
    0xF0A2: "′", 0xF0A3: "≤", 0xF0A5: "∞", 0xF0AB: "↔", 0xF0AC: "←", 0xF0AD: "↑", 0xF0AE: "→", 0xF0AF: "↓",
    0xF0B0: "°", 0xF0B1: "±", 0xF0B2: "″", 0xF0B3: "≥", 0xF0B4: "×", 0xF0B5: "∝", 0xF0B6: "∂", 0xF0B7: "•",
    0xF0B8: "÷", 0xF0B9: "≠", 0xF0BA: "≡", 0xF0BB: "≈", 0xF0BC: "…", 0xF0D6: "√", 0xF0D7: "⋅", 0xF0D8: "¬",
    0xF0E5: "∑", 0xF0F2: "∫",
    0xF06C: "•", 0xF06E: "■", 0xF0A7: "▪", 0xF0FC: "✓", 0xF076: "❖",  # Wingdings bullets
}  # fmt: skip


def _wedged(line: str, i: int) -> bool:
    """True when ``line[i]`` sits between two ideographs."""
    return 0 < i < len(line) - 1 and bool(_IDEOGRAPH.match(line[i - 1])) and bool(_IDEOGRAPH.match(line[i + 1]))


def mojibake_spans(line: str) -> list[tuple[int, int]]:
    """The character spans that show a line is garbled (see the module docstring); empty for a usable line."""
    if not _HAS_CJK.search(line):
        return []
    strong = [m.start() for m in _STRONG.finditer(line)]
    weak: list[int] = []
    for m in _GREEK_CYRILLIC.finditer(line):
        if _wedged(line, m.start()):
            (strong if m.group(0).isupper() else weak).append(m.start())
    if strong or len(weak) >= WEAK_MARKS_FOR_DAMAGE:
        return [(i, i + 1) for i in sorted(strong + weak)]
    return []


def is_mojibake(line: str) -> bool:
    """True when ``line`` is garbled and must be dropped (by the rule in the module docstring)."""
    return bool(mojibake_spans(line))


def map_private_use(line: str) -> tuple[str, int]:
    """Symbol-font private-use characters mapped to what they show; unknown ones removed.

    Returns the new line and how many unknown characters were removed (a line that lost characters is
    marked damaged by the caller).
    """
    if not _PRIVATE_USE.search(line):
        return line, 0
    out: list[str] = []
    removed = 0
    for i, ch in enumerate(line):
        if not _PRIVATE_USE.match(ch):
            out.append(ch)
        elif ord(ch) in _SYMBOL_FONT:
            out.append(_SYMBOL_FONT[ord(ch)])
        elif 0 < i < len(line) - 1 and line[i - 1].isdigit() and line[i + 1].isdigit():
            out.append(".")  # a symbol-font decimal point (0\ue01025千克 = 0.25千克)
        else:
            removed += 1
    return "".join(out), removed


def foreign_ratio(text: str) -> float:
    """Share of characters a wrong decode produces (strong marks), over Chinese characters (decode sanity check)."""
    cjk = len(_HAS_CJK.findall(text))
    return len(_STRONG.findall(text)) / cjk if cjk else 0.0
