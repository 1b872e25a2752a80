"""Where histories run never changes the results: this process, a process pool, Dask."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kchaos.cli import main, usable_cores

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGY = str(ROOT / "topologies" / "three-datacenters.yaml")


def _results(tmp_path: Path, name: str, *extra: str) -> dict:
    out = tmp_path / name
    assert main(["run", TOPOLOGY, "-n", "600", "--seed", "3", "--out", str(out), "-q", *extra]) == 0
    r = json.loads((out / "results.json").read_text())
    r["run"].pop("wall_seconds"), r["run"].pop("jobs")
    return r


def test_jobs_default_to_the_usable_cores(tmp_path):
    out = tmp_path / "default"
    assert main(["run", TOPOLOGY, "-n", "100", "--out", str(out), "-q"]) == 0
    assert json.loads((out / "results.json").read_text())["run"]["jobs"] == usable_cores()


def test_dask_local_cluster_gives_the_same_results(tmp_path):
    pytest.importorskip("distributed")
    alone = _results(tmp_path, "alone", "-j", "1")
    assert _results(tmp_path, "dask", "--dask", "local", "-j", "2") == alone


def test_unreachable_dask_scheduler_is_a_usage_error(tmp_path, capsys):
    pytest.importorskip("distributed")
    assert main(["run", TOPOLOGY, "-n", "100", "--out", str(tmp_path), "-q", "--dask", "tcp://127.0.0.1:9"]) == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err


def test_an_interrupt_drops_the_pool_work_not_started():
    """Ctrl-C (or a SIGINT to the main process alone) while a local pool has work queued: the
    work not started is cancelled, not waited for (a SIGINT during the pool's settling once
    left the run hanging at exit, its workers waiting for work that never came)."""
    import time

    from kchaos.model.engine import ClusterModel
    from kchaos.model.sampling.pools import open_pool
    from kchaos.topology import load_topology
    model = ClusterModel(load_topology(Path(__file__).resolve().parent.parent / "topologies" / "one-rack.yaml"))
    with pytest.raises(KeyboardInterrupt):
        with open_pool(model, 2, 10) as pool:
            futures = [pool.executor.submit(time.sleep, 0.3) for _ in range(20)]
            raise KeyboardInterrupt
    assert sum(f.cancelled() for f in futures) >= 10  # at most the few already started ran


def test_the_caller_prepares_while_the_histories_run_on_other_processes():
    """``on_started`` is called once the workers run histories (the CLI imports the analysis
    and readies the report then), once per run, and never when this process plays them."""
    from kchaos.model.sampling.montecarlo import run_monte_carlo
    from kchaos.topology import load_topology
    cluster = load_topology(TOPOLOGY)
    calls = []
    run_monte_carlo(cluster, failures=300, seed=3, jobs=2, on_started=lambda: calls.append("pool"))
    run_monte_carlo(cluster, failures=300, seed=3, jobs=1, on_started=lambda: calls.append("alone"))
    assert calls == ["pool"]


def test_the_command_exits_with_its_code_after_flushing(tmp_path):
    """`python -m kchaos` ends with a hard exit (no module teardown): its exit code and its
    output still arrive whole."""
    import subprocess
    import sys
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: kchaos/v1alpha1\nkind: Topology\nmetadata: {name: x}\ncontrolPlane: {members: 9}\n")
    done = subprocess.run([sys.executable, "-m", "kchaos", "validate", str(bad)], capture_output=True, text=True)
    assert done.returncode == 2 and "members" in done.stderr and "Traceback" not in done.stderr
    out = tmp_path / "r"
    done = subprocess.run([sys.executable, "-m", "kchaos", "run", str(ROOT / "topologies" / "one-rack.yaml"), "-n", "50",
                           "-j", "2", "-o", str(out)], capture_output=True, text=True)
    assert done.returncode == 0 and "index.html" in done.stdout
    assert json.loads((out / "results.json").read_text())["run"]["failures_injected"] == 50
    assert (out / "index.html").read_text().rstrip().endswith("</html>")


def test_an_interrupt_before_any_history_writes_nothing(tmp_path, monkeypatch, capsys):
    """Ctrl-C before the first history is done: "interrupted", exit 130, no half-written report
    (it once reached the analysis with no history at all and ended in a traceback)."""
    import kchaos.model.sampling.montecarlo as montecarlo

    def interrupted(*_args):
        raise KeyboardInterrupt
    monkeypatch.setattr(montecarlo, "simulate_history", interrupted)
    out = tmp_path / "r"
    assert main(["run", TOPOLOGY, "-n", "100", "-j", "1", "--out", str(out), "-q"]) == 130
    assert "interrupted" in capsys.readouterr().err and not out.exists()
    assert main(["compare", TOPOLOGY, "--etcd-sizes", "3,5", "-n", "100", "-j", "1", "--out", str(out), "-q"]) == 130
    assert not out.exists()


def test_the_command_survives_a_closed_standard_output(tmp_path):
    """A CI step that closes stdout (`kchaos check ... >&-`): the exit code is still the
    command's own, not a crash while flushing before the hard exit."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "kchaos", "validate", TOPOLOGY], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, pass_fds=(), close_fds=True,
                          preexec_fn=lambda: __import__("os").close(1))
    assert done.returncode == 0, done.stderr
