"""CLI tests through the real parser and main(), with the fake embedder swapped into the registry."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import models.embedders
from policyrag.cli import build_parser, main
from tests.conftest import FakeEmbedder, overlap_logprob


@pytest.fixture()
def fake_registry(monkeypatch: pytest.MonkeyPatch) -> FakeEmbedder:
    """Every embedder name resolves to one shared fake (the CLI imports create_embedder lazily)."""
    fake = FakeEmbedder()

    def create(name: str, **_: object) -> FakeEmbedder:
        return fake

    monkeypatch.setattr(models.embedders, "create_embedder", create)
    return fake


def run(argv: list[str], stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, out=out, stdin=io.StringIO(stdin))
    return code, out.getvalue()


@pytest.fixture()
def built_index(tmp_path: Path, tiny_corpus: Path, fake_registry: FakeEmbedder) -> Path:
    index = tmp_path / "idx"
    code, out = run(["index", str(tiny_corpus), "--index", str(index), "--no-progress"])
    assert code == 0, out
    return index


def test_parser_defaults() -> None:
    args = build_parser().parse_args(["search", "主管部门"])
    assert args.command == "search" and args.k == 10 and args.mode == "hybrid" and not args.json


def test_parser_rejects_unknown_mode() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["search", "x", "--mode", "magic"])


def test_index_summary_counts_merges(tmp_path: Path, tiny_corpus: Path, fake_registry: FakeEmbedder) -> None:
    code, out = run(["index", str(tiny_corpus), "--index", str(tmp_path / "i"), "--no-progress"])
    assert code == 0
    assert "4 files" in out and "duplicate copies merged" in out and "1 mojibake lines" in out


def test_index_if_changed_skips_then_rebuilds(tmp_path: Path, tiny_corpus: Path, fake_registry: FakeEmbedder) -> None:
    index = tmp_path / "i"
    assert run(["index", str(tiny_corpus), "--index", str(index), "--no-progress"])[0] == 0
    code, out = run(["index", str(tiny_corpus), "--index", str(index), "--if-changed", "--no-progress"])
    assert code == 0 and "up to date" in out
    (tiny_corpus / "e_new.txt").write_text("新文件\n第一条 新的规定内容。\n第二条 另一条。\n第三条 再一条。\n", encoding="utf-8")
    code, out = run(["index", str(tiny_corpus), "--index", str(index), "--if-changed", "--no-progress"])
    assert code == 0 and "indexed 5 files" in out


def test_search_traditional_query_finds_article_once(built_index: Path) -> None:
    code, out = run(["search", "產業主管部門是哪個部門", "--index", str(built_index), "--json", "-k", "5"])
    assert code == 0
    payload = json.loads(out)
    assert set(payload) == {"query", "took_ms", "results"}
    top = payload["results"][0]
    assert top["citation"] == "《示范人工智能促进条例》第二条"
    assert top["article"] == "第二条"
    assert set(top["sources"]) == {"a_scrape.txt", "b_clean.txt", "c_traditional.txt"}
    assert set(top) == {
        "rank", "score", "chunk_id", "doc_id", "doc_title", "doc_type", "article", "citation", "text", "sources",
    }
    citations = [r["citation"] for r in payload["results"]]
    assert len(citations) == len(set(citations))


def test_search_human_output(built_index: Path) -> None:
    code, out = run(["search", "伦理委员会职责", "--index", str(built_index), "-k", "3"])
    assert code == 0
    assert out.lstrip().startswith("1.") and "《示范人工智能促进条例》" in out and "ms)" in out


def test_search_jsonl_keeps_order_and_reports_bad_lines(built_index: Path) -> None:
    code, out = run(["search", "--jsonl", "--index", str(built_index), "-k", "2"], stdin="伦理委员会\n\n芯片优势\n")
    assert code == 0
    lines = [json.loads(x) for x in out.splitlines()]
    assert [x["query"] for x in lines] == ["伦理委员会", "", "芯片优势"]
    assert lines[1]["error"] == "the query is empty"
    assert len(lines[0]["results"]) == 2


def test_search_filter_by_doc(built_index: Path) -> None:
    code, out = run(["documents", "--index", str(built_index), "--json"])
    docs = {d["title"]: d["doc_id"] for d in json.loads(out)}
    plan = docs["示范新一代人工智能发展行动计划（2019-2023年）"]
    code, out = run(["search", "人工智能", "--index", str(built_index), "--doc", plan, "--json"])
    assert code == 0
    assert {r["doc_id"] for r in json.loads(out)["results"]} == {plan}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "   "], "the query is empty"),
        (["search", "x", "-k", "0"], "-k must be between 1 and 50"),
        (["search", "x", "--doc", "nope"], "unknown document id"),
    ],
)
def test_search_bad_input_is_one_line_error(
    built_index: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run([*argv, "--index", str(built_index)])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_index_is_clear(tmp_path: Path, fake_registry: FakeEmbedder, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(["search", "主管部门", "--index", str(tmp_path / "none")])
    err = capsys.readouterr().err
    assert code == 2 and "no index at" in err and "policyrag index" in err


def test_unreadable_path_is_clear(tmp_path: Path, fake_registry: FakeEmbedder, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(["index", str(tmp_path / "missing"), "--index", str(tmp_path / "i")])
    assert code == 2 and "no such file or folder" in capsys.readouterr().err


def test_binary_file_is_clear(tmp_path: Path, fake_registry: FakeEmbedder, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.txt").write_bytes(b"\x00\x01\x02binary")
    code, _ = run(["index", str(tmp_path / "bad.txt"), "--index", str(tmp_path / "i")])
    assert code == 2 and "binary" in capsys.readouterr().err


def test_bad_config_file_is_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("fusion = 'magic'\n", encoding="utf-8")
    code, _ = run(["search", "x", "--config", str(cfg)])
    err = capsys.readouterr().err
    assert code == 2 and "fusion" in err


def test_unknown_model_asset(capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(["models", "status", "nope"])
    assert code == 2 and "valid:" in capsys.readouterr().err


class _Gen:
    name = "scripted"
    context_window = 4096

    def count_tokens(self, text: str) -> int:
        return len(text)

    def text_logprob(self, prefix: str, text: str) -> float:
        return overlap_logprob(prefix, text)

    def generate(self, messages: object, **_: object):  # type: ignore[no-untyped-def]
        yield "人工智能产业主管部门是市工业和信息化部门。"


@pytest.fixture()
def open_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake embedder's similarities are not e5's: let every question through the retrieval gate."""
    for name in ("MIN_DENSE", "MIN_COVERAGE", "SURE_DENSE"):
        monkeypatch.setenv(f"POLICYRAG_ABSTAIN_{name}", "0")


