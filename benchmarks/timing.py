"""Timing a whole `kchaos` process: wall seconds, CPU seconds and peak RSS (shared by the benchmarks).

CPU seconds (user + system, the process and every worker it waited for) hardly move when other
work shares the machine, where wall seconds do: compare CPU figures, or ratios of runs taken
back to back (:func:`interleaved`).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@dataclass(frozen=True)
class Timing:
    wall: float  # seconds
    cpu: float  # user + system seconds, the process and the children it waited for
    peak_rss: float  # bytes, the largest process
    status: str  # "ok", or what went wrong

    def __str__(self) -> str:
        return f"wall {self.wall:7.2f} s  cpu {self.cpu:7.2f} s  peak RSS {self.peak_rss / 2**20:6.0f} MiB"


def kchaos(*args: str, timeout: float = 3600.0) -> Timing:
    """Run ``python -m kchaos ARGS`` as a fresh process (from the repository root) and time it."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as `pip install .` leaves it: bytecode compiled once
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "kchaos", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            return Timing(time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024.0,
                          f"killed after {timeout:.0f} s")
        time.sleep(0.02)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
    proc.returncode = code
    # ru_maxrss is in KiB on Linux (bytes on macOS)
    rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024.0)
    return Timing(wall, usage.ru_utime + usage.ru_stime, rss, "ok" if code == 0 else f"exit {code}: {err[-300:]}")


def interleaved(runs: dict[str, list[str]], repeat: int) -> dict[str, list[Timing]]:
    """Each named command ``repeat`` times, in turn (a, b, a, b, ...), so that a slower spell of
    the machine weighs on every command alike."""
    out: dict[str, list[Timing]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, args in runs.items():
            out[name].append(kchaos(*args))
    return out


def median(timings: list[Timing], field: str) -> float:
    return statistics.median(getattr(t, field) for t in timings)


def describe(timings: list[Timing]) -> str:
    """Median wall and CPU (range), peak RSS, of several runs."""
    walls = sorted(t.wall for t in timings)
    cpus = sorted(t.cpu for t in timings)
    bad = [t.status for t in timings if t.status != "ok"]
    text = (f"wall {median(timings, 'wall'):7.2f} s ({walls[0]:.2f}-{walls[-1]:.2f})  "
            f"cpu {median(timings, 'cpu'):7.2f} s ({cpus[0]:.2f}-{cpus[-1]:.2f})  "
            f"peak RSS {max(t.peak_rss for t in timings) / 2**20:5.0f} MiB")
    return text + (f"  FAILED: {bad[0]}" if bad else "")
