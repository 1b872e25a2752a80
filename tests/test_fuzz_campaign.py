"""The hostile-input and fault campaign's processes, under ``pytest -m fuzz`` (`.ci/run` runs
it after the default tests, within a time limit; the long property tests are in
tests/test_fuzz.py): the issue's reproducers as their own processes, bounded in CPU time and
memory; and SIGINT sent at many points of runs, checking what is kept."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from . import fuzz_cases as fz
from .kube_fixtures import write_manifests, write_nodes

pytestmark = pytest.mark.fuzz

#: What every input may take as its own process: the issue's bounds.
MAX_SECONDS = 60
MAX_BYTES = 2 * 2**30
#: The processes run this checkout's kchaos, whatever is installed.
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(fz.ROOT), os.environ.get("PYTHONPATH")]))}


# -- inputs as processes: time and memory --------------------------------------------------------

def run_bounded(args: list[str], cwd: Path) -> tuple[int, str, float, int]:
    """``python -m kchaos ARGS`` as its own process: exit code, standard error, the CPU seconds
    of its process tree (the machine is shared: wall time says little) and its peak resident
    memory (the tree's, sampled every 20 ms). A process still running after 5 x the time
    limit of wall time fails the test (a hang)."""
    import resource

    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "kchaos", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=ENV)
    tree = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        if time.perf_counter() - start > 5 * MAX_SECONDS:
            proc.kill()
            pytest.fail(f"kchaos {' '.join(args)[:200]} still ran after {5 * MAX_SECONDS} s")
        try:
            peak = max(peak, sum(p.memory_info().rss for p in [tree, *tree.children(recursive=True)]))
        except psutil.Error:
            pass
        time.sleep(0.02)
    err = proc.stderr.read()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc.returncode, err, cpu, peak


def _dense(tmp: Path, pods: int) -> Path:
    text = (fz.ROOT / "topologies" / "three-workers.yaml").read_text()
    text = text.replace("count: 3\n    capacity: {cpu: 10, memory: 40Gi, pods: 110}",
                        "count: 12\n    capacity: {cpu: 100000, memory: 400Ti, pods: 1000000}")
    text = text.replace("replicas: 18", f"replicas: {pods}").replace("minAvailable: 15", f"minAvailable: {pods // 2}")
    text = text.replace("requests: {cpu: 1, memory: 1Gi}", "requests: {cpu: 10m, memory: 10Mi}")
    path = tmp / f"dense-{pods}.yaml"
    path.write_text(text)
    return path


def _bounded_inputs(tmp: Path) -> list[tuple[str, list[str]]]:
    """The reproducers of the issue's classes that only a process can show bounded."""
    nodes = tmp / "nodes.json"
    write_nodes(nodes)
    (tmp / "deep.json").write_text("[" * 3_000_000 + "]" * 3_000_000)
    (tmp / "big.yaml").write_text("#" * (6 * 2**20))
    bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 10)}]\n" for k in range(1, 12))
    (tmp / "bomb.yaml").write_text(bomb)
    roll = (fz.ROOT / "topologies" / "three-workers.yaml").read_text() + "\nkubernetes:\n  rolloutInterval: 10ms\n"
    (tmp / "roll.yaml").write_text(roll)
    dense = _dense(tmp, 999_000)
    return [
        ("import --nodes /dev/zero", ["import", "--nodes", "/dev/zero"]),
        ("import -f /dev/zero", ["import", "--nodes", str(nodes), "-f", "/dev/zero"]),
        ("run -f /dev/zero", ["run", str(fz.ROOT / "topologies" / "three-workers.yaml"), "-f", "/dev/zero"]),
        ("validate /dev/zero", ["validate", "/dev/zero"]),
        ("nodes JSON 3,000,000 deep", ["import", "--nodes", str(tmp / "deep.json")]),
        ("topology 6 MB", ["validate", str(tmp / "big.yaml")]),
        ("alias bomb 10^11", ["validate", str(tmp / "bomb.yaml")]),
        ("rolloutInterval 10ms", ["run", str(tmp / "roll.yaml"), "-n", "100", "-q", "-o", str(tmp / "r")]),
        ("validate 999,000 packed pods", ["validate", str(dense)]),
        ("check --baseline /dev/zero", ["check", str(fz.ROOT / "topologies" / "three-workers.yaml"), "--baseline",
                                        "/dev/zero"]),
        ("observe --events /dev/zero", ["observe", str(fz.ROOT / "topologies" / "three-workers.yaml"), "--fail",
                                        "node/general-1", "--start", "2024-05-01T10:00:00Z", "--events", "/dev/zero"]),
        ("observe --events 3,000,000 deep", ["observe", str(fz.ROOT / "topologies" / "three-workers.yaml"), "--fail",
                                             "node/general-1", "--start", "2024-05-01T10:00:00Z", "--events",
                                             str(tmp / "deep.json")]),
    ]


