"""Issue 3's must-holds: what-if scenarios and the etcd size comparison."""

from __future__ import annotations

from math import comb
from pathlib import Path

import pytest

from kchaos.analysis.compare import parse_sizes, run_variants
from kchaos.analysis.whatif import run_scenario
from kchaos.cli import main
from kchaos.errors import KchaosUsageError
from kchaos.topology import load_topology

from .conftest import topology

ROOT = Path(__file__).resolve().parent.parent


def test_whatif_two_workers_survivor_full_with_pending():
    c = load_topology(ROOT / "topologies" / "two-workers.yaml")
    s = run_scenario(c, ["node/general-1"])
    o = s["outcome"]
    assert o["hottest_node"] == "general-2"
    assert o["hottest_utilization"] == pytest.approx(1.0)
    assert len(o["pending_pods"]) == 2
    assert all("Insufficient cpu" in why for why in o["pending_pods"].values())
    reasons = [e["reason"] for e in s["events"]]
    for r in ("NodeNotReady", "TaintManagerEviction", "SuccessfulCreate", "Scheduled", "FailedScheduling", "Started"):
        assert r in reasons
    assert not o["recovered"]


def test_whatif_three_workers_survivors_at_90():
    c = load_topology(ROOT / "topologies" / "three-workers.yaml")
    run = run_scenario(c, ["node/general-1"])
    o = run["outcome"]
    assert o["hottest_utilization"] == pytest.approx(0.9)
    assert o["pending_pods"] == {}
    # NotReady 40-55 s after the failure (drawn), tainted at once, pods gone 300 s later, 30 s to start.
    not_ready = next(e["t"] for e in run["events"] if e["reason"] == "NodeNotReady")
    taint = next(e["t"] for e in run["events"] if e["reason"] == "NoExecuteTaint")
    assert 40 <= not_ready <= 55 and taint == not_ready
    assert o["time_to_full_recovery_seconds"] == pytest.approx(not_ready + 300 + 30)


TWO_PLUS_ONE = """
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: two-plus-one}
regions:
  - name: r1
    datacenters:
      - name: dc1
        racks: [{name: dc1-r1, servers: 3}]
      - name: dc2
        racks: [{name: dc2-r1, servers: 3}]
controlPlane:
  members: 3
  placement: [dc1-r1-s1, dc1-r1-s2, dc2-r1-s1]
workers:
  - pool: app
    count: 2
    capacity: {cpu: 8, memory: 32Gi}
workloads:
  - name: web
    kind: Deployment
    replicas: 2
    requests: {cpu: 1, memory: 1Gi}
"""


def test_whatif_datacenter_with_two_of_three_members_loses_quorum(capsys):
    c = topology(TWO_PLUS_ONE)
    s = run_scenario(c, ["datacenter/dc1"])
    assert s["outcome"]["quorum"] == "lost"
    assert sorted(s["outcome"]["members_down"]) == ["cp-1", "cp-2"]
    assert any(e["reason"] == "QuorumLost" for e in s["events"])
    # Nothing is rescheduled while the API is down: the pods on dc1's worker stay where they are.
    assert not any(e["reason"] == "TaintManagerEviction" for e in s["events"])
    # Repair after 30 minutes: quorum returns after an election, then the chain runs.
    r = run_scenario(c, ["datacenter/dc1"], repair_after=1800)
    assert r["outcome"]["recovered"]
    assert any(e["reason"] == "QuorumRestored" for e in r["events"])


def test_whatif_drain_blocks_on_disruption_budget():
    c = topology(TWO_PLUS_ONE.replace("replicas: 2", "replicas: 2\n    minAvailable: 2"))
    node = next(n.name for n in c.nodes if n.role == "worker")
    o = run_scenario(c, [], drain=[f"node/{node}"])["outcome"]
    assert o["drains"][0]["completed"] is False
    assert o["drains"][0]["blocked_pods"]
    ok = run_scenario(topology(TWO_PLUS_ONE), [], drain=[f"node/{node}"])["outcome"]
    assert ok["drains"][0]["completed"] is True


