"""Search filters as one typed value: a row mask for the local index, a filter expression for Milvus."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from indexer.lawmeta import SUPERSEDED
from indexer.records import Chunk, DocumentInfo


@dataclass(frozen=True)
class RowFilter:
    """Which chunks a search may return.

    ``doc_ids``: only these documents (from ``--doc``, ``--issuer``, ``--year``; None = any); ``doc_type``: only
    this document type; ``current_only``: superseded versions of a law left out.
    """

    doc_ids: frozenset[str] | None = None
    doc_type: str | None = None
    current_only: bool = False

    @property
    def is_open(self) -> bool:
        """True when every row may be returned."""
        return self.doc_ids is None and self.doc_type is None and not self.current_only


def quote(value: str) -> str:
    """A Milvus filter-expression string literal (backslashes and double quotes escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def milvus_expr(rows: RowFilter | None) -> str:
    """The filter as a Milvus boolean expression over the collection's scalar fields ('' = no filter)."""
    if rows is None or rows.is_open:
        return ""
    parts: list[str] = []
    if rows.doc_ids is not None:
        parts.append(f"doc_id in [{', '.join(quote(d) for d in sorted(rows.doc_ids))}]")
    if rows.doc_type is not None:
        parts.append(f"doc_type == {quote(rows.doc_type)}")
    if rows.current_only:
        parts.append(f"status != {quote(SUPERSEDED)}")
    return " and ".join(parts)


class RowMasks:
    """Boolean row masks for filters over one index's chunk list (row ``i`` is ``chunks[i]``)."""

    def __init__(self, chunks: Sequence[Chunk], documents: Sequence[DocumentInfo]) -> None:
        self._doc_of_row = np.array([c.doc_id for c in chunks])
        self._type_of_row = np.array([c.doc_type for c in chunks])
        superseded = {d.doc_id for d in documents if d.status == SUPERSEDED}
        self._current_rows: np.ndarray | None = (
            np.isin(self._doc_of_row, sorted(superseded), invert=True) if superseded else None
        )

    @property
    def has_superseded(self) -> bool:
        """True when some rows belong to superseded versions."""
        return self._current_rows is not None

    def mask(self, rows: RowFilter | None) -> np.ndarray | None:
        """The rows the filter allows, or None when it allows every row."""
        if rows is None:
            return None
        mask: np.ndarray | None = None
        if rows.doc_ids is not None:
            mask = np.isin(self._doc_of_row, sorted(rows.doc_ids))
        if rows.doc_type is not None:
            by_type = self._type_of_row == rows.doc_type
            mask = by_type if mask is None else mask & by_type
        if rows.current_only and self._current_rows is not None:
            mask = self._current_rows if mask is None else mask & self._current_rows
        return mask
