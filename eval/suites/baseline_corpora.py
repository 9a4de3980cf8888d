"""Corpora for the baseline comparison (``eval/suites/baselines.py``), composed from the indexer's pure steps.

- ``ingest_copies``: our reading, normalisation, document splitting, structure parsing and chunking,
  but **without** merging copies: every logical document is indexed as its own document, so a
  regulation present in three files yields three sets of chunks (with the same citations).
- ``cut_windows``: the "typical RAG" chunker — fixed-size character windows with overlap over a
  document's normalised text, cutting wherever the count says (mid-sentence, mid-article). Each
  window remembers its character span and the units that span overlaps, so a ranked list of
  windows can be scored against unit-level gold.

All functions here are pure apart from reading the source files in ``ingest_copies``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from indexer.catalog import Catalog, fallback_doc_id, load_catalogs
from indexer.chunking import chunk_units
from indexer.dedupe import merge_copies
from indexer.documents import prepare_lines, split_documents
from indexer.pipeline import EmptyCorpusError, guess_doc_type
from indexer.reading import iter_source_paths, read_source
from indexer.records import Chunk, DocumentInfo, LogicalDocument, MergedUnit, Unit
from indexer.structure import parse_units
from indexer.tokenise import JiebaTokenizer, domain_terms

WINDOW_CHARS = 500
WINDOW_OVERLAP = 50


@dataclass(frozen=True)
class CopyDocument:
    """One logical document of one file, kept as its own document (no merging with its copies)."""

    info: DocumentInfo
    units: tuple[MergedUnit, ...]


@dataclass(frozen=True)
class CopyCorpus:
    """What ``ingest_copies`` produces: per-copy documents, their chunks and a corpus tokenizer."""

    documents: tuple[CopyDocument, ...]
    chunks: tuple[Chunk, ...]
    tokenizer: JiebaTokenizer


@dataclass(frozen=True)
class Window:
    """A fixed-size character window of one document, and the units its span overlaps."""

    doc_index: int  # position of the document in the list given to ``windows_for_documents``
    start: int
    end: int  # exclusive
    text: str
    units: tuple[str, ...]  # unit ids (《title》key) in document order


def _untitled(doc: LogicalDocument) -> str:
    """Title of a document without one, exactly as ``indexer.pipeline.ingest`` makes it."""
    first = doc.lines[0].text if doc.lines else doc.source
    return first[:24] + ("…" if len(first) > 24 else "")


def ingest_copies(paths: Sequence[Path], *, budget: int, catalog: Catalog | None = None) -> CopyCorpus:
    """Like ``indexer.pipeline.ingest`` but every logical document stays a document of its own.

    Titles come from the catalog exactly as in the normal ingest, so copies of one regulation share
    its citations (``《title》第六条``); document ids are made distinct per file and part. Units that
    repeat a key inside one document are still merged, as the normal ingest does.
    """
    files = list(iter_source_paths(paths))
    if catalog is None:
        catalog = load_catalogs({p if p.is_dir() else p.parent for p in paths})
    logical: list[LogicalDocument] = []
    for path in files:
        lines, damaged, _ = prepare_lines(read_source(path).text)
        logical.extend(split_documents(path.name, lines, damaged))
    if not logical:
        raise EmptyCorpusError(f"no text found in {', '.join(str(p) for p in paths)}")
    documents: list[CopyDocument] = []
    for doc in logical:
        (merged,) = merge_copies([doc], [parse_units(doc)])
        entry = catalog.find(merged.title, merged.sources)
        title = entry.title if entry else (merged.title or _untitled(doc))
        doc_type = (entry.doc_type if entry else None) or guess_doc_type(doc, title)
        doc_id = fallback_doc_id(f"{title}|{doc.source}|{doc.part}")
        info = DocumentInfo(doc_id=doc_id, title=title, doc_type=doc_type, sources=(doc.source,))
        units = tuple(MergedUnit(doc_id, u, srcs, n) for u, srcs, n in merged.units)
        documents.append(CopyDocument(info, units))
    all_units = [m.unit.text for d in documents for m in d.units]
    tokenizer = JiebaTokenizer(domain_terms([d.info.title for d in documents] + all_units))
    chunks: list[Chunk] = []
    for d in documents:
        chunks.extend(chunk_units(d.info, d.units, budget=budget, count_tokens=tokenizer.count))
    return CopyCorpus(tuple(documents), tuple(chunks), tokenizer)


def unit_block(unit: Unit) -> str:
    """A unit as it reads in the document: its label / heading line, then its text."""
    text = unit.text
    if unit.label and not unit.heading:
        return f"{unit.label} {text}"  # 第六条 市工业和信息化部门…
    if unit.label and unit.heading:
        head = f"{unit.label}{unit.heading}"
        return f"{unit.label}{text}" if text.startswith(unit.heading) else f"{head}\n{text}"
    if unit.heading and unit.heading != "前言":
        return f"{unit.heading}\n{text}"
    return text


def render_document(title: str, units: Sequence[Unit]) -> tuple[str, list[tuple[int, int]]]:
    """The document's normalised text (title line, then unit after unit) and each unit's ``[start, end)`` span."""
    parts = [title]
    spans: list[tuple[int, int]] = []
    pos = len(title)
    for unit in units:
        block = unit_block(unit)
        pos += 1  # the "\n" before the block
        spans.append((pos, pos + len(block)))
        parts.append(block)
        pos += len(block)
    return "\n".join(parts), spans


def window_spans(length: int, size: int = WINDOW_CHARS, overlap: int = WINDOW_OVERLAP) -> list[tuple[int, int]]:
    """``[start, end)`` of fixed windows over a text of ``length`` characters.

    Windows start every ``size - overlap`` characters; the last one is the first that reaches the
    end of the text (so it may be shorter). A text of at most ``size`` characters is one window;
    an empty text has none.
    """
    if not 0 <= overlap < size:
        raise ValueError(f"need 0 <= overlap < size, got size={size}, overlap={overlap}")
    spans: list[tuple[int, int]] = []
    start = 0
    while start < length:
        end = min(start + size, length)
        spans.append((start, end))
        if end == length:
            break
        start += size - overlap
    return spans


def overlapping(span: tuple[int, int], unit_spans: Sequence[tuple[int, int]]) -> list[int]:
    """Indices of the unit spans that share at least one character with ``span``, in order."""
    start, end = span
    return [i for i, (a, b) in enumerate(unit_spans) if a < end and start < b]


def cut_windows(
    text: str,
    unit_spans: Sequence[tuple[int, int]],
    unit_ids: Sequence[str],
    *,
    doc_index: int = 0,
    size: int = WINDOW_CHARS,
    overlap: int = WINDOW_OVERLAP,
) -> list[Window]:
    """Windows of one document's text, each with the ids of the units it overlaps."""
    windows: list[Window] = []
    for start, end in window_spans(len(text), size, overlap):
        ids = tuple(dict.fromkeys(unit_ids[i] for i in overlapping((start, end), unit_spans)))
        windows.append(Window(doc_index, start, end, text[start:end], ids))
    return windows


def windows_for_documents(
    documents: Sequence[CopyDocument], *, size: int = WINDOW_CHARS, overlap: int = WINDOW_OVERLAP
) -> list[Window]:
    """Windows over every document (each cut on its own: a window never spans two documents)."""
    windows: list[Window] = []
    for i, doc in enumerate(documents):
        units = [m.unit for m in doc.units]
        text, spans = render_document(doc.info.title, units)
        ids = [f"《{doc.info.title}》{u.key}" for u in units]
        windows.extend(cut_windows(text, spans, ids, doc_index=i, size=size, overlap=overlap))
    return windows