def test_whatif_cli_names_lost_quorum(tmp_path, capsys):
    path = tmp_path / "t.yaml"
    path.write_text(TWO_PLUS_ONE)
    assert main(["whatif", str(path), "--fail", "datacenter/dc1"]) == 0
    out = capsys.readouterr().out
    assert "QuorumLost" in out and "LOST" in out and "cp-1" in out


def test_parse_sizes():
    assert parse_sizes("1-7") == [1, 2, 3, 4, 5, 6, 7]
    assert parse_sizes("3,4,5") == [3, 4, 5]
    assert parse_sizes("3-4,7") == [3, 4, 7]
    for bad in ("0-3", "8", "x", "5-3"):
        with pytest.raises(KchaosUsageError):
            parse_sizes(bad)


SEVEN_DCS = """
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: seven-dcs}
regions:
  - name: r1
    datacenters:
""" + "".join(f"""      - name: dc{i}
        racks: [{{name: dc{i}-r1, servers: 1}}]
""" for i in range(1, 8)) + """
controlPlane:
  members: 3
failures:
  node: none
  server: {mtbf: 100h, mttr: 10h}
  rack: none
  datacenter: none
  region: none
  regionLink: none
"""


#: z of a two-sided 1 - 0.05/7 interval over z of a 95% one.
BONFERRONI_7 = 2.6901 / 1.95996


def binomial_unavailability(n: int, p: float) -> float:
    q = n // 2 + 1
    return sum(comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(n - q + 1, n + 1))


def test_etcd_sizes_one_to_seven_follow_the_binomial(tmp_path):
    path = tmp_path / "seven.yaml"
    path.write_text(SEVEN_DCS)
    variants = [(f"{n}", load_topology(path, overrides={"controlPlane.members": n})) for n in range(1, 8)]
    results = run_variants(variants, failures=10_000, seed=2)
    p = 10 / 110
    got = {}
    for n, r in zip(range(1, 8), results):
        cp = r["control_plane"]
        assert (cp["quorum"], cp["tolerates"]) == [(1, 0), (2, 0), (2, 1), (3, 1), (3, 2), (4, 2), (4, 3)][n - 1]
        exact = 1 - binomial_unavailability(n, p)
        qa = cp["quorum_availability"]
        assert qa["exact"] == pytest.approx(exact, abs=1e-9)
        # Seven intervals checked at once: each widened from 95% to 1 - 5%/7 (Bonferroni), so the
        # test as a whole errs 5% of seeds, not a third of them.
        low, high = (qa["estimate"] + BONFERRONI_7 * (end - qa["estimate"]) for end in qa["ci95"])
        assert low <= exact <= high, (n, qa, exact)
        got[n] = 1 - qa["estimate"]
    order = sorted(got, key=got.get, reverse=True)
    assert order == [2, 1, 4, 3, 6, 5, 7]


def test_region_link_cut_evicts_the_cut_off_workers():
    c = load_topology(ROOT / "topologies" / "korea-stretched.yaml")
    s = run_scenario(c, ["regionLink/korea-central~korea-south"])
    south = {n.name for n in c.nodes if n.role == "worker" and c.domains[n.region].name == "korea-south"}
    not_ready = {e["object"].split("/", 1)[1] for e in s["events"] if e["reason"] == "NodeNotReady"}
    assert south and south <= not_ready
    assert s["outcome"]["quorum"] == "kept"  # korea-central holds two of the three members
    assert any(e["reason"] == "TaintManagerEviction" for e in s["events"])
    healed = run_scenario(c, ["regionLink/korea-central~korea-south"], repair_after=1800)
    log_agent = next(w for w in healed["outcome"]["workloads"] if w["name"] == "log-agent")
    assert log_agent["ready"] == log_agent["desired"]  # DaemonSet pods are back with their nodes


def test_region_link_cut_displaces_the_same_pods_whether_or_not_it_is_repaired():
    """The cut-off workers' pods were displaced even when the link returns before the end."""
    cluster = load_topology(ROOT / "topologies" / "korea-stretched.yaml")
    link = ["regionLink/korea-central~korea-south"]
    for_good = run_scenario(cluster, link)["outcome"]["pods_displaced"]
    repaired = run_scenario(cluster, link, repair_after=1800.0)["outcome"]["pods_displaced"]
    assert for_good == repaired > 0
