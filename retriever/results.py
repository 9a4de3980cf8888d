"""Typed search results and their JSON shape (shared by the CLI and the API)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class SearchResult:
    """One ranked unit."""

    rank: int
    score: float
    chunk_id: str
    doc_id: str
    doc_title: str
    doc_type: str
    article: str | None
    citation: str
    text: str
    sources: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict in the documented field order."""
        d = asdict(self)
        d["score"] = round(self.score, 6)
        d["sources"] = list(self.sources)
        return d


@dataclass(frozen=True)
class SearchResponse:
    """A query and its results."""

    query: str
    took_ms: float
    results: tuple[SearchResult, ...]

    def to_dict(self) -> dict[str, Any]:
        """``{"query", "took_ms", "results": [...]}``."""
        return {
            "query": self.query,
            "took_ms": round(self.took_ms, 2),
            "results": [r.to_dict() for r in self.results],
        }
