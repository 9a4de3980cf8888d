"""Connecting to Milvus (an embedded Milvus Lite file or a server), with one-line errors.

URIs: a Milvus Lite file ends in ``.db`` (``indexes/default.db``); a server is ``http(s)://host:19530``. One process
at a time may open a Lite file; for several (e.g. server processes) run ``milvus-lite server --data-dir D --host
127.0.0.1`` and give them ``--uri http://127.0.0.1:19530``.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retriever.index_dir import IndexStoreError

logger = logging.getLogger(__name__)

EXTRA = "pip install 'policyrag[milvus]'"
SPARSE_SINCE = (2, 5)  # sparse vectors with SPARSE_INVERTED_INDEX/IP and hybrid search on a server
_SERVER = re.compile(r"^(https?)://[^/\s]+(:\d+)?/?$")


class MilvusBackendError(IndexStoreError):
    """The Milvus backend cannot be used (missing extra, bad URI, locked file, unsupported server)."""


class MilvusUnavailableError(MilvusBackendError):
    """Milvus cannot be reached right now (a server that is down, a network error): retrying may help."""


def pymilvus() -> Any:
    """The ``pymilvus`` module, or a one-line error naming the extra that installs it."""
    try:
        import pymilvus as module
    except ModuleNotFoundError as exc:
        raise MilvusBackendError(f"the milvus backend needs its extra: {EXTRA}") from exc
    return module


def is_lite(uri: str) -> bool:
    """True for a Milvus Lite file URI."""
    return not uri.startswith(("http://", "https://", "tcp://", "unix:"))


def check_uri(uri: str) -> str:
    """``uri`` when it is a Lite file ending in ``.db`` or an ``http(s)://`` server address, else a one-line error."""
    if is_lite(uri):
        if not uri.endswith(".db") or uri.endswith("/.db"):
            raise MilvusBackendError(
                f"--uri {uri!r}: a Milvus Lite file must end in .db (e.g. indexes/default.db); "
                "a server is http://host:19530"
            )
        return uri
    if not _SERVER.match(uri):
        raise MilvusBackendError(
            f"--uri {uri!r}: a Milvus server address is http(s)://host:port (e.g. http://127.0.0.1:19530)"
        )
    return uri


@dataclass(frozen=True)
class ServerInfo:
    """What is at the other end."""

    uri: str
    version: str  # e.g. "2.3.5" or "milvus_lite-3.2.2"
    lite: bool

    @property
    def has_sparse(self) -> bool:
        """True when the server stores sparse vectors (Milvus Lite does; a server from ``SPARSE_SINCE`` on)."""
        if self.lite or self.version.startswith("milvus_lite"):
            return True
        numbers = re.findall(r"\d+", self.version)
        if len(numbers) < 2:
            return True  # an unreadable version string: let the server answer for itself
        return (int(numbers[0]), int(numbers[1])) >= SPARSE_SINCE

    def no_sparse_message(self) -> str:
        """The one line that says why BM25 is missing here."""
        need = ".".join(str(x) for x in SPARSE_SINCE)
        return (
            f"Milvus {self.version} at {self.uri} has no sparse vectors, so no BM25 or hybrid search: they need "
            f"Milvus >= {need}; search with --mode dense, or upgrade the server"
        )


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen


def describe(exc: BaseException) -> str:
    """The first line of a Milvus exception's message, without the class wrapper."""
    message = getattr(exc, "message", None) or str(exc)
    return str(message).strip().splitlines()[0][:300] if str(message).strip() else type(exc).__name__


def connect(uri: str, token: str | None = None, *, timeout: float = 10.0) -> tuple[Any, ServerInfo]:
    """A ``MilvusClient`` for ``uri`` and what it connected to; failures are one-line errors."""
    module = pymilvus()
    uri = check_uri(uri)
    lite = is_lite(uri)
    if lite:
        parent = Path(uri).absolute().parent
        if not parent.is_dir():
            raise MilvusBackendError(f"cannot create the Milvus Lite file {uri}: folder {parent} does not exist")
    try:
        client = module.MilvusClient(uri=uri, token=token or "", timeout=timeout)
        version = str(client.get_server_version())
    except Exception as exc:
        causes = _chain(exc)
        if lite and (_lite_locked(uri) or any(type(c).__name__ == "DataDirLockedError" for c in causes)):
            raise MilvusBackendError(
                f"another process has the Lite file {uri} open: run `milvus-lite server --data-dir {uri} "
                "--host 127.0.0.1 --port 19530` once and give every process --uri http://127.0.0.1:19530"
            ) from exc
        if lite:
            raise MilvusBackendError(f"cannot open the Milvus Lite file {uri}: {describe(causes[-1])}") from exc
        raise MilvusUnavailableError(f"cannot reach Milvus at {uri}: {describe(exc)}") from exc
    return client, ServerInfo(uri, version, lite)


def release(client: Any, server: ServerInfo) -> None:
    """Close ``client``; for a Lite file also stop this process's embedded Lite server, so that another process
    (``milvus-lite server``, another ``policyrag``) may open the file. Other clients of that file in this process
    stop working."""
    client.close()
    if server.lite:
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(server.uri)


def _lite_locked(uri: str) -> bool:
    """True when another process holds the Lite data directory's lock (pymilvus reports only that opening failed)."""
    import fcntl

    lock = Path(uri) / "LOCK"
    if not lock.is_file():
        return False
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also releases the probe's lock
    return False


def is_unavailable(exc: BaseException) -> bool:
    """True when a pymilvus error means the server cannot be reached (worth a retry), not a bad request."""
    text = " ".join(str(c) for c in _chain(exc)).lower()
    return any(
        word in text
        for word in ("unavailable", "connection refused", "deadline", "failed to connect", "connect failed", "timeout")
    )
