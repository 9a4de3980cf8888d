"""Performance benchmark at corpus and law-collection scale: build, throughput, size, load, search, ask, server.

    python -m eval.suites.perf [--corpus corpus] [--laws ../shared/datasets/laws]
        [--stard ../shared/datasets/stard/train.jsonl] [--work-dir eval/.cache] [--out eval/reports/performance.json]
        [--skip-laws] [--skip-ask] [--skip-server] [--ask-questions 20] [--cold-build-log eval/.cache/cold_build.log]

Each build runs in a child process (``eval.suites.perf_build``) so its wall time and peak memory are its own; embeddings
come from the shared cache ``<work-dir>/.embcache``, so the cold embedding time is *projected* from a directly
encoded sample. Search latency is warm (after a warm-up), k=10, over real questions. The JSON is rewritten after
every part, so a crash keeps what was measured. ``python -m eval.report`` renders it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from eval.common.machine import machine_info
from eval.common.questions import SEED
from eval.common.timing import CpuMeter, latency_summary
from eval.suites.perf_build import parse_time_log
from models.embedders import Embedder

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
TARGETS = {"laws_search_p50_ms": 30, "laws_search_p95_ms": 80, "laws_index_minutes": 30}
LAWS_QUERIES = 300
SERVER_SEARCHES = 30

# (paths, index_dir) → the child's result: {"embedder", "model_load_seconds", "build": {...}, "embed_throughput"}
Builder = Callable[[Sequence[Path], Path], dict[str, Any]]


def measure_search(searcher: Any, queries: Sequence[str], *, k: int = 10, warmup: int = 5) -> dict[str, Any]:
    """Warm hybrid search latency (query embedding included) over ``queries``; the first ``warmup`` are not timed."""
    for q in list(queries)[:warmup]:
        searcher.search(q, k=k)
    samples = []
    with CpuMeter() as meter:
        for q in queries:
            started = time.perf_counter()
            searcher.search(q, k=k)
            samples.append((time.perf_counter() - started) * 1000)
    return {**latency_summary(samples), **meter.summary()}


def display_path(path: Path) -> str:
    """``path`` relative to the project when inside it (keeps the committed JSON machine-independent)."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return os.path.relpath(path.resolve(), ROOT)


def dir_mb(folder: Path) -> float:
    """Size of every file under ``folder`` in MB (10^6 bytes)."""
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6, 2)


def child_builder(embedder_name: str, *, sample: int = 256, progress: bool = True) -> Builder:
    """A Builder running ``python -m eval.suites.perf_build`` in a fresh process (its peak RSS is the build's alone)."""

    def build(paths: Sequence[Path], index_dir: Path) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "result.json"
            cmd = [sys.executable, "-m", "eval.suites.perf_build", "--index", str(index_dir)]
            cmd += ["--embedder", embedder_name]
            cmd += ["--sample", str(sample), "--out", str(out), *([] if progress else ["--no-progress"])]
            cmd += [str(p) for p in paths]
            started = time.perf_counter()
            subprocess.run(cmd, check=True, cwd=ROOT)
            result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        result["process_seconds"] = round(time.perf_counter() - started, 2)
        return result

    return build


def measure_scale(
    name: str,
    paths: Sequence[Path],
    index_dir: Path,
    queries: Sequence[str],
    *,
    build: Builder,
    embedder_for: Callable[[str], Embedder],
) -> dict[str, Any]:
    """Build, load and search one scale; returns one ``scales`` entry of the performance JSON."""
    from retriever.search import Searcher
    from retriever.store import load_index

    logger.info("%s: building %s", name, index_dir)
    child = build(paths, index_dir)
    b = child["build"]
    index = load_index(index_dir)
    searcher = Searcher(index, embedder_for(index.manifest.embedder))
    logger.info(
        "%s: %d chunks loaded in %.1f s; timing %d searches", name, len(index.chunks), index.load_seconds, len(queries)
    )
    scale: dict[str, Any] = {
        "name": name,
        "paths": [display_path(p) for p in paths],
        "embedder": child.get("embedder", index.manifest.embedder),
        "documents": b["documents"],
        "chunks": b["chunks"],
        "dense_kind": b.get("dense_kind"),
        "model_load_seconds": child.get("model_load_seconds"),
        "process_seconds": child.get("process_seconds"),
        "build": {
            k: b.get(k)
            for k in (
                "seconds",
                "embed_seconds",
                "cached_vectors",
                "embedded_vectors",
                "peak_rss_mb",
                "stages",
                "build_stages",
                "cores_busy",
                "other_cores_busy",
            )
        },
        "embed_throughput": None,
        "index_mb": dir_mb(index_dir),
        "load_seconds": round(index.load_seconds, 3),
        "search_ms": measure_search(searcher, queries) if queries else None,
    }
    thr = child.get("embed_throughput")
    if thr:
        # An empty cache: every other stage as measured (minus loading the cache, which would be empty), plus
        # embedding every chunk at the sampled rate.
        non_embed = b["seconds"] - b["embed_seconds"] - b["stages"].get("cache_load", 0.0)
        thr["projected_cold_build_seconds"] = round(non_embed + thr["projected_cold_embed_seconds"], 1)
        scale["embed_throughput"] = thr
    return scale


