"""Simulated figures against closed-form answers (fixed seeds; tolerances from the
reported 95% intervals)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kchaos.analysis import analyze
from kchaos.analysis.exact import quorum_availability
from kchaos.model.sampling.montecarlo import run_monte_carlo

from .conftest import topology

HEAD = """
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: %s}
"""

OFF = ("node", "server", "rack", "datacenter", "region", "regionLink")


def failures_block(**on: str) -> str:
    lines = ["failures:"]
    for kind in OFF:
        lines.append(f"  {kind}: {on.get(kind, 'none')}")
    return "\n".join(lines) + "\n"


def three_on_servers(members: int = 3) -> str:
    return HEAD % f"m{members}" + f"""
regions:
  - name: r1
    datacenters:
      - name: dc1
        racks:
          - name: rack1
            servers: {members}
controlPlane:
  members: {members}
""" + failures_block(server="{mtbf: 100h, mttr: 10h}")


TWO_PLUS_ONE = HEAD % "two-plus-one" + """
regions:
  - name: r1
    datacenters:
      - name: dc1
        racks:
          - name: dc1-r1
            servers: 2
      - name: dc2
        racks:
          - name: dc2-r1
            servers: 1
controlPlane:
  members: 3
  placement: [dc1-r1-s1, dc1-r1-s2, dc2-r1-s1]
""" + failures_block(datacenter="{mtbf: 100h, mttr: 10h}")

P = 10 / 110  # stationary unavailability of one instance with mtbf 100h, mttr 10h


@pytest.mark.parametrize("text, closed_form", [
    (three_on_servers(3), (1 - P) ** 3 + 3 * P * (1 - P) ** 2),
    (TWO_PLUS_ONE, 1 - P),
    (three_on_servers(4), (1 - P) ** 4 + 4 * P * (1 - P) ** 3),
], ids=["3-members-server-failures", "2+1-over-2-datacenters", "4-members-server-failures"])
def test_quorum_availability_matches_exact(text, closed_form):
    cluster = topology(text)
    assert quorum_availability(cluster) == pytest.approx(closed_form, rel=1e-12)
    results = analyze(run_monte_carlo(cluster, failures=10_000, seed=1))
    qa = results["control_plane"]["quorum_availability"]
    assert qa["exact"] == pytest.approx(closed_form, abs=1e-9)
    lo, hi = qa["ci95"]
    assert lo <= closed_form <= hi, (qa, closed_form)
    # The interval is informative, not vacuous: well under 1% of the unavailability wide each side.
    assert hi - lo < 0.25 * (1 - closed_form)


def test_interval_coverage_over_seeds():
    """The 95% interval covers the exact answer in about 95% of seeds (here >= 18 of 20), and
    its width matches the spread of the estimates (half-width / 1.96 over their standard
    deviation between 0.5 and 2): honest, neither too narrow nor vacuous (issue 9)."""
    cluster = topology(three_on_servers(3))
    exact = quorum_availability(cluster)
    covered, estimates, half_widths = 0, [], []
    for seed in range(20):
        qa = analyze(run_monte_carlo(cluster, failures=3000, seed=100 + seed))["control_plane"]["quorum_availability"]
        covered += qa["ci95"][0] <= exact <= qa["ci95"][1]
        estimates.append(qa["estimate"])
        half_widths.append((qa["ci95"][1] - qa["ci95"][0]) / 2)
    assert covered >= 18
    assert 0.5 <= np.mean(half_widths) / 1.96 / np.std(estimates) <= 2


def test_even_size_is_less_available_than_odd():
    three = analyze(run_monte_carlo(topology(three_on_servers(3)), failures=6000, seed=3))
    four = analyze(run_monte_carlo(topology(three_on_servers(4)), failures=6000, seed=3))
    assert four["control_plane"]["tolerates"] == three["control_plane"]["tolerates"] == 1
    assert four["control_plane"]["quorum_availability"]["ci95"][1] < three["control_plane"]["quorum_availability"]["ci95"][0]


ONE_REPLICA = HEAD % "one-replica" + """
regions:
  - name: r1
    datacenters:
      - name: dc1
        racks:
          - name: rack1
            servers: 6
controlPlane:
  members: 3
workers:
  - pool: general
    count: 3
    capacity: {cpu: 8, memory: 32Gi}
workloads:
  - name: solo
    kind: Deployment
    replicas: 1
    requests: {cpu: 1, memory: 1Gi}
