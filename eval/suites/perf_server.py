"""Server memory for the performance benchmark: start ``policyrag serve`` on a free loopback port, read its RSS.

The server runs as a child process so its memory is its own: VmRSS/VmHWM are read from ``/proc/<pid>/status``
once the index and model are loaded (``/healthz`` answers) and again after some requests. The server is always
stopped, cleanly first (SIGINT, as Ctrl-C), then by force.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]


class ServerStartError(RuntimeError):
    """The server exited or did not answer /healthz in time."""


@dataclass(frozen=True)
class ServerMemory:
    """One server measurement (the ``server`` rows of the performance JSON)."""

    index: str
    llm: bool
    rss_mb_after_load: float
    rss_mb_after_requests: float
    peak_rss_mb: float
    requests: int
    load_seconds: float
    errors: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def parse_proc_status(text: str) -> dict[str, float]:
    """Memory fields (``Vm*``, ``Rss*``) of a ``/proc/<pid>/status`` text, in MB (the file gives kB)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        if (key.startswith(("Vm", "Rss"))) and len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            out[key] = round(int(parts[0]) / 1024, 1)
    return out


def read_proc_memory(pid: int) -> dict[str, float]:
    """``parse_proc_status`` of a live process."""
    return parse_proc_status(Path(f"/proc/{pid}/status").read_text(encoding="utf-8"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def policyrag_command() -> list[str]:
    """How to run the CLI with this interpreter (the venv's console script when present)."""
    script = Path(sys.executable).with_name("policyrag")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "policyrag.cli"]


def stop_process(proc: subprocess.Popen[bytes], *, grace: float = 20.0) -> None:
    """SIGINT (uvicorn shuts down cleanly), then SIGKILL after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        logger.warning("server %d did not stop on SIGINT within %.0f s; killing it", proc.pid, grace)
        proc.kill()
        proc.wait(timeout=grace)


@contextmanager
def running_server(
    index_dir: Path, *, no_llm: bool, log_path: Path, timeout: float = 900.0, extra_args: Sequence[str] = ()
) -> Iterator[tuple[subprocess.Popen[bytes], str, float, dict[str, Any]]]:
    """Start ``policyrag serve`` for ``index_dir``; yields (process, base URL, seconds to healthy, /healthz body)."""
    port = free_port()
    cmd = [*policyrag_command(), "serve", "--index", str(index_dir), "--port", str(port), *extra_args]
    if no_llm:
        cmd.append("--no-llm")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            url = f"http://127.0.0.1:{port}"
            while True:
                if proc.poll() is not None:
                    raise ServerStartError(f"server exited with code {proc.returncode}; see {log_path}")
                if time.perf_counter() - started > timeout:
                    raise ServerStartError(f"server did not answer /healthz within {timeout:.0f} s; see {log_path}")
                try:
                    response = httpx.get(f"{url}/healthz", timeout=2.0)
                    if response.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            yield proc, url, time.perf_counter() - started, response.json()
        finally:
            stop_process(proc)


def measure_server(
    name: str,
    index_dir: Path,
    *,
    no_llm: bool,
    queries: Sequence[str],
    ask: str | None = None,
    log_dir: Path,
) -> ServerMemory:
    """Memory of a server on ``index_dir`` after load and after ``queries`` searches (and one ``ask``)."""
    errors = requests = 0
    log_path = log_dir / f"serve-{name}.log"
    with running_server(index_dir, no_llm=no_llm, log_path=log_path) as (proc, url, load_s, health):
        after_load = read_proc_memory(proc.pid)
        with httpx.Client(base_url=url, timeout=600.0) as client:
            for q in queries:
                requests += 1
                errors += client.get("/api/search", params={"q": q, "k": 10}).status_code != 200
            if ask is not None:
                requests += 1
                errors += client.post("/api/ask", json={"question": ask}).status_code != 200
        after = read_proc_memory(proc.pid)
    return ServerMemory(
        index=name,
        llm=bool(health.get("model_loaded")),
        rss_mb_after_load=after_load.get("VmRSS", 0.0),
        rss_mb_after_requests=after.get("VmRSS", 0.0),
        peak_rss_mb=after.get("VmHWM", 0.0),
        requests=requests,
        load_seconds=round(load_s, 2),
        errors=errors,
    )
