"""Server hardening (issue 13, item 9 and the API parts of item 10): limits, timeouts, headers, queue rules."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from indexer.build import build_index
from models.chat import ChatMessage
from policyrag.settings import Settings
from server.app import create_app
from server.generation import ERROR_DETAIL
from tests.conftest import PLAN, REGULATION_CLEAN, FakeEmbedder, overlap_logprob
from tests.live import live_server

LOCAL = "http://127.0.0.1"
SSE = {"Accept": "text/event-stream"}
QUESTION = {"question": "產業主管部門是哪個部門？"}


class ScriptedGen:
    """A fake model; ``delay`` seconds per token, ``fail`` raises mid-generation."""

    name = "scripted"
    context_window = 4096

    def __init__(self, *, tokens: int = 1, delay: float = 0.0, fail: bool = False) -> None:
        self.tokens, self.delay, self.fail = tokens, delay, fail
        self.produced = 0
        self.finished = threading.Event()
        self.busy_at_end: bool | None = None
        self.gate: object = None

    def count_tokens(self, text: str) -> int:
        return len(text)

    def text_logprob(self, prefix: str, text: str) -> float:
        return overlap_logprob(prefix, text)

    def generate(self, messages: Sequence[ChatMessage], **_: object) -> Iterator[str]:
        try:
            if self.fail:
                raise RuntimeError("llama_decode failed at /home/secret/model.gguf")
            for _ in range(self.tokens):
                time.sleep(self.delay)
                self.produced += 1
                yield "人工智能产业主管部门是市工业和信息化部门。" if self.tokens == 1 else "市"
        finally:
            self.busy_at_end = bool(self.gate and self.gate.busy)  # type: ignore[attr-defined]
            self.finished.set()


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hardening")
    (folder / "corpus").mkdir()
    (folder / "corpus" / "reg.txt").write_text(REGULATION_CLEAN, encoding="utf-8")
    (folder / "corpus" / "plan.txt").write_text(PLAN, encoding="utf-8")
    build_index([folder / "corpus"], folder / "idx", FakeEmbedder(), cache_dir=folder / "c", progress=False)
    return folder / "idx"


def make_app(index_dir: Path, generator: ScriptedGen | None = None, **settings: object) -> FastAPI:
    base: dict[str, object] = {"abstain_min_dense": 0.0, "abstain_min_coverage": 0.0, "abstain_sure_dense": 0.0}
    app = create_app(Settings(index_dir=index_dir, **{**base, **settings}), embedder=FakeEmbedder(), generator=generator)
    if generator is not None:
        generator.gate = app.state.gate
    return app


def test_oversized_body_is_413(index_dir: Path) -> None:
    client = TestClient(make_app(index_dir, max_body_bytes=4096), base_url=LOCAL)
    big = {"question": "主管部门", "padding": "x" * 10_000}
    response = client.post("/api/ask", json=big)
    assert response.status_code == 413 and "at most 4,096 bytes" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it arrives
        yield b'{"question": "' + b"x" * 3000
        yield b"y" * 3000 + b'"}'

    response = client.post("/api/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert client.post("/api/ask", json={"question": "主管部门", "no_llm": True}).status_code == 200


def test_security_headers_and_csp(index_dir: Path) -> None:
    client = TestClient(make_app(index_dir), base_url=LOCAL)
    for path in ("/", "/api/search?q=主管部门", "/static/app.js"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer"
        assert "script-src 'self';" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_docs_are_served_offline(index_dir: Path) -> None:
    client = TestClient(make_app(index_dir), base_url=LOCAL)
    page = client.get("/docs")
    assert page.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    assert "'sha256-" in page.headers["content-security-policy"]
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200
    assert client.get("/openapi.json").json()["paths"]["/api/export"]


@pytest.mark.parametrize(("host", "status"), [("evil.example", 400), ("127.0.0.1:8000", 200), ("localhost", 200),
                                              ("[::1]:8000", 200)])
def test_host_header_is_checked(index_dir: Path, host: str, status: int) -> None:
    client = TestClient(make_app(index_dir), base_url=LOCAL)
    response = client.get("/healthz", headers={"Host": host})
    assert response.status_code == status
    if status == 400:
        assert "allowed_hosts" in response.json()["detail"]


def test_allowed_hosts_setting(index_dir: Path) -> None:
    client = TestClient(make_app(index_dir, allowed_hosts=["policy.intranet"]), base_url="http://policy.intranet")
    assert client.get("/healthz").status_code == 200
    assert client.get("/healthz", headers={"Host": "127.0.0.1"}).status_code == 400


def test_unexpected_errors_are_json_500s_without_internals(index_dir: Path) -> None:
    app = make_app(index_dir)

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("faiss read failed at /srv/secret/vectors.faiss")

    app.state.searcher.search = boom
    response = TestClient(app, base_url=LOCAL, raise_server_exceptions=False).get("/api/search?q=主管部门")
    assert response.status_code == 500 and response.headers["content-type"] == "application/json"
    assert "secret" not in response.text and "server log" in response.json()["detail"]


def test_streamed_errors_carry_no_exception_text(index_dir: Path) -> None:
    client = TestClient(make_app(index_dir, ScriptedGen(fail=True)), base_url=LOCAL)
    body = client.post("/api/ask", json=QUESTION, headers=SSE).text
    assert "event: error" in body and ERROR_DETAIL in body and "secret" not in body and "llama" not in body


def _stream_while_model_busy(app: FastAPI, payload: dict[str, object]) -> httpx.Response:
    async def scenario() -> httpx.Response:
        gate = app.state.gate
        await gate._lock.acquire()  # a generation is in progress and holds the model
        gate.max_waiting = 0
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=LOCAL) as client:
                return await asyncio.wait_for(client.post("/api/ask", json=payload, headers=SSE), 10)
        finally:
            gate._lock.release()

    return asyncio.run(scenario())


def test_streamed_no_llm_never_waits_for_the_model(index_dir: Path) -> None:
    app = make_app(index_dir, ScriptedGen())
    response = _stream_while_model_busy(app, {**QUESTION, "no_llm": True})
    assert response.status_code == 200 and "event: answer" in response.text and "busy" not in response.text


def test_streamed_answers_on_a_no_llm_server_never_wait(index_dir: Path) -> None:
    app = make_app(index_dir, None)
    response = _stream_while_model_busy(app, QUESTION)
    assert response.status_code == 200 and "event: answer" in response.text and '"model": "extractive"' in response.text


def test_disconnect_cancels_the_generation_and_holds_the_slot_until_it_stops(index_dir: Path) -> None:
    gen = ScriptedGen(tokens=40, delay=0.1)
    app = make_app(index_dir, gen)
    with live_server(app) as url:
        with httpx.stream("POST", f"{url}/api/ask", json=QUESTION, headers=SSE, timeout=10) as response:
            for line in response.iter_lines():
                if line.startswith("event: token"):
                    break  # leave after the first token: the connection closes
        assert gen.finished.wait(10), "the generation was not stopped"
        assert gen.produced < 40, "the generation ran on for a client that left"
        assert gen.busy_at_end is True, "the model's slot was freed while its generation still ran"
        deadline = time.time() + 5
        while app.state.gate.busy and time.time() < deadline:
            time.sleep(0.02)
        assert not app.state.gate.busy  # released once the thread ended
        after = httpx.post(f"{url}/api/ask", json={**QUESTION, "no_llm": True}, timeout=10)
        assert after.status_code == 200


def test_slow_request_body_times_out_with_408(index_dir: Path) -> None:
    app = make_app(index_dir, body_timeout_s=0.5)
    with live_server(app) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(
                b"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b'Content-Length: 100\r\n\r\n{"question": '
            )
            started = time.time()
            status_line = s.recv(4096).split(b"\r\n", 1)[0]
        assert b" 408 " in status_line and time.time() - started < 4


def test_nul_only_query_is_empty(index_dir: Path) -> None:
    client = TestClient(make_app(index_dir), base_url=LOCAL)
    assert client.get("/api/search", params={"q": "\x00\x00"}).status_code == 422
    assert client.post("/api/ask", json={"question": "\x00"}).status_code == 422


def test_401_and_cors_answers_carry_the_security_headers(index_dir: Path) -> None:
    client = TestClient(make_app(index_dir, api_token="s3cret", cors_origins=["http://a.example"]), base_url=LOCAL)
    denied = client.get("/api/search", params={"q": "主管部门"})
    assert denied.status_code == 401 and denied.headers["x-content-type-options"] == "nosniff"
    preflight = client.options("/api/search", headers={"Origin": "http://a.example", "Access-Control-Request-Method": "GET"})
    assert preflight.headers["x-frame-options"] == "DENY"
    assert client.get("/api/search", params={"q": "x"}, headers={"Host": "evil.example"}).status_code == 400


def test_queued_client_that_disconnects_leaves_the_queue(index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import server.generation

    monkeypatch.setattr(server.generation, "KEEPALIVE_S", 0.1)
    gen = ScriptedGen(tokens=30, delay=0.1)
    calls: list[int] = []
    generate = gen.generate

    def counting(messages: Sequence[ChatMessage], **kw: object) -> Iterator[str]:
        calls.append(1)
        return generate(messages, **kw)

    gen.generate = counting  # type: ignore[method-assign]
    app = make_app(index_dir, gen)
    with live_server(app) as url:
        first = httpx.stream("POST", f"{url}/api/ask", json=QUESTION, headers=SSE, timeout=10)
        response = first.__enter__()
        lines = response.iter_lines()
        while not next(lines).startswith("event: token"):
            pass  # the first request now holds the model
        with httpx.stream("POST", f"{url}/api/ask", json=QUESTION, headers=SSE, timeout=10) as queued:
            assert queued.status_code == 200
            deadline = time.time() + 5
            while app.state.gate.waiting == 0 and time.time() < deadline:
                time.sleep(0.02)
            assert app.state.gate.waiting == 1
        deadline = time.time() + 5  # the second client has gone: a keep-alive write notices it
        while app.state.gate.waiting and time.time() < deadline:
            time.sleep(0.05)
        assert app.state.gate.waiting == 0
        rest = "\n".join(lines)
        first.__exit__(None, None, None)
        assert "event: answer" in rest and len(calls) == 1  # the abandoned request never ran
