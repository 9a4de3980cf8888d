"""Per-document metadata from ``catalog.toml`` files beside the corpus."""

from __future__ import annotations

import hashlib
import logging
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from indexer.dedupe import comparison_key
from indexer.records import DOC_TYPES

logger = logging.getLogger(__name__)

CATALOG_NAME = "catalog.toml"


class CatalogError(ValueError):
    """A catalog file that cannot be used, with the file and entry named."""


@dataclass(frozen=True)
class CatalogEntry:
    """Metadata for one document, and how to recognise it."""

    title: str
    doc_id: str | None = None
    doc_type: str | None = None
    issuer: str | None = None
    adopted: str | None = None
    published: str | None = None
    effective: str | None = None
    match_titles: tuple[str, ...] = ()
    match_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalog:
    """All catalog entries found for an ingest run."""

    entries: tuple[CatalogEntry, ...] = ()

    def find(self, title: str | None, sources: Sequence[str]) -> CatalogEntry | None:
        """The entry for a document with this detected title and these source files, if any."""
        key = comparison_key(title) if title else None
        for entry in self.entries:
            if key is not None and key in {comparison_key(t) for t in entry.match_titles}:
                return entry
        if title is None:
            for entry in self.entries:
                if set(entry.match_files) & set(sources):
                    return entry
        return None


def parse_catalog(text: str, *, name: str = CATALOG_NAME) -> Catalog:
    """Parse catalog TOML text; errors name the file and the entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{name}: invalid TOML ({exc})") from exc
    entries = []
    for i, raw in enumerate(data.get("document", []), start=1):
        if "title" not in raw:
            raise CatalogError(f"{name}: [[document]] #{i} has no title")
        doc_type = raw.get("type")
        if doc_type is not None and doc_type not in DOC_TYPES:
            raise CatalogError(
                f"{name}: [[document]] #{i} ({raw['title']}): type {doc_type!r} is not one of {', '.join(DOC_TYPES)}"
            )
        entries.append(
            CatalogEntry(
                title=raw["title"],
                doc_id=raw.get("id"),
                doc_type=doc_type,
                issuer=raw.get("issuer"),
                adopted=_date(raw.get("adopted")),
                published=_date(raw.get("published")),
                effective=_date(raw.get("effective")),
                match_titles=tuple(raw.get("match_titles", [raw["title"]])),
                match_files=tuple(raw.get("match_files", [])),
            )
        )
    return Catalog(tuple(entries))


def _date(value: object) -> str | None:
    return None if value is None else str(value)


def load_catalogs(folders: Iterable[Path]) -> Catalog:
    """Read ``catalog.toml`` from each folder that has one and combine them."""
    entries: list[CatalogEntry] = []
    for folder in folders:
        path = folder / CATALOG_NAME
        if path.is_file():
            entries.extend(parse_catalog(path.read_text(encoding="utf-8"), name=str(path)).entries)
            logger.debug("catalog %s loaded", path)
    return Catalog(tuple(entries))


def fallback_doc_id(title: str) -> str:
    """A stable id for a document without a catalog id: derived from its normalised title."""
    return "doc-" + hashlib.sha1(comparison_key(title).encode()).hexdigest()[:10]
