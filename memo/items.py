"""What a brief holds: quoted articles and verified answers, plus the sources they come from.

Everything here is a pure transformation of records the index already has (chunks, documents,
answer citations); rendering to Markdown or Word lives in ``memo.markdown`` / ``memo.word``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from indexer.records import Chunk, DocumentInfo

# 公文 verbs introducing a quote: statutes "规定", everything else (interpretations, plans, articles) "指出".
VERB_BY_TYPE = {"regulation": "规定"}
DEFAULT_VERB = "指出"


@dataclass(frozen=True)
class Quote:
    """One quoted passage with its copy-ready citation (《标题》第六条)."""

    citation: str
    doc_id: str
    doc_title: str
    doc_type: str
    article: str | None
    text: str  # verbatim text of the article (or the supporting passage of an answer citation)
    chunk_id: str
    n: int | None = None  # the answer's [n] marker, for quotes inside an answer


@dataclass(frozen=True)
class QuoteItem:
    """A whole article added to the brief, with the analyst's note."""

    quote: Quote
    note: str = ""


@dataclass(frozen=True)
class AnswerItem:
    """A verified answer: question, answer sentences with [n] markers, and the quotes they cite."""

    question: str
    answer: str
    quotes: tuple[Quote, ...]
    abstained: bool = False
    related: tuple[Quote, ...] = ()  # for an abstention: articles that are related but do not answer
    missing: str = ""  # for a partial abstention: what the sources do not say
    note: str = ""


Item = QuoteItem | AnswerItem


@dataclass(frozen=True)
class SourceEntry:
    """One document in the brief's list of sources, with the articles of it that were quoted."""

    doc_id: str
    title: str
    doc_type: str
    doc_number: str | None  # 文号, e.g. 国发〔2017〕35号, when the index records one
    issuer: str | None
    adopted: str | None
    published: str | None
    effective: str | None
    amended: str | None
    articles: tuple[str, ...]


@dataclass(frozen=True)
class Brief:
    """A brief ready to render."""

    title: str
    date: dt.date
    index_name: str
    items: tuple[Item, ...]
    sources: tuple[SourceEntry, ...]


class ItemError(ValueError):
    """An item that cannot be put in a brief (unknown chunk id, a quote that is not the article's text)."""


def quote_from_chunk(chunk: Chunk, *, text: str | None = None, n: int | None = None) -> Quote:
    """A quote of ``chunk`` (its whole text, or ``text``, which must be a passage of it)."""
    if text is not None and not all(_squash(part) in _squash(chunk.text) for part in text.split("…")):
        raise ItemError(f"the quote for {chunk.citation} is not text of that article")
    return Quote(
        citation=chunk.citation,
        doc_id=chunk.doc_id,
        doc_title=chunk.doc_title,
        doc_type=chunk.doc_type,
        article=chunk.article,
        text=chunk.text if text is None else text,
        chunk_id=chunk.chunk_id,
        n=n,
    )


def _squash(text: str) -> str:
    # Answer quotes may join a unit's paragraphs differently (or trim with …); compare without whitespace.
    return re.sub(r"\s+", "", text)


def unit_item(chunks: Mapping[str, Chunk], chunk_id: str, *, note: str = "") -> QuoteItem:
    """The item for one indexed article, looked up by chunk id."""
    chunk = chunks.get(chunk_id)
    if chunk is None:
        raise ItemError(f"no unit {chunk_id!r} in this index (chunk ids come from search results)")
    return QuoteItem(quote_from_chunk(chunk), note=note)


def _field(obj: Any, name: str, default: Any = None) -> Any:
    return obj.get(name, default) if isinstance(obj, Mapping) else getattr(obj, name, default)


def _citation_quotes(chunks: Mapping[str, Chunk], citations: Iterable[Any]) -> tuple[Quote, ...]:
    quotes = []
    for c in citations:
        chunk_id = _field(c, "chunk_id")
        chunk = chunks.get(chunk_id) if isinstance(chunk_id, str) else None
        if chunk is None:
            raise ItemError(f"citation {_field(c, 'citation', '?')} names no unit of this index ({chunk_id!r})")
        quotes.append(quote_from_chunk(chunk, text=str(_field(c, "quote", "") or chunk.text), n=_field(c, "n")))
    return tuple(quotes)


def answer_item(chunks: Mapping[str, Chunk], answer: Any, *, note: str = "") -> AnswerItem:
    """The item for an answer: an ``AnswerResult`` or its JSON dict (from the page or ``ask --json``).

    Quotes are checked against the index (each must be text of the unit it cites), so a brief never
    carries a quote the index does not hold. Any abstained answer is kept as an abstention; when it
    carries a ``partial`` part (``{"missing", "related"}``), the related articles are listed.
    """
    abstained = bool(_field(answer, "abstained", False))
    partial = _field(answer, "partial")
    related: tuple[Quote, ...] = ()
    missing = ""
    if partial is not None:
        related = _citation_quotes(chunks, _field(partial, "related", ()) or ())
        missing = str(_field(partial, "missing", "") or "")
    return AnswerItem(
        question=str(_field(answer, "question", "")),
        answer=str(_field(answer, "answer", "")),
        quotes=_citation_quotes(chunks, _field(answer, "citations", ()) or ()),
        abstained=abstained,
        related=related,
        missing=missing,
        note=note,
    )


