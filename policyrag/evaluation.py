"""``policyrag eval``: the benchmark suites and the report, one command each or all in one run.

Each suite is a module of ``eval/suites/`` (``SUITE_MODULES``) and writes one JSON under ``eval/reports/``;
``report`` (``eval/report/``) renders Markdown, PNG plots and the README section from them; ``all`` runs every
suite but ``soak``, ``incremental`` and ``faults``, then the report. Suites that need ``../shared/datasets``
skip with a message when it is absent. The studies of ``eval/studies/`` are not suites: they run on their own
(``python -m eval.studies.NAME``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
from pathlib import Path
from typing import Any, TextIO

from policyrag.answering import open_answerer
from policyrag.common import CLIError, open_searcher, settings_from_args
from policyrag.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

SUITES = (
    "retrieval",
    "answers",
    "statutes",
    "baselines",
    "perf",
    "ingest",
    "report",
    "soak",
    "incremental",
    "faults",
    "all",
)
DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"
DEFAULT_LAWS = DATASETS / "laws"
DEFAULT_STARD = DATASETS / "stard" / "train.jsonl"
DEFAULT_FORMATS = DATASETS / "formats"
DEFAULT_REPORTS = PROJECT_ROOT / "eval" / "reports"
DEFAULT_WORK = PROJECT_ROOT / "eval" / ".cache"
DATA_DIR = PROJECT_ROOT / "eval" / "data"

# Suite → (where it lives, what it measures), for the help; a test checks every path exists.
SUITE_MODULES: dict[str, tuple[str, str]] = {
    "retrieval": ("eval/suites/retrieval.py", "a question set over the index: BM25, dense, hybrid recall; latency"),
    "answers": ("eval/suites/answers.py", "a question set through the answer pipeline: gold cited, abstention"),
    "statutes": ("eval/suites/statute_bench.py", "STARD over the law collection → statutes.json"),
    "baselines": ("eval/suites/baselines.py", "typical RAG vs ours, and the ablation → baselines.json"),
    "perf": ("eval/suites/perf.py", "build, size, latency, memory at both scales → performance.json"),
    "ingest": ("eval/suites/ingest_bench.py", "format readers' throughput → ingest.json"),
    "incremental": ("eval/suites/incremental.py", "full vs incremental builds → incremental_corpus.json"),
    "faults": ("eval/suites/faults.py", "kill -9, concurrent builds, damaged files → faults.json"),
    "soak": ("eval/suites/soak.py", "mixed traffic on a fresh server → soak.json"),
    "report": ("eval/report/", "benchmark.md, PNG plots, the README's benchmark section"),
}


def eval_description() -> str:
    """The help's text: where each suite lives and what it writes."""
    rows = [f"  {name:<12} {path:<30} {what}" for name, (path, what) in SUITE_MODULES.items()]
    return "\n".join(
        [
            "Benchmarks. Each suite is a module of eval/suites/ and writes one JSON under eval/reports/; the",
            "report (eval/report/) renders them. Studies (eval/studies/) are not suites: python -m eval.studies.NAME.",
            "",
            "suites:",
            *rows,
            f"  {'all':<12} {'':<30} every suite but soak, incremental and faults, then the report",
        ]
    )


