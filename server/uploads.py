"""``POST /api/documents``: upload files into the server's corpus folder, then update the index incrementally.

Each file is checked on its own (name, size, content); the accepted ones are written into the
corpus folder (never outside it, never over an existing file) and the index is brought up to
date with ``indexer.build.build_index`` — only the new files are read and embedded — then the
running server switches to it in place. The answer lists every file with its outcome.

Who may upload: with an API token configured, only requests carrying it; without one, only
clients on this machine (loopback), because anyone who can reach the port could otherwise add
text to what the server cites.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from indexer.build import BuildReport, build_index
from indexer.formats import SUFFIXES, detect_format
from indexer.formats.detect import describe_binary
from indexer.reading import UnreadableFileError, decode_bytes
from policyrag.settings import Settings
from retriever.index_dir import IndexFolderError
from retriever.milvus_conn import MilvusUnavailableError
from retriever.search import Searcher
from retriever.store import IndexStoreError, load_index

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # per file: a 20-page scanned PDF (~1 MB a page) fits
MAX_UPLOAD_FILES = 20
MAX_UPLOAD_REQUEST_BYTES = 100 * 1024 * 1024  # the whole request: its own limit in place of max_body_bytes
UPLOAD_PATH = "/api/documents"
MAX_NAME_BYTES = 200
SUPPORTED = "PDF, DOCX, DOC/WPS, RTF, HTML, MHTML, OFD, text and Markdown"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_BAD_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"|?*\\/]')


class UploadRejected(ValueError):
    """One uploaded file that cannot be added (the message names the reason and the fix)."""


@dataclass(frozen=True)
class UploadOutcome:
    """What happened to one uploaded file."""

    name: str  # as the client sent it
    saved_as: str | None  # file name in the corpus folder, when accepted
    status: str  # accepted | rejected
    error: str | None = None


def safe_name(raw: str | None) -> str:
    """The file name to store an upload under: its last path component only, NFC, no control or reserved
    characters, not hidden, a supported suffix. Anything else → ``UploadRejected`` (never silently rewritten)."""
    if not raw:
        raise UploadRejected("the file has no name")
    name = unicodedata.normalize("NFC", re.split(r"[\\/]", raw)[-1]).strip()
    if not name or name in (".", "..") or name.startswith("."):
        raise UploadRejected("not a usable file name (empty, a folder or hidden)")
    if _BAD_NAME_CHARS.search(name):
        raise UploadRejected("the name holds control or reserved characters")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise UploadRejected(f"the name is longer than {MAX_NAME_BYTES} bytes")
    if Path(name).suffix.lower() not in SUFFIXES:  # the folder scan picks files by these; the content decides the rest
        raise UploadRejected(f"unsupported file type; accepted: {', '.join(SUFFIXES)}")
    return name


def check_content(data: bytes, name: str) -> str:
    """The content type check, by content, not by name: the format ``indexer.formats.detect_format`` finds (text and
    Markdown must also decode without loss), else ``UploadRejected``. Whether the file can really be read (a
    damaged PDF, a scan without the OCR extra) shows when the index is updated; such a file is refused then."""
    if not data.strip():
        raise UploadRejected("the file is empty")
    fmt = detect_format(data, name)
    if fmt is None:
        raise UploadRejected(f"unsupported content ({describe_binary(data)}); supported: {SUPPORTED}")
    if fmt in ("text", "markdown"):
        try:
            decode_bytes(data, name=name)
        except UnreadableFileError as exc:
            raise UploadRejected(str(exc).removeprefix(f"{name}: ")) from exc
    return fmt


def authorise(request: Request, settings: Settings) -> None:
    """Token when one is configured; otherwise loopback clients only."""
    token = settings.api_token
    if token:
        sent = request.headers.get("x-api-token") or ""
        if not secrets.compare_digest(sent.encode(), token.encode()):
            raise HTTPException(status_code=401, detail="missing or wrong X-API-Token header")
        return
    host = request.client.host if request.client else ""
    if host not in LOOPBACK:
        raise HTTPException(
            status_code=403,
            detail="uploads from other machines need an API token: start the server with POLICYRAG_API_TOKEN set",
        )


def corpus_folder(settings: Settings) -> Path:
    """Where uploads go: the first configured corpus folder."""
    folders = [p for p in settings.corpus if p.is_dir()]
    if not folders:
        raise HTTPException(
            status_code=409, detail="the server has no corpus folder to upload into (see --config corpus)"
        )
    return folders[0].resolve()


def _indexed_from_corpus(searcher: Searcher, settings: Settings) -> bool:
    """True when every file of the live index lies in a corpus folder (so re-indexing the corpus loses nothing)."""
    roots = [p.resolve() for p in settings.corpus if p.is_dir()]
    sources = searcher.index.manifest.sources  # empty for an index written before source records existed
    return bool(sources) and all(any(root in Path(r.path).parents for root in roots) for r in sources)


def write_new_file(folder: Path, name: str, data: bytes) -> Path:
    """Create ``folder/name`` with ``data`` atomically; an existing name (or a link) is refused, never replaced."""
    target = folder / name
    if target.resolve().parent != folder or target.is_symlink():
        raise UploadRejected("the name leads outside the corpus folder")
    tmp = folder / f".upload-{secrets.token_hex(6)}.tmp"  # not a .txt/.md name: never indexed half-written
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, target)  # fails if the name exists: no overwrite, no race
        except FileExistsError:
            raise UploadRejected(f"a file named {name} is already in the corpus folder; rename it") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


async def _read_limited(upload: UploadFile) -> bytes:
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRejected(f"larger than the upload limit of {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
    return data


def register_uploads(app: FastAPI, settings: Settings, searcher: Searcher) -> None:
    """Add ``POST /api/documents`` to ``app``; ``searcher`` is switched to the updated index after each upload."""
    lock = asyncio.Lock()  # one upload at a time in this server; other processes meet the index's build lock

    @app.post(UPLOAD_PATH, response_model=None)
    async def upload_documents(
        request: Request, files: Annotated[list[UploadFile], File(description="text files (.txt, .md)")]
    ) -> dict[str, Any] | JSONResponse:
        authorise(request, settings)
        if len(files) > MAX_UPLOAD_FILES:
            raise HTTPException(status_code=413, detail=f"at most {MAX_UPLOAD_FILES} files per upload")
        folder = corpus_folder(settings)
        if not _indexed_from_corpus(searcher, settings):
            raise HTTPException(
                status_code=409,
                detail=f"the index {settings.index_dir} holds files outside the corpus folder {folder} (or was built "
                "by an older policyrag that did not record its files); uploads would drop them, so they are off — "
                "index the corpus folder with: policyrag index",
            )
        async with lock:
            outcomes: list[UploadOutcome] = []
            written: list[Path] = []
            for upload in files:
                raw = upload.filename or ""
                try:
                    name = safe_name(raw)
                    data = await _read_limited(upload)
                    check_content(data, name)
                    written.append(await run_in_threadpool(write_new_file, folder, name, data))
                    outcomes.append(UploadOutcome(raw, name, "accepted"))
                except UploadRejected as exc:
                    outcomes.append(UploadOutcome(raw, None, "rejected", str(exc)))
            if not written:
                return JSONResponse(
                    status_code=422,
                    content={
                        "detail": "no file was added: " + "; ".join(f"{o.name}: {o.error}" for o in outcomes),
                        "files": [asdict(o) for o in outcomes],
                    },
                )
            try:
                report = await run_in_threadpool(_reindex, settings, searcher)
            except (IndexStoreError, UnreadableFileError, ValueError) as exc:  # EmptyCorpusError is a ValueError
                for path in written:  # the corpus folder goes back to what the index holds
                    path.unlink(missing_ok=True)
                status = 409 if isinstance(exc, IndexFolderError) else 422
                status = 503 if isinstance(exc, MilvusUnavailableError) else status
                return JSONResponse(
                    status_code=status,
                    headers={"Retry-After": "5"} if status == 503 else None,
                    content={
                        "detail": f"indexing failed, upload undone: {exc}",
                        "files": [asdict(o) for o in outcomes],
                    },
                )
            # A file the readers could not read was skipped by the build: refuse it now, with the reader's reason.
            unreadable = {Path(sk.path).name: sk.message for sk in report.stats.skipped}
            for i, outcome in enumerate(outcomes):
                if outcome.saved_as in unreadable and (folder / outcome.saved_as) in written:
                    (folder / outcome.saved_as).unlink(missing_ok=True)
                    reason = unreadable[outcome.saved_as].removeprefix(str(folder / outcome.saved_as) + ": ")
                    outcomes[i] = UploadOutcome(outcome.name, None, "rejected", reason)
        app.state.chunks.clear()
        app.state.chunks.update({c.chunk_id: c for c in searcher.index.chunks})
        app.state.documents.clear()
        app.state.documents.update({d.doc_id: d for d in searcher.index.documents})
        body = {
            "files": [asdict(o) for o in outcomes],
            "index": {
                "documents": report.stats.documents,
                "chunks": report.stats.chunks,
                "files_read": report.files_read,
                "files_unchanged": report.files_reused,
                "embedded": report.stats.chunks - report.cached_vectors,
            },
        }
        if not any(o.status == "accepted" for o in outcomes):
            body["detail"] = "no file was added: " + "; ".join(f"{o.name}: {o.error}" for o in outcomes)
            return JSONResponse(status_code=422, content=body)
        return body


def _reindex(settings: Settings, searcher: Searcher) -> BuildReport:
    """Bring the index up to date with the corpus folders and switch ``searcher`` to it."""
    report = build_index(list(settings.corpus), settings.index_dir, searcher.embedder, progress=False)
    backend = searcher.backend
    if backend.name == "milvus":
        from retriever.milvus_search import MilvusBackend

        assert isinstance(backend, MilvusBackend)
        # The local index is the staging copy: publish its changed documents, then read the collection back.
        published = backend.publish(load_index(settings.index_dir, searchable=False))
        logger.info("upload published to Milvus: %d documents written, %d chunks deleted",
                    published.upserted_documents, published.deleted_chunks)  # fmt: skip
        searcher.reload(backend.reopen())
    else:
        searcher.reload(load_index(settings.index_dir))
    logger.info("upload indexed: %d files read, %d chunks", report.files_read, report.stats.chunks)
    return report
