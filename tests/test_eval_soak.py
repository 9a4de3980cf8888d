"""The soak test's driver against a live in-process server (fake models, a few seconds)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from eval.suites.soak import MIX, drive, format_soak, rss_summary, run_soak
from tests.live import live_server
from tests.test_server_hardening import ScriptedGen, index_dir, make_app

__all__ = ["index_dir"]  # the module-scoped index fixture


def test_mixed_traffic_runs_every_kind_without_errors(index_dir: Path) -> None:
    with live_server(make_app(index_dir, ScriptedGen(tokens=5, delay=0.01))) as url:
        report = asyncio.run(
            drive(url, seconds=3, concurrency=6, queries=["伦理委员会职责", "主管部门是哪个部门"], pid=os.getpid())
        )
    assert report["errors"] == 0, report["by_kind"]
    assert report["healthy_after"] and set(report["by_kind"]) == set(MIX)
    assert all(report["by_kind"][k]["requests"] > 0 for k in ("search", "stream", "disconnect"))
    assert len(report["rss_mb"]) >= 2 and report["rss_mb"][0][1] > 0
    report.update(model="scripted", rss=rss_summary(report["rss_mb"]))
    assert "| search |" in format_soak(report)


def test_rss_summary() -> None:
    assert rss_summary([(0, 100.0), (10, 120.0), (20, 121.0), (30, 120.5)]) == {
        "first_mb": 100.0, "peak_mb": 121.0, "last_mb": 120.5, "second_half_growth_mb": -0.5,
    }


def test_soak_is_bounded(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="minutes"):
        run_soak(tmp_path, minutes=61, concurrency=20, no_llm=True, log_dir=tmp_path)
    with pytest.raises(ValueError, match="concurrency"):
        run_soak(tmp_path, minutes=1, concurrency=500, no_llm=True, log_dir=tmp_path)
