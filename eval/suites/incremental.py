"""Full vs incremental index builds on a corpus folder → ``eval/reports/incremental.json``.

A copy of the corpus is indexed from scratch with an empty embedding cache (cold full build),
then one file is edited, one added and one removed, each followed by an incremental build;
a full rebuild with the warm cache and a no-change run complete the picture. The embedder is
loaded once, before the timings. Run: ``policyrag eval incremental`` (or ``python -m eval.suites.incremental``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import shutil
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from indexer.build import BuildReport, build_index
from indexer.reading import scan_sources
from models.embedders import Embedder, create_embedder

ADDED = """示范公共数据开放条例

第一条 为了促进公共数据开放和利用，制定本条例。

第二条 市政务服务数据管理部门负责统筹公共数据开放工作。

第三条 公共数据开放应当遵循需求导向、安全可控的原则。
"""


def _step(build: Callable[[], BuildReport]) -> dict[str, Any]:
    started = time.perf_counter()
    report = build()
    wall = time.perf_counter() - started
    return {
        "wall_seconds": round(wall, 2),
        "files_read": report.files_read,
        "files_unchanged": report.files_reused,
        "files_removed": report.files_removed,
        "chunks": report.stats.chunks,
        "embedded": 0 if report.up_to_date else report.stats.chunks - report.cached_vectors,
        "up_to_date": report.up_to_date,
    }


def measure(corpus: Path, embedder: Embedder, work: Path) -> dict[str, Any]:
    """Run the scenario in ``work`` (emptied first) and return the report.

    Two copies of the corpus receive the same changes: one is kept up to date incrementally, the
    other rebuilt with ``--full`` (re-reading every file; its embedding cache is as warm as the
    first's, so the two differ only in what incremental indexing skips).
    """
    shutil.rmtree(work, ignore_errors=True)
    copies = {kind: work / kind for kind in ("incremental", "full")}
    shutil.copytree(corpus, copies["incremental"] / "corpus")

    def build(kind: str) -> Callable[[], BuildReport]:
        base = copies[kind]
        return lambda: build_index(
            [base / "corpus"],
            base / "index",
            embedder,
            cache_dir=base / "cache",
            progress=False,
            incremental=kind == "incremental",
        )

    cold = _step(build("incremental"))  # nothing to reuse yet: a full build with an empty embedding cache
    shutil.copytree(copies["incremental"], copies["full"])
    root = copies["full"] / "corpus"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.suffix in (".txt", ".md"))
    edited, removed = files[-1], files[0]

    def edit(root: Path) -> None:
        with (root / edited).open("a", encoding="utf-8") as fh:
            fh.write("\n本文件于评测中追加一段文字，用于检验增量索引只处理改动的文件。\n")

    changes: list[tuple[str, Callable[[Path], object]]] = [
        ("no change", lambda root: None),
        (f"one file edited ({edited})", edit),
        ("one file added", lambda root: (root / "zz_added.txt").write_text(ADDED, encoding="utf-8")),
        (f"one file removed ({removed})", lambda root: (root / removed).unlink()),
    ]
    steps = []
    for name, change in changes:
        row: dict[str, Any] = {"change": name}
        for kind in ("incremental", "full"):
            change(copies[kind] / "corpus")
            row[kind] = _step(build(kind))
        steps.append(row)
    return {
        "corpus": str(corpus),
        "files": len(scan_sources([corpus]).files),
        "embedder": embedder.name,
        "machine": f"{platform.machine()}, {_cores()} CPU cores, shared with other jobs",
        "cold_full_build": cold,
        "steps": steps,
    }


class HashEmbedder:
    """Vectors from a hash of the text, no model: isolates what indexing costs besides embedding."""

    name = "hash-384"
    dim = 384
    max_tokens = 512

    def _vec(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
        v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_documents(self, texts: Sequence[str], *, batch_size: int = 16, progress: bool = False) -> np.ndarray:
        return self.encode_queries(texts)

    def count_tokens(self, text: str) -> int:
        return len(text)


def _median_table(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One report whose wall times are the medians over ``runs`` (counts are the same in every run)."""
    first = runs[0]
    out = {**first, "cold_full_build": {**first["cold_full_build"]}, "steps": [dict(s) for s in first["steps"]]}
    out["cold_full_build"]["wall_seconds"] = statistics.median(r["cold_full_build"]["wall_seconds"] for r in runs)
    for i, step in enumerate(out["steps"]):
        for kind in ("incremental", "full"):
            step[kind] = {
                **step[kind],
                "wall_seconds": statistics.median(r["steps"][i][kind]["wall_seconds"] for r in runs),
            }
    return out


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


def format_table(report: dict[str, Any]) -> str:
    """Markdown table: each change, incremental vs full rebuild."""
    c = report["cold_full_build"]
    rows = [
        f"Cold full build (empty embedding cache): {c['wall_seconds']:.1f} s, {c['chunks']} chunks embedded.",
        "",
        "| change | incremental | files read / unchanged / removed | embedded | full rebuild (warm cache) |",
        "|---|---|---|---|---|",
    ]
    for s in report["steps"]:
        i, f = s["incremental"], s["full"]
        rows.append(
            f"| {s['change']} | {i['wall_seconds']:.1f} s | {i['files_read']} / {i['files_unchanged']} / "
            f"{i['files_removed']} | {i['embedded']} | {f['wall_seconds']:.1f} s |"
        )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    root = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=root / "corpus")
    parser.add_argument("--embedder", default="e5-small", help="an embedder name, or 'hash' (no model)")
    parser.add_argument("--repeat", type=int, default=1, help="run the scenario N times; the table shows medians")
    parser.add_argument("--models-dir", type=Path, default=root / "models")
    parser.add_argument("--work-dir", type=Path, default=root / "eval" / ".cache" / "incremental")
    parser.add_argument("--out", type=Path, default=root / "eval" / "reports" / "incremental.json")
    args = parser.parse_args(argv)
    embedder: Embedder = (
        HashEmbedder() if args.embedder == "hash" else create_embedder(args.embedder, models_dir=args.models_dir)
    )
    runs = [measure(args.corpus, embedder, args.work_dir / f"run{i}") for i in range(args.repeat)]
    report = {**_median_table(runs), "repeat": args.repeat, "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(format_table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