def test_every_reproducer_is_bounded(tmp_path, capsys):
    rows = []
    for label, args in _bounded_inputs(tmp_path):
        code, err, seconds, peak = run_bounded(args, tmp_path)
        rows.append(f"{label}: exit {code}, {seconds:.1f} s CPU, {peak / 2**30:.2f} GiB")
        assert code in (0, 1, 2) and "Traceback" not in err, (label, err[-1000:])
        assert seconds < MAX_SECONDS and peak < MAX_BYTES, rows[-1]
    with capsys.disabled():
        print("\n" + "\n".join(rows))


# -- SIGINT at many points -----------------------------------------------------------------------

#: Runs kchaos with a hook that writes one byte to the file descriptor $KCHAOS_TEST_FD when
#: the first history is finished (kchaos.interrupts.keep), so that the test knows when "after
#: the first history" begins.
HOOKED = """
import os, sys
import kchaos.interrupts as interrupts
_keep = interrupts.keep
def keep():
    if interrupts._gate is not None and not interrupts._gate.keeping:
        try:
            os.write(int(os.environ["KCHAOS_TEST_FD"]), b"k")
        except OSError:
            pass
    _keep()
interrupts.keep = keep
sys.argv[0] = "kchaos"
from kchaos.launch import entry
entry()
"""


def _interrupted_run(args: list[str], after_first: float | None, at: float | None, cwd: Path):
    """Run kchaos, send SIGINT ``after_first`` seconds after its first history is finished (or
    ``at`` seconds after it starts), as a terminal does (to the process group)."""
    read, write = os.pipe()
    proc = subprocess.Popen([sys.executable, "-c", HOOKED, *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, pass_fds=(write,), start_new_session=True,
                            env={**ENV, "KCHAOS_TEST_FD": str(write)})
    os.close(write)
    if at is not None:
        time.sleep(at)
        first_done = None
    else:
        first_done = os.read(read, 1)  # blocks until the first history is kept (or the run ends)
        time.sleep(after_first)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=180)
    os.close(read)
    return proc.returncode, err, first_done


def _kept(folder: Path) -> dict | None:
    path = folder / "results.json"
    return json.loads(path.read_text()) if path.exists() else None


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigint_after_the_first_history_keeps_a_results_json(tmp_path, capsys, jobs):
    rng = random.Random(int(jobs))
    example = str(fz.ROOT / "topologies" / "three-datacenters.yaml")
    rows = []
    for k in range(12):
        delay = rng.uniform(0, 3.0)
        out = tmp_path / f"r{k}"
        code, err, first = _interrupted_run(["run", example, "-n", "10000", "-j", jobs, "-q", "-o", str(out)],
                                            delay, None, tmp_path)
        assert "Traceback" not in err, err[-2000:]
        kept = _kept(out)
        rows.append(f"-j {jobs} SIGINT {delay:.2f} s after the first history: exit {code}, "
                    f"{'no results' if kept is None else ('partial' if kept['run']['partial'] else 'whole')}")
        assert first == b"k", "the run ended before its first history was reported"
        assert kept is not None, rows[-1]  # the first history was finished: something is kept
        assert code in (0, 130)
        assert kept["run"]["partial"] == (code == 130 and "partial" in err)
        assert (out / "index.html").exists()
    with capsys.disabled():
        print("\n" + "\n".join(rows))


def test_sigint_at_any_time_prints_no_traceback(tmp_path, capsys):
    rng = random.Random(3)
    example = str(fz.ROOT / "topologies" / "three-datacenters.yaml")
    outcomes = {}
    for k in range(16):
        at = rng.uniform(0.15, 6.0)  # from kchaos's first line on (Python's own start-up comes before)
        out = tmp_path / f"r{k}"
        command = ["run", "check", "compare"][k % 3]
        args = [command, example, "-n", "2000", "-q", "-o", str(out)]
        if command == "compare":
            args = ["compare", example, "--etcd-sizes", "3,5", "-n", "1000", "-q", "-o", str(out)]
        code, err, _ = _interrupted_run(args, None, at, tmp_path)
        assert "Traceback" not in err and code in (0, 1, 130), (command, at, code, err[-2000:])
        name = "comparison.json" if command == "compare" else "results.json"
        if (out / name).exists():
            json.loads((out / name).read_text())
            assert (out / "index.html").exists()
        outcomes[code] = outcomes.get(code, 0) + 1
    with capsys.disabled():
        print(f"\nSIGINT at 16 random times over run/check/compare: exit codes {outcomes}")


def test_manifests_fixture_still_imports(tmp_path):
    """The campaign's base inputs are valid: a mutant's failure is the mutation's."""
    write_manifests(tmp_path / "k8s")
    write_nodes(tmp_path / "nodes.json")
    code, out, err = fz.run_cli(["import", "--nodes", str(tmp_path / "nodes.json"), "-f", str(tmp_path / "k8s")])
    assert code == 0, err
