"""check --baseline: a paired comparison on common random numbers, with stated error rates
(issue 20: it printed `z = 874.54`, and other seeds of the same layout raised false alarms)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kchaos.analysis import analyze
from kchaos.analysis.gate import compare_baseline
from kchaos.cli import main
from kchaos.model.sampling.montecarlo import run_monte_carlo
from kchaos.topology import load_topology

from .conftest import topology

ROOT = Path(__file__).resolve().parent.parent
THREE_DC = ROOT / "topologies" / "three-datacenters.yaml"


def _run(cluster, seed: int, failures: int = 1500) -> dict:
    return analyze(run_monte_carlo(cluster, failures=failures, seed=seed, sampling="auto"))


@pytest.fixture(scope="module")
def seeds():
    cluster = load_topology(THREE_DC)
    return {seed: _run(cluster, seed) for seed in range(1, 7)}


def test_the_same_topology_and_seed_is_no_change(seeds):
    again = _run(load_topology(THREE_DC), 1)
    checks = compare_baseline(again, seeds[1])
    assert [ch["name"] for ch in checks] == ["regression.controlPlane", "regression.workloads.web",
                                            "regression.workloads.db", "regression.workloads.coredns"]
    for ch in checks:
        assert ch["passed"] and ch["paired"] and ch["downtime_change_minutes_per_year"] == 0.0
        assert ch["detail"].startswith("no change")


def test_five_other_seeds_raise_no_false_alarm(seeds):
    """The whole comparison's false-alarm rate is at most 1% (one-sided, Bonferroni over its
    three availabilities): five baselines from other seeds must all pass (unpaired)."""
    for seed in range(2, 7):
        checks = compare_baseline(seeds[1], seeds[seed])
        assert checks and all(ch["passed"] and not ch["paired"] for ch in checks), (seed, checks)


def test_a_clearly_worse_layout_is_flagged_paired_on_the_same_seed(seeds):
    """Region repairs twice as long (48 h): the exact quorum loss doubles, 7.2 -> 14.4 min/year."""
    text = THREE_DC.read_text().replace("slo:", "failures:\n  region: {mtbf: 200y, mttr: 48h}\nslo:")
    worse = _run(topology(text, "worse.yaml"), 1)
    checks = {ch["name"]: ch for ch in compare_baseline(worse, seeds[1])}
    api = checks["regression.controlPlane"]
    assert not api["passed"] and api["paired"]
    assert api["downtime_change_minutes_per_year"] == pytest.approx(7.2, rel=0.02)
    assert api["detail"].startswith("significant drop: +7.2 min/year")
    assert not checks["regression.workloads.web"]["passed"]


def test_check_pairs_with_the_baseline_seed_and_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    out = tmp_path / "base"
    assert main(["run", str(THREE_DC), "-n", "1500", "--seed", "4", "--out", str(out), "-q"]) == 0
    capsys.readouterr()
    assert main(["check", str(THREE_DC), "--baseline", str(out / "results.json")]) == 0
    text = capsys.readouterr().out
    assert "kchaos check: three-datacenters (1,500 failures, seed 4)" in text
    flat = " ".join(text.split())
    assert "paired: same seed and histories; a false alarm in at most 1% of runs" in flat
    assert "0 (no change)" in text
    assert "z =" not in text and max(len(line) for line in text.splitlines()) <= 80
    base = json.loads((out / "results.json").read_text())
    assert len(base["samples"]["seconds"]) == base["run"]["histories"]


@pytest.fixture(scope="module")
def small_baseline(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("base")
    assert main(["run", str(ROOT / "topologies" / "three-workers.yaml"), "-n", "200", "-j", "1", "-q",
                 "--out", str(out)]) == 0
    return json.loads((out / "results.json").read_text())


@pytest.mark.parametrize("edit,at", [
    (lambda d: d.update(control_plane=5), "control_plane"),
    (lambda d: d.update(workloads=5), "workloads"),
    (lambda d: d["workloads"][0].update(name=["app"]), "workloads[0].name"),
    (lambda d: d["run"].update(sampling=5), "run.sampling"),
    (lambda d: d["samples"]["controlPlane"].update(exact=10**400), "samples.controlPlane.exact"),
    (lambda d: d["samples"].update(seconds=[float("inf")] * len(d["samples"]["seconds"])), "samples.seconds[0]"),
    (lambda d: d["control_plane"]["availability"].update(estimate=float("nan")), "control_plane.availability.estimate"),
    (lambda d: d["control_plane"]["availability"].update(ci95=[0.9]), "control_plane.availability.ci95"),
])
def test_a_baseline_of_the_wrong_shape_exits_2_with_file_and_line(tmp_path, capsys, small_baseline, edit, at):
    """Each crashed `check` with a traceback (AttributeError, TypeError, OverflowError, or NaN
    in the verdict's rendering): the file is checked where the comparison reads it."""
    data = json.loads(json.dumps(small_baseline))
    edit(data)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data, indent=1))
    capsys.readouterr()
    assert main(["check", str(ROOT / "topologies" / "three-workers.yaml"), "--baseline", str(path), "-n", "200",
                 "-j", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:") and f": {at}: must be " in err and len(err.splitlines()) == 1, err


def test_a_baseline_with_null_for_its_workloads_compares_the_control_plane(tmp_path, capsys, small_baseline):
    """Null is absent (`workloads: null` raised TypeError; found by a sweep of single mutations)."""
    data = json.loads(json.dumps(small_baseline))
    data["workloads"] = None
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["check", str(ROOT / "topologies" / "three-workers.yaml"), "--baseline", str(path), "-n", "200",
                 "-j", "1"]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.split("against the baseline")[1].splitlines()
            if line.strip()]
    assert "controlPlane" in rows and "app" not in rows
