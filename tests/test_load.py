"""Load concentration, rescheduling rules and the spread trap."""

from __future__ import annotations

import numpy as np
import pytest

from kchaos.model.sampling.failures import History
from kchaos.model.scheduling.response import BlastRadius
from kchaos.model.engine import ClusterModel, HistoryRun

from .conftest import topology


def workers_topology(workers: int, replicas: int, extra_workloads: str = "", spread: str = "") -> str:
    return f"""
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {{name: w{workers}}}
regions:
  - name: r1
    datacenters:
      - name: dc1
        racks: 1
        serversPerRack: {workers + 3}
controlPlane:
  members: 3
workers:
  - pool: app
    count: {workers}
    capacity: {{cpu: 10, memory: 64Gi, pods: 110}}
workloads:
  - name: web
    kind: Deployment
    replicas: {replicas}
    requests: {{cpu: 1, memory: 1Gi}}
{spread}{extra_workloads}
"""


def server_of(cluster, node_name):
    node = next(n for n in cluster.nodes if n.name == node_name)
    return node.server


def test_two_workers_at_60_percent_survivor_full_and_pending():
    c = topology(workers_topology(2, 12))
    model = ClusterModel(c)
    assert model.baseline_hottest == pytest.approx(0.6)
    r = BlastRadius(model).respond([server_of(c, "app-1")])
    assert r.hottest == pytest.approx(1.0)
    assert r.pods_pending == 2
    assert r.pods_displaced == 6


def test_three_workers_at_60_percent_survivors_at_90():
    c = topology(workers_topology(3, 18))
    model = ClusterModel(c)
    r = BlastRadius(model).respond([server_of(c, "app-1")])
    assert r.hottest == pytest.approx(0.9)
    assert r.pods_pending == 0


DAEMON_AND_STATEFUL = """
  - name: agent
    kind: DaemonSet
    requests: {cpu: 100m, memory: 100Mi}
  - name: db
    kind: StatefulSet
    replicas: 3
    requests: {cpu: 1, memory: 1Gi}
    minAvailable: 2
"""


def test_daemonset_and_statefulset_pods_are_not_replaced():
    c = topology(workers_topology(3, 3, DAEMON_AND_STATEFUL))
    model = ClusterModel(c)
    k = c.kubernetes
    settle_time = k.node_monitor_grace_period + k.not_ready_toleration + k.pod_startup + 120.0
    history = History(-1, settle_time, np.zeros(1), np.array([server_of(c, "app-1")]), np.ones(1, dtype=bool),
                      np.empty(0, dtype=np.int64))
    run = HistoryRun(model, history, np.random.default_rng(0), rollouts=False)
    run.run()
    w_names = [w.name for w in c.workloads]
    dead = next(n.index for n in c.nodes if n.name == "app-1")
    for p, node in enumerate(run.pl.pod_node):
        name = w_names[model.pod_workload[p]]
        if name in ("agent", "db") and model.baseline.pod_node[p] == dead:
            assert node == dead  # still bound to the dead node, not rescheduled
            assert not run.ready[p]
    # Deployment pods that were there moved away.
    web_on_dead = [p for p in model.workload_pods[w_names.index("web")] if run.pl.pod_node[p] == dead]
    assert web_on_dead == []


SPREAD_DC = """
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: spread}
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
    capacity: {cpu: 16, memory: 64Gi}
workloads:
  - name: web
    kind: Deployment
    replicas: 6
    requests: {cpu: 1, memory: 1Gi}
    minAvailable: 5
    spread: {over: datacenter, nodeTaintsPolicy: %s}
"""


def test_spread_counts_dead_datacenter_with_ignore_and_not_with_honor():
    ignore = topology(SPREAD_DC % "Ignore")
    dc1 = next(d.index for d in ignore.domains if d.id == "datacenter/dc1")
    r = BlastRadius(ClusterModel(ignore)).respond([dc1])
    assert r.pods_pending == 2
    assert "web" in r.workloads_unavailable
    honor = topology(SPREAD_DC % "Honor")
    r2 = BlastRadius(ClusterModel(honor)).respond([dc1])
    assert r2.pods_pending == 0
    assert r2.workloads_unavailable == ()


def test_spread_trap_is_advised():
    from kchaos.analysis import analyze
    from kchaos.model.sampling.montecarlo import run_monte_carlo

    results = analyze(run_monte_carlo(topology(SPREAD_DC % "Ignore"), failures=300, seed=1))
    codes = {a["code"] for a in results["advisories"]}
    assert "spread-blocks-rescheduling" in codes
