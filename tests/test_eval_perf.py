"""The performance benchmark's measuring code, on the tiny corpus with the fake embedder (no models)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import indexer.build
from eval.common.timing import CpuMeter, latency_summary
from eval.suites.perf import measure_scale, measure_search
from eval.suites.perf_ask import ask_questions, measure_ask
from eval.suites.perf_build import StageTimer, instrumented_build, measure_throughput, parse_time_log
from eval.suites.perf_server import ServerStartError, parse_proc_status, running_server, stop_process

PROC_STATUS = """Name:\tpolicyrag
Umask:\t0022
State:\tS (sleeping)
Pid:\t4242
VmPeak:\t 3145728 kB
VmHWM:\t  901120 kB
VmRSS:\t  786432 kB
RssAnon:\t  700000 kB
Threads:\t12
voluntary_ctxt_switches:\t150
"""

TIME_LOG = (
    "WARNING:indexer.pipeline:x.txt: 4 line(s) of mojibake left out\n"
    "embedding:   0%|          | 0/1000 [00:00<?, ?chunk/s]"
    "\rembedding:  20%|██        | 200/1000 [00:10<00:40, 20.00chunk/s]"
    "\rembedding:  60%|██████    | 600/1000 [00:50<00:40, 10.00chunk/s]"
    "\rembedding: 100%|██████████| 1000/1000 [01:30<00:00, 10.00chunk/s]\n"
    "indexed 3 files → 2 documents (2 found, copies merged), 10 articles/sections, 0 duplicate copies merged, "
    "1000 chunks\n"
    "embedder e5-small (dim 384); embedded 700 chunks in 80.5s, 300 from cache; build 95.2s; 12.3 MB at /x\n"
    '\tCommand being timed: "policyrag index laws --index /x"\n'
    "\tUser time (seconds): 170.00\n"
    "\tSystem time (seconds): 2.50\n"
    "\tPercent of CPU this job got: 185%\n"
    "\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:10:23\n"
    "\tMaximum resident set size (kbytes): 2097152\n"
    "\tExit status: 0\n"
)


def test_latency_summary_percentiles_and_samples() -> None:
    s = latency_summary([float(x) for x in range(1, 101)])
    assert (s["queries"], s["p50"], s["p95"], s["p99"], s["mean"]) == (100, 50.5, 95.0, 99.0, 50.5)
    assert len(s["samples"]) == 100 and s["samples"][0] == 1.0
    assert latency_summary([3.0], count_key="answers")["answers"] == 1
    with pytest.raises(ValueError):
        latency_summary([])


def test_parse_proc_status_reads_memory_fields_in_mb() -> None:
    mem = parse_proc_status(PROC_STATUS)
    assert mem["VmRSS"] == 768.0
    assert mem["VmHWM"] == 880.0
    assert mem["VmPeak"] == 3072.0
    assert mem["RssAnon"] == pytest.approx(683.6)
    assert "Threads" not in mem and "Pid" not in mem


def test_parse_time_log_wall_rss_rate_and_summary() -> None:
    log = parse_time_log(TIME_LOG)
    assert log["complete"] is True
    assert log["wall_seconds"] == 4223.0
    assert log["peak_rss_mb"] == 2048.0
    assert log["cpu_percent"] == 185.0
    assert log["command"] == "policyrag index laws --index /x"
    # 800 chunks between the first non-zero count (200 at 10 s) and the last (1000 at 90 s)
    assert log["embed_rate_chunks_per_s"] == 10.0
    assert (log["embedded_vectors"], log["cached_vectors"], log["build_seconds"]) == (800, 200, 95.2)
    cold = parse_time_log(TIME_LOG.replace("200/1000 [00:10", "256/1000 [00:10"))
    assert (cold["cached_vectors"], cold["embedded_vectors"]) == (0, 1000)  # first step = one shard: no hits
    running = parse_time_log(TIME_LOG.split("indexed")[0])
    assert running["complete"] is False and "wall_seconds" not in running


def test_stage_timer_charges_nested_calls_to_the_outer_stage() -> None:
    timer = StageTimer()
    inner = timer.wrap(lambda: time.sleep(0.02), "inner")
    outer = timer.wrap(lambda: (inner(), time.sleep(0.02)), "outer")
    outer()
    inner()
    assert timer.seconds["outer"] >= 0.04
    assert 0.02 <= timer.seconds["inner"] < 0.04  # only the top-level call


def test_instrumented_build_splits_stages_and_restores_the_build(
    tiny_corpus: Path, fake_embedder: Any, tmp_path: Path
) -> None:
    original_ingest = indexer.build.ingest_corpus
    first = instrumented_build([tiny_corpus], tmp_path / "idx", fake_embedder, progress=False)
    assert indexer.build.ingest_corpus is original_ingest
    assert set(first["stages"]) == {
        "ingest",
        "cache_load",
        "embed",
        "dense_index",
        "bm25_tokenise",
        "bm25_index",
        "fingerprint",
        "save",
        "other",
    }
    assert first["stages"]["ingest"] > 0 and first["stages"]["save"] > 0
    assert sum(first["stages"].values()) == pytest.approx(first["seconds"], abs=0.01)
    assert first["embedded_vectors"] == first["chunks"] > 0 and first["cached_vectors"] == 0
    assert first["peak_rss_mb"] > 10 and first["index_mb"] > 0
    again = instrumented_build([tiny_corpus], tmp_path / "idx", fake_embedder, progress=False)
    assert again["cached_vectors"] == again["chunks"] and again["embedded_vectors"] == 0


def test_new_vectors_are_counted_even_when_the_cache_is_larger_than_the_corpus(
    tiny_corpus: Path, fake_embedder: Any, tmp_path: Path
) -> None:
    instrumented_build([tiny_corpus], tmp_path / "a", fake_embedder, progress=False)  # fills tmp_path/.embcache
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text(
        "另一部条例\n\n第一条 本条例规范无人机的飞行管理。\n\n第二条 本条例自公布之日起施行。\n", encoding="utf-8"
    )
    fake_embedder.calls.clear()
    out = instrumented_build([other], tmp_path / "b", fake_embedder, progress=False)
    assert out["embedded_vectors"] == out["chunks"] == sum(fake_embedder.calls) > 0
    assert out["cached_vectors"] == 0


def test_cpu_meter_sees_this_process_working() -> None:
    with CpuMeter() as meter:
        deadline = time.perf_counter() + 0.3
        while time.perf_counter() < deadline:
            pass
    s = meter.summary()
    assert 0.5 <= s["cores_busy"] <= 1.1
    assert s["other_cores_busy"] is None or s["other_cores_busy"] >= 0


def test_measure_throughput_projects_cold_embedding(fake_embedder: Any) -> None:
    texts = [f"第{i}条 示范文本{i}" for i in range(500)]
    t = measure_throughput(fake_embedder, texts, sample=64)
    assert t["sample"] == 64 and fake_embedder.calls == [64]
    assert t["threads"] == os.cpu_count()
    assert t["projected_cold_embed_seconds"] == pytest.approx(500 / t["chunks_per_s"], abs=0.01)
    assert 0 <= t["cpu_utilisation"] <= 1.5
    assert measure_throughput(fake_embedder, texts[:10], sample=64)["sample"] == 10


def test_measure_scale_has_the_documented_json_shape(tiny_corpus: Path, fake_embedder: Any, tmp_path: Path) -> None:
    def build(paths: Any, index_dir: Path) -> dict[str, Any]:
        b = instrumented_build(paths, index_dir, fake_embedder, progress=False)
        return {"embedder": "fake", "build": b, "embed_throughput": measure_throughput(fake_embedder, ["甲乙丙"] * 40)}

    queries = ["伦理委员会有哪些职责", "主管部门是哪个部门", "基础理论研究"]
    scale = measure_scale(
        "corpus", [tiny_corpus], tmp_path / "i", queries, build=build, embedder_for=lambda _: fake_embedder
    )
    assert {
        "name",
        "paths",
        "documents",
        "chunks",
        "build",
        "embed_throughput",
        "index_mb",
        "load_seconds",
        "search_ms",
    } <= set(scale)
    assert set(scale["build"]) >= {
        "seconds",
        "embed_seconds",
        "cached_vectors",
        "embedded_vectors",
        "peak_rss_mb",
        "stages",
    }
    assert scale["search_ms"]["queries"] == 3 and len(scale["search_ms"]["samples"]) == 3
    assert scale["search_ms"]["p50"] <= scale["search_ms"]["p95"] <= scale["search_ms"]["p99"]
    assert (
        scale["embed_throughput"]["projected_cold_build_seconds"]
        >= scale["embed_throughput"]["projected_cold_embed_seconds"]
    )
    assert scale["index_mb"] > 0 and scale["documents"] >= 1


class _Result:
    def __init__(self, first: float | None, took: float) -> None:
        self.first_token_ms, self.took_ms = first, took


class _FakeAnswerer:
    """Answers from a script: None first-token means the gate abstained before generating."""

    def __init__(self, script: dict[str, tuple[float | None, float]]) -> None:
        self.script, self.asked, self.generator = script, [], type("G", (), {"name": "fake-llm"})()

    def ask(self, question: str) -> _Result:
        self.asked.append(question)
        return _Result(*self.script[question])


def test_measure_ask_counts_generated_answers_only() -> None:
    answerer = _FakeAnswerer({"w": (1.0, 2.0), "a": (100.0, 900.0), "b": (None, 20.0), "c": (300.0, 1100.0)})
    out = measure_ask(answerer, ["a", "b", "c"], warmup="w")
    assert answerer.asked == ["w", "a", "b", "c"]  # one warm-up, not timed
    assert (out["questions"], out["generated"], out["model"]) == (3, 2, "fake-llm")
    assert out["first_token_ms"]["samples"] == [100.0, 300.0]
    assert out["total_ms"]["p50"] == 1000.0
    with pytest.raises(ValueError, match="warm-up"):
        measure_ask(answerer, ["a"], warmup="a")  # a cached prompt would make its first token nearly free
    picked, warmup = ask_questions([f"q{i}" for i in range(5)], 5)
    assert len(picked) == 4 and warmup not in picked


def test_measure_search_times_every_query(fake_embedder: Any) -> None:
    class Slow:
        def search(self, q: str, *, k: int) -> None:
            time.sleep(0.01)

    out = measure_search(Slow(), ["x"] * 4, warmup=1)
    assert out["queries"] == 4 and min(out["samples"]) >= 10.0


def test_stop_process_interrupts_a_child() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stop_process(proc, grace=10)
    assert proc.poll() is not None


def test_server_that_cannot_start_is_reported_and_gone(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    with (
        pytest.raises(ServerStartError, match="exited"),
        running_server(tmp_path / "no-index", no_llm=True, log_path=log, timeout=120),
    ):
        pass
    assert "error" in log.read_text()
