"""Bounded loopback soak test: a fresh ``policyrag serve`` under mixed traffic for N minutes.

    policyrag eval soak --minutes 10 [--no-llm] [--concurrency 20] --out eval/reports/soak.json
    python -m eval.suites.soak --minutes 3 --no-llm

The server runs as a child process on 127.0.0.1 (never another address) so its memory is its own. After one
warm-up request of each kind (not counted), workers send a fixed mix — search, JSON ask, streamed ask, streamed
ask abandoned after its first event (a client that disconnects), export of a brief, OpenAI chat completion —
until the time is up; the server's RSS is sampled every few seconds. Reported: requests, errors and p50/p95 per
kind, 503 "model busy" answers (the queue's designed back-pressure, counted apart from errors), and RSS over time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from eval.common.metrics import percentile
from eval.common.questions import DEFAULT_QUESTIONS, load_questions
from eval.suites.perf_server import read_proc_memory, running_server

# Relative frequency of each kind of request in the mix.
MIX = {"search": 10, "ask": 2, "stream": 3, "disconnect": 2, "export": 1, "chat": 2}
SSE = {"Accept": "text/event-stream"}
MAX_MINUTES = 60.0
MAX_CONCURRENCY = 50


@dataclass
class KindStats:
    """Outcomes of one kind of request."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    busy: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "requests": len(self.latencies_ms),
            "errors": self.errors,
            "busy_503": self.busy,
            "statuses": self.statuses,
            "p50_ms": round(percentile(self.latencies_ms, 50), 1) if self.latencies_ms else None,
            "p95_ms": round(percentile(self.latencies_ms, 95), 1) if self.latencies_ms else None,
        }


async def _search(client: httpx.AsyncClient, q: str, chunk_ids: list[str]) -> int:
    r = await client.get("/api/search", params={"q": q, "k": 10})
    if r.status_code == 200:
        chunk_ids[:] = [x["chunk_id"] for x in r.json()["results"][:3]] or chunk_ids
    return r.status_code


async def _ask(client: httpx.AsyncClient, q: str, _: list[str]) -> int:
    return (await client.post("/api/ask", json={"question": q})).status_code


async def _stream(client: httpx.AsyncClient, q: str, _: list[str]) -> int:
    async with client.stream("POST", "/api/ask", json={"question": q}, headers=SSE) as r:
        body = (await r.aread()).decode()
    if r.status_code == 200 and "event: answer" not in body:
        return 599  # a stream that ended without its answer (an error event)
    return r.status_code


async def _disconnect(client: httpx.AsyncClient, q: str, _: list[str]) -> int:
    async with client.stream("POST", "/api/ask", json={"question": q}, headers=SSE) as r:
        async for _chunk in r.aiter_raw():
            break  # leave after the first bytes: the connection is closed mid-answer
    return r.status_code


async def _export(client: httpx.AsyncClient, q: str, chunk_ids: list[str]) -> int:
    if not chunk_ids:  # this worker has not searched yet: find articles to put in the brief
        status = await _search(client, q, chunk_ids)
        if status != 200 or not chunk_ids:
            return status if status != 200 else 200
    items = [{"kind": "unit", "chunk_id": c} for c in chunk_ids]
    return (await client.post("/api/export", json={"items": items, "format": "docx"})).status_code


async def _chat(client: httpx.AsyncClient, q: str, _: list[str]) -> int:
    r = await client.post(
        "/v1/chat/completions", json={"model": "policyrag", "messages": [{"role": "user", "content": q}]}
    )
    return r.status_code


REQUESTS: dict[str, Callable[[httpx.AsyncClient, str, list[str]], Awaitable[int]]] = {
    "search": _search,
    "ask": _ask,
    "stream": _stream,
    "disconnect": _disconnect,
    "export": _export,
    "chat": _chat,
}


