"""PNG plots of the benchmark report (matplotlib, Agg backend, ASCII labels: CJK fonts may be missing)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt
from matplotlib.ticker import ScalarFormatter

logger = logging.getLogger(__name__)

Report = Mapping[str, Any]
Curves = list[tuple[str, list[float]]]


def ascii_label(text: str, fallback: str) -> str:
    """``text`` with non-ASCII characters dropped (DejaVu has no CJK glyphs), or ``fallback`` when nothing is left."""
    cleaned = re.sub(r"\(\s*\)", "", re.sub(r"[^\x20-\x7e]", "", text))
    cleaned = re.sub(r"\s+", " ", cleaned).strip(" -:")
    return cleaned or fallback


def recall_panels(reports: Mapping[str, Report | None]) -> list[tuple[str, Curves]]:
    """(title, [(label, R@1..R@100)]) per question set that has curves: statutes methods, then baselines sets."""
    panels: list[tuple[str, Curves]] = []
    statutes = reports.get("statutes")
    if statutes:
        curves = [(m["name"], m["recall_curve"]) for m in statutes.get("methods", []) if m.get("recall_curve")]
        if curves:
            panels.append((f"STARD statutes: methods ({statutes.get('evaluated_questions', '?')} q)", curves))
    baselines = reports.get("baselines")
    if baselines:
        for s in baselines.get("sets", []):
            curves = [(r["name"], r["recall_curve"]) for r in s.get("rows", []) if r.get("recall_curve")]
            if curves:
                panels.append((f"baselines: {s['name']} ({s.get('questions', '?')} q)", curves))
    return panels


def plot_recall_curves(reports: Mapping[str, Report | None], path: Path) -> bool:
    """R@k for k = 1..100, one line per method, one panel per question set; False (and no file) without data."""
    panels = recall_panels(reports)
    if not panels:
        path.unlink(missing_ok=True)  # never leave a stale plot that no longer matches the report
        return False
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.5), squeeze=False)
    for ax, (title, curves) in zip(axes[0], panels, strict=True):
        for i, (name, curve) in enumerate(curves):
            ks = list(range(1, len(curve) + 1))
            ax.plot(ks, curve, label=ascii_label(name, f"method {i + 1}"), linewidth=1.6)
        ax.set_xscale("log")
        ax.set_xlim(1, max(len(c) for _, c in curves))
        ax.set_xticks([1, 2, 5, 10, 20, 50, 100], ["1", "2", "5", "10", "20", "50", "100"])
        ax.set_ylim(0, 1)
        ax.set_xlabel("k (log scale)")
        ax.set_ylabel("recall@k")
        ax.set_title(ascii_label(title, "recall"), fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def latency_series(perf: Report | None) -> tuple[list[tuple[str, list[float]]], list[tuple[str, list[float]]]]:
    """(search samples in ms per scale, ask samples in s: first token and total)."""
    if not perf:
        return [], []
    search = [
        (f"{s['name']} ({s.get('chunks', 0):,} chunks)", s["search_ms"]["samples"])
        for s in perf.get("scales", [])
        if (s.get("search_ms") or {}).get("samples")
    ]
    ask = perf.get("ask") or {}
    answers = [
        (label, [x / 1000 for x in ask[key]["samples"]])
        for key, label in (("first_token_ms", "first token"), ("total_ms", "whole answer"))
        if (ask.get(key) or {}).get("samples")
    ]
    return search, answers


def _box(ax: Any, series: Sequence[tuple[str, list[float]]], ylabel: str, title: str) -> None:
    ax.boxplot([s for _, s in series], whis=(5, 95), showfliers=True)
    ax.set_xticks(range(1, len(series) + 1), [name for name, _ in series], fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)


def plot_latency(perf: Report | None, path: Path) -> bool:
    """Search latency per scale (with the p50/p95 targets) and answer latency; False (and no file) without data."""
    search, answers = latency_series(perf)
    panels = int(bool(search)) + int(bool(answers))
    if not panels:
        path.unlink(missing_ok=True)
        return False
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4.5), squeeze=False)
    col = 0
    if search:
        ax = axes[0][col]
        _box(ax, search, "ms", "warm search latency, k=10 (whiskers p5-p95)")
        targets = (perf or {}).get("targets", {})
        for key, style in (("laws_search_p50_ms", ":"), ("laws_search_p95_ms", "--")):
            if key in targets:
                label = f"law-collection target {key.split('_')[2]} {targets[key]} ms"
                ax.axhline(targets[key], color="tab:red", linestyle=style, linewidth=1, label=label)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(ScalarFormatter())
        ax.legend(fontsize=8)
        col += 1
    if answers:
        _box(
            axes[0][col], answers, "s", f"answer latency ({ascii_label(str((perf or {})['ask'].get('model')), 'LLM')})"
        )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
