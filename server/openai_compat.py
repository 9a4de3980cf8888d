"""OpenAI-compatible ``GET /v1/models`` and ``POST /v1/chat/completions`` for local chat clients.

The last user message is the question; the reply is the verified answer with its ``[n]`` markers
and a numbered reference list (citation + quote) appended. Streaming sends that verified reply in
OpenAI's ``chat.completion.chunk`` format once verification is done: the model's unverified draft is
never shown (SSE comments keep the connection alive meanwhile). Errors use OpenAI's error shape.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from answer.answerer import AnswerResult
from memo.items import RELATED_NOTE
from server.generation import GenerationGate, answer_events
from server.schemas import MAX_QUESTION_CHARS, is_blank

MODEL_ID = "policyrag"  # answers with the server's model (extractive when it runs with --no-llm)
EXTRACTIVE_ID = "policyrag-extractive"  # always extractive: quotes the most relevant sentences, no queue
MAX_MESSAGES = 200
MAX_TOTAL_CHARS = 200_000
ABSTAINED_NOTE = "（未找到可靠依据，已拒答）"


class ContentPart(BaseModel):
    """A part of a message's content list (only text parts are read)."""

    model_config = ConfigDict(extra="ignore")
    type: str
    text: str | None = None


class Message(BaseModel):
    """One chat message; ``content`` is a string or a list of parts."""

    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        """The message's text (text parts joined)."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text or "" for p in self.content or () if p.type == "text")


class ChatRequest(BaseModel):
    """The fields of a chat completion request this server reads; other OpenAI fields are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")
    model: str = Field(min_length=1, max_length=200)
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False


def openai_error(status: int, message: str, *, param: str | None = None, code: str | None = None) -> JSONResponse:
    """An error in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""
    kind = {401: "authentication_error", 404: "invalid_request_error", 503: "server_error"}.get(
        status, "invalid_request_error" if status < 500 else "server_error"
    )
    headers = {"Retry-After": "5"} if status == 503 else None
    return JSONResponse(
        status_code=status,
        content={"error": {"message": message, "type": kind, "param": param, "code": code}},
        headers=headers,
    )


def _field(obj: Any, name: str, default: Any = None) -> Any:
    return obj.get(name, default) if isinstance(obj, Mapping) else getattr(obj, name, default)


def _reference(c: Any, label: str) -> str:
    return f"{label} {_field(c, 'citation')}：“{_field(c, 'quote')}”"


def reply_text(result: AnswerResult) -> str:
    """The chat reply: the verified answer, then ``参考资料`` with ``[n] 《标题》第六条：“quote”`` lines.

    Any abstained result says so; when it carries a ``partial`` part, the related articles are
    listed as such (they do not answer the question).
    """
    partial = getattr(result, "partial", None)
    if result.abstained and partial is not None:
        # The partial answer's own text inlines its quotes; the reply lists them as references instead.
        missing = _field(partial, "missing")
        lines = [f"资料未规定{missing}，无法回答该问题（已拒答）。" if missing else result.answer + ABSTAINED_NOTE]
        related = _field(partial, "related") or ()
        if related:
            lines += ["", RELATED_NOTE]
            lines += [_reference(c, f"[{_field(c, 'n')}]") for c in related]
        return "\n".join(lines)
    if result.abstained:
        return result.answer + ABSTAINED_NOTE
    lines = [result.answer]
    if result.citations:
        lines += ["", "参考资料："]
        lines += [_reference(c, f"[{c.n}]") for c in result.citations]
    return "\n".join(lines)


def reply_pieces(text: str) -> list[str]:
    """The reply cut after sentence ends and line breaks, so a client renders it progressively."""
    return [p for p in re.split(r"(?<=[。！？\n])", text) if p]


def _chunk(cid: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None) -> str:
    body = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def _error_event(message: str) -> str:
    body = {"error": {"message": message, "type": "server_error", "param": None, "code": None}}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


router = APIRouter()


@router.get("/v1/models")
def models(request: Request) -> dict[str, Any]:
    """The model ids this server answers to."""
    created = int(request.app.state.started_at)
    return {
        "object": "list",
        "data": [{"id": m, "object": "model", "created": created, "owned_by": "policyrag"} for m in model_ids()],
    }


def model_ids() -> tuple[str, ...]:
    """Valid values of ``model``."""
    return (MODEL_ID, EXTRACTIVE_ID)


def question_of(chat: ChatRequest) -> str | None:
    """The last user message's text."""
    for message in reversed(chat.messages):
        if message.role == "user":
            return message.text()
    return None


@router.post("/v1/chat/completions", response_model=None)
async def chat_completions(request: Request) -> JSONResponse | StreamingResponse:
    """Answer the last user message; ``stream: true`` for SSE chunks."""
    try:
        raw = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return openai_error(400, "the request body is not valid JSON")
    try:
        chat = ChatRequest.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        return openai_error(400, f"{where}: {err['msg']}", param=where or None)
    if chat.model not in model_ids():
        return openai_error(
            404,
            f"The model `{chat.model}` does not exist; available: {', '.join(model_ids())}",
            param="model",
            code="model_not_found",
        )
    total = sum(len(m.text()) for m in chat.messages)
    if total > MAX_TOTAL_CHARS:
        detail = f"messages too long ({total:,} characters; at most {MAX_TOTAL_CHARS:,})"
        return openai_error(400, detail, param="messages")
    question = question_of(chat)
    if question is None or is_blank(question):
        return openai_error(400, "no user message with text to answer", param="messages")
    if len(question) > MAX_QUESTION_CHARS:
        return openai_error(
            400,
            f"the question (last user message) is too long ({len(question)} characters; at most "
            f"{MAX_QUESTION_CHARS})",
            param="messages",
            code="context_length_exceeded",
        )
    state = request.app.state
    no_llm = chat.model == EXTRACTIVE_ID
    gate = state.gate if state.answerer.generator is not None and not no_llm else None

    def ask(on_token: Callable[[str], None] | None) -> AnswerResult:
        return state.answerer.ask(question, no_llm=no_llm, on_token=on_token)

    cid = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if chat.stream:
        if gate is not None and gate.busy and gate.waiting >= gate.max_waiting:
            return openai_error(503, "the model is busy answering other questions; retry shortly", code="busy")
        return StreamingResponse(_stream(gate, ask, cid, created, chat.model), media_type="text/event-stream")
    result: AnswerResult | None = None
    async for kind, payload in answer_events(gate, ask):
        if kind == "answer":
            result = payload
        elif kind not in ("token", "ping"):
            return openai_error({"busy": 503, "invalid": 400}.get(kind, 500), payload)
    assert result is not None
    return JSONResponse(
        {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": chat.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply_text(result)},
                    "finish_reason": "stop",
                }
            ],
            "usage": None,
        }
    )


async def _stream(
    gate: GenerationGate | None,
    ask: Callable[[Callable[[str], None] | None], AnswerResult], cid: str, created: int, model: str
) -> AsyncIterator[str]:
    yield _chunk(cid, created, model, {"role": "assistant", "content": ""})
    events = answer_events(gate, ask)
    try:
        async for kind, payload in events:
            if kind in ("token", "ping"):
                yield ": generating\n\n"  # keeps proxies and clients from timing out; ignored by SSE parsers
            elif kind == "answer":
                for piece in reply_pieces(reply_text(payload)):
                    yield _chunk(cid, created, model, {"content": piece})
                yield _chunk(cid, created, model, {}, finish="stop")
            else:
                yield _error_event(payload)
    finally:
        await events.aclose()
    yield "data: [DONE]\n\n"

