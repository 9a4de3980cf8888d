"""The one benchmark report: eval/reports/benchmark.md, its PNG plots, and the README's benchmark section.

    python -m eval.report [--reports eval/reports] [--readme README.md] [--no-readme]

Reads whichever evaluation JSONs exist in the reports folder (performance, statutes, baselines, dev retrieval,
dev answers); a missing one becomes a "not run (reason)" section. The README is changed only between the
markers ``<!-- benchmark:start -->`` and ``<!-- benchmark:end -->``. Rendering is pure (``render_*`` take the
loaded dicts and return Markdown); ``write_report`` is the thin writer.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.report.perf import render_machine, render_performance
from eval.report.sections import render_answers, render_baselines, render_dev_retrieval, render_statutes

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- benchmark:start -->", "<!-- benchmark:end -->"
BENCHMARK_MD, RECALL_PNG, LATENCY_PNG = "benchmark.md", "recall_curves.png", "latency.png"

# Report name → (file, command that writes it); a "command" field inside the JSON takes precedence.
SOURCES: dict[str, tuple[str, str]] = {
    "statutes": ("statutes.json", "policyrag eval statutes"),
    "baselines": ("baselines.json", "policyrag eval baselines"),
    "dev_retrieval": ("dev_retrieval.json", "policyrag eval --out eval/reports/dev_retrieval.json"),
    "dev_answers": ("dev_answers.json", "policyrag eval answers --out eval/reports/dev_answers.json"),
    "test_answers": (
        "test_answers.json",
        "policyrag eval answers --questions eval/data/test_questions.jsonl --out eval/reports/test_answers.json",
    ),
    "holdout_answers": (
        "holdout_answers.json",
        "policyrag eval answers --questions eval/data/holdout_questions.jsonl --out eval/reports/holdout_answers.json",
    ),
    **{
        f"{name}_{split}_answers": (
            f"{name}_{split}_answers.json",
            f"policyrag eval answers --questions eval/data/{name}_questions.jsonl --split {split} "
            f"--out eval/reports/{name}_{split}_answers.json",
        )
        for name in ("slot", "neartopic")
        for split in ("tune", "blind")
    },
    "performance": ("performance.json", "policyrag eval perf"),
}


class MarkerError(ValueError):
    """The README lacks a single, ordered pair of benchmark markers."""


@dataclass(frozen=True)
class Inputs:
    """The loaded evaluation JSONs, and why each missing one is missing."""

    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> dict[str, Any] | None:
        """The loaded JSON of report ``name``, or None."""
        return self.data.get(name)

    def reason(self, name: str) -> str:
        """Why report ``name`` is missing."""
        return self.missing.get(name, "no results")


def load_inputs(folder: Path) -> Inputs:
    """Read every known report JSON in ``folder``; absent or unreadable ones are recorded with a reason."""
    inputs = Inputs()
    for name, (filename, command) in SOURCES.items():
        path = folder / filename
        if not path.is_file():
            inputs.missing[name] = f"{filename} not found; produce it with `{command}`"
            continue
        try:
            inputs.data[name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            inputs.missing[name] = f"{filename} is unreadable: {exc}"
    return inputs


# Modules that moved when eval/ was split into suites, report and studies (issue 16). A JSON written before
# records the old path; the report shows the path that runs today, and the JSON stays as it was written.
_SUITES = "baselines faults incremental ingest_bench load_test perf perf_build soak"
_STUDIES = "answer_calibration dense_threshold fusion_study"
MOVED_MODULES = {
    **{f"eval.{name}": f"eval.suites.{name}" for name in _SUITES.split()},
    **{f"eval.{name}": f"eval.studies.{name}" for name in _STUDIES.split()},
}
_MODULE_ARG = re.compile(r"(?<=-m )eval\.\w+\b")


def current_command(command: str) -> str:
    """``command`` with a moved ``-m eval.X`` module named by its current path; anything else unchanged."""
    return _MODULE_ARG.sub(lambda m: MOVED_MODULES.get(m.group(0), m.group(0)), command)


def command_of(name: str, data: Mapping[str, Any] | None) -> str:
    """The command that produced report ``name`` (as it runs today: see ``MOVED_MODULES``)."""
    recorded = (data or {}).get("command")
    return current_command(str(recorded)) if recorded else SOURCES[name][1]


# Question sets besides dev: (report name, label). The test set was written blind but then used for error
# analysis (it motivated the place-name checks); the holdout set was written after all tuning, blind.
ANSWER_SETS = (
    ("test_answers", "test (written blind, used for error analysis)"),
    ("holdout_answers", "holdout (blind)"),
    ("slot_tune_answers", "slot questions, tune part (in-corpus slots; checks tuned on it)"),
    ("slot_blind_answers", "slot questions, blind part (run once)"),
    ("neartopic_tune_answers", "near-topic, tune part (details the corpus lacks)"),
    ("neartopic_blind_answers", "near-topic, blind part (run once)"),
)


def answer_sets(inputs: Inputs) -> list[tuple[str, dict[str, Any] | None, str]]:
    """The non-dev answer reports, labelled, for render_answers."""
    return [(label, inputs.get(name), inputs.reason(name)) for name, label in ANSWER_SETS]


def render_commands(inputs: Inputs) -> str:
    """Table: each report file, whether it is present, and the command that produces it."""
    rows = []
    for name, (filename, _) in SOURCES.items():
        present = "yes" if inputs.get(name) is not None else "**missing**"
        rows.append(f"| `eval/reports/{filename}` | {present} | `{command_of(name, inputs.get(name))}` |")
    return "\n".join(
        [
            "| result | present | command |",
            "|---|---|---|",
            *rows,
            "| `eval/reports/benchmark.md`, PNGs, README section | | `policyrag eval report` |",
        ]
    )


def _plots(prefix: str, plots: Mapping[str, bool]) -> str:
    shown = [f"![{alt}]({prefix}{png})" for png, alt in ((RECALL_PNG, "recall@k curves"), (LATENCY_PNG, "latency"))]
    return "\n\n".join(s for s, png in zip(shown, (RECALL_PNG, LATENCY_PNG), strict=True) if plots.get(png))


def render_benchmark(inputs: Inputs, plots: Mapping[str, bool]) -> str:
    """The whole of eval/reports/benchmark.md."""
    perf = inputs.get("performance")
    sections = [
        "# policyrag benchmark report",
        "",
        "Generated by `policyrag eval report` from the JSON results in this folder; do not edit by hand. "
        + render_machine(perf),
        "",
        render_statutes(inputs.get("statutes"), inputs.reason("statutes")),
        "",
        render_baselines(inputs.get("baselines"), inputs.reason("baselines")),
        "",
        _plots("", {RECALL_PNG: plots.get(RECALL_PNG, False)}) or "Recall curves: not plotted (no recall curves).",
        "",
        render_dev_retrieval(inputs.get("dev_retrieval"), inputs.reason("dev_retrieval")),
        "",
        render_answers(
            inputs.get("dev_answers"),
            inputs.reason("dev_answers"),
            others=answer_sets(inputs),
        ),
        "",
        render_performance(perf, inputs.reason("performance")),
        "",
        _plots("", {LATENCY_PNG: plots.get(LATENCY_PNG, False)}) or "Latency plot: not plotted (no latency samples).",
        "",
        "## How each result was produced",
        "",
        render_commands(inputs),
    ]
    return "\n".join(sections).rstrip() + "\n"


def render_readme_section(inputs: Inputs, plots: Mapping[str, bool], *, reports_link: str = "eval/reports/") -> str:
    """The compact README version: headline tables, links to the full report and the plots, how to reproduce."""
    perf = inputs.get("performance")
    parts = [
        "<!-- generated by `policyrag eval report` from eval/reports/*.json: edit the generator, not this text -->",
        "",
        f"Full report with every table, where the indexing time goes and the GPU path: "
        f"[`{reports_link}{BENCHMARK_MD}`]({reports_link}{BENCHMARK_MD}). " + render_machine(perf),
        "",
        render_statutes(inputs.get("statutes"), inputs.reason("statutes"), level=3, compact=True),
        "",
        render_baselines(inputs.get("baselines"), inputs.reason("baselines"), level=3, compact=True),
        "",
        render_dev_retrieval(inputs.get("dev_retrieval"), inputs.reason("dev_retrieval"), level=3),
        "",
        render_answers(
            inputs.get("dev_answers"),
            inputs.reason("dev_answers"),
            level=3,
            others=answer_sets(inputs),
        ),
        "",
        render_performance(perf, inputs.reason("performance"), level=3, compact=True),
    ]
    shown = _plots(reports_link, plots)
    if shown:
        parts += ["", shown]
    parts += [
        "",
        "Reproduce (each command writes one JSON under `eval/reports/`; the last renders this section and the "
        "full report):",
        "",
        "```bash",
        *(command_of(name, inputs.get(name)) for name in SOURCES),
        "policyrag eval report",
        "```",
    ]
    return "\n".join(parts).strip() + "\n"


def replace_between_markers(text: str, body: str) -> str:
    """``text`` with everything between the benchmark markers replaced by ``body``; the rest is untouched."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise MarkerError(
            f"the README needs exactly one {START} followed by one {END} around the benchmark section "
            f"(found {text.count(START)} start and {text.count(END)} end markers)"
        )
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{body.strip()}\n{END}{tail}"


