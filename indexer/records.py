"""Typed records that flow through ingestion: lines → logical documents → units → chunks."""

from __future__ import annotations

from dataclasses import dataclass, field

DOC_TYPES = ("regulation", "interpretation", "plan", "article")


@dataclass(frozen=True)
class Line:
    """One logical line of a source file after reflow and normalisation."""

    no: int  # 1-based physical line number in the source file
    text: str
    reflowed: bool = False  # cut out of an over-long physical line
    glued_tail: bool = False  # short heading stuck to the end of an over-long line
    page: int | None = None  # page of a paged source (PDF, OFD)


@dataclass(frozen=True)
class LogicalDocument:
    """One document found inside a source file (a file may hold several)."""

    source: str  # file name
    part: int  # 0-based index of this document within the file
    title: str | None  # detected title (None when the text has none)
    lines: tuple[Line, ...]
    damaged_lines: tuple[int, ...] = ()  # source line numbers dropped as mojibake

    @property
    def reflowed(self) -> bool:
        """True when most of this document came out of over-long lines (its layout was lost)."""
        return sum(line.reflowed for line in self.lines) * 2 > len(self.lines)


@dataclass(frozen=True)
class Unit:
    """A citable unit: an article (条), an outline section, a 专栏 box or a prose section."""

    label: str | None  # 第六条 / 三、（一）1. / 专栏3 / None for prose and preambles
    heading: str | None  # outline or prose heading text; 前言 for a preamble
    path: tuple[str, ...]  # e.g. ("第一章 总则", "第六条")
    paragraphs: tuple[str, ...]  # 款 for articles (项 lines joined into their 款), paragraphs otherwise
    order: int  # position in the document
    damaged: bool = False  # a mojibake line was dropped from inside this unit
    page: int | None = None  # page where the unit starts, for paged sources

    @property
    def key(self) -> str:
        """Identity of the unit within its document (used for de-duplication and chunk ids)."""
        return self.label or f"（{self.heading or '前言'}）"

    @property
    def text(self) -> str:
        """The unit's text, paragraphs separated by newlines."""
        return "\n".join(self.paragraphs)


@dataclass(frozen=True)
class DocumentInfo:
    """Metadata of a (de-duplicated) document."""

    doc_id: str
    title: str
    doc_type: str
    issuer: str | None = None
    adopted: str | None = None
    effective: str | None = None
    published: str | None = None
    sources: tuple[str, ...] = ()
    version: str | None = None  # version date carried by the file name, e.g. 2015-08-29
    status: str = "current"  # current | superseded (an older dated version of a law)
    superseded_by: str | None = None  # doc_id of the newer version
    amended: str | None = None  # date of the last amendment in the file's metadata
    doc_number: str | None = None  # 文号, e.g. 国发〔2017〕35号


@dataclass(frozen=True)
class MergedUnit:
    """A unit after de-duplication: the chosen variant plus the files that contain it."""

    doc_id: str
    unit: Unit
    sources: tuple[str, ...]
    variants: int  # how many copies were merged into this one


@dataclass(frozen=True)
class Chunk:
    """What is indexed: a unit, or a piece of a long unit, with its citation."""

    chunk_id: str
    doc_id: str
    doc_title: str
    doc_type: str
    article: str | None  # unit label, e.g. 第六条 or 第六十五条第一款; None for prose
    citation: str  # copy-ready, e.g. 《深圳经济特区人工智能产业促进条例》第六条
    path: tuple[str, ...]
    text: str  # the unit's (or piece's) normalised text
    embed_text: str  # text sent to the embedder: title and label prefixed
    unit_key: str
    piece: int = 0
    sources: tuple[str, ...] = field(default=())

    @property
    def unit_citation(self) -> str:
        """Citation of the whole unit (all pieces share it): 《title》第六条 or 《title》（heading）."""
        return f"《{self.doc_title}》{self.unit_key}"
