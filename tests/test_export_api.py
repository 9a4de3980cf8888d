"""``POST /api/export``: the 素材篮 as a .docx or .md brief, through TestClient."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import unquote

import pytest
from docx import Document
from fastapi.testclient import TestClient

from tests.test_server_hardening import LOCAL, QUESTION, ScriptedGen, index_dir, make_app

__all__ = ["index_dir"]  # the module-scoped index fixture


@pytest.fixture()
def client(index_dir: Path) -> TestClient:
    return TestClient(make_app(index_dir, ScriptedGen()), base_url=LOCAL)


def _unit(client: TestClient, query: str) -> dict[str, str]:
    return client.get("/api/search", params={"q": query, "k": 1}).json()["results"][0]  # type: ignore[no-any-return]


def test_export_docx_holds_items_in_order(client: TestClient) -> None:
    ethics, plan = _unit(client, "伦理委员会职责"), _unit(client, "基础理论研究")
    answer = client.post("/api/ask", json=QUESTION).json()
    items = [
        {"kind": "unit", "chunk_id": ethics["chunk_id"], "note": "第一条素材"},
        {"kind": "answer", "answer": answer},
        {"kind": "unit", "chunk_id": plan["chunk_id"]},
    ]
    response = client.post("/api/export", json={"items": items, "format": "docx"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and unquote(disposition).endswith(".docx")
    text = "\n".join(p.text for p in Document(io.BytesIO(response.content)).paragraphs)
    expected = [
        f"一、{ethics['citation']}",
        f"{ethics['citation']}规定：“",
        "按：第一条素材",
        f"二、问：{QUESTION['question']}",
        f"答：{answer['answer']}",
        f"[1] {answer['citations'][0]['citation']}规定：“{answer['citations'][0]['quote']}”",
        f"三、{plan['citation']}",
        f"{plan['citation']}指出：“",
        "资料来源",
    ]
    positions = [text.find(e) for e in expected]
    assert all(p >= 0 for p in positions), [e for e, p in zip(expected, positions, strict=True) if p < 0]
    assert positions == sorted(positions)


def test_export_markdown(client: TestClient) -> None:
    unit = _unit(client, "主管部门")
    response = client.post("/api/export", json={"items": [{"kind": "unit", "chunk_id": unit["chunk_id"]}],
                                                 "format": "md", "title": "主管部门依据"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/markdown")
    assert response.text.startswith("# 主管部门依据\n") and f"## 一、{unit['citation']}" in response.text


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ({"items": []}, "items"),
        ({"items": [{"kind": "unit", "chunk_id": "nope"}]}, "no unit 'nope'"),
        ({"items": [{"kind": "unit"}]}, "needs its chunk_id"),
        ({"items": [{"kind": "answer"}]}, "needs the answer object"),
        ({"items": [{"kind": "unit", "chunk_id": "x"}], "format": "pdf"}, "format"),
        ({"items": [{"kind": "unit", "chunk_id": "x"}] * 51}, "items"),
    ],
)
def test_export_validation(client: TestClient, payload: dict[str, object], detail: str) -> None:
    response = client.post("/api/export", json=payload)
    assert response.status_code == 422 and detail in response.json()["detail"]


def test_export_refuses_a_quote_the_index_does_not_hold(client: TestClient) -> None:
    answer = client.post("/api/ask", json=QUESTION).json()
    answer["citations"][0]["quote"] = "市财政局是主管部门。"
    response = client.post("/api/export", json={"items": [{"kind": "answer", "answer": answer}]})
    assert response.status_code == 422 and "item 1" in response.json()["detail"]
