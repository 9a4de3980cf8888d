"""HTTP hardening as one ASGI middleware: Host check, body size limit, body read timeout, security headers.

A plain ASGI middleware (not ``@app.middleware("http")``) so it can count request bytes as they
arrive and stop a slow or oversized body before the app buffers it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# The bundled page loads only its own script and stylesheet and talks only to this server.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
BASE_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


def host_name(host_header: str) -> str:
    """``127.0.0.1:8000`` → ``127.0.0.1``; ``[::1]:8000`` → ``::1``; lower-cased."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class HardeningMiddleware:
    """Rejects unknown Host headers (DNS rebinding), caps and times out request bodies, adds headers.

    ``allowed_hosts`` holds host names without port; ``"*"`` allows any. ``csp_overrides`` maps a
    path to its own Content-Security-Policy (the offline API docs need one inline script), ``body_limits``
    a path to its own body limit (``POST /api/documents`` carries files).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: Iterable[str],
        max_body_bytes: int,
        body_timeout_s: float,
        csp_overrides: dict[str, str] | None = None,
        body_limits: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.allowed = {h.lower() for h in allowed_hosts}
        self.max_body_bytes = max_body_bytes
        self.body_limits = body_limits or {}  # path → its own body limit (file uploads)
        self.body_timeout_s = body_timeout_s
        self.csp_overrides = csp_overrides or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        csp = self.csp_overrides.get(scope["path"], PAGE_CSP)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = {**BASE_HEADERS, "content-security-policy": csp}
                message["headers"] = list(message.get("headers", [])) + [
                    (k.encode(), v.encode()) for k, v in extra.items() if k.encode() not in present
                ]
            await send(message)

        host = host_name(headers.get("host", ""))
        if "*" not in self.allowed and host not in self.allowed:
            await _json(send_with_headers, 400, f"host {host or '(none)'!r} is not served here (allowed_hosts setting)")
            return
        limit = self.body_limits.get(scope["path"], self.max_body_bytes)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _json(send_with_headers, 413, self._too_large(limit))
            return
        await self.app(scope, self._guarded(receive, limit), send_with_headers)

    def _too_large(self, limit: int) -> str:
        return f"request body too large (at most {limit:,} bytes)"

    def _guarded(self, receive: Receive, limit: int) -> Receive:
        received = 0
        body_done = False

        async def guarded() -> Message:
            nonlocal received, body_done
            if body_done:
                # After the body, receive() only waits for a disconnect (streamed responses): no timeout.
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout_s)
            except TimeoutError:
                raise HTTPException(408, f"request body not received within {self.body_timeout_s:g} s") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, self._too_large(limit))
                body_done = not message.get("more_body", False)
            return message

        return guarded


async def _json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
