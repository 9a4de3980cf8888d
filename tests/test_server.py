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
from tests.conftest import FakeEmbedder


class _Gen:
    name = "scripted"
    context_window = 4096

    def count_tokens(self, text: str) -> int:
        return len(text)

    def generate(self, messages: Sequence[ChatMessage], **_: object) -> Iterator[str]:
        yield "人工智能产业主管部门是市工业和信息化部门。"


@pytest.fixture()
def client(tmp_path: Path, tiny_corpus: Path, fake_embedder: FakeEmbedder) -> TestClient:
    build_index([tiny_corpus], tmp_path / "idx", fake_embedder, cache_dir=tmp_path / "c", progress=False)
    settings = Settings(
        index_dir=tmp_path / "idx", abstain_min_dense=0.0, abstain_min_coverage=0.0, abstain_sure_dense=0.0
    )
    return TestClient(create_app(settings, embedder=fake_embedder, generator=_Gen()))


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
    detail = client.get(f"/api/documents/{reg['doc_id']}").json()
    first = detail["units"][0]
    unit = client.get(f"/api/units/{first['chunk_id']}").json()
    assert unit["citation"] == first["citation"] and unit["text"]
    assert set(unit["sources"]) == {"a_scrape.txt", "b_clean.txt", "c_traditional.txt"}
    assert client.get("/api/documents/nope").status_code == 404
    assert client.get("/api/units/nope").status_code == 404
