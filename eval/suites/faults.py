"""Fault injection on the real CLI (the slow counterpart of tests/test_faults.py) → ``eval/reports/faults.json``.

1. ``kill -9`` at random moments of ``policyrag index`` runs that have work to do (a file edited,
   added or removed before each): afterwards the index must load whole (old or new version);
   the next build must succeed and leave nothing but the live version.
2. Concurrent ``policyrag index`` runs on one index: each ends with exit 0, or exit 2 and one
   ``policyrag: error: another policyrag build …`` line; the index loads afterwards.
3. Every file of the live index damaged in turn (one byte flipped; then the file made
   unreadable by replacing it with a folder): ``policyrag search`` exits 2 with one error line,
   never a traceback — except the build caches (``*.gz``), which search does not read and the
   next build replaces.

Run: ``policyrag eval faults`` (about 3-5 minutes on 2 cores with e5-small).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from retriever.index_dir import LOCK, POINTER
from retriever.store import IndexStoreError, current_dir, load_index

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "policyrag.cli", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _debris(index: Path) -> list[str]:
    try:
        live = current_dir(index).name
    except IndexStoreError:
        live = ""
    return sorted(p.name for p in index.iterdir() if p.name not in (LOCK, POINTER, live)) if index.is_dir() else []


def _change(corpus: Path, rng: random.Random, trial: int) -> str:
    files = sorted(p for p in corpus.iterdir() if p.suffix in (".txt", ".md"))
    what = rng.choice(["edit", "add", "remove"] if len(files) > 3 else ["edit", "add"])
    if what == "edit":
        target = rng.choice(files)
        with target.open("a", encoding="utf-8") as fh:
            fh.write(f"\n第{trial}次评测追加的段落，内容为数据开放与人才引进。\n")
        return f"edited {target.name}"
    if what == "add":
        name = f"added_{trial:03d}.txt"
        (corpus / name).write_text(
            f"示范条例第{trial}号\n\n第一条 为了规范第{trial}项工作，制定本条例。\n\n第二条 市有关部门负责实施。\n",
            encoding="utf-8",
        )
        return f"added {name}"
    target = rng.choice([f for f in files if f.name.startswith("added_")] or files[-1:])
    target.unlink()
    return f"removed {target.name}"


def kill_trials(corpus: Path, index: Path, trials: int, rng: random.Random) -> dict[str, Any]:
    """Random SIGKILLs during builds; returns per-trial outcomes."""
    subprocess.run(_cli("index", str(corpus), "--index", str(index), "--no-progress"), env=_env(), check=True)
    # Kills are spread over the length of a typical run: a change, then an incremental build (process start
    # and model load included), measured once here.
    _change(corpus, rng, -1)
    started = time.perf_counter()
    subprocess.run(_cli("index", str(corpus), "--index", str(index), "--no-progress"), env=_env(), check=True)
    build_seconds = time.perf_counter() - started
    rows = []
    for trial in range(trials):
        change = _change(corpus, rng, trial)
        before = current_dir(index).name
        proc = subprocess.Popen(
            _cli("index", str(corpus), "--index", str(index), "--no-progress"),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        # Half the kills anywhere in the run, half near its end, where the version is written and switched.
        delay = rng.uniform(0.0, build_seconds) if trial % 2 else build_seconds * rng.uniform(0.7, 1.3)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        row: dict[str, Any] = {"trial": trial, "change": change, "kill_after_s": round(delay, 2)}
        row["killed"] = proc.returncode == -signal.SIGKILL
        try:
            row["switched"] = current_dir(index).name != before
            loaded = load_index(index)
            row["index_after_kill"] = f"ok ({loaded.manifest.counts['documents']} documents)"
            row["ok"] = True
        except IndexStoreError as exc:
            row["index_after_kill"] = f"FAILED: {exc}"
            row["ok"] = False
        row["debris_after_kill"] = _debris(index)
        rows.append(row)
    final = subprocess.run(
        _cli("index", str(corpus), "--index", str(index), "--no-progress"), env=_env(), capture_output=True, text=True
    )
    return {
        "incremental_run_seconds": round(build_seconds, 2),
        "trials": rows,
        "final_build_exit": final.returncode,
        "debris_after_final_build": _debris(index),
        "ok": all(r["ok"] for r in rows) and final.returncode == 0 and not _debris(index),
    }


def concurrent_builds(corpus: Path, index: Path, n: int, rng: random.Random) -> dict[str, Any]:
    """``n`` builds started together after one change."""
    change = _change(corpus, rng, 900)
    procs = [
        subprocess.Popen(
            _cli("index", str(corpus), "--index", str(index), "--no-progress"),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    outcomes: list[dict[str, Any]] = []
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        outcomes.append({"exit": proc.returncode, "stderr": err.strip()[:300]})
    clear = all(
        o["exit"] == 0
        or (
            o["exit"] == 2
            and o["stderr"].startswith("policyrag: error: another policyrag build")
            and "\n" not in o["stderr"]
        )
        for o in outcomes
    )
    try:
        load_index(index)
        loads = True
    except IndexStoreError:
        loads = False
    return {
        "change": change,
        "builds": outcomes,
        "winners": sum(o["exit"] == 0 for o in outcomes),
        "ok": clear and loads and any(o["exit"] == 0 for o in outcomes),
    }


def damaged_files(index: Path, work: Path) -> dict[str, Any]:
    """Each index file damaged in a copy of the index; ``policyrag search`` must fail with one clear line."""
    live = current_dir(index)
    rows = []
    for path in sorted(p for p in live.rglob("*") if p.is_file()):
        rel = str(path.relative_to(live))
        for how in ("one byte flipped", "unreadable (a folder in its place)"):
            copy = work / "damaged"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(index, copy)
            target = current_dir(copy) / rel
            if how == "one byte flipped":
                data = bytearray(target.read_bytes())
                data[len(data) // 2] ^= 0x01
                target.write_bytes(bytes(data))
            else:
                target.unlink()
                target.mkdir()
            done = subprocess.run(
                _cli("search", "人工智能产业主管部门", "--index", str(copy)), env=_env(), capture_output=True, text=True
            )
            err = done.stderr.strip()
            if rel.endswith(".gz"):  # a build cache: search never reads it; the next build must not trip on it
                rebuilt = subprocess.run(
                    _cli("index", str(index.parent / "corpus"), "--index", str(copy), "--no-progress"),
                    env=_env(),
                    capture_output=True,
                    text=True,
                )
                ok = done.returncode == 0 and rebuilt.returncode == 0
                err = f"search exit {done.returncode}; next build exit {rebuilt.returncode}"
                err += f" {rebuilt.stderr.strip()[:200]}"
            else:
                ok = done.returncode == 2 and err.startswith("policyrag: error: ") and "\n" not in err
            rows.append({"file": rel, "damage": how, "exit": done.returncode, "stderr": err[:300], "ok": ok})
    return {"cases": rows, "ok": all(r["ok"] for r in rows)}


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; exit 1 when any check fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "eval" / ".cache" / "faults")
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--concurrent", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "reports" / "faults.json")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    for stale in ("corpus", "index", "damaged"):  # the embedding cache (.embcache) beside them is kept
        shutil.rmtree(args.work_dir / stale, ignore_errors=True)
    corpus = args.work_dir / "corpus"
    shutil.copytree(args.corpus, corpus)
    index = args.work_dir / "index"
    report: dict[str, Any] = {
        "kill_9": kill_trials(corpus, index, args.trials, rng),
        "concurrent": concurrent_builds(corpus, index, args.concurrent, rng),
        "damaged_files": damaged_files(index, args.work_dir),
    }
    report["ok"] = all(part["ok"] for part in report.values() if isinstance(part, dict))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    k = report["kill_9"]
    print(
        f"kill -9: {sum(r['ok'] for r in k['trials'])}/{len(k['trials'])} left a whole index "
        f"({sum(r['killed'] for r in k['trials'])} killed mid-run, "
        f"{sum(r.get('switched', False) for r in k['trials'])} after switching to the new version); "
        f"final build exit {k['final_build_exit']}, "
        f"debris {k['debris_after_final_build'] or 'none'}\n"
        f"concurrent: {report['concurrent']['winners']} of {args.concurrent} builds ran, the others a clear error: "
        f"{'ok' if report['concurrent']['ok'] else 'FAILED'}\n"
        f"damaged index files: {sum(r['ok'] for r in report['damaged_files']['cases'])}/"
        f"{len(report['damaged_files']['cases'])} as expected (one-line error; build caches: search unaffected)\n"
        f"{'all checks passed' if report['ok'] else 'SOME CHECKS FAILED'} → {args.out}"
    )
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
