"""Scale study: FAISS HNSW, Milvus Lite HNSW and the Milvus 2.3.5 standalone server (HNSW) on synthetic unit
vectors (dim 384), on this machine.

Measures, for each engine in its own child process (so peak memory is its own): build time (insert + index),
single-query search latency p50/p95, filtered latency (a scalar filter keeping ~10% of the rows, as a
``doc_type``/jurisdiction filter does), recall@10 against exact search, peak RSS and disk. Same HNSW settings as
the product (M 32, efConstruction 80, ef 128). Result: ``eval/reports/milvus_scale_<rows>.json``, summarised in
``docs/scale-out.md``. Random vectors are HNSW's worst case for recall (see README, "Dense index threshold").

``python -m eval.studies.milvus_scale --rows 100000 --out eval/reports/milvus_scale_100k.json``
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from eval.common.machine import machine_info
from eval.common.metrics import percentile

DIM = 384
QUERIES = 200
GROUPS = 10  # filter field values: a filtered search keeps one group (~10% of the rows)
BATCH = 5_000


def vectors(rows: int, seed: int = 0) -> np.ndarray:
    """Random unit vectors, generated in blocks (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    out = rng.standard_normal((rows, DIM), dtype=np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _latency(
    search: Callable[[np.ndarray], list[int]], queries: np.ndarray
) -> tuple[dict[str, float], list[list[int]]]:
    search(queries[0])
    samples, found = [], []
    for q in queries:
        started = time.perf_counter()
        found.append(search(q))
        samples.append((time.perf_counter() - started) * 1000)
    return {"p50": round(percentile(samples, 50), 2), "p95": round(percentile(samples, 95), 2)}, found


def _recall(found: list[list[int]], truth: np.ndarray) -> float:
    return round(
        float(np.mean([len(set(f[:10]) & set(t[:10].tolist())) / 10 for f, t in zip(found, truth, strict=True)])), 4
    )


def run_faiss(data: np.ndarray, groups: np.ndarray, queries: np.ndarray, work: Path) -> dict[str, Any]:
    """FAISS HNSW through the product's DenseIndex (filters as a row mask)."""
    from retriever.dense import DenseIndex

    started = time.perf_counter()
    index = DenseIndex(DIM, hnsw_threshold=1).build(data)
    build = time.perf_counter() - started
    plain, found = _latency(lambda q: index.search(q[None, :], 10)[1][0].tolist(), queries)
    mask = groups == 3
    filtered, found_f = _latency(lambda q: index.search(q[None, :], 10, allowed=mask)[1][0].tolist(), queries)
    blob, _ = index.to_bytes()
    return {"build_s": round(build, 1), "search_ms": plain, "filtered_ms": filtered, "disk_bytes": len(blob),
            "found": found, "found_filtered": found_f}  # fmt: skip


def _run_milvus(uri: str, data: np.ndarray, groups: np.ndarray, queries: np.ndarray) -> dict[str, Any]:
    """Insert, flush, index (nested build parameters, Strong consistency), wait for the index, then search."""
    from pymilvus import DataType, MilvusClient

    from retriever.dense import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M
    from retriever.milvus_schema import wait_indexed

    client = MilvusClient(uri)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("grp", DataType.INT64)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=DIM)
    params = client.prepare_index_params()
    params.add_index("dense", index_type="HNSW", metric_type="IP",
                     params={"params": {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION}})  # fmt: skip
    if client.has_collection("scale"):
        client.drop_collection("scale")
    started = time.perf_counter()
    client.create_collection("scale", schema=schema, index_params=params, consistency_level="Strong")
    for lo in range(0, len(data), BATCH):
        rows = [
            {"id": i, "grp": int(groups[i]), "dense": data[i].tolist()} for i in range(lo, min(lo + BATCH, len(data)))
        ]
        client.insert("scale", rows)
    inserted = time.perf_counter() - started
    client.flush("scale")
    client.load_collection("scale")
    wait_indexed(client, "scale")  # indexes are built in the background; until then searches scan
    build = time.perf_counter() - started
    search_params = {"metric_type": "IP", "params": {"ef": HNSW_EF_SEARCH}}

    def search(q: np.ndarray, expr: str = "", level: str = "Strong") -> list[int]:
        hits = client.search("scale", data=[q.tolist()], anns_field="dense", limit=10, filter=expr,
                             search_params=search_params, output_fields=[], consistency_level=level)  # fmt: skip
        return [int(h["id"]) for h in hits[0]]

    plain, found = _latency(search, queries)
    filtered, found_f = _latency(lambda q: search(q, "grp == 3"), queries)
    bounded, _ = _latency(lambda q: search(q, "", "Bounded"), queries)
    bounded_f, _ = _latency(lambda q: search(q, "grp == 3", "Bounded"), queries)
    client.close()
    return {"build_s": round(build, 1), "insert_s": round(inserted, 1), "search_ms": plain, "filtered_ms": filtered,
            "bounded_search_ms": bounded, "bounded_filtered_ms": bounded_f,
            "found": found, "found_filtered": found_f}  # fmt: skip


def _du(path: Path) -> int:
    return int(subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True).stdout.split()[0])


