"""Document filters by metadata: issuing body and year (pure functions over the document records)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from indexer.normalise import normalise_query
from indexer.records import DocumentInfo

_YEARS = re.compile(r"^\s*(\d{4})\s*(?:[-–~至]\s*(\d{4}))?\s*$")


class FilterError(ValueError):
    """A filter value that cannot be used (the message says what is expected)."""


def parse_years(value: str | int) -> tuple[int, int]:
    """``2019`` → (2019, 2019); ``2019-2022`` → (2019, 2022)."""
    m = _YEARS.match(str(value))
    if not m:
        raise FilterError(f"year must be YYYY or YYYY-YYYY, got {value!r}")
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    if lo > hi:
        raise FilterError(f"year range {value!r} runs backwards")
    return lo, hi


def document_years(doc: DocumentInfo) -> set[int]:
    """The years of a document's dates (adopted, published, effective, amended)."""
    return {int(d[:4]) for d in (doc.adopted, doc.published, doc.effective, doc.amended) if d and d[:4].isdigit()}


def matching_documents(
    documents: Iterable[DocumentInfo], *, issuer: str | None = None, year: str | int | None = None
) -> set[str]:
    """Ids of the documents whose issuer contains ``issuer`` (simplified/traditional alike) and one of whose
    dates falls in ``year`` (a year or a range). Raises ``FilterError`` when no document matches."""
    docs = list(documents)
    found = {d.doc_id for d in docs}
    if issuer is not None:
        wanted = normalise_query(issuer)
        if not wanted:
            raise FilterError("the issuer filter is empty")
        found &= {d.doc_id for d in docs if d.issuer and wanted in normalise_query(d.issuer)}
        if not found:
            raise FilterError(f"no document issued by {issuer!r}; see the issuers in: policyrag documents")
    if year is not None:
        lo, hi = parse_years(year)
        found &= {d.doc_id for d in docs if any(lo <= y <= hi for y in document_years(d))}
        if not found:
            which = " of that issuer" if issuer else ""
            raise FilterError(f"no document{which} dated {year}; see: policyrag documents")
    return found