def add_eval_parser(sub: Any, add_common: Any) -> None:
    """Register ``policyrag eval`` on the CLI's subparsers."""
    p = sub.add_parser(
        "eval",
        help="benchmarks: dev set, statute set, baselines, performance, report",
        description=eval_description(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("suite", nargs="?", default="retrieval", choices=SUITES, help="what to measure (default: retrieval)")
    p.add_argument("--no-llm", action="store_true", help="answers: extractive, no model")
    p.add_argument("--limit", type=int, help="answers: only the first N in-corpus (and N/4 out-of-corpus) questions")
    p.add_argument("--questions", type=Path, help="JSONL dev question file (default: eval/data/dev_questions.jsonl)")
    p.add_argument("--split", choices=("tune", "blind"), help="answers: only this part of a slot/near-topic set")
    p.add_argument("--out", type=Path, help="retrieval/answers/statutes: write the JSON results here")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--laws", type=Path, default=DEFAULT_LAWS, help="law collection folder (default: %(default)s)")
    p.add_argument("--stard", type=Path, default=DEFAULT_STARD, help="STARD questions (default: %(default)s)")
    p.add_argument("--reports", type=Path, default=DEFAULT_REPORTS, help="report folder (default: eval/reports)")
    p.add_argument(
        "--work-dir", type=Path, default=DEFAULT_WORK, help="benchmark indexes, embedding cache (default: eval/.cache)"
    )
    p.add_argument(
        "--cold-build-log", type=Path, help="perf: `/usr/bin/time -v policyrag index LAWS` log of a cold build"
    )
    p.add_argument(
        "--formats", type=Path, default=DEFAULT_FORMATS, help="ingest: format fixtures (default: %(default)s)"
    )
    p.add_argument("--ocr", action="store_true", help="ingest: also time OCR of the scanned PDF")
    p.add_argument("--embedder", help="statutes/perf: embedder of the law index (default: the settings', auto)")
    p.add_argument("--no-adapter", action="store_true", help="statutes: leave out the query-adapter rows")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--minutes", type=float, default=10.0, help="soak: how long (default 10, at most 60)")
    p.add_argument("--concurrency", type=int, default=20, help="soak: concurrent clients (default 20, at most 50)")
    add_common(p)


def _missing(*paths: Path) -> str | None:
    absent = [str(p) for p in paths if not p.exists()]
    return f"skipped: {', '.join(absent)} not found (see ../shared/README.md)" if absent else None


def law_index(
    laws: Path, work_dir: Path, *, models_dir: Path, progress: bool, out: TextIO, embedder_name: str = "auto"
) -> Path:
    """The law collection's index under ``work_dir`` (``laws-index-<embedder>``), built (embeddings cached) when
    missing or stale."""
    from indexer.build import build_index, corpus_fingerprint
    from models.embedders import create_embedder, cuda_available, resolve_embedder_name
    from retriever.store import IndexStoreError, read_manifest

    name = resolve_embedder_name(embedder_name, cuda_available())
    index_dir = work_dir / f"laws-index-{name.replace('/', '_').replace(':', '_')}"
    try:
        manifest = read_manifest(index_dir)
        if manifest.corpus_fingerprint == corpus_fingerprint([laws]) and manifest.embedder == name:
            return index_dir
    except IndexStoreError:
        pass
    print(f"building the law index at {index_dir} (embeddings cached under {work_dir / '.embcache'})", file=out)
    embedder = create_embedder(name, models_dir=models_dir)
    report = build_index([laws], index_dir, embedder, progress=progress)
    print(
        f"law index: {report.stats.documents} documents ({report.stats.superseded_documents} superseded), "
        f"{report.stats.chunks} chunks, {report.manifest.build_seconds:.0f} s",
        file=out,
    )
    return index_dir


def run_statutes(args: argparse.Namespace, out: TextIO) -> int:
    """STARD over the law collection → statutes.json."""
    from eval.common.statutes import load_stard
    from eval.suites.statute_bench import evaluate_statutes, format_statutes
    from models.embedders import create_embedder
    from retriever.adapter import default_adapter_for, load_adapter
    from retriever.search import Searcher
    from retriever.store import load_index

    skip = _missing(args.laws, args.stard)
    if skip:
        print(f"statutes: {skip}", file=out)
        return 0
    settings = settings_from_args(args)
    index_dir = law_index(
        args.laws,
        args.work_dir,
        models_dir=settings.models_dir,
        progress=not args.no_progress,
        out=out,
        embedder_name=args.embedder or settings.embedder,
    )
    index = load_index(index_dir)
    embedder = create_embedder(index.manifest.embedder, models_dir=settings.models_dir)
    searcher = Searcher(index, embedder)
    adapted = None
    adapter_name = settings.query_adapter or default_adapter_for(embedder.name)
    if adapter_name and not args.no_adapter:
        adapted = Searcher(index, embedder, adapter=load_adapter(adapter_name, embedder=embedder.name))
    report = evaluate_statutes(searcher, load_stard(args.stard), progress=not args.no_progress, adapted=adapted)
    path = args.out or args.reports / "statutes.json"
    _write(path, report)
    print(format_statutes(report), file=out)
    return 0


def run_dev(args: argparse.Namespace, out: TextIO) -> int:
    """``retrieval`` or ``answers`` on the dev set."""
    from eval.common.questions import DEFAULT_QUESTIONS
    from eval.suites.retrieval import evaluate_retrieval, format_table

    settings = settings_from_args(args)
    report: Any
    if args.suite == "answers":
        from eval.suites.answers import evaluate_answers, format_answer_table

        answerer = open_answerer(settings, no_llm=args.no_llm)
        report = evaluate_answers(
            answerer, args.questions or DEFAULT_QUESTIONS, no_llm=args.no_llm, limit=args.limit, split=args.split
        )
        table = format_answer_table(report)
    else:
        report = evaluate_retrieval(open_searcher(settings), args.questions or DEFAULT_QUESTIONS)
        table = format_table(report)
    if args.out:
        _write(args.out, report.to_dict())
    print(table, file=out)
    return 0


def run_baselines(args: argparse.Namespace, out: TextIO) -> int:
    """Typical RAG vs ours, and the ablation → baselines.json."""
    from eval.suites import baselines

    argv = ["--out", str(args.reports / "baselines.json"), "--laws", str(args.laws), "--stard", str(args.stard)]
    # One embedding cache for every benchmark: the subset's chunks are the law index's chunks.
    argv += ["--corpus", str(PROJECT_ROOT / "corpus"), "--cache-dir", str(args.work_dir / ".embcache")]
    return baselines.main(argv)


def run_perf(args: argparse.Namespace, out: TextIO) -> int:
    """Build/latency/memory at both scales → performance.json."""
    from eval.suites import perf

    argv = ["--out", str(args.reports / "performance.json"), "--laws", str(args.laws), "--stard", str(args.stard)]
    argv += ["--work-dir", str(args.work_dir)]
    if args.cold_build_log:
        argv += ["--cold-build-log", str(args.cold_build_log)]
    perf.main(argv)
    return 0


def run_ingest(args: argparse.Namespace, out: TextIO) -> int:
    """Format readers' throughput (no embedding, no OCR unless --ocr) → ingest.json."""
    from eval.suites import ingest_bench

    skip = _missing(args.formats)
    if skip:
        print(f"ingest: {skip}", file=out)
        return 0
    report = ingest_bench.run(args.formats, ocr=args.ocr)
    _write(args.out or args.reports / "ingest.json", report)
    print(ingest_bench.format_report(report), file=out)
    return 0


def run_report(args: argparse.Namespace, out: TextIO) -> int:
    """Markdown report, plots and the README section from the JSON files."""
    from eval.report import render

    render.main(["--reports", str(args.reports)])
    return 0


def run_soak(args: argparse.Namespace, out: TextIO) -> int:
    """Mixed traffic against a fresh loopback server for --minutes → soak.json (not part of ``all``)."""
    from eval.suites.soak import format_soak
    from eval.suites.soak import run_soak as soak

    settings = settings_from_args(args)
    try:
        report = soak(
            settings.index_dir,
            minutes=args.minutes,
            concurrency=args.concurrency,
            no_llm=args.no_llm,
            log_dir=args.work_dir,
        )
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    _write(args.out or args.reports / "soak.json", report)
    print(format_soak(report), file=out)
    return 0


def run_incremental(args: argparse.Namespace, out: TextIO) -> int:
    """Full vs incremental build timings on corpus/ → incremental_corpus.json."""
    from eval.suites import incremental

    return incremental.main(["--out", str(args.reports / "incremental_corpus.json")])


def run_faults(args: argparse.Namespace, out: TextIO) -> int:
    """kill -9, concurrent builds and damaged index files through the real CLI → faults.json."""
    from eval.suites import faults

    return faults.main(["--out", str(args.reports / "faults.json"), "--work-dir", str(args.work_dir / "faults")])


def cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    """``policyrag eval SUITE``."""
    if args.limit is not None and args.limit < 1:
        raise CLIError("--limit must be at least 1")
    if args.suite in ("retrieval", "answers"):
        return run_dev(args, out)
    runners = {
        "statutes": run_statutes,
        "baselines": run_baselines,
        "perf": run_perf,
        "ingest": run_ingest,
        "report": run_report,
        "soak": run_soak,
        "incremental": run_incremental,
        "faults": run_faults,
    }
    if args.suite != "all":
        return runners[args.suite](args, out)
    for suite in ("retrieval", "answers"):
        print(f"== eval {suite}", file=out)
        run_dev(_with(args, suite=suite, out=args.reports / f"dev_{suite}.json", markdown=True), out)
    for name in ("test", "holdout"):  # the answer sets kept out of calibration (eval/data/README.md)
        print(f"== eval answers on {name}_questions.jsonl", file=out)
        questions = DATA_DIR / f"{name}_questions.jsonl"
        run_dev(_with(args, suite="answers", questions=questions, out=args.reports / f"{name}_answers.json"), out)
    for name, split in itertools.product(("slot", "neartopic"), ("tune", "blind")):
        print(f"== eval answers on {name}_questions.jsonl ({split})", file=out)
        questions = DATA_DIR / f"{name}_questions.jsonl"
        target = args.reports / f"{name}_{split}_answers.json"
        run_dev(_with(args, suite="answers", questions=questions, split=split, out=target), out)
    for suite in ("statutes", "baselines", "perf", "ingest", "report"):
        print(f"== eval {suite}", file=out)
        code = runners[suite](_with(args, suite=suite, out=None), out)
        if code:
            return code
    return 0


def _with(args: argparse.Namespace, **changes: object) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), **changes})


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    logger.info("wrote %s", path)
