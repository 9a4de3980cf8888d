"""``POST /api/export``: the page's 素材篮 → a .docx or .md brief.

Articles are sent by chunk id and their text comes from the index; answers are sent as the
``/api/ask`` object and every quote in them is checked against the index, so a brief only ever
quotes text the index holds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from memo.export import get_format
from memo.items import Item, ItemError, answer_item, build_brief, unit_item
from server.schemas import MAX_QUESTION_CHARS

MAX_ITEMS = 50
MAX_NOTE_CHARS = 2000


class CitationIn(BaseModel):
    """A citation of an answer (the ``citations`` entries of ``/api/ask``)."""

    model_config = ConfigDict(extra="ignore")
    n: int | None = Field(None, ge=1, le=100)
    chunk_id: str = Field(min_length=1, max_length=200)
    citation: str = Field("", max_length=400)
    quote: str = Field("", max_length=4000)


class PartialIn(BaseModel):
    """What a partial abstention carries: what is missing and the related articles."""

    model_config = ConfigDict(extra="ignore")
    missing: str = Field("", max_length=1000)
    related: list[CitationIn] = Field(default_factory=list, max_length=20)


class AnswerIn(BaseModel):
    """An answer as ``/api/ask`` returns it (extra fields are ignored)."""

    model_config = ConfigDict(extra="ignore")
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    answer: str = Field(max_length=8000)
    abstained: bool = False
    citations: list[CitationIn] = Field(default_factory=list, max_length=20)
    partial: PartialIn | None = None


class ExportItemIn(BaseModel):
    """One 素材: an article (``kind="unit"`` + ``chunk_id``) or a verified answer (``kind="answer"``)."""

    kind: Literal["unit", "answer"]
    chunk_id: str | None = Field(None, max_length=200)
    answer: AnswerIn | None = None
    note: str = Field("", max_length=MAX_NOTE_CHARS)


class ExportRequest(BaseModel):
    """``POST /api/export`` body."""

    items: list[ExportItemIn] = Field(min_length=1, max_length=MAX_ITEMS)
    format: Literal["docx", "md"] = "docx"
    title: str = Field("", max_length=100)


def index_label(request: Request) -> str:
    """The index's folder name and size, as printed in the brief."""
    state = request.app.state
    return f"{state.settings.index_dir.name}（{len(state.documents)} 份文件）"


def build_items(body: ExportRequest, chunks: dict[str, Any]) -> list[Item]:
    """The request's items as brief items (raises ``ItemError`` naming the bad one)."""
    items: list[Item] = []
    for i, raw in enumerate(body.items, 1):
        if raw.kind == "unit":
            if not raw.chunk_id:
                raise ItemError(f"item {i}: a unit needs its chunk_id")
            items.append(unit_item(chunks, raw.chunk_id, note=raw.note.strip()))
        else:
            if raw.answer is None:
                raise ItemError(f"item {i}: an answer item needs the answer object")
            try:
                items.append(answer_item(chunks, raw.answer.model_dump(), note=raw.note.strip()))
            except ItemError as exc:
                raise ItemError(f"item {i}: {exc}") from exc
    return items


router = APIRouter()


@router.post("/api/export", response_class=Response)
async def export(body: ExportRequest, request: Request) -> Response:
    """The brief as a file download (``format``: docx or md)."""
    state = request.app.state
    try:
        items = build_items(body, state.chunks)
        brief = build_brief(
            items, state.documents, index_name=index_label(request), date=dt.date.today(), title=body.title
        )
    except ItemError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    fmt = get_format(body.format)
    content = await run_in_threadpool(fmt.render, brief)
    name = f"政策依据摘编-{brief.date.isoformat()}{fmt.extension}"
    disposition = f"attachment; filename=\"policyrag-brief{fmt.extension}\"; filename*=UTF-8''{quote(name)}"
    return Response(content=content, media_type=fmt.media_type, headers={"Content-Disposition": disposition})
