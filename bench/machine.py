"""The machine a bench ran on, for its results file: timings only compare on the same CPU and load.

Standard library only, so a harness running under another project's environment can use it too.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    """The CPU's model name as /proc/cpuinfo gives it (the platform's name elsewhere)."""
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages: what else ran beside the bench."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def git_commit(folder: Path = REPO) -> str | None:
    """The checked-out commit of ``folder``, with ``+changes`` when its work tree differs from it."""
    try:
        run = lambda *cmd: subprocess.run(["git", "-C", str(folder), *cmd], capture_output=True, text=True,
                                          check=True).stdout.strip()
        commit = run("rev-parse", "HEAD")
        return commit + ("+changes" if run("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def describe() -> dict:
    """CPU, cores, Python and load average, the fields every timing result records."""
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "load_average": load_average()}
