"""Timing helpers shared by the performance suites: latency percentiles, and the CPU a block of work used."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.common.metrics import percentile


def latency_summary(samples_ms: Sequence[float], *, count_key: str = "queries") -> dict[str, Any]:
    """p50/p95/p99/mean of latency samples in ms (rounded to 0.1), with the raw samples (for the plots)."""
    if not samples_ms:
        raise ValueError("no latency samples")
    return {
        count_key: len(samples_ms),
        "p50": round(percentile(samples_ms, 50), 1),
        "p95": round(percentile(samples_ms, 95), 1),
        "p99": round(percentile(samples_ms, 99), 1),
        "mean": round(float(np.mean(samples_ms)), 1),
        "samples": [round(float(s), 2) for s in samples_ms],
    }


def _machine_jiffies() -> tuple[int, int] | None:
    """(busy, total) CPU jiffies of the whole machine from /proc/stat (None where there is no /proc)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    except OSError:
        return None
    values = [int(v) for v in fields]  # user nice system idle iowait irq softirq steal
    return sum(values) - values[3] - values[4], sum(values)


class CpuMeter:
    """Wall time, this process's CPU time (all threads) and the whole machine's CPU use over a ``with`` block.

    ``other_cores_busy`` shows contention: cores that other processes kept busy meanwhile, which makes the
    measured times pessimistic.
    """

    def __enter__(self) -> CpuMeter:
        self._jiffies = _machine_jiffies()
        self._cpu, self._wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = max(time.perf_counter() - self._wall, 1e-9)
        self.cpu = time.process_time() - self._cpu
        end = _machine_jiffies()
        self.machine_cores: float | None = None
        if self._jiffies and end and end[1] > self._jiffies[1]:
            busy = (end[0] - self._jiffies[0]) / (end[1] - self._jiffies[1])
            self.machine_cores = busy * (os.cpu_count() or 1)

    def summary(self) -> dict[str, float | None]:
        """``cores_busy`` (this process) and ``other_cores_busy`` (everything else; None without /proc)."""
        own = self.cpu / self.wall
        other = None if self.machine_cores is None else max(0.0, self.machine_cores - own)
        return {"cores_busy": round(own, 2), "other_cores_busy": None if other is None else round(other, 2)}
