"""jieba tokenisation shared by chunking (token budgets) and BM25 (terms), with a corpus-built user dictionary."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jieba

# jieba announces dictionary loading on its own stderr handler; policyrag reports progress itself.
jieba.setLogLevel(logging.WARNING)

_TITLE = re.compile(r"《([^《》]{2,40})》")
_DEFINED = re.compile(r"以下简称[“\"「]?([^”\"」）)，。；]{2,16})[”\"」]?[）)]")
_GOVERNMENT = re.compile(r"(.{2,6}?)(?:人民政府|政府|议会|国会)")
_TERM_CHAR = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
STOPWORDS = frozenset(
    """
    的 了 和 与 及 以及 或 或者 等 是 在 对 为 由 其 之 并 将 把 被 从 向 于 按照 根据 有关 相关
    应当 可以 进行 开展 我 我们 你 吗 呢 吧 啊 什么 哪些 哪个 怎么 怎样 如何 是否 有没有 谁 哪
    一个 这个 那个 这 那 就 都 也 还 又 中 上 下 个 条 款
    """.split()
)


def domain_terms(texts: Iterable[str]) -> list[str]:
    """Terms to keep whole: document titles in 《》 and defined short names (``（以下简称市产业主管部门）``)."""
    terms: set[str] = set()
    for text in texts:
        terms.update(m.group(1).strip() for m in _TITLE.finditer(text))
        terms.update(m.group(1).strip() for m in _DEFINED.finditer(text))
    return sorted(t for t in terms if len(t) >= 2 and " " not in t and "《" not in t and "》" not in t)


class CountMemo:
    """Token counts by text for one user dictionary, carried from one build to the next (a count depends on
    the text and on the whole dictionary: jieba's word probabilities are relative to its total frequency)."""

    def __init__(self, tokenizer: JiebaTokenizer, known: dict[str, int] | None = None) -> None:
        self.tokenizer = tokenizer
        self.known = known or {}
        self.used: dict[str, int] = {}

    @staticmethod
    def key(text: str) -> str:
        """The memo's key of ``text``."""
        return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()

    def missing(self, texts: Iterable[str]) -> list[str]:
        """The distinct texts of ``texts`` not counted yet, in order."""
        return [t for t in dict.fromkeys(texts) if self.key(t) not in self.known]

    def add(self, texts: Iterable[str], counts: Iterable[int]) -> None:
        """Counts made elsewhere (worker processes) with this memo's tokenizer."""
        for text, n in zip(texts, counts, strict=True):
            self.known[self.key(text)] = n

    def __call__(self, text: str) -> int:
        key = self.key(text)
        if key not in self.known:
            self.known[key] = self.tokenizer.count(text)
        self.used[key] = self.known[key]
        return self.used[key]


def dictionary_key(user_words: Iterable[str]) -> str:
    """Identity of a user dictionary (counts cut with one are valid for the same one only)."""
    return hashlib.sha256("\n".join(sorted(user_words)).encode("utf-8")).hexdigest()[:16]


class JiebaTokenizer:
    """A private jieba instance (the global one is shared process-wide) plus the corpus user dictionary."""

    def __init__(self, user_words: Iterable[str] = ()) -> None:
        self.user_words: tuple[str, ...] = tuple(sorted(set(user_words)))
        self._tokenizer: jieba.Tokenizer | None = None  # built on first use: loading jieba's dictionary takes ~1 s
        self._pos: Any = None  # part-of-speech tagger, built on first use of places()

    @property
    def _jieba(self) -> jieba.Tokenizer:
        if self._tokenizer is None:
            tokenizer = jieba.Tokenizer()
            for word in self.user_words:
                # A high frequency makes jieba prefer the whole term over its pieces.
                tokenizer.add_word(word, freq=200000)
            self._tokenizer = tokenizer
        return self._tokenizer

    def warm(self) -> None:
        """Load jieba's dictionary and the user words now (otherwise the first cut does)."""
        _ = self._jieba

    def adopt(self, other: JiebaTokenizer) -> None:
        """Take over ``other``'s dictionary (an index reloaded in place)."""
        self._tokenizer, self.user_words, self._pos = other._tokenizer, other.user_words, None

    def cut(self, text: str) -> list[str]:
        """Plain segmentation (used for token budgets); whitespace tokens dropped."""
        return [t for t in self._jieba.cut(text) if t.strip()]

    def count(self, text: str) -> int:
        """Number of jieba tokens in ``text``."""
        return len(self.cut(text))

    def terms(self, text: str) -> list[str]:
        """Search terms for BM25: fine-grained cut, lower-cased, no punctuation or stop words.

        ``cut_for_search`` also emits the parts of long words (人工智能 → 人工, 智能,
        人工智能), which lets a question's short words meet a document's long ones.
        """
        out = []
        for token in self._jieba.cut_for_search(text):
            token = token.strip().lower()
            if token and _TERM_CHAR.search(token) and token not in STOPWORDS:
                out.append(token)
        return out

    def tag(self, text: str) -> list[tuple[str, str]]:
        """(word, jieba part-of-speech flag) pairs: ``ns`` places, ``nr`` people, ``nt`` organisations."""
        if self._pos is None:
            import jieba.posseg

            self._pos = jieba.posseg.POSTokenizer(self._jieba)
        return [(pair.word, pair.flag) for pair in self._pos.cut(text)]

    def places(self, text: str) -> set[str]:
        """Place names in ``text`` (jieba part-of-speech ``ns``: 深圳, 广州市, 香港, 美国 …), also inside a
        government's name, which jieba tags as one organisation (英国政府 → 英国)."""
        found = set()
        for word, flag in self.tag(text):
            if flag == "ns":
                found.add(word)
            elif flag == "nt" and (m := _GOVERNMENT.fullmatch(word)):
                found.update(w for w, f in self.tag(m.group(1)) if f == "ns" and w == m.group(1))
        return found

    def user_dict_text(self) -> str:
        """The user dictionary, one term per line (saved with the index so search tokenises like indexing did)."""
        return "".join(f"{w}\n" for w in self.user_words)

    def save_user_dict(self, path: Path) -> None:
        """Write the user dictionary (one term per line) so search tokenises like indexing did."""
        path.write_text(self.user_dict_text(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> JiebaTokenizer:
        """Recreate the tokenizer from a saved user dictionary."""
        words = [w for w in path.read_text(encoding="utf-8").splitlines() if w.strip()]
        return cls(words)
