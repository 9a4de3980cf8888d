"""API tests through TestClient with the fake embedder and a scripted generator."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from indexer.build import build_index
from models.chat import ChatMessage
from policyrag.settings import Settings
from server.app import create_app
from tests.conftest import FakeEmbedder, overlap_logprob

LOCAL = "http://127.0.0.1"  # the server answers loopback Host names only (DNS-rebinding guard)


class _Gen:
    name = "scripted"
    context_window = 4096

    def count_tokens(self, text: str) -> int:
        return len(text)

    def text_logprob(self, prefix: str, text: str) -> float:
        return overlap_logprob(prefix, text)

    def generate(self, messages: Sequence[ChatMessage], **_: object) -> Iterator[str]:
        yield "人工智能产业主管部门是市工业和信息化部门。"


@pytest.fixture()
def client(tmp_path: Path, tiny_corpus: Path, fake_embedder: FakeEmbedder) -> TestClient:
    build_index([tiny_corpus], tmp_path / "idx", fake_embedder, cache_dir=tmp_path / "c", progress=False)
    settings = Settings(
        index_dir=tmp_path / "idx", abstain_min_dense=0.0, abstain_min_coverage=0.0, abstain_sure_dense=0.0
    )
    return TestClient(create_app(settings, embedder=fake_embedder, generator=_Gen()), base_url=LOCAL)


def test_healthz(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["index_loaded"] and body["model_loaded"] and body["documents"] == 4 and body["embedder"] == "fake"


def test_search_has_the_cli_shape(client: TestClient) -> None:
    body = client.get("/api/search", params={"q": "產業主管部門是哪個部門", "k": 3}).json()
    assert set(body) == {"query", "took_ms", "results"}
    assert body["results"][0]["citation"] == "《示范人工智能促进条例》第二条"
    assert len(body["results"]) == 3


@pytest.mark.parametrize(
    ("params", "status"),
    [({"q": ""}, 422), ({"q": "x" * 501}, 422), ({"q": "x", "k": 0}, 422), ({"q": "x", "k": 51}, 422)],
)
def test_search_validation(client: TestClient, params: dict[str, object], status: int) -> None:
    response = client.get("/api/search", params=params)
    assert response.status_code == status and "detail" in response.json()


def test_search_unknown_document_is_404(client: TestClient) -> None:
    response = client.get("/api/search", params={"q": "主管部门", "doc": "nope"})
    assert response.status_code == 404 and "unknown document id" in response.json()["detail"]


def test_ask_returns_verified_answer(client: TestClient) -> None:
    body = client.post("/api/ask", json={"question": "產業主管部門是哪個部門？"}).json()
    assert body["abstained"] is False and body["model"] == "scripted"
    assert body["citations"][0]["citation"] == "《示范人工智能促进条例》第二条"


@pytest.mark.parametrize("payload", [{"question": ""}, {"question": "问" * 501}, {"question": "x", "k": 21}, {}])
def test_ask_validation(client: TestClient, payload: dict[str, object]) -> None:
    assert client.post("/api/ask", json=payload).status_code == 422


def test_documents_and_units(client: TestClient) -> None:
    docs = client.get("/api/documents").json()
    reg = next(d for d in docs if d["title"] == "示范人工智能促进条例")
    assert reg["articles"] == 6 and reg["issuer"] is None and set(reg["sources"]) == {
        "a_scrape.txt",
        "b_clean.txt",
        "c_traditional.txt",
    }
    detail = client.get(f"/api/documents/{reg['doc_id']}").json()
    first = detail["units"][0]
    unit = client.get(f"/api/units/{first['chunk_id']}").json()
    assert unit["citation"] == first["citation"] and unit["text"]
    assert set(unit["sources"]) == {"a_scrape.txt", "b_clean.txt", "c_traditional.txt"}
    assert client.get("/api/documents/nope").status_code == 404
    assert client.get("/api/units/nope").status_code == 404


def _events(text: str) -> list[tuple[str, dict[str, object]]]:
    import json

    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_ask_streams_tokens_then_the_verified_answer(client: TestClient) -> None:
    with client.stream(
        "POST", "/api/ask", json={"question": "產業主管部門是哪個部門？"}, headers={"Accept": "text/event-stream"}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response.read().decode())
    kinds = [k for k, _ in events]
    assert kinds[-1] == "answer" and set(kinds[:-1]) == {"token"} and len(kinds) >= 2
    assert "".join(str(d["text"]) for k, d in events if k == "token") == "人工智能产业主管部门是市工业和信息化部门。"
    final = events[-1][1]
    assert final["abstained"] is False and final["citations"]


def test_ask_partial_answer_in_json_and_stream(client: TestClient) -> None:
    """A slot the sources leave open: abstained, with what they do say (issue 10's documented shape)."""
    body = client.post("/api/ask", json={"question": "伦理委员会的主任是谁？"}).json()
    assert body["abstained"] is True and body["citations"] == []
    assert body["partial"]["missing"] == "主任"
    assert "《示范人工智能促进条例》第三条" in [c["citation"] for c in body["partial"]["related"]]
    with client.stream(
        "POST", "/api/ask", json={"question": "伦理委员会的主任是谁？"}, headers={"Accept": "text/event-stream"}
    ) as response:
        events = _events(response.read().decode())
    assert [k for k, _ in events] == ["answer"]  # nothing generated: the slot check stops it first
    assert events[-1][1]["partial"] == body["partial"]


def test_stream_reports_bad_questions_as_an_error_event(client: TestClient) -> None:
    with client.stream(
        "POST", "/api/ask", json={"question": "   "}, headers={"Accept": "text/event-stream"}
    ) as response:
        events = _events(response.read().decode())
    assert events == [("error", {"detail": "the question is empty"})]


def test_generation_gate_is_fifo_and_bounded() -> None:
    import asyncio
    import threading

    from server.generation import GenerationGate, QueueFull

    async def scenario() -> tuple[list[int], bool]:
        gate = GenerationGate(max_waiting=2)
        order: list[int] = []
        release = threading.Event()

        def job(i: int):  # type: ignore[no-untyped-def]
            def run():  # type: ignore[no-untyped-def]
                if i == 0:
                    release.wait(5)
                order.append(i)
                return i

            return run

        first = asyncio.create_task(gate.run(job(0)))
        await asyncio.sleep(0.05)
        waiting = [asyncio.create_task(gate.run(job(i))) for i in (1, 2)]
        await asyncio.sleep(0.05)
        refused = False
        try:
            await gate.run(job(3))
        except QueueFull:
            refused = True
        release.set()
        await asyncio.gather(first, *waiting)
        return order, refused

    order, refused = asyncio.run(scenario())
    assert refused and order == [0, 1, 2]


def test_busy_model_gives_503_with_retry_after(client: TestClient) -> None:
    gate = client.app.state.gate  # type: ignore[attr-defined]
    gate.max_waiting = 0
    lock_taken = gate._lock  # simulate a generation in progress

    async def hold() -> None:
        await lock_taken.acquire()

    import asyncio

    asyncio.run(hold())
    try:
        response = client.post("/api/ask", json={"question": "主管部门是谁"})
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
        assert "busy" in response.json()["detail"]
        assert client.post("/api/ask", json={"question": "主管部门是谁", "no_llm": True}).status_code == 200
    finally:
        lock_taken.release()


def test_validation_detail_is_readable(client: TestClient) -> None:
    detail = client.post("/api/ask", json={"question": ""}).json()["detail"]
    assert isinstance(detail, str) and detail.startswith("question:")


def test_api_token_and_cors(tmp_path: Path, tiny_corpus: Path, fake_embedder: FakeEmbedder) -> None:
    build_index([tiny_corpus], tmp_path / "idx", fake_embedder, cache_dir=tmp_path / "c", progress=False)
    settings = Settings(index_dir=tmp_path / "idx", api_token="s3cret", cors_origins=["http://intranet.example"])
    guarded = TestClient(create_app(settings, embedder=fake_embedder), base_url=LOCAL)
    assert guarded.get("/api/search", params={"q": "主管部门"}).status_code == 401
    ok = guarded.get("/api/search", params={"q": "主管部门"}, headers={"X-API-Token": "s3cret"})
    assert ok.status_code == 200
    assert guarded.get("/healthz").status_code == 200  # health and the page stay open
    preflight = guarded.options(
        "/api/search",
        headers={"Origin": "http://intranet.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.headers.get("access-control-allow-origin") == "http://intranet.example"


def test_cors_is_off_by_default(client: TestClient) -> None:
    response = client.get("/api/search", params={"q": "主管部门"}, headers={"Origin": "http://elsewhere.example"})
    assert "access-control-allow-origin" not in response.headers
