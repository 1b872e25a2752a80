"""The settled single-domain response equals what the event engine reaches, field by field,
for every failure domain of every example (the blast radius now comes from settle)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kchaos.model.nodes import lifecycle as node_lifecycle
from kchaos.model.engine import ClusterModel, HistoryRun
from kchaos.model.sampling.failures import History
from kchaos.model.scheduling.settle import settle, settle_rng
from kchaos.topology import load_topology

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "topologies").glob("*.yaml")) + [ROOT / "tests/data/stress.yaml",
                                                         ROOT / "tests/data/korea-unconfirmed.yaml",
                                                         ROOT / "tests/data/real-cluster.yaml"]


@pytest.fixture(autouse=True)
def one_lease_phase(monkeypatch):
    """Every kubelet's last renewal at the failure itself, so the domain's nodes turn NotReady
    in one controller pass, as settle assumes (with the drawn 10 s lease phases they spread
    over two or three 5 s passes)."""
    monkeypatch.setattr(node_lifecycle, "NODE_LEASE_RENEW_INTERVAL", 0.0)


def engine_response(model: ClusterModel, d: int) -> dict:
    """Fail ``d`` at t=0, play the engine past NotReady, every rate-limited taint, eviction and
    startup, read the end."""
    k = model.cluster.kubernetes
    slowest = min(r for r in (k.node_eviction_rate, k.secondary_node_eviction_rate) if r > 0)
    provision = max([a.provision_delay + 10.0 for a in model.cluster.autoscale], default=0.0)  # a scale-up
    horizon = (k.node_monitor_grace_period + 5.0 + model.n_nodes / slowest + k.not_ready_toleration
               + provision + k.pod_startup + 120.0)
    history = History(-1, horizon, np.zeros(1), np.array([d]), np.ones(1, dtype=bool), np.empty(0, dtype=np.int64))
    run = HistoryRun(model, history, np.random.default_rng(0), rollouts=False, scheduler_rng=settle_rng([d]))
    run.run()
    base = model.baseline.pod_node
    up_workers = run.up_arr & model.worker_mask & ~np.asarray(run.unreachable, dtype=bool)
    ready_unavailable = []
    for w, wl in enumerate(model.cluster.workloads):
        bound_up = sum(1 for p in model.workload_pods[w] if run.pl.pod_node[p] >= 0
                       and run.node_up[run.pl.pod_node[p]] and not run.terminating[p])
        if run.ready_count[w] < model.workload_required[w] and bound_up < model.workload_required[w]:
            ready_unavailable.append(wl.name)
    pending_by: dict[str, int] = {}
    for p in run.pending:
        name = model.cluster.workloads[model.pod_workload[p]].name
        pending_by[name] = pending_by.get(name, 0) + 1
    causes = {}
    for w in range(len(model.cluster.workloads)):  # the engine's own words for what keeps it down
        name = model.cluster.workloads[w].name
        if name in ready_unavailable:
            context = run.attribution._context(w)
            causes[name] = run.attribution._compose(([],) + context[1:])
    return {
        "workload_causes": causes,
        "quorum_lost": run.live is None, "api_down": not run.api_ok,
        "pods_displaced": sum(1 for p, node in enumerate(base) if node >= 0 and not model.is_daemon[p]
                              and (not run.node_up[node] or run.unreachable[node])),
        "pods_pending": max(0, len(run.pending) - sum(1 for node in base if node < 0)),
        "hottest": float(model.scheduler.utilization(run.pl)[up_workers].max()) if up_workers.any() else 0.0,
        "workloads_unavailable": tuple(ready_unavailable), "pending_by_workload": pending_by,
    }


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_settle_matches_the_engine_for_every_domain(path):
    model = ClusterModel(load_topology(path))
    for d in model.cluster.domains:
        got = settle(model, [d.index])
        want = engine_response(model, d.index)
        for key, value in want.items():
            if key == "hottest":
                assert got.hottest == pytest.approx(value, abs=1e-12), (d.id, key)
            else:
                assert getattr(got, key) == value, (d.id, key)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_settling_leaves_the_scratch_placement_healthy(path):
    """settle works on one scratch copy of the healthy placement and undoes its changes: after
    every domain and every pair of neighbouring domains it equals the healthy placement again
    (memoised scores wherever both hold one), so no settle sees another's leftovers."""
    from kchaos.model.scheduling.settle import _baseline
    model = ClusterModel(load_topology(path))
    domains = [d.index for d in model.cluster.domains]
    for key in [[d] for d in domains] + [list(pair) for pair in zip(domains, domains[1:])]:
        settle(model, key)
    scratch, healthy = _baseline(model).scratch, model.baseline
    for name in ("alloc_cpu", "alloc_mem", "alloc_pods", "nonzero_cpu", "nonzero_mem", "usable", "util", "counts"):
        assert np.array_equal(getattr(scratch, name), getattr(healthy, name)), name
    assert scratch.pod_node == healthy.pod_node and scratch.load == healthy.load
    assert scratch.next_start == healthy.next_start
    assert _baseline(model).scratch_scope == list(model.baseline_scope)
    both = scratch.res_valid & healthy.res_valid
    assert np.array_equal(scratch.res_cache[both], healthy.res_cache[both])
    assert np.array_equal(scratch.fit_cache[both], healthy.fit_cache[both])