def test_ask_json_with_scripted_model(built_index: Path, monkeypatch: pytest.MonkeyPatch, open_gate: None) -> None:
    import models.generators

    monkeypatch.setattr(models.generators, "create_generator", lambda *a, **k: _Gen())
    code, out = run(["ask", "產業主管部門是哪個部門？", "--index", str(built_index), "--json"])
    assert code == 0
    payload = json.loads(out)
    assert payload["abstained"] is False and payload["model"] == "scripted"
    assert payload["citations"][0]["citation"] == "《示范人工智能促进条例》第二条"
    assert payload["answer"].endswith("[1]。")


def test_ask_streams_then_prints_citations(built_index: Path, monkeypatch: pytest.MonkeyPatch, open_gate: None) -> None:
    import models.generators

    monkeypatch.setattr(models.generators, "create_generator", lambda *a, **k: _Gen())
    code, out = run(["ask", "產業主管部門是哪個部門？", "--index", str(built_index)])
    assert code == 0
    assert out.startswith("人工智能产业主管部门是市工业和信息化部门。")
    assert "引用：" in out and "[1] 《示范人工智能促进条例》第二条" in out


def test_ask_shows_a_partial_answer_as_such(built_index: Path, monkeypatch: pytest.MonkeyPatch, open_gate: None) -> None:
    import models.generators

    monkeypatch.setattr(models.generators, "create_generator", lambda *a, **k: _Gen())
    code, out = run(["ask", "伦理委员会的主任是谁？", "--index", str(built_index)])
    assert code == 0
    assert out.startswith("【资料未规定】主任") and "相关规定（不回答该问题，仅供参考）：" in out
    assert "引用：" not in out
    code, out = run(["ask", "伦理委员会的主任是谁？", "--index", str(built_index), "--json"])
    payload = json.loads(out)
    assert payload["abstained"] is True and payload["partial"]["missing"] == "主任"


def test_ask_without_model_file_warns_and_answers_extractively(
    built_index: Path, tmp_path: Path, open_gate: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYRAG_MODELS_DIR", str(tmp_path / "no-models"))
    code, out = run(["ask", "伦理委员会履行哪些职责", "--index", str(built_index), "--json"])
    assert code == 0
    assert "warning" in capsys.readouterr().err
    assert json.loads(out)["model"] == "extractive"


def test_ask_jsonl_no_llm(built_index: Path, open_gate: None) -> None:
    code, out = run(["ask", "--jsonl", "--no-llm", "--index", str(built_index)], stdin="伦理委员会职责\n\n")
    rows = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and len(rows) == 2
    assert rows[0]["model"] == "extractive" and rows[1]["error"] == "the question is empty"


def test_ask_bad_k(built_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(["ask", "x", "-k", "99", "--index", str(built_index)])
    assert code == 2 and "-k must be between 1 and 20" in capsys.readouterr().err


def test_serve_refuses_non_loopback(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLICYRAG_API_TOKEN", raising=False)
    code, _ = run(["serve", "--host", "0.0.0.0"])
    assert code == 2 and "--allow-remote" in capsys.readouterr().err
    code, _ = run(["serve", "--host", "0.0.0.0", "--allow-remote"])
    assert code == 2 and "POLICYRAG_API_TOKEN" in capsys.readouterr().err
