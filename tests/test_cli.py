"""The command line, called in-process: exit codes, files and what a person reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kchaos.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "topologies").glob("*.yaml"))

SMALL = """\
apiVersion: kchaos/v1alpha1
kind: Topology
metadata:
  name: small
regions:
  - name: r1
    datacenters:
      - name: dc1
        racks: 1
        serversPerRack: 3
      - name: dc2
        racks: 1
        serversPerRack: 3
      - name: dc3
        racks: 1
        serversPerRack: 3
controlPlane:
  members: 3
workers:
  - pool: app
    count: 6
    capacity: {cpu: 8, memory: 32Gi}
workloads:
  - name: web
    kind: Deployment
    replicas: 6
    requests: {cpu: 1, memory: 2Gi}
    minAvailable: 4
slo:
  controlPlane: 99.9
  workloads:
    web: 99.5
  maxNodeUtilization: 95%
"""


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def test_run_writes_results_and_report(small, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", str(small), "--failures", "500", "--out", str(out)])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    for key in ("schema", "kchaos_version", "topology", "run", "control_plane", "workloads", "load", "domains",
                "advisories", "slo"):
        assert key in results
    cp = results["control_plane"]
    for key in ("members", "quorum", "tolerates", "availability", "quorum_availability",
                "downtime_minutes_per_year", "leader_elections", "write_commit_ms"):
        assert key in cp
    assert cp["quorum_availability"]["exact"] is not None
    assert results["run"]["failures_injected"] == 500
    html = (out / "index.html").read_text()
    assert "<script src=" not in html and "cdn.plot.ly" not in html
    printed = capsys.readouterr().out
    assert "small" in printed and str(out / "index.html") in printed


def test_run_quiet_prints_nothing(small, tmp_path, capsys):
    assert main(["run", str(small), "-n", "200", "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert capsys.readouterr().out == ""


def test_validate_prints_layout(small, capsys):
    assert main(["validate", str(small)]) == 0
    out = capsys.readouterr().out
    assert "cp-1" in out and "quorum 2" in out and "valid" in out


@pytest.mark.parametrize("args", [
    ["run", "does-not-exist.yaml"],
    ["run"],
    ["frobnicate"],
    ["run", "x.yaml", "--failures", "0"],
])
def test_usage_errors_exit_2(args, capsys):
    assert main(args) == 2


def test_bad_topology_exits_2_with_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.replace("members: 3", "members: 9"))
    assert main(["run", str(bad), "-n", "100"]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:18" in err and "controlPlane.members" in err
    assert "Traceback" not in err


def test_check_passes_and_writes_junit(small, tmp_path, capsys, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    junit = tmp_path / "junit.xml"
    assert main(["check", str(small), "-n", "1000", "--junit", str(junit)]) == 0
    xml = junit.read_text()
    assert xml.count("<testcase") == 3 and "<failure" not in xml
    assert "| controlPlane |" in summary.read_text()


def test_check_fails_on_missed_target(tmp_path, capsys):
    strict = tmp_path / "strict.yaml"
    strict.write_text(SMALL.replace("minAvailable: 4", "minAvailable: 6").replace("web: 99.5", "web: 99.999"))
    junit = tmp_path / "junit.xml"
    assert main(["check", str(strict), "-n", "1000", "--junit", str(junit)]) == 1
    out = capsys.readouterr().out
    assert "missed" in out and "workloads.web" in out
    assert "<failure" in junit.read_text()


NODES_ONLY = "failures:\n  node: {mtbf: 30d, mttr: 10m}\n  server: none\n  rack: none\n  datacenter: none\n" \
             "  region: none\n"


def test_check_baseline_regression(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(SMALL + NODES_ONLY)
    worse = tmp_path / "worse.yaml"  # every replica needed: each worker failure is an outage
    worse.write_text(SMALL.replace("minAvailable: 4", "minAvailable: 6").replace("web: 99.5", "web: 90") + NODES_ONLY)
    out = tmp_path / "base"
    assert main(["run", str(good), "-n", "3000", "--out", str(out), "--quiet"]) == 0
    assert main(["check", str(good), "-n", "3000", "--baseline", str(out / "results.json")]) == 0
    capsys.readouterr()
    assert main(["check", str(worse), "-n", "3000", "--baseline", str(out / "results.json")]) == 1
    out_text = capsys.readouterr().out
    assert "regression.workloads.web" in out_text and "missed" in out_text


def test_compare_etcd_sizes(small, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", str(small), "--etcd-sizes", "3,4", "-n", "400", "--out", str(out)]) == 0
    data = json.loads((out / "comparison.json").read_text())
    assert [r["control_plane"]["members"] for r in data] == [3, 4]
    assert (out / "index.html").exists()


def test_whatif_prints_events(small, capsys):
    assert main(["whatif", str(small), "--fail", "datacenter/dc1"]) == 0
    out = capsys.readouterr().out
    assert "LAST SEEN" in out and "NodeNotReady" in out and "quorum" in out


def test_whatif_json(small, capsys):
    assert main(["whatif", str(small), "--fail", "datacenter/dc1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["outcome"]["quorum"] == "kept"


def test_whatif_unknown_domain(small, capsys):
    assert main(["whatif", str(small), "--fail", "rack/nope"]) == 2
    assert "rack/nope" in capsys.readouterr().err


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_validate(example, capsys):
    assert main(["validate", str(example)]) == 0


def test_same_seed_same_results_json(small, tmp_path):
    for name in ("a", "b"):
        assert main(["run", str(small), "-n", "400", "--seed", "9", "--out", str(tmp_path / name), "--quiet"]) == 0
    a, b = (json.loads((tmp_path / n / "results.json").read_text()) for n in ("a", "b"))
    a["run"].pop("wall_seconds"), b["run"].pop("wall_seconds")
    assert a == b