async def drive(
    url: str, *, seconds: float, concurrency: int, queries: list[str], pid: int, seed: int = 0
) -> dict[str, Any]:
    """Run the mix against ``url`` for ``seconds``; sample the RSS of process ``pid``."""
    stats = {kind: KindStats() for kind in MIX}
    rss: list[tuple[float, float]] = []
    # One request of each kind first (not counted): models load lazily, and the RSS series should start warm.
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(600.0)) as client:
        warm_ids: list[str] = []
        for request in REQUESTS.values():
            await request(client, queries[0], warm_ids)
    started = time.perf_counter()
    deadline = started + seconds
    kinds = [k for k, weight in MIX.items() for _ in range(weight)]

    async def worker(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        chunk_ids: list[str] = []
        async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(600.0)) as client:
            while time.perf_counter() < deadline:
                kind = rng.choice(kinds)
                q = rng.choice(queries)
                t0 = time.perf_counter()
                try:
                    status = await REQUESTS[kind](client, q, chunk_ids)
                except httpx.HTTPError as exc:
                    status_key = type(exc).__name__
                    stats[kind].errors += 1
                else:
                    status_key = str(status)
                    if status == 503:
                        stats[kind].busy += 1
                    elif status != 200:
                        stats[kind].errors += 1
                stats[kind].latencies_ms.append((time.perf_counter() - t0) * 1000)
                stats[kind].statuses[status_key] = stats[kind].statuses.get(status_key, 0) + 1

    async def sample() -> None:
        while time.perf_counter() < deadline:
            rss.append((round(time.perf_counter() - started, 1), read_proc_memory(pid).get("VmRSS", 0.0)))
            await asyncio.sleep(min(10.0, max(1.0, seconds / 30)))

    await asyncio.gather(sample(), *(worker(n) for n in range(concurrency)))
    rss.append((round(time.perf_counter() - started, 1), read_proc_memory(pid).get("VmRSS", 0.0)))
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        health = (await client.get("/healthz")).status_code
    total = sum(len(s.latencies_ms) for s in stats.values())
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "concurrency": concurrency,
        "requests": total,
        "errors": sum(s.errors for s in stats.values()),
        "busy_503": sum(s.busy for s in stats.values()),
        "healthy_after": health == 200,
        "by_kind": {k: s.to_dict() for k, s in stats.items()},
        "rss_mb": rss,
    }


def rss_summary(rss: list[tuple[float, float]]) -> dict[str, float]:
    """First, peak and last RSS, and the growth over the second half of the run (flat memory ≈ 0)."""
    values = [mb for _, mb in rss]
    half = values[len(values) // 2 :] or values
    return {
        "first_mb": values[0],
        "peak_mb": max(values),
        "last_mb": values[-1],
        "second_half_growth_mb": round(half[-1] - half[0], 1),
    }


def format_soak(report: dict[str, Any]) -> str:
    """A Markdown table of the soak report."""
    lines = [
        f"soak: {report['seconds']:.0f} s, {report['concurrency']} concurrent, {report['requests']} requests, "
        f"{report['errors']} errors, {report['busy_503']} busy (503); model: {report['model']}",
        "",
        "| kind | requests | errors | busy (503) | p50 | p95 |",
        "|---|---|---|---|---|---|",
    ]
    for kind, s in report["by_kind"].items():
        p50 = "–" if s["p50_ms"] is None else f"{s['p50_ms']:.0f} ms"
        p95 = "–" if s["p95_ms"] is None else f"{s['p95_ms']:.0f} ms"
        lines.append(f"| {kind} | {s['requests']} | {s['errors']} | {s['busy_503']} | {p50} | {p95} |")
    m = report["rss"]
    lines += [
        "",
        f"server RSS: {m['first_mb']:.0f} MB at start, peak {m['peak_mb']:.0f} MB, {m['last_mb']:.0f} MB at the end "
        f"({m['second_half_growth_mb']:+.0f} MB over the second half); healthy after: {report['healthy_after']}",
    ]
    return "\n".join(lines)


def run_soak(
    index_dir: Path,
    *,
    minutes: float,
    concurrency: int,
    no_llm: bool,
    log_dir: Path,
    questions: Path = DEFAULT_QUESTIONS,
) -> dict[str, Any]:
    """Start a server on ``index_dir`` (127.0.0.1, a free port), soak it, stop it; returns the report."""
    if not 0 < minutes <= MAX_MINUTES:
        raise ValueError(f"--minutes must be in (0, {MAX_MINUTES:g}]")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"--concurrency must be in 1..{MAX_CONCURRENCY}")
    queries = [q.question for q in load_questions(questions)]
    with running_server(index_dir, no_llm=no_llm, log_path=log_dir / "serve-soak.log") as (proc, url, _, health):
        report = asyncio.run(drive(url, seconds=minutes * 60, concurrency=concurrency, queries=queries, pid=proc.pid))
    report["model"] = health.get("generator") or "none (extractive, --no-llm)"
    report["index"] = str(index_dir)
    report["rss"] = rss_summary(report["rss_mb"])
    return report


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path("indexes/default"))
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--no-llm", action="store_true", help="serve without a model (extractive answers)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    report = run_soak(
        args.index, minutes=args.minutes, concurrency=args.concurrency, no_llm=args.no_llm, log_dir=Path("eval/.cache")
    )
    print(format_soak(report))
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