def measure_embedders(
    names: Sequence[str], texts: Sequence[str], embedder_for: Callable[[str], Embedder], *, sample: int
) -> list[dict[str, Any]]:
    """Passages/s of each embedder on one seeded sample of ``texts`` (encoded directly, no cache), one after another."""
    from eval.suites.perf_build import measure_throughput

    rows = []
    for name in names:
        embedder = embedder_for(name)
        # Warm-up large enough to start e5-small-int8's worker processes: their start is not throughput.
        embedder.encode_documents(list(texts[:96]))
        row = measure_throughput(embedder, texts, sample=sample)
        tokens = sum(embedder.count_tokens(t) for t in random.Random(0).sample(list(texts), min(sample, len(texts))))
        row["tokens_per_s"] = round(tokens / row["seconds"], 1)
        rows.append({"embedder": embedder.name, **row})
        logger.info("embedder %s: %.1f passages/s", embedder.name, row["chunks_per_s"])
    return rows


def _save(report: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark as configured by the command-line ``args``; writes ``args.out`` as it goes."""
    from eval.common.questions import DEFAULT_QUESTIONS, load_questions
    from eval.common.statutes import load_stard
    from eval.suites.perf_server import ServerStartError, measure_server
    from models.embedders import create_embedder
    from retriever.store import read_manifest

    started = time.perf_counter()
    embedders: dict[str, Embedder] = {}

    def embedder_for(name: str) -> Embedder:
        if name not in embedders:
            embedders[name] = create_embedder(name, models_dir=args.models_dir)
        return embedders[name]

    report: dict[str, Any] = {
        "kind": "performance",
        "command": getattr(args, "command", "python -m eval.suites.perf"),
        "machine": machine_info(),
        "skipped": [],
        "scales": [],
        "embedders": [],
        "ask": None,
        "server": [],
        "targets": TARGETS,
        "seconds": 0.0,
    }
    skipped: list[str] = report["skipped"]
    build = child_builder(args.embedder, sample=args.sample, progress=not args.no_progress)
    dev = load_questions(DEFAULT_QUESTIONS)
    work = args.work_dir
    scales: list[dict[str, Any]] = report["scales"]
    # corpus/, then the same documents as PDF/DOCX/DOC/WPS/HTML/OFD and a scanned PDF (readers and OCR dominate).
    small = [("corpus", args.corpus), ("mixed", args.formats)]
    for name, folder in small:
        if not folder.is_dir():
            skipped.append(f"{name}: {folder} not found")
            continue
        questions = [q.question for q in dev]
        scales.append(
            measure_scale(name, [folder], work / f"{name}-index", questions, build=build, embedder_for=embedder_for)
        )
        _save(report, args.out)

    laws_index = work / "laws-index"
    queries: list[str] = []
    if args.skip_laws:
        skipped.append("laws: skipped (--skip-laws)")
    elif not args.laws.is_dir():
        skipped.append(f"laws: {args.laws} not found (the law collection is expected under ../shared/datasets/laws)")
    else:
        if args.stard.is_file():
            stard = load_stard(args.stard)
            queries = [q.question for q in random.Random(SEED).sample(stard, min(LAWS_QUERIES, len(stard)))]
        else:
            skipped.append(f"laws search latency: {args.stard} not found (STARD questions are the queries)")
        scale = measure_scale("laws", [args.laws], laws_index, queries, build=build, embedder_for=embedder_for)
        if args.cold_build_log and args.cold_build_log.is_file():
            scale["cold_build"] = parse_time_log(args.cold_build_log.read_text(encoding="utf-8", errors="replace"))
            scale["cold_build"]["log"] = display_path(args.cold_build_log)
        scales.append(scale)
        _save(report, args.out)
        from eval.suites.perf_build import indexed_texts

        report["embedders"] = measure_embedders(
            args.compare_embedders, indexed_texts(laws_index), embedder_for, sample=args.embedder_sample
        )
        _save(report, args.out)

    ask_question = next(q.question for q in dev if q.kind == "in_corpus")
    if args.skip_ask:
        skipped.append("ask: skipped (--skip-ask)")
    else:
        from eval.suites.perf_ask import NoGeneratorError, ask_questions, measure_ask, open_answerer

        corpus_index = work / "corpus-index"
        try:
            answerer = open_answerer(corpus_index, args.models_dir, embedder_for(read_manifest(corpus_index).embedder))
            questions, warmup = ask_questions([q.question for q in dev if q.kind == "in_corpus"], args.ask_questions)
            logger.info("ask: %d questions with %s", len(questions), answerer.generator.name)
            report["ask"] = measure_ask(answerer, questions, warmup=warmup)
        except NoGeneratorError as exc:
            skipped.append(f"ask: no generator ({exc})")
        _save(report, args.out)

    if args.skip_server:
        skipped.append("server: skipped (--skip-server)")
    else:
        plans: list[tuple[str, Path, bool, list[str], str | None]] = [
            ("corpus", work / "corpus-index", False, [q.question for q in dev], ask_question)
        ]
        if any(s["name"] == "laws" for s in scales):
            plans.append(("laws", laws_index, True, queries or [q.question for q in dev], None))
        for name, index_dir, no_llm, qs, ask in plans:
            try:
                row = measure_server(
                    name, index_dir, no_llm=no_llm, queries=qs[:SERVER_SEARCHES], ask=ask, log_dir=work
                )
                report["server"].append(row.to_dict())
            except ServerStartError as exc:
                skipped.append(f"server ({name}): {exc}")
            _save(report, args.out)

    report["seconds"] = round(time.perf_counter() - started, 1)
    _save(report, args.out)
    return report


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    p.add_argument("--laws", type=Path, default=ROOT.parent / "shared" / "datasets" / "laws")
    p.add_argument("--stard", type=Path, default=ROOT.parent / "shared" / "datasets" / "stard" / "train.jsonl")
    p.add_argument(
        "--work-dir", type=Path, default=ROOT / "eval" / ".cache", help="index folders and the shared .embcache"
    )
    p.add_argument("--out", type=Path, default=ROOT / "eval" / "reports" / "performance.json")
    p.add_argument("--models-dir", type=Path, default=ROOT / "models")
    p.add_argument("--embedder", default="auto", help="embedder for the builds (default: auto)")
    p.add_argument("--sample", type=int, default=256, help="chunks in each embedding-throughput sample")
    p.add_argument(
        "--formats", type=Path, default=ROOT.parent / "shared" / "datasets" / "formats", help="the mixed-format folder"
    )
    p.add_argument(
        "--compare-embedders",
        nargs="*",
        default=["e5-small-int8", "e5-small"],
        help="embedders whose passages/s are measured on law chunks (default: e5-small-int8 e5-small)",
    )
    p.add_argument("--embedder-sample", type=int, default=512, help="law chunks in the per-embedder sample")
    p.add_argument("--ask-questions", type=int, default=20)
    p.add_argument("--cold-build-log", type=Path, help="a `/usr/bin/time -v policyrag index` log of a cold laws build")
    p.add_argument("--skip-laws", action="store_true")
    p.add_argument("--skip-ask", action="store_true")
    p.add_argument("--skip-server", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command = shlex.join(["python", "-m", "eval.suites.perf", *argv])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("httpx", "faiss.loader"):  # one line per request / per loader attempt
        logging.getLogger(noisy).setLevel(logging.WARNING)
    report = run(args)
    for note in report["skipped"]:
        print(f"skipped: {note}")
    for s in report["scales"]:
        lat = s["search_ms"] or {}
        print(
            f"{s['name']}: {s['chunks']} chunks, build {s['build']['seconds']:.1f} s "
            f"(embed {s['build']['embed_seconds']:.1f} s, {s['build']['embedded_vectors']} new vectors), "
            f"peak {s['build']['peak_rss_mb']:.0f} MB, index {s['index_mb']} MB, load {s['load_seconds']} s, "
            f"search p50 {lat.get('p50')} ms p95 {lat.get('p95')} ms p99 {lat.get('p99')} ms"
        )
    print(f"wrote {args.out} in {report['seconds']:.0f} s")


if __name__ == "__main__":
    main()
