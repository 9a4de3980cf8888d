"""Bounded loopback load test of a running policyrag server.

    policyrag serve --port 8000 &          # in another shell
    python -m eval.suites.load_test --url http://127.0.0.1:8000 --search 1000 --search-concurrency 20 \
        --ask 20 --ask-concurrency 4 --out eval/reports/load_test.json

Sends a fixed number of requests (never open-ended) to a loopback address only, using the dev questions as
queries, and reports p50/p95 latency and error counts per endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from eval.common.metrics import percentile
from eval.common.questions import DEFAULT_QUESTIONS, load_questions

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


async def _run(client: httpx.AsyncClient, n: int, concurrency: int, request: Any, queries: list[str]) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            started = time.perf_counter()
            try:
                response = await request(client, queries[i % len(queries)])
                if response.status_code != 200:
                    errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    wall = time.perf_counter() - started
    return {
        "requests": n,
        "concurrency": concurrency,
        "errors": errors,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "throughput_rps": round(n / wall, 1),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    """Run the search phase, then the ask phase."""
    queries = [q.question for q in load_questions(DEFAULT_QUESTIONS)]
    timeout = httpx.Timeout(600.0)
    async with httpx.AsyncClient(base_url=args.url, timeout=timeout) as client:
        search = await _run(
            client,
            args.search,
            args.search_concurrency,
            lambda c, q: c.get("/api/search", params={"q": q, "k": 10}),
            queries,
        )
        ask = await _run(
            client,
            args.ask,
            args.ask_concurrency,
            lambda c, q: c.post("/api/ask", json={"question": q}),
            queries,
        )
    return {"url": args.url, "search": search, "ask": ask}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--search", type=int, default=1000)
    parser.add_argument("--search-concurrency", type=int, default=20)
    parser.add_argument("--ask", type=int, default=20)
    parser.add_argument("--ask-concurrency", type=int, default=4)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    host = urlparse(args.url).hostname or ""
    if host not in LOOPBACK:
        parser.error(f"refusing to load-test {host!r}: loopback addresses only")
    if not (0 < args.search <= 10_000 and 0 <= args.ask <= 200):
        parser.error("request counts are bounded: --search 1..10000, --ask 0..200")
    report = asyncio.run(main_async(args))
    print(json.dumps(report, ensure_ascii=False, indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
