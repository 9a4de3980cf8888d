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
from retriever.adapter import configured_adapter
from retriever.backend import open_index
from retriever.fusion import FusionConfig
from retriever.milvus_conn import MilvusBackendError, MilvusUnavailableError
from retriever.search import MAX_K, QueryError, Searcher
from server.docs import add_offline_docs
from server.export_routes import router as export_router
from server.generation import GenerationGate, QueueFull, stream_answer
from server.openai_compat import openai_error
from server.openai_compat import router as openai_router
from server.schemas import MAX_QUESTION_CHARS, AskRequest, is_blank
from server.security import LOOPBACK_HOSTS, HardeningMiddleware
from server.uploads import MAX_UPLOAD_REQUEST_BYTES, UPLOAD_PATH, register_uploads

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
    index, backend = open_index(settings.index_location())
    embedder = embedder or create_embedder(
        index.manifest.embedder, models_dir=settings.models_dir, device=settings.device
    )
    fusion = FusionConfig(settings.fusion, settings.dense_weight, settings.bm25_weight, settings.rrf_k)
    adapter = configured_adapter(settings.query_adapter, embedder=index.manifest.embedder)
    searcher = Searcher(
        index, embedder, fusion=fusion, authority_boost=settings.authority_boost, backend=backend, adapter=adapter
    )
    answerer = Answerer(searcher, generator, settings=settings.answer_settings())
    logger.info(
        "loaded index %s (%d documents, %d chunks, embedder %s) and generator %s in %.1fs",
        settings.index_location().describe(),
        len(index.documents),
        len(index.chunks),
        embedder.name,
        generator.name if generator else "none (extractive answers)",
        time.perf_counter() - started,
    )

    app = FastAPI(
        title="policyrag",
        description="Search and cited answers over Chinese policy documents",
        docs_url=None,
        redoc_url=None,
    )
    docs_csp = add_offline_docs(app)

    @app.exception_handler(Exception)
    async def json_internal_error(request: Request, exc: Exception) -> JSONResponse:
        logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse(status_code=500, content={"detail": "internal server error; see the server log"})

    @app.exception_handler(MilvusBackendError)
    async def milvus_unavailable(request: Request, exc: MilvusBackendError) -> JSONResponse:
        # The index lives in Milvus and Milvus cannot answer: say why; a retry may help when it is unreachable.
        logger.warning("%s %s: %s", request.method, request.url.path, exc)
        headers = {"Retry-After": RETRY_AFTER} if isinstance(exc, MilvusUnavailableError) else None
        return JSONResponse(status_code=503, content={"detail": str(exc)}, headers=headers)

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
            path = request.url.path
            if path.startswith(("/api/", "/v1/")):
                bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
                if token not in (request.headers.get("x-api-token"), bearer):
                    if path.startswith("/v1/"):  # OpenAI clients send the token as their API key
                        return openai_error(401, "missing or wrong API key (the server's API token)")
                    return JSONResponse(status_code=401, content={"detail": "missing or wrong X-API-Token header"})
            return await call_next(request)

    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"])
    # Added last, so it is the outermost layer: every response (401s and CORS answers too) gets its headers.
    app.add_middleware(
        HardeningMiddleware,
        allowed_hosts=settings.allowed_hosts or LOOPBACK_HOSTS,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.body_timeout_s,
        csp_overrides=docs_csp,
        body_limits={UPLOAD_PATH: MAX_UPLOAD_REQUEST_BYTES},
    )
    app.state.settings = settings
    app.state.started_at = time.time()
    app.state.searcher = searcher
    app.state.answerer = answerer
    app.state.chunks = {c.chunk_id: c for c in index.chunks}
    app.state.documents = {d.doc_id: d for d in index.documents}
    register_uploads(app, settings, searcher)  # POST /api/documents (server/uploads.py)

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
        if is_blank(q):
            raise HTTPException(status_code=422, detail="q: the query is empty")
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
            if is_blank(body.question):  # NUL and other control characters only
                raise QueryError("the question is empty")
            return answerer.ask(
                body.question, k=body.k, no_llm=body.no_llm, on_token=on_token, issuer=body.issuer, year=body.year
            )

        if "text/event-stream" in request.headers.get("accept", ""):
            if uses_model and gate.busy and gate.waiting >= gate.max_waiting:
                raise HTTPException(status_code=503, detail=BUSY, headers={"Retry-After": RETRY_AFTER})
            # Extractive answers never queue behind the model.
            return StreamingResponse(stream_answer(gate if uses_model else None, work), media_type="text/event-stream")
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

    app.include_router(export_router)
    app.include_router(openai_router)
    return app
