"""The OpenAI-compatible endpoints, driven by the official ``openai`` client against a live loopback server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from answer.answerer import AnswerResult
from answer.verify import Citation
from server.openai_compat import reply_pieces, reply_text
from tests.live import live_server
from tests.test_server_hardening import QUESTION, ScriptedGen, index_dir, make_app

__all__ = ["index_dir"]  # the module-scoped index fixture

ARTICLE_2 = "《示范人工智能促进条例》第二条"


@pytest.fixture(scope="module")
def base_url(index_dir: Path) -> Iterator[str]:
    with live_server(make_app(index_dir, ScriptedGen())) as url:
        yield url


@pytest.fixture()
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused-on-loopback", max_retries=0, timeout=30)


def test_models_list(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["policyrag", "policyrag-extractive"]


def test_chat_completion_is_the_verified_answer_with_references(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="policyrag",
        messages=[
            {"role": "system", "content": "你是政策助手"},
            {"role": "user", "content": "你好"},
            {"role": "assistant", "content": "您好"},
            {"role": "user", "content": QUESTION["question"]},
        ],
    )
    content = reply.choices[0].message.content or ""
    assert reply.object == "chat.completion" and reply.choices[0].finish_reason == "stop"
    assert content.startswith("人工智能产业主管部门是市工业和信息化部门[1]。")
    assert f"参考资料：\n[1] {ARTICLE_2}：“市工业和信息化部门" in content


def test_streamed_chat_completion_chunks(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="policyrag", messages=[{"role": "user", "content": QUESTION["question"]}], stream=True
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[-1].choices[0].finish_reason == "stop"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.startswith("人工智能产业主管部门是市工业和信息化部门[1]。") and ARTICLE_2 in text
    assert len([c for c in chunks if c.choices[0].delta.content]) >= 3  # sent in pieces


def test_extractive_model_and_content_parts(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="policyrag-extractive",
        messages=[{"role": "user", "content": [{"type": "text", "text": "伦理委员会履行哪些职责"}]}],
    )
    assert "伦理" in (reply.choices[0].message.content or "")


def test_unknown_model_is_404_in_openai_shape(client: openai.OpenAI, base_url: str) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert "gpt-4o" in str(err.value)
    body = httpx.post(f"{base_url}/v1/chat/completions", json={"model": "gpt-4o", "messages": [
        {"role": "user", "content": "x"}]}).json()
    assert set(body["error"]) == {"message", "type", "param", "code"} and body["error"]["code"] == "model_not_found"


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": "问" * 501}],
        [{"role": "user", "content": "x" * 150_000}, {"role": "user", "content": "y" * 60_000}],
        [{"role": "system", "content": "只有系统消息"}],
        [{"role": "user", "content": "\x00"}],
    ],
)
def test_oversized_or_empty_messages_are_400(client: openai.OpenAI, messages: list[dict[str, str]]) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="policyrag", messages=messages)  # type: ignore[arg-type]


def test_malformed_request_is_400_in_openai_shape(base_url: str) -> None:
    body = httpx.post(f"{base_url}/v1/chat/completions", json={"model": "policyrag", "messages": "hi"}).json()
    assert body["error"]["type"] == "invalid_request_error" and body["error"]["param"] == "messages"


def test_token_rules_apply_when_a_token_is_set(index_dir: Path) -> None:
    with live_server(make_app(index_dir, ScriptedGen(), api_token="s3cret")) as url:
        anonymous = openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            anonymous.models.list()
        authorised = openai.OpenAI(base_url=f"{url}/v1", api_key="s3cret", max_retries=0)
        assert authorised.models.list().data[0].id == "policyrag"
        # The page's header works for /v1 too; /api accepts the bearer token as well.
        assert httpx.get(f"{url}/v1/models", headers={"X-API-Token": "s3cret"}).status_code == 200
        assert httpx.get(f"{url}/api/search?q=主管部门", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def _result(**kw: object) -> AnswerResult:
    base: dict[str, object] = {
        "question": "q", "answer": "根据现有资料无法回答该问题。", "abstained": True, "citations": (), "unsupported": (),
        "model": "m", "took_ms": 1.0, "first_token_ms": None,
    }
    return AnswerResult(**{**base, **kw})  # type: ignore[arg-type]


def test_reply_text_for_abstentions_with_and_without_partial() -> None:
    assert reply_text(_result()) == "根据现有资料无法回答该问题。（未找到可靠依据，已拒答）"

    from types import SimpleNamespace

    # The answer result as the lead's change will shape it: abstained, with a partial part.
    related = [Citation(1, ARTICLE_2, "示范", "第二条", "负责统筹协调。", "c")]
    partial = SimpleNamespace(question="q", answer="资料未载明委员会主任。", abstained=True, citations=(),
                              partial={"missing": "委员会主任", "related": related})
    text = reply_text(partial)  # type: ignore[arg-type]
    assert text.startswith("资料未规定委员会主任，无法回答该问题（已拒答）。")
    assert f"以下相关规定不回答该问题，仅供参考：\n[1] {ARTICLE_2}：“负责统筹协调。”" in text
    assert "资料未载明委员会主任。" not in text  # the partial answer's own text is not repeated


def test_reply_pieces_keep_the_text() -> None:
    text = "第一句。第二句！\n[1] 引用"
    assert "".join(reply_pieces(text)) == text and len(reply_pieces(text)) == 4
