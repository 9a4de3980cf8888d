"""CLI input hardening (issue 13, items 6, 7, 10) and the brief export commands, through the real parser."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from docx import Document

from policyrag.cli import main
from policyrag.settings import Settings, load_settings
from tests import test_cli
from tests.test_cli import _Gen, run

# The fixtures of test_cli.py (fake embedder registry, an index of the tiny corpus, an open retrieval gate).
fake_registry = test_cli.fake_registry
built_index = test_cli.built_index
open_gate = test_cli.open_gate


def run_bytes(argv: list[str], data: bytes) -> tuple[int, str]:
    """Like ``run`` but stdin is a real byte stream underneath (as sys.stdin is)."""
    out = io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    return main(argv, out=out, stdin=stdin), out.getvalue()


def test_search_query_over_the_api_limit_is_refused(built_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(["search", "人" * 501, "--index", str(built_index)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("policyrag: error: the query is too long (501 characters; at most 500)")


def test_ask_question_over_the_limit_is_refused(built_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(["ask", "问" * 20_000, "--no-llm", "--index", str(built_index)])
    assert code == 2 and "too long" in capsys.readouterr().err


def test_jsonl_long_and_nul_lines_are_per_line_errors(built_index: Path) -> None:
    code, out = run(["search", "--jsonl", "--index", str(built_index), "-k", "1"], stdin="x" * 600 + "\n\x00\n伦理委员会\n")
    rows = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and len(rows) == 3
    assert "too long" in rows[0]["error"] and rows[1]["error"] == "the query is empty"
    assert rows[2]["results"]


def test_jsonl_invalid_utf8_line_is_reported_and_later_lines_kept(built_index: Path) -> None:
    data = "伦理委员会\n".encode() + b"\xff\xfe bad\n" + "芯片优势\n".encode()
    code, out = run_bytes(["search", "--jsonl", "--index", str(built_index), "-k", "1"], data)
    rows = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and len(rows) == 3
    assert rows[0]["results"] and rows[2]["results"]
    assert rows[1]["error"].startswith("line 2 is not valid UTF-8") and "query" in rows[1]


def test_nul_only_query_is_empty(built_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(["search", "\x00\x00", "--index", str(built_index)])
    assert code == 2 and "the query is empty" in capsys.readouterr().err


def test_unknown_type_is_refused(built_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(["search", "主管部门", "--type", "law", "--index", str(built_index)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("policyrag: error: unknown --type 'law'; valid: regulation")


def test_non_utf8_config_file_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.toml"
    config.write_bytes('embedder = "自动"\n'.encode("gb18030"))
    code, _ = run(["search", "x", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("policyrag: error: config file") and "not UTF-8" in err
    assert "Traceback" not in err


def test_list_env_vars_take_comma_separated_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYRAG_CORS_ORIGINS", "http://a.example, http://b.example")
    monkeypatch.setenv("POLICYRAG_CORPUS", "docs/a,docs/b")
    settings = load_settings()
    assert settings.cors_origins == ["http://a.example", "http://b.example"]
    assert settings.corpus == [Path("docs/a"), Path("docs/b")]
    monkeypatch.setenv("POLICYRAG_CORS_ORIGINS", '["http://c.example"]')
    assert load_settings().cors_origins == ["http://c.example"]


def test_bad_list_env_var_is_one_line_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("POLICYRAG_CORS_ORIGINS", "[not json")
    code, _ = run(["search", "x"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("policyrag: error:") and "cors_origins" in err and "Traceback" not in err


def test_unknown_device_is_one_line_error(tmp_path: Path, tiny_corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(["index", str(tiny_corpus), "--index", str(tmp_path / "i"), "--device", "tpu", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("policyrag: error: invalid setting device") and "cpu, cuda" in err


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_settings_reject_inf_and_nan(value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="finite"):
        Settings(abstain_min_dense=float(value))
    monkeypatch.setenv("POLICYRAG_DENSE_WEIGHT", value)
    code, _ = run(["search", "x"])
    assert code == 2 and "dense_weight" in capsys.readouterr().err


# --- briefs from the command line -------------------------------------------------------------------------


def _chunk_ids(index: Path, query: str, k: int) -> list[str]:
    code, out = run(["search", query, "--json", "-k", str(k), "--index", str(index)])
    assert code == 0
    return [r["chunk_id"] for r in json.loads(out)["results"]]


def test_cite_writes_a_docx_with_the_articles_in_order(built_index: Path, tmp_path: Path) -> None:
    ids = _chunk_ids(built_index, "伦理委员会", 3)
    target = tmp_path / "brief.docx"
    code, _ = run(["cite", *ids, "-o", str(target), "--index", str(built_index)])
    assert code == 0
    text = "\n".join(p.text for p in Document(str(target)).paragraphs)
    code, out = run(["search", "伦理委员会", "--json", "-k", "3", "--index", str(built_index)])
    citations = [r["citation"] for r in json.loads(out)["results"]]
    positions = [text.find(c + ("规定" if "条例》" in c else "")) for c in citations]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    assert text.rstrip().split("\n")[-len(set(c.split("》")[0] for c in citations)) - 1] == "资料来源"


def test_cite_markdown_on_stdout_and_unknown_id(built_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = _chunk_ids(built_index, "主管部门", 1)
    code, out = run(["cite", ids[0], "--index", str(built_index)])
    assert code == 0 and out.startswith("# 政策依据摘编") and "## 资料来源" in out
    code, _ = run(["cite", "nope", "--index", str(built_index)])
    assert code == 2 and "no unit 'nope'" in capsys.readouterr().err
    code, _ = run(["cite", ids[0], "-o", "brief.pdf", "--index", str(built_index)])
    assert code == 2 and "cannot tell the export format" in capsys.readouterr().err


def test_ask_export_writes_the_answer_and_its_quotes(
    built_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_gate: None
) -> None:
    import models.generators

    monkeypatch.setattr(models.generators, "create_generator", lambda *a, **k: _Gen())
    target = tmp_path / "answer.md"
    code, _ = run(["ask", "產業主管部門是哪個部門？", "--index", str(built_index), "--export", str(target)])
    assert code == 0
    md = target.read_text(encoding="utf-8")
    assert "## 一、问：產業主管部門是哪個部門？" in md
    assert "答：人工智能产业主管部门是市工业和信息化部门[1]。" in md
    assert "> [1] 《示范人工智能促进条例》第二条规定：“" in md


def test_ask_export_checks_the_file_name_first(built_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(["ask", "主管部门", "--no-llm", "--index", str(built_index), "--export", "answer.pdf"])
    assert code == 2 and "use a .docx or .md name" in capsys.readouterr().err