def _quotes_of(item: Item) -> tuple[Quote, ...]:
    return (item.quote,) if isinstance(item, QuoteItem) else item.quotes + item.related


def source_entries(items: Sequence[Item], documents: Mapping[str, DocumentInfo]) -> tuple[SourceEntry, ...]:
    """The documents quoted by ``items``, in order of first appearance, each with its quoted articles."""
    articles: dict[str, list[str]] = {}
    titles: dict[str, tuple[str, str]] = {}
    for item in items:
        for q in _quotes_of(item):
            label = q.article or q.citation.removeprefix(f"《{q.doc_title}》")
            cited = articles.setdefault(q.doc_id, [])
            if label and label not in cited:
                cited.append(label)
            titles.setdefault(q.doc_id, (q.doc_title, q.doc_type))
    entries = []
    for doc_id, cited in articles.items():
        doc = documents.get(doc_id)
        title, doc_type = titles[doc_id]
        entries.append(
            SourceEntry(
                doc_id=doc_id,
                title=doc.title if doc else title,
                doc_type=doc.doc_type if doc else doc_type,
                # Indexes built before DocumentInfo carried 文号 have no such field.
                doc_number=getattr(doc, "doc_number", None) if doc else None,
                issuer=doc.issuer if doc else None,
                adopted=doc.adopted if doc else None,
                published=doc.published if doc else None,
                effective=doc.effective if doc else None,
                amended=doc.amended if doc else None,
                articles=tuple(cited),
            )
        )
    return tuple(entries)


def build_brief(
    items: Sequence[Item],
    documents: Mapping[str, DocumentInfo],
    *,
    index_name: str,
    date: dt.date,
    title: str = "",
) -> Brief:
    """A brief of ``items`` (in the given order) with its list of sources."""
    if not items:
        raise ItemError("a brief needs at least one item")
    return Brief(
        title=title.strip() or "政策依据摘编",
        date=date,
        index_name=index_name,
        items=tuple(items),
        sources=source_entries(items, documents),
    )


# --- wording shared by both renderers ----------------------------------------------------------------


def inner_quotes(text: str) -> str:
    """Double quotes inside a quotation become single ones (“…” → ‘…’), as Chinese usage requires."""
    return text.replace("“", "‘").replace("”", "’")


def quote_paragraphs(q: Quote) -> list[str]:
    """The quote as 公文 paragraphs: ``《标题》第六条规定：“…”``.

    A passage of several paragraphs opens each paragraph with “ and closes only the last with ”.
    """
    verb = VERB_BY_TYPE.get(q.doc_type, DEFAULT_VERB)
    paras = [p.strip() for p in q.text.split("\n") if p.strip()] or [""]
    out = [f"“{inner_quotes(p)}" for p in paras]
    out[0] = f"{q.citation}{verb}：{out[0]}"
    out[-1] += "”"
    return out


def chinese_date(value: str | dt.date | None) -> str:
    """2022-11-01 → 2022年11月1日; 2019-05 → 2019年5月; anything else unchanged."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    m = re.fullmatch(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?", text)
    if not m:
        return text
    year, month, day = m.groups()
    return f"{year}年{int(month)}月" + (f"{int(day)}日" if day else "")


def source_line(s: SourceEntry) -> str:
    """One source: 《标题》（文号），发布机关，2022年8月30日通过，…施行；引用：第六条、第十条."""
    parts = [f"《{s.title}》" + (f"（{s.doc_number}）" if s.doc_number else "")]
    if s.issuer:
        parts.append(s.issuer)
    for value, verb in ((s.adopted, "通过"), (s.published, "公布"), (s.amended, "修正"), (s.effective, "施行")):
        if value:
            parts.append(chinese_date(value) + verb)
    line = "，".join(parts)
    if s.articles:
        line += "；引用：" + "、".join(s.articles)
    return line + "。"


CHINESE_ORDINALS = "一二三四五六七八九十"


def item_heading(number: int, item: Item) -> str:
    """一、《标题》第六条 / 二、问：…（前十项用汉字序号，之后用阿拉伯数字）."""
    mark = f"{CHINESE_ORDINALS[number - 1]}、" if number <= len(CHINESE_ORDINALS) else f"{number}."
    if isinstance(item, QuoteItem):
        return mark + item.quote.citation
    return mark + "问：" + item.question


RELATED_NOTE = "以下相关规定不回答该问题，仅供参考："


def answer_text(item: AnswerItem) -> str:
    """The answer line, with the abstention said as such.

    A partial answer names the detail the sources leave open; its related articles follow as quotations
    (its ``answer`` text already inlines them, so it is not repeated).
    """
    if item.abstained and (item.missing or item.related):
        what = f"资料未规定{item.missing}" if item.missing else "资料未规定该事项"
        return f"答：{what}，无法回答该问题（已拒答）。"
    if item.abstained:
        return f"答：{item.answer}（未找到可靠依据，已拒答）"
    return f"答：{item.answer}"


def meta_line(brief: Brief) -> str:
    """生成日期与检索库."""
    return f"生成日期：{chinese_date(brief.date)}　检索库：{brief.index_name}"
