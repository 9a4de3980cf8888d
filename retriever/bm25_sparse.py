"""BM25 as sparse vectors, computed client-side with our jieba terms (for the Milvus backend).

bm25s's Lucene score of a document for a query is ``Σ_t  idf(t) · tf/(tf + k1·(1 − b + b·dl/avgdl))`` over the
query's terms (a repeated term counts each time). Split in two:

- the stored vector of a chunk holds the *saturated* term frequency ``tf/(tf + k1·(1 − b + b·dl/avgdl))`` per
  term: it depends only on the chunk and on ``avgdl``, which is frozen when first published;
- the query vector holds ``count · idf(t)`` with ``idf = ln(1 + (N − df + 0.5)/(df + 0.5))`` from the current
  corpus statistics.

Their inner product is bm25s's score, so adding documents only changes the query side (``N``, ``df``): stored
vectors are rewritten only when the true ``avgdl`` drifts more than ``AVGDL_DRIFT`` from the frozen one. Terms
get sparse indices from an append-only vocabulary, so an index never changes meaning.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

AVGDL_DRIFT = 0.05  # rewrite every stored vector when the true avgdl moves further than this from the frozen one
MAX_INDEX = 2**32 - 2  # Milvus sparse indices are uint32 (the last value is reserved)


@dataclass(frozen=True)
class BM25Stats:
    """Corpus statistics for client-side BM25 (stored with the collection's metadata)."""

    k1: float = 1.2
    b: float = 0.75
    n_docs: int = 0
    total_len: int = 0
    avgdl: float = 1.0  # frozen: the value stored vectors were saturated with
    vocab: dict[str, int] = field(default_factory=dict)  # term → sparse index (append-only)
    df: dict[str, int] = field(default_factory=dict)  # term → documents holding it

    @property
    def true_avgdl(self) -> float:
        """The corpus's average document length now."""
        return self.total_len / self.n_docs if self.n_docs else 1.0


def doc_length(terms: Sequence[str]) -> int:
    """A chunk's length as bm25s counts it (an empty chunk is indexed as one empty token)."""
    return max(len(terms), 1)


def corpus_stats(
    docs: Iterable[Sequence[str]], previous: BM25Stats | None = None, *, k1: float = 1.2, b: float = 0.75
) -> tuple[BM25Stats, bool]:
    """Statistics of a corpus of term lists, keeping ``previous``'s vocabulary and frozen avgdl.

    Returns ``(stats, rewrite)``: ``rewrite`` is True when the frozen avgdl changed (first publish, or a drift over
    ``AVGDL_DRIFT``, or other BM25 parameters), so every stored vector must be computed again.
    """
    df: Counter[str] = Counter()
    n_docs = total = 0
    for terms in docs:
        n_docs += 1
        total += doc_length(terms)
        df.update(set(terms))
    vocab = dict(previous.vocab) if previous else {}
    for term in sorted(t for t in df if t not in vocab):
        if len(vocab) > MAX_INDEX:
            raise ValueError("BM25 vocabulary is full (2^32 terms)")
        vocab[term] = len(vocab)
    true_avgdl = total / n_docs if n_docs else 1.0
    avgdl = true_avgdl
    rewrite = True
    same_params = previous is not None and (previous.k1, previous.b) == (k1, b) and previous.avgdl > 0
    if previous is not None and same_params and abs(true_avgdl / previous.avgdl - 1.0) <= AVGDL_DRIFT:
        avgdl, rewrite = previous.avgdl, False
    return BM25Stats(k1, b, n_docs, total, avgdl, vocab, dict(df)), rewrite


def doc_vector(terms: Sequence[str], stats: BM25Stats) -> dict[int, float]:
    """A chunk's stored sparse vector: saturated term frequency per term index."""
    norm = stats.k1 * (1.0 - stats.b + stats.b * doc_length(terms) / stats.avgdl)
    return {stats.vocab[t]: tf / (tf + norm) for t, tf in Counter(terms).items() if t in stats.vocab}


def idf(df: int, n_docs: int) -> float:
    """bm25s's Lucene IDF."""
    return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))


def query_vector(terms: Sequence[str], stats: BM25Stats) -> dict[int, float]:
    """A query's sparse vector: IDF per term index, times the term's count in the query (unknown terms dropped)."""
    out: dict[int, float] = {}
    for t, count in Counter(terms).items():
        df = stats.df.get(t, 0)
        if df > 0 and t in stats.vocab:
            out[stats.vocab[t]] = count * idf(df, stats.n_docs)
    return out


def stats_to_json(stats: BM25Stats) -> dict[str, object]:
    """JSON-ready form (vocabulary and df as parallel lists, in index order)."""
    terms = sorted(stats.vocab, key=stats.vocab.__getitem__)
    return {
        "k1": stats.k1,
        "b": stats.b,
        "n_docs": stats.n_docs,
        "total_len": stats.total_len,
        "avgdl": stats.avgdl,
        "terms": terms,
        "df": [stats.df.get(t, 0) for t in terms],
    }


def stats_from_json(data: dict[str, object]) -> BM25Stats:
    """Inverse of ``stats_to_json``; raises ``KeyError``/``TypeError``/``ValueError`` on damaged data."""
    terms = data["terms"]
    dfs = data["df"]
    if not isinstance(terms, list) or not isinstance(dfs, list) or len(terms) != len(dfs):
        raise ValueError("BM25 statistics: terms and df must be lists of one length")
    return BM25Stats(
        k1=float(data["k1"]),  # type: ignore[arg-type]
        b=float(data["b"]),  # type: ignore[arg-type]
        n_docs=int(data["n_docs"]),  # type: ignore[call-overload]
        total_len=int(data["total_len"]),  # type: ignore[call-overload]
        avgdl=float(data["avgdl"]),  # type: ignore[arg-type]
        vocab={str(t): i for i, t in enumerate(terms)},
        df={str(t): int(d) for t, d in zip(terms, dfs, strict=True) if d},
    )
