"""Engine bookkeeping checked after every event of real histories: resources, pod
states, ready counts and spread counts always agree with a recount from scratch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kchaos.model.scheduling.placement import resource_scores
import pytest

from kchaos.model.engine import ClusterModel, HistoryRun
from kchaos.model.sampling.failures import StationarySampler
from kchaos.topology import load_topology

ROOT = Path(__file__).resolve().parent.parent


def check(run: HistoryRun, where: str) -> None:
    m, pl, c = run.m, run.pl, run.m.cluster
    errors = []
    cpu, mem, pods = np.zeros(m.n_nodes), np.zeros(m.n_nodes), np.zeros(m.n_nodes)
    for p, node in enumerate(pl.pod_node):
        wl = c.workloads[m.pod_workload[p]]
        if node >= 0:
            cpu[node] += wl.cpu
            mem[node] += wl.memory
            pods[node] += 1
            if p not in run.node_pods[node]:
                errors.append(f"pod {p} bound to {node} but not in its pod set")
            if p in run.pending:
                errors.append(f"pod {p} both bound and pending")
        elif p not in run.pending and p not in run.work.ordered.absent:
            errors.append(f"pod {p} neither bound, pending, nor waiting for its turn (OrderedReady)")
        if run.ready[p] and (node < 0 or not run.node_up[node]):
            errors.append(f"pod {p} ready on a down or missing node")
        if run.ready[p] and run.unreachable[node] and run.not_ready[node]:
            errors.append(f"pod {p} ready on a cut-off node already marked NotReady")
    for node, members in enumerate(run.node_pods):
        errors += [f"node {node} lists pod {p} bound elsewhere" for p in members if pl.pod_node[p] != node]
    if not (np.allclose(cpu * 1000, pl.alloc_cpu) and np.allclose(mem, pl.alloc_mem) and np.allclose(pods, pl.alloc_pods)):
        errors.append("allocations differ from the bound pods")
    for w, ids in enumerate(m.workload_pods):
        ready = sum(run.ready[p] for p in ids)
        if ready != run.ready_count[w]:
            errors.append(f"workload {w}: ready_count {run.ready_count[w]} != {ready}")
        own_down = ready - run.work.rollout_short[w] < m.workload_required[w] or run.work.bad_release[w] == 2
        if run.work.wl_down[w] != own_down:
            errors.append(f"workload {w}: outage state out of step")
    own = [w for w in range(len(c.workloads)) if run.work.wl_down[w]]
    for w in m.with_dependents(own) ^ {w for w in range(len(c.workloads)) if run.wl_eps[w].down}:
        errors.append(f"workload {w}: down {run.wl_eps[w].down}, but its own state and its dependencies' say otherwise")
    expected = np.zeros_like(pl.node_counts)
    for p, node in enumerate(pl.pod_node):
        if node >= 0 and not run.terminating[p]:
            expected[m.pod_workload[p], node] += 1
    if not np.array_equal(expected, pl.node_counts):
        errors.append("spread counts per workload and node differ from the bound, live pods")
    sch = m.scheduler
    nonzero = [np.zeros(m.n_nodes, dtype=np.int64), np.zeros(m.n_nodes, dtype=np.int64)]
    for p, node in enumerate(pl.pod_node):
        if node >= 0:
            nonzero[0][node] += sch.nonzero_req_cpu[m.pod_workload[p]]
            nonzero[1][node] += sch.nonzero_req_mem[m.pod_workload[p]]
    if not (np.array_equal(nonzero[0], pl.nonzero_cpu) and np.array_equal(nonzero[1], pl.nonzero_mem)):
        errors.append("NonZeroRequested differs from the bound pods")
    if pl.load != list(zip(pl.alloc_cpu.tolist(), pl.alloc_mem.tolist(), pl.alloc_pods.tolist(),
                           pl.nonzero_cpu.tolist(), pl.nonzero_mem.tolist())):
        errors.append("the per-node load tuples differ from the allocation arrays")
    if not np.array_equal(pl.util, sch.utilization(pl)):
        errors.append("the kept per-node utilisation differs from the allocations")
    for level, counts in pl.level_counts.items():
        want = np.array([np.bincount(sch.level_of_node[level], weights=row, minlength=counts.shape[1])
                         for row in expected])
        if not np.array_equal(want, counts):
            errors.append(f"spread counts per {level} differ from the bound, live pods")
    for w in {sch.req_class[w]: w for w in range(len(c.workloads))}.values():
        k = sch.req_class[w]
        valid = np.flatnonzero(pl.res_valid[k])
        if not (np.array_equal(pl.res_cache[k][valid], resource_scores(sch, pl, w, valid))
                and np.array_equal(pl.fit_cache[k][valid], sch.fits(pl, w, valid))):
            errors.append(f"memoised resource scores of request class {k} are stale")
    recount = [0] * len(c.workloads)
    for p in run.pending:
        recount[m.pod_workload[p]] += 1
    if recount != run.work.pending_of:
        errors.append("pending pods per workload out of step")
    errors += component_errors(run)
    assert not errors, f"{where}: " + "; ".join(errors[:5])


def component_errors(run: HistoryRun) -> list[str]:
    """Each component's own state agrees with itself and with the infrastructure."""
    m, infra, nodes = run.m, run.infra, run.nodes
    errors = []
    if infra.node_up != [count == 0 and not stopped for count, stopped in zip(infra.down_count, infra.stopped)] \
            or infra.up_arr.tolist() != infra.node_up:
        errors.append("node_up out of step with the down counts")
    alive = sum(1 << i for i, n in enumerate(m.member_nodes) if infra.node_up[n])
    if infra.alive != alive:
        errors.append(f"alive members {infra.alive:b} != {alive:b}")
    if nodes.n_unreachable != sum(nodes.unreachable):
        errors.append("n_unreachable out of step")
    if any(nodes.unreachable[n] and not infra.node_up[n] for n in range(m.n_nodes)):
        errors.append("a down node marked unreachable")
    if run.etcd.writes_ok and (run.etcd.live is None or run.etcd.leader not in run.etcd.live):
        errors.append("writes possible without a leader in the quorum")
    if run.leases.controllers_ready and not (run.leases.kcm_ready and run.api.api_ok):
        errors.append("controllers act without the API or a controller-manager")
    if run.rec.wl_rest and any(r.down and not e.down for r, e in zip(run.rec.wl_rest, run.rec.wl_eps)):
        errors.append("a workload down in the rest but not down at all")
    return errors


class CheckedRun(HistoryRun):
    def dispatch(self, t, kind, a, b):
        super().dispatch(t, kind, a, b)
        check(self, f"t={t:.1f} event {kind}")

    def apply_domain(self, t, d, down, initial=False):
        super().apply_domain(t, d, down, initial)
        if not initial:
            check(self, f"t={t:.1f} {self.c.domains[d].id} {'down' if down else 'up'}")


@pytest.mark.parametrize("path", ["tests/data/stress.yaml", "tests/data/stress-maintenance.yaml",
                                  "topologies/three-datacenters.yaml",
                                  "topologies/two-workers.yaml"])
def test_bookkeeping_holds_after_every_event(path):
    cluster = load_topology(ROOT / path)
    model = ClusterModel(cluster)
    sampler = StationarySampler(cluster)
    horizon = 250 / sampler.failure_rate
    for i in range(2):
        run = CheckedRun(model, sampler.history(i, horizon, seed=7), np.random.default_rng(i))
        check(run, "start")
        run.run()
