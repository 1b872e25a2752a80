"""Blast radius: what losing a set of domains costs, starting from the healthy cluster.

The response is computed by the same engine as the Monte Carlo: the domains
fail at t=0 and stay down while Kubernetes goes through NotReady, eviction,
replacement and scheduling; the state once everything has settled is read
off. Responses are cached by the set of failed domains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import ClusterModel, HistoryRun
from .failures import History


@dataclass(frozen=True)
class Response:
    domains: tuple[str, ...]
    quorum_lost: bool
    api_down: bool
    members_lost: int
    nodes_lost: int
    pods_displaced: int
    pods_pending: int
    hottest: float  # hottest surviving worker's utilisation after rescheduling
    workloads_unavailable: tuple[str, ...]
    pending_by_workload: dict[str, int]
    run: HistoryRun


class BlastRadius:
    """Deterministic what-if responses for one cluster model (cached)."""

    def __init__(self, model: ClusterModel, seed: int = 0):
        self.model = model
        self.seed = seed
        self._cache: dict[frozenset, Response] = {}
        c = model.cluster
        k = c.kubernetes
        #: Long enough for grace + toleration + startup and a lease takeover to play out.
        self.settle = k.node_monitor_grace_period + k.not_ready_toleration + k.pod_startup + 120.0

    def respond(self, domain_indices) -> Response:
        key = frozenset(int(d) for d in domain_indices)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        doms = np.array(sorted(key), dtype=np.int64)
        history = History(index=-1, horizon=self.settle, times=np.zeros(doms.size), domains=doms,
                          down=np.ones(doms.size, dtype=bool), initially_down=np.empty(0, dtype=np.int64))
        run = HistoryRun(self.model, history, np.random.default_rng(self.seed), rollouts=False)
        run.run()
        m, c = self.model, self.model.cluster
        down_nodes = [n for n in range(m.n_nodes) if not run.node_up[n]]
        base_nodes = m.baseline.pod_node
        displaced = sum(1 for p, node in enumerate(base_nodes)
                        if node >= 0 and (not run.node_up[node] or run.unreachable[node]) and not m.is_daemon[p])
        baseline_pending = sum(1 for node in base_nodes if node < 0)
        up_workers = run.up_arr & m.worker_mask
        util = m.scheduler.utilization(run.pl)
        hottest = float(util[up_workers].max()) if up_workers.any() else 0.0
        unavailable = tuple(wl.name for w, wl in enumerate(c.workloads)
                            if run.ready_count[w] < m.workload_required[w]
                            and not _pods_still_starting(run, w))
        pending_by: dict[str, int] = {}
        for p in run.pending:
            name = c.workloads[m.pod_workload[p]].name
            pending_by[name] = pending_by.get(name, 0) + 1
        # Members down, plus members up but cut off from the partition that keeps quorum; when
        # no partition keeps it, only the members that are down (the rest are merely split).
        up = bin(run.alive).count("1")
        members_lost = len(m.member_nodes) - (len(run.live) if run.live is not None else up)
        resp = Response(
            domains=tuple(c.domains[d].id for d in sorted(key)),
            quorum_lost=run.live is None, api_down=not run.api_ok,
            members_lost=members_lost, nodes_lost=len(down_nodes), pods_displaced=displaced,
            pods_pending=max(0, len(run.pending) - baseline_pending), hottest=hottest,
            workloads_unavailable=unavailable, pending_by_workload=pending_by, run=run)
        self._cache[key] = resp
        return resp


def _pods_still_starting(run: HistoryRun, w: int) -> bool:
    """True when enough pods are bound to up nodes that the workload recovers by itself."""
    m = run.m
    bound_up = sum(1 for p in m.workload_pods[w]
                   if run.pl.pod_node[p] >= 0 and run.node_up[run.pl.pod_node[p]] and not run.terminating[p])
    return bound_up >= m.workload_required[w]


def workload_cover(blast: "BlastRadius") -> dict[int, tuple[int, ...]]:
    """Failure instance -> workloads that it alone keeps below minAvailable for as long as it
    is down (ignoring nodes, whose loss the replacement chain repairs)."""
    c = blast.model.cluster
    index = {w.name: i for i, w in enumerate(c.workloads)}
    cover: dict[int, tuple[int, ...]] = {}
    for d in c.domains:
        spec = c.failures.get(d.kind)
        if d.kind == "node" or spec is None or spec.ttf is None:
            continue
        hit = blast.respond([d.index]).workloads_unavailable
        if hit:
            cover[d.index] = tuple(sorted(index[name] for name in hit))
    return cover
