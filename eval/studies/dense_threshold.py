"""Measure exact (flat) vs HNSW search on random unit vectors to choose ``HNSW_THRESHOLD``.

    python -m eval.studies.dense_threshold --sizes 10000 30000 60000 120000 --dim 384

Prints, per size: flat p50 query latency, HNSW build time, HNSW p50 latency and recall@10 against flat.

Decided with it: exact search up to 50,000 vectors, HNSW above (``retriever/dense.py: HNSW_THRESHOLD``), where
exact search leaves the ~30 ms search budget. Result: the table in the README's "Dense index threshold" (printed
only; no JSON). Re-run it on a machine much faster or slower than a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from eval.common.metrics import percentile
from retriever.dense import DenseIndex


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def measure(n: int, dim: int, queries: int = 200, seed: int = 0) -> dict[str, float]:
    """Latency (ms) and recall@10 of flat vs HNSW at one corpus size."""
    rng = np.random.default_rng(seed)
    base = _unit(rng, n, dim)
    # Queries near corpus points, as real queries are near their answers.
    q = base[rng.integers(0, n, queries)] + 0.5 * _unit(rng, queries, dim)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    flat = DenseIndex(dim, hnsw_threshold=n + 1).build(base)
    started = time.perf_counter()
    hnsw = DenseIndex(dim, hnsw_threshold=1).build(base)
    build_s = time.perf_counter() - started
    out: dict[str, float] = {"n": n, "hnsw_build_s": round(build_s, 1)}
    recalls = []
    for name, index in (("flat", flat), ("hnsw", hnsw)):
        times = []
        for i in range(queries):
            t = time.perf_counter()
            _, rows = index.search(q[i : i + 1], 10)
            times.append((time.perf_counter() - t) * 1000)
            if name == "hnsw":
                _, truth = flat.search(q[i : i + 1], 10)
                recalls.append(len(set(rows[0]) & set(truth[0])) / 10)
        out[f"{name}_p50_ms"] = round(percentile(times, 50), 3)
        out[f"{name}_p95_ms"] = round(percentile(times, 95), 3)
    out["hnsw_recall10"] = round(float(np.mean(recalls)), 4)
    return out


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 60_000, 120_000])
    parser.add_argument("--dim", type=int, default=384)
    args = parser.parse_args()
    for n in args.sizes:
        print(json.dumps(measure(n, args.dim)), flush=True)


if __name__ == "__main__":
    main()
