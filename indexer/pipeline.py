"""Ingest: files → normalised logical documents → units → merged copies → chunks."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from indexer.catalog import Catalog, fallback_doc_id, load_catalogs
from indexer.chunking import chunk_units
from indexer.dedupe import SketchMemo, merge_copies
from indexer.documents import prepare_lines, split_documents
from indexer.formats import FileMeta, ReadResult
from indexer.formats.meta import TextMeta, find_text_meta
from indexer.lawmeta import (
    CURRENT,
    SUPERSEDED,
    FrontMatter,
    VersionedDocument,
    blank_front_matter,
    parse_front_matter,
    version_of,
    version_status,
)
from indexer.reading import scan_sources
from indexer.records import Chunk, DocumentInfo, LogicalDocument, MergedUnit, Unit
from indexer.sources import SkippedFile, read_sources
from indexer.structure import document_kind, parse_units
from indexer.tokenise import CountMemo, JiebaTokenizer, dictionary_key, domain_terms

logger = logging.getLogger(__name__)


class EmptyCorpusError(ValueError):
    """Nothing indexable was found in the given paths."""


class StrictIngestError(ValueError):
    """``strict`` ingest and some file could not be read (the message lists them)."""


@dataclass(frozen=True)
class IngestStats:
    """Counts for the ingest summary."""

    files: int
    logical_documents: int
    documents: int
    units: int
    duplicates_merged: int
    chunks: int
    mojibake_lines: int
    boilerplate_lines: int
    superseded_documents: int = 0
    skipped: tuple[SkippedFile, ...] = ()  # files that could not be read, with reason and fix
    problems: tuple[str, ...] = ()  # folders that could not be looked into, files of other types
    ocr_pages: int = 0  # pages without a text layer, read by OCR


@dataclass(frozen=True)
class Corpus:
    """Everything ingestion produces for indexing."""

    documents: tuple[DocumentInfo, ...]
    units: dict[str, tuple[MergedUnit, ...]]
    chunks: tuple[Chunk, ...]
    tokenizer: JiebaTokenizer
    stats: IngestStats
    fingerprint: str = field(default="")


def guess_doc_type(doc: LogicalDocument, title: str) -> str:
    """Document type when the catalog does not say: articles → regulation; 解读; 计划/方案/规划; else article."""
    if document_kind(doc) == "regulation":
        return "regulation"
    if title.endswith("解读"):
        return "interpretation"
    if re.search("(计划|方案|规划|纲要)", title):
        return "plan"
    return "article"


def _untitled(doc: LogicalDocument) -> str:
    first = doc.lines[0].text if doc.lines else doc.source
    return first[:24] + ("…" if len(first) > 24 else "")


def mark_superseded(documents: Sequence[DocumentInfo]) -> list[DocumentInfo]:
    """Documents with ``status``/``superseded_by`` set: older dated versions of a law are superseded."""
    newer = version_status([VersionedDocument(d.doc_id, d.title, d.version) for d in documents])
    return [
        replace(d, status=SUPERSEDED if newer[d.doc_id] else CURRENT, superseded_by=newer[d.doc_id]) for d in documents
    ]


@dataclass(frozen=True)
class FileIngest:
    """What one source file contributes before copies are merged (cached by incremental builds)."""

    name: str
    logical: tuple[LogicalDocument, ...]
    front: FrontMatter | None = None
    mojibake_lines: int = 0
    boilerplate_lines: int = 0
    head: tuple[str, ...] = ()  # the file's first blocks (红头 and 文号 lines come before the title)
    meta: FileMeta = field(default_factory=FileMeta)  # what the file states about itself
    ocr_pages: int = 0


@dataclass
class BuildMemo:
    """Work a previous build did that this one may reuse: sketches (by text) and token counts (by text, valid
    for the dictionary they were counted with). ``to_json`` keeps only what this build used."""

    sketches: SketchMemo = field(default_factory=SketchMemo)
    counts: CountMemo | None = None
    previous_counts: dict[str, int] = field(default_factory=dict)
    previous_dictionary: str = ""

    def counts_for(self, dictionary: str) -> dict[str, int]:
        """The previous counts if they were made with ``dictionary``, else none."""
        return self.previous_counts if dictionary == self.previous_dictionary else {}

    def to_json(self) -> dict[str, Any]:
        """What to store with the index for the next build."""
        return {
            "sketches": self.sketches.used,
            "dictionary": dictionary_key(self.counts.tokenizer.user_words) if self.counts else "",
            "counts": self.counts.used if self.counts else {},
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> BuildMemo:
        """Inverse of ``to_json``."""
        return cls(
            sketches=SketchMemo({str(k): [int(x) for x in v] for k, v in raw.get("sketches", {}).items()}),
            previous_counts={str(k): int(v) for k, v in raw.get("counts", {}).items()},
            previous_dictionary=str(raw.get("dictionary", "")),
        )


def ingest_file(path: Path, read: ReadResult) -> FileIngest:
    """Normalise one file a reader has read and split it into its logical documents (depends on this file alone)."""
    text = read.text
    front = parse_front_matter(text) if read.format == "markdown" else None
    if front is not None:
        text = blank_front_matter(text, front)
    lines, damaged, dropped = prepare_lines(text, read.pages)
    if damaged:
        logger.warning("%s: %d line(s) of mojibake left out", path.name, len(damaged))
    return FileIngest(
        name=path.name,
        logical=tuple(split_documents(path.name, lines, damaged)),
        front=front,
        mojibake_lines=len(damaged),
        boilerplate_lines=dropped,
        head=tuple(b.text for b in read.blocks[:15]),
        meta=read.meta,
        ocr_pages=len(read.ocr_pages),
    )


def document_metadata(doc: LogicalDocument, file: FileIngest | None) -> TextMeta:
    """文号, issuer and dates of a document: what its file states (HTML meta, 信息公开 table), else its text.

    The head of the file is searched too, because 红头 and 文号 lines come before the title and are not part
    of the document's body.
    """
    head = list(file.head) if file is not None and doc.part == 0 else []
    from_text = find_text_meta([*head, *(line.text for line in doc.lines)], head=len(head) + 12)
    meta = file.meta if file is not None and doc.part == 0 else None
    return TextMeta(
        doc_number=(meta.doc_number if meta else None) or from_text.doc_number,
        issuer=(meta.issuer if meta else None) or from_text.issuer,
        adopted=from_text.adopted,
        effective=(meta.effective if meta else None) or from_text.effective,
        published=(meta.published if meta else None) or from_text.published,
    )


def merge_metadata(found: Sequence[TextMeta]) -> TextMeta:
    """Each field from the first record that has it."""

    def first(field: str) -> str | None:
        return next((getattr(m, field) for m in found if getattr(m, field)), None)

    return TextMeta(
        doc_number=first("doc_number"),
        issuer=first("issuer"),
        adopted=first("adopted"),
        effective=first("effective"),
        published=first("published"),
    )


def check_strict(strict: bool, skipped: Sequence[SkippedFile], problems: Sequence[str]) -> None:
    """With ``strict``, any file that could not be read (or folder not looked into) stops the build."""
    if strict and (skipped or problems):
        raise StrictIngestError(
            "--strict: " + "; ".join([*(s.message for s in skipped), *problems]) + " (nothing was indexed)"
        )


def ingest(
    paths: Sequence[Path],
    *,
    budget: int,
    catalog: Catalog | None = None,
    strict: bool = False,
    progress: bool | None = None,
) -> Corpus:
    """Ingest files and folders into de-duplicated documents and chunks.

    ``budget`` is the chunk size limit in jieba tokens (see ``chunking.budget_for_window``).
    ``catalog`` defaults to the ``catalog.toml`` files found in the given folders. A file that cannot be
    read is skipped and listed in ``stats.skipped`` (with ``strict``, it is an error instead). ``progress``:
    bars for reading and OCR (None: only on a terminal).
    """
    scan = scan_sources(paths)
    if catalog is None:
        catalog = load_catalogs({p if p.is_dir() else p.parent for p in paths})
    results, skipped = read_sources(list(scan.files), progress=progress)
    check_strict(strict, skipped, scan.problems)
    files = [ingest_file(path, result) for path, result in results]
    return assemble(files, budget=budget, catalog=catalog, where=paths, skipped=skipped, problems=scan.problems)


def assemble(
    files: Sequence[FileIngest],
    *,
    budget: int,
    catalog: Catalog,
    where: Sequence[Path] = (),
    skipped: Sequence[SkippedFile] = (),
    problems: Sequence[str] = (),
    memo: BuildMemo | None = None,
    count_many: Callable[[list[str], JiebaTokenizer], list[int]] | None = None,
) -> Corpus:
    """Merge the files' logical documents into de-duplicated documents and cut them into chunks.

    ``memo`` carries sketches and token counts from a previous build (and collects this build's).
    ``count_many`` counts the units' tokens ahead of chunking (``indexer.parallel.count_tokens``: in worker
    processes); the chunks are the same either way.
    """
    logical = [doc for f in files for doc in f.logical]
    fronts = {f.name: f.front for f in files if f.front is not None}
    by_name = {f.name: f for f in files}
    mojibake = sum(f.mojibake_lines for f in files)
    boilerplate = sum(f.boilerplate_lines for f in files)
    if not logical:
        reasons = "".join(f"\n  {s.message}" for s in skipped)
        raise EmptyCorpusError(f"no text found in {', '.join(str(p) for p in where) or 'the given files'}{reasons}")
    units = [parse_units(doc) for doc in logical]
    merged_docs = merge_copies(logical, units, memo.sketches if memo else None)

    documents: list[DocumentInfo] = []
    merged_units: dict[str, tuple[MergedUnit, ...]] = {}
    seen_ids: set[str] = set()
    for merged in merged_docs:
        entry = catalog.find(merged.title, merged.sources)
        title = entry.title if entry else (merged.title or _untitled(merged.primary))
        doc_id = (entry.doc_id if entry else None) or fallback_doc_id(title)
        if doc_id in seen_ids:  # two different documents with one title: keep both, distinctly
            doc_id = fallback_doc_id(title + "|" + ",".join(merged.sources))
        seen_ids.add(doc_id)
        doc_type = (entry.doc_type if entry else None) or guess_doc_type(merged.primary, title)
        # Only a file's first document is the law its front matter describes (a file may append others).
        front = fronts.get(merged.primary.source) if merged.primary.part == 0 else None
        # Copies of one document in several formats each know part of it (the HTML page its 文号, the PDF
        # its 红头): take each field from the first copy that has it, the primary copy first.
        copies = [merged.primary] + [
            d for d in logical if d is not merged.primary and d.source in merged.sources and d.title == merged.title
        ]
        found = merge_metadata([document_metadata(d, by_name.get(d.source)) for d in copies])
        info = DocumentInfo(
            doc_id=doc_id,
            title=title,
            doc_type=doc_type,
            issuer=(entry.issuer if entry else None) or found.issuer,
            adopted=(entry.adopted if entry else None) or (front.adopted if front else None) or found.adopted,
            effective=(entry.effective if entry else None) or (front.effective if front else None) or found.effective,
            published=(entry.published if entry else None) or found.published,
            sources=merged.sources,
            version=version_of(merged.primary.source),
            amended=front.amended if front else None,
            doc_number=found.doc_number,
        )
        documents.append(info)
        merged_units[doc_id] = tuple(MergedUnit(doc_id, u, srcs, n) for u, srcs, n in merged.units)

    documents = mark_superseded(documents)
    all_units: list[Unit] = [m.unit for ms in merged_units.values() for m in ms]
    tokenizer = JiebaTokenizer(domain_terms([d.title for d in documents] + [u.text for u in all_units]))
    counts = CountMemo(tokenizer, memo.counts_for(dictionary_key(tokenizer.user_words)) if memo else None)
    if memo is not None:
        memo.counts = counts
    if count_many is not None:
        # The chunker's first question for every unit: how many tokens has its whole text?
        todo = counts.missing("\n".join(m.unit.paragraphs) for ms in merged_units.values() for m in ms)
        counts.add(todo, count_many(todo, tokenizer))
    count: Callable[[str], int] = counts
    chunks: list[Chunk] = []
    for info in documents:
        chunks.extend(chunk_units(info, merged_units[info.doc_id], budget=budget, count_tokens=count))
    stats = IngestStats(
        files=len(files) + len(skipped),
        logical_documents=len(logical),
        documents=len(documents),
        units=len(all_units),
        duplicates_merged=sum(m.variants - 1 for ms in merged_units.values() for m in ms),
        chunks=len(chunks),
        mojibake_lines=mojibake,
        boilerplate_lines=boilerplate,
        superseded_documents=sum(d.status == SUPERSEDED for d in documents),
        skipped=tuple(skipped),
        problems=tuple(problems),
        ocr_pages=sum(f.ocr_pages for f in files),
    )
    return Corpus(tuple(documents), merged_units, tuple(chunks), tokenizer, stats)
