"""FastAPI app factory: the index and models load once at start-up and live on ``app.state``."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from answer.answerer import Answerer, AnswerResult
from models.embedders import Embedder, create_embedder
from models.generators import Generator
from policyrag.settings import Settings
from retriever.fusion import FusionConfig
from retriever.search import MAX_K, QueryError, Searcher
from retriever.store import load_index
from server.generation import GenerationGate, QueueFull, stream_answer
from server.schemas import MAX_QUESTION_CHARS, AskRequest

logger = logging.getLogger(__name__)


STATIC_DIR = Path(__file__).resolve().parent / "static"
BUSY = "the model is busy answering other questions; retry shortly"
RETRY_AFTER = "5"


def create_app(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    generator: Generator | None = None,
    max_waiting: int = 8,
) -> FastAPI:
    """Build the app. ``embedder``/``generator`` replace the configured models (tests pass fakes).

    Without a ``generator`` the app answers extractively (as ``--no-llm``); the CLI's
    ``serve`` command loads the configured GGUF and passes it in. One generation runs at a
    time; up to ``max_waiting`` more wait their turn, further ones get 503 + Retry-After.
    """
    started = time.perf_counter()
    index = load_index(settings.index_dir)
    embedder = embedder or create_embedder(
        index.manifest.embedder, models_dir=settings.models_dir, device=settings.device
    )
    fusion = FusionConfig(settings.fusion, settings.dense_weight, settings.bm25_weight, settings.rrf_k)
    searcher = Searcher(index, embedder, fusion=fusion, authority_boost=settings.authority_boost)
    answerer = Answerer(searcher, generator, settings=settings.answer_settings())
    logger.info(
        "loaded index %s (%d documents, %d chunks, embedder %s) and generator %s in %.1fs",
        settings.index_dir,
        len(index.documents),
        len(index.chunks),
        embedder.name,
        generator.name if generator else "none (extractive answers)",
        time.perf_counter() - started,
    )

    app = FastAPI(title="policyrag", description="Search and cited answers over Chinese policy documents")

    @app.exception_handler(RequestValidationError)
    async def readable_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            f"{'.'.join(str(x) for x in e['loc'] if x not in ('body', 'query'))}: {e['msg']}" for e in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": "; ".join(errors) or "invalid request"})

    if settings.api_token:
        token = settings.api_token

        @app.middleware("http")
        async def require_token(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
            if request.url.path.startswith("/api/") and request.headers.get("x-api-token") != token:
                return JSONResponse(status_code=401, content={"detail": "missing or wrong X-API-Token header"})
            return await call_next(request)

    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"])
    app.state.settings = settings
    app.state.searcher = searcher
    app.state.answerer = answerer
    app.state.chunks = {c.chunk_id: c for c in index.chunks}
    app.state.documents = {d.doc_id: d for d in index.documents}

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {
            "status": "ok",
            "index_loaded": True,
            "model_loaded": generator is not None,
            "embedder": embedder.name,
            "generator": generator.name if generator else None,
            "documents": len(index.documents),
            "chunks": len(index.chunks),
        }

    @app.get("/api/search")
    async def search(
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUESTION_CHARS, description="query")],
        k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
        doc: Annotated[str | None, Query(description="only this document id")] = None,
        include_superseded: Annotated[bool, Query(description="also search older versions of laws")] = False,
        issuer: Annotated[str | None, Query(min_length=1, max_length=100, description="issuing body")] = None,
        year: Annotated[str | None, Query(pattern=r"^\d{4}(-\d{4})?$", description="YYYY or YYYY-YYYY")] = None,
    ) -> dict[str, Any]:
        try:
            response = await run_in_threadpool(
                searcher.search, q, k=k, doc=doc, include_superseded=include_superseded, issuer=issuer, year=year
            )
        except QueryError as exc:
            status = 404 if doc is not None and doc not in app.state.documents else 422
            raise HTTPException(status_code=status, detail=str(exc)) from exc
        return response.to_dict()

    gate = GenerationGate(max_waiting)
    app.state.gate = gate

    @app.post("/api/ask", response_model=None)
    async def ask(body: AskRequest, request: Request) -> dict[str, Any] | StreamingResponse:
        uses_model = generator is not None and not body.no_llm

        def work(on_token: Callable[[str], None] | None = None) -> AnswerResult:
            return answerer.ask(
                body.question, k=body.k, no_llm=body.no_llm, on_token=on_token, issuer=body.issuer, year=body.year
            )

        if "text/event-stream" in request.headers.get("accept", ""):
            if uses_model and gate.waiting >= gate.max_waiting:
                raise HTTPException(status_code=503, detail=BUSY, headers={"Retry-After": RETRY_AFTER})
            return StreamingResponse(stream_answer(gate, work), media_type="text/event-stream")
        try:
            if uses_model:
                result = await gate.run(work)
            else:
                result = await run_in_threadpool(work)
        except QueueFull as exc:
            raise HTTPException(status_code=503, detail=BUSY, headers={"Retry-After": RETRY_AFTER}) from exc
        except QueryError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        return result.to_dict()

    @app.get("/api/documents")
    def documents() -> list[dict[str, Any]]:
        counts = index.document_counts()
        return [{**asdict(d), "articles": counts[d.doc_id][0], "chunks": counts[d.doc_id][1]} for d in index.documents]

    @app.get("/api/documents/{doc_id}")
    def document(doc_id: str) -> dict[str, Any]:
        info = app.state.documents.get(doc_id)
        if info is None:
            raise HTTPException(status_code=404, detail=f"no document {doc_id!r}; list them at /api/documents")
        units = [
            {
                "chunk_id": c.chunk_id,
                "article": c.article,
                "citation": c.citation,
                "path": list(c.path),
                "piece": c.piece,
            }
            for c in index.chunks
            if c.doc_id == doc_id
        ]
        return {**asdict(info), "units": units}

    @app.get("/api/units/{chunk_id}")
    def unit(chunk_id: str) -> dict[str, Any]:
        chunk = app.state.chunks.get(chunk_id)
        if chunk is None:
            raise HTTPException(status_code=404, detail=f"no unit {chunk_id!r} in this index")
        return {
            "chunk_id": chunk.chunk_id,
            "doc_id": chunk.doc_id,
            "doc_title": chunk.doc_title,
            "article": chunk.article,
            "citation": chunk.citation,
            "path": list(chunk.path),
            "text": chunk.text,
            "sources": list(chunk.sources),
        }

    return app