def run_lite(data: np.ndarray, groups: np.ndarray, queries: np.ndarray, work: Path) -> dict[str, Any]:
    """Milvus Lite (in this process: its memory is this process's)."""
    db = work / "scale.db"
    shutil.rmtree(db, ignore_errors=True)
    result = _run_milvus(str(db), data, groups, queries)
    result["disk_bytes"] = _du(db)
    return result


def run_server(data: np.ndarray, groups: np.ndarray, queries: np.ndarray, work: Path) -> dict[str, Any]:
    """The Milvus 2.3.5 standalone server of the PyPI ``milvus`` package on loopback (its own process)."""
    from milvus import MilvusServer, MilvusServerConfig

    base = work / "server"
    shutil.rmtree(base, ignore_errors=True)
    server: Any = MilvusServer(MilvusServerConfig(), wait_for_started=True)
    server.set_base_dir(str(base))
    for component in (
        "rootCoord",
        "proxy",
        "queryCoord",
        "queryNode",
        "indexNode",
        "indexCoord",
        "dataCoord",
        "dataNode",
    ):
        server.config.set(f"{component}.ip", "127.0.0.1")
    server.start()
    try:
        result = _run_milvus(f"http://127.0.0.1:{server.listen_port}", data, groups, queries)
        status = Path(f"/proc/{server.server_proc.pid}/status").read_text().splitlines()
        result["server_peak_rss_mb"] = round(
            next(int(x.split()[1]) for x in status if x.startswith("VmHWM:")) / 1024, 1
        )
    finally:
        server.stop()
    result["disk_bytes"] = _du(base / "data")
    return result


ENGINES = {"faiss_hnsw": run_faiss, "milvus_lite_hnsw": run_lite, "milvus_server_2_3_5_hnsw": run_server}


def child(engine: str, rows: int, work: Path) -> dict[str, Any]:
    """One engine's measurements (runs in its own process)."""
    data = vectors(rows)
    groups = np.arange(rows) % GROUPS
    queries = vectors(QUERIES, seed=1)
    result = ENGINES[engine](data, groups, queries, work)
    result["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/policyrag-scale"))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--engines", nargs="*", default=list(ENGINES), choices=sorted(ENGINES))
    parser.add_argument("--child", choices=sorted(ENGINES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.child:
        print(json.dumps(child(args.child, args.rows, args.work)))
        return 0
    if args.out is None:
        parser.error("--out is required")
    data, queries = vectors(args.rows), vectors(QUERIES, seed=1)
    groups = np.arange(args.rows) % GROUPS
    truth = np.argsort(-(queries @ data.T), axis=1)[:, :10]
    allowed = np.flatnonzero(groups == 3)
    truth_f = allowed[np.argsort(-(queries @ data[allowed].T), axis=1)[:, :10]]
    del data
    report: dict[str, Any] = {"machine": machine_info(), "rows": args.rows, "dim": DIM, "queries": QUERIES}
    report.update(filter=f"one of {GROUPS} groups (~{100 // GROUPS}% of rows)", engines={})
    if args.out.is_file() and set(args.engines) != set(ENGINES):  # re-measure some engines, keep the others
        report["engines"] = json.loads(args.out.read_text(encoding="utf-8"))["engines"]
    for engine in args.engines:
        cmd = [sys.executable, "-m", "eval.studies.milvus_scale", "--rows", str(args.rows), "--work", str(args.work)]
        started = time.perf_counter()
        out = subprocess.run([*cmd, "--child", engine], capture_output=True, text=True, check=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        result["recall@10"] = _recall(result.pop("found"), truth)
        result["filtered_recall@10"] = _recall(result.pop("found_filtered"), truth_f)
        result["wall_s"] = round(time.perf_counter() - started, 1)
        report["engines"][engine] = result
        print(engine, json.dumps(result), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