def write_report(reports: Path, readme: Path | None) -> list[Path]:
    """Write benchmark.md and the PNGs into ``reports`` and (unless None) the README section; returns paths.

    The README's markers are checked before anything is written, so a README without them changes nothing.
    """
    from eval.report.plots import plot_latency, plot_recall_curves

    inputs = load_inputs(reports)
    readme_text = readme.read_text(encoding="utf-8") if readme is not None else None
    if readme_text is not None:
        replace_between_markers(readme_text, "")
    plots = {
        RECALL_PNG: plot_recall_curves(inputs.data, reports / RECALL_PNG),
        LATENCY_PNG: plot_latency(inputs.get("performance"), reports / LATENCY_PNG),
    }
    written = [reports / png for png, ok in plots.items() if ok]
    (reports / BENCHMARK_MD).write_text(render_benchmark(inputs, plots), encoding="utf-8")
    written.append(reports / BENCHMARK_MD)
    if readme is not None and readme_text is not None:
        link = Path(os.path.relpath(reports.resolve(), readme.resolve().parent)).as_posix() + "/"
        section = render_readme_section(inputs, plots, reports_link=link)
        readme.write_text(replace_between_markers(readme_text, section), encoding="utf-8")
        written.append(readme)
    return written


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m eval.report", description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=Path, default=ROOT / "eval" / "reports")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--no-readme", action="store_true", help="do not touch the README")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    inputs = load_inputs(args.reports)
    for name, why in inputs.missing.items():
        print(f"skipped {name}: {why}")
    try:
        written = write_report(args.reports, None if args.no_readme else args.readme)
    except MarkerError as exc:
        parser.exit(2, f"eval.report: error: {args.readme}: {exc}\n")
    for path in written:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