failures:
  node: {mtbf: 20d, mttr: 1h, ttr: fixed}
  server: none
  rack: none
  datacenter: none
  region: none
  regionLink: none
"""


def test_recovery_chain_costs_not_ready_delay_plus_toleration_plus_startup():
    """The chain is NotReady + taint toleration (300 s) + startup (30 s). NotReady lands at the
    node lifecycle controller's first 5 s check after the grace period (50 s) has passed since
    the kubelet's last 10 s lease renewal (pkg/controller/nodelifecycle/node_lifecycle_controller.go,
    nodeMonitorPeriod; pkg/kubelet/nodelease: renewInterval = 0.25 x 40 s): D = 50 - U(0, 10)
    + U(0, 5), a trapezoid on [40, 55] with mean 47.5 and variance (100 + 25) / 12. One node
    NotReady at a time: its zone's taint bucket is full, so the taint follows at once."""
    cluster = topology(ONE_REPLICA)
    results = analyze(run_monte_carlo(cluster, failures=5000, seed=11))
    wl = results["workloads"][0]
    rec = wl["recovery_seconds"]
    chain = 47.5 + 300 + 30
    se = math.sqrt(125 / 12 / rec["count"])
    assert rec["mean"] == pytest.approx(chain, abs=4 * se)
    # p99 of the trapezoid: P(D > d) = (55 - d)^2 / 100 = 0.01 -> d = 54 (the sketch is within 0.1%).
    assert rec["p99"] == pytest.approx(54 + 330, abs=0.5)
    # Each failure of the pod's node costs one chain; between them the node (exponential
    # time to failure) fails at rate 1/mtbf: unavailability = E[chain] / (mtbf + E[chain]).
    mtbf = 20 * 86400
    exact = 1 - chain / (mtbf + chain)
    lo, hi = wl["availability"]["ci95"]
    assert lo <= exact <= hi, (wl["availability"], exact)


def test_same_seed_same_results():
    cluster = topology(TWO_PLUS_ONE)
    a = analyze(run_monte_carlo(cluster, failures=800, seed=5))
    b = analyze(run_monte_carlo(cluster, failures=800, seed=5))
    for r in (a, b):
        r["run"].pop("wall_seconds")
    assert a == b
    c = analyze(run_monte_carlo(cluster, failures=800, seed=6))
    c["run"].pop("wall_seconds")
    assert c != a


@pytest.mark.parametrize("pool_settles", [False, True], ids=["local-settles", "pool-settles"])
def test_jobs_do_not_change_results(monkeypatch, pool_settles):
    """Histories on a pool, and (large clusters; forced here) the single-domain responses
    settled on it too, give exactly what one process gives."""
    from kchaos.model.sampling import pools
    if pool_settles:
        monkeypatch.setattr(pools, "PARALLEL_SETTLE_NODES", 0)
    cluster = topology(TWO_PLUS_ONE)
    a = analyze(run_monte_carlo(cluster, failures=1200, seed=5, jobs=1))
    b = analyze(run_monte_carlo(cluster, failures=1200, seed=5, jobs=2))
    for r in (a, b):
        r["run"].pop("wall_seconds")
        r["run"].pop("jobs")
    assert a == b


def members_topology(members: int, extra_etcd: str = "") -> str:
    return HEAD % f"elect{members}" + f"""
regions:
  - name: r1
    datacenters:
      - name: dc1
        racks:
          - name: rack1
            servers: {members}
network:
  rtt: {{sameRack: 100us}}
controlPlane:
  members: {members}
  etcd:
    preVote: false{extra_etcd}
""" + failures_block(node="{mtbf: 10d, mttr: 5m}")


@pytest.mark.parametrize("members, extra, measured_mean_ms", [
    (3, "", 1311),
    (5, "", 1257),
    (3, "\n    heartbeatInterval: 50ms\n    electionTimeout: 500ms", 705),
], ids=["3-members", "5-members", "3-members-50-500"])
def test_engine_write_gap_matches_measured_etcd(members, extra, measured_mean_ms):
    """Leader losses through the whole engine (etcd 3.4.23 measurements, pre-vote off)."""
    results = analyze(run_monte_carlo(topology(members_topology(members, extra)), failures=3000, seed=4))
    el = results["control_plane"]["leader_elections"]
    assert el["after_leader_loss"] > 300
    assert el["mean_ms"] == pytest.approx(measured_mean_ms, rel=0.10)
