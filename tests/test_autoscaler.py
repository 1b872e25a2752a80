"""cluster-autoscaler on a pool (topology ``autoscale``), pinned to its documented behaviour:
kubernetes/autoscaler cluster-autoscaler/FAQ.md ("How fast is Cluster Autoscaler?": scale-up is
considered up to 10 s after a pod is marked unschedulable, ``--scan-interval`` 10 s; "What are the
parameters to CA?": ``--scale-down-unneeded-time`` 10 min, ``--scale-down-delay-after-add`` 10 min;
never above the node group's max)."""

from __future__ import annotations

import numpy as np

from kchaos.analysis import analyze
from kchaos.analysis.whatif import run_scenario
from kchaos.model.engine import ClusterModel, HistoryRun
from kchaos.model.nodes.autoscaler import SCALE_DOWN_DELAY_AFTER_ADD, SCAN_INTERVAL
from kchaos.model.sampling.failures import History
from kchaos.model.sampling.montecarlo import run_monte_carlo

from .conftest import topology

POOL = """
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: autoscaled}
regions:
  - name: r
    datacenters:
      - {name: a, racks: 1, serversPerRack: 4}
      - {name: b, racks: 1, serversPerRack: 4}
      - {name: c, racks: 1, serversPerRack: 4}
controlPlane: {members: 3}
workers:
  - pool: w
    count: 6
    capacity: {cpu: 4, memory: 16Gi}
AUTOSCALE
workloads:
  - {name: web, kind: Deployment, replicas: 12, requests: {cpu: 1500m, memory: 1Gi}, minAvailable: 10}
kubernetes: {podStartup: 30s}
"""
AUTOSCALED = POOL.replace("AUTOSCALE", "    autoscale: {max: 9, provisionDelay: 3m}")
FIXED = POOL.replace("AUTOSCALE", "")
PROVISION, START = 180.0, 30.0


def _times(events, reason):
    return {e["object"].split("/", 1)[1]: e["t"] for e in events if e["reason"] == reason}


def test_pending_pods_run_a_scan_plus_the_provision_delay_plus_pod_start_after_their_eviction():
    events = run_scenario(topology(AUTOSCALED), ["datacenter/a"])["events"]
    created = {e["message"].split(": ", 1)[1]: e["t"] for e in events if e["reason"] == "SuccessfulCreate"}
    started = _times(events, "Started")
    assert created and set(created) <= set(started)  # every replacement runs
    # Evictions come one node per 10 s (the zone's taint rate); the pods of each ask for nodes at
    # the next scan. Which Pending pod takes which new node is the scheduler's choice, so each
    # pod runs within the scan, the delay and its start after the last eviction before it ran.
    evicted = sorted(created.values())
    runs = sorted(started[p] for p in created)
    assert evicted[0] + PROVISION + START <= runs[0] <= evicted[0] + SCAN_INTERVAL + PROVISION + START + 1e-6
    assert runs[-1] <= evicted[-1] + SCAN_INTERVAL + PROVISION + START + 1e-6
    assert any(e["reason"] == "TriggeredScaleUp" for e in events)


def test_never_above_max_and_the_rest_stays_pending():
    c = topology(AUTOSCALED.replace("max: 9", "max: 7"))
    out = run_scenario(c, ["datacenter/a"])
    added = [e for e in out["events"] if e["reason"] == "NodeReady"]
    assert len(added) == 1  # 6 -> 7, the max
    assert out["outcome"]["pending_pods"]  # the two pods a second new node would have taken


def test_without_autoscale_the_pods_wait_for_the_repair():
    out = run_scenario(topology(FIXED), ["datacenter/a"])
    assert not any(e["reason"] == "TriggeredScaleUp" for e in out["events"])
    assert len(out["outcome"]["pending_pods"]) == 4


def test_pending_pod_hours_fall_against_the_same_fixed_pool():
    """Same failure rates, same seed: Pending pod-hours per year fall by an order of magnitude
    (a datacenter or server outage lasts hours; the autoscaler's wait is minutes)."""
    figures = {}
    for name, text in (("fixed", FIXED), ("autoscaled", AUTOSCALED)):
        results = analyze(run_monte_carlo(topology(text), failures=3000, seed=3, sampling="plain"))
        figures[name] = results["load"]["pending_pods"]["pod_hours_per_year"]
    assert figures["fixed"] > 5.0
    assert figures["autoscaled"] < figures["fixed"] / 5, figures


def test_an_added_machine_left_empty_is_removed_after_the_unneeded_time():
    """The datacenter returns before the new machines are Ready: the Pending pods go back to
    its nodes, the machines join empty and are removed 10 min later (FAQ: scale-down)."""
    c = topology(AUTOSCALED)
    model = ClusterModel(c)
    dc = next(d.index for d in c.domains if d.id == "datacenter/a")
    history = History(-1, 3600.0, np.array([0.0, 420.0]), np.array([dc, dc]), np.array([True, False]),
                      np.empty(0, dtype=np.int64))
    events: list = []
    HistoryRun(model, history, np.random.default_rng(1), events=events, rollouts=False).run()
    ready = {e[3]: e[0] for e in events if e[2] == "NodeReady"}
    removed = {e[3]: e[0] for e in events if e[2] == "ScaleDownEmpty"}
    scale_up = max(e[0] for e in events if e[2] == "TriggeredScaleUp")
    assert ready and set(removed) == set(ready)
    for node, t in removed.items():
        assert t == max(ready[node] + 600.0, scale_up + SCALE_DOWN_DELAY_AFTER_ADD)


def test_a_history_does_not_depend_on_the_histories_before_it():
    """Rollouts reuse fresh placements cached per model: with machines the autoscaler added in
    the cluster the cache must not hand back a placement without them (it did: importance-
    sampled figures then depended on the order histories ran in)."""
    from pathlib import Path

    from kchaos.model.engine import simulate_history
    from kchaos.model.sampling.montecarlo import iter_histories
    from kchaos.model.sampling.rare import BiasedSampler
    from kchaos.model.scheduling.response import BlastRadius, workload_cover
    from kchaos.topology import load_topology

    def model():
        c = load_topology(Path(__file__).resolve().parent.parent / "topologies" / "autoscaled-pool.yaml")
        m = ClusterModel(c)
        m.blast = BlastRadius(m)
        m.cover_of_domain = workload_cover(m.blast)
        return m

    def histories(m):  # fresh seed sequences each time (spawning a stream changes its sequence)
        return list(iter_histories(BiasedSampler(m.cluster, model=m), 2000, 1))[:8]

    shared = model()
    together = [simulate_history(shared, h, s).workloads[0].total for h, s in histories(shared)]
    alone = [simulate_history(m, *histories(m)[k]).workloads[0].total for k, m in enumerate(model() for _ in range(8))]
    assert together == alone
