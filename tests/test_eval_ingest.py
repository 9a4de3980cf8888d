"""The ingest throughput benchmark runs on any folder of documents and reports pages/s and files/s."""

from __future__ import annotations

import io
import json
from pathlib import Path

from eval.suites.ingest_bench import format_report, run
from policyrag.cli import main
from tests.format_fixtures import gazette_pdf, gongwen_docx


def test_ingest_benchmark_on_generated_documents(tmp_path: Path) -> None:
    (tmp_path / "gazette.pdf").write_bytes(gazette_pdf())
    (tmp_path / "notice.docx").write_bytes(gongwen_docx())
    report = run(tmp_path, min_seconds=0.0)
    rows = {r["file"]: r for r in report["files"]}
    assert rows["gazette.pdf"]["pages"] == 2 and rows["gazette.pdf"]["pages_per_s"] > 0
    assert rows["notice.docx"]["files_per_s"] > 0 and rows["notice.docx"]["pages"] is None
    assert set(report["by_format"]) == {"pdf", "docx"}
    assert "pages/s" in format_report(report)


def test_eval_ingest_command_writes_json_or_skips(tmp_path: Path) -> None:
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "notice.docx").write_bytes(gongwen_docx())
    out = io.StringIO()
    code = main(["eval", "ingest", "--formats", str(tmp_path / "f"), "--reports", str(tmp_path / "r")], out=out)
    assert code == 0 and "docx" in out.getvalue()
    assert json.loads((tmp_path / "r" / "ingest.json").read_text(encoding="utf-8"))["by_format"]["docx"]["files"] == 1
    out = io.StringIO()
    assert main(["eval", "ingest", "--formats", str(tmp_path / "nope")], out=out) == 0
    assert "ingest: skipped" in out.getvalue()
