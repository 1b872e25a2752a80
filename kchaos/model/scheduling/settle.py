"""The settled state after a set of failure domains goes down and stays down.

The blast radius needs, for every failure domain, where Kubernetes ends up once it
has reacted: quorum, members lost, pods displaced, Pods left Pending, the hottest
surviving node, workloads below minAvailable. Playing the event engine for each of
thousands of domains costs a whole history's state each; this computes the same end
state directly, with the same pieces the engine uses, in the order the engine applies
them:

1. the quorum partition (members down, region links cut) and whether the API accepts
   writes (a leader, an apiserver in the quorum's partition); the etcd election and the
   lease takeovers finish long before the settle time, so only their outcome matters;
2. if it does, every node that is down, or cut off from the quorum's partition, goes
   NotReady (leaves the scheduler's usable set) at one instant, and is evicted as its
   zone's rate-limited taint queue allows (:func:`eviction_groups`; a zone in partial
   disruption may evict nothing, every zone fully disrupted evicts nothing): Deployment
   pods are deleted and re-placed, StatefulSet pods stay Terminating (their identity is
   held), DaemonSet pods stay; after each instant the scheduler makes one pass over the
   Pending pods (:func:`schedule_pass`, batched), as the engine does;
3. without the API nothing is marked NotReady, evicted or re-placed.

A test compares it with the engine, field by field, for every domain of every example.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from .batch import schedule_pass
from .scheduler import Placement, placement_rng
from ..cluster_model import ClusterModel
from ..nodes.eviction import kube_nodes, zone_rate, zones_after, zones_of


@dataclass(frozen=True)
class _Baseline:
    """The healthy placement indexed for settling: computed once per model."""

    pods_on: dict[int, tuple[int, ...]]  # node -> its pods, in pod order
    counts_on: dict[int, tuple[tuple[int, int], ...]]  # node -> (workload, pods) pairs
    movable_on: dict[int, int]  # node -> pods that are not DaemonSet pods
    ready_count: tuple[int, ...]  # per workload: pods bound with every node up
    pending: tuple[int, ...]  # pods that fit nowhere with every node up
    region_of: tuple[int, ...]  # node -> its region's domain index
    #: A working copy of the healthy placement and volume scopes that each settle changes and
    #: then restores (:meth:`~.scheduler.Placement.restore`): copying a placement of 150,000 pods
    #: for each of thousands of domains would cost more than settling most of them. Mutable
    #: inside this frozen record, so settling one model is not reentrant (nor thread-safe):
    #: one settle at a time per model, as the blast radius and the pool workers do.
    scratch: Placement
    scratch_scope: list[int]


_BASELINES: "weakref.WeakKeyDictionary[ClusterModel, _Baseline]" = weakref.WeakKeyDictionary()


def _baseline(m: ClusterModel) -> _Baseline:
    hit = _BASELINES.get(m)
    if hit is None:
        pods_on: dict[int, list[int]] = {}
        for p, node in enumerate(m.baseline.pod_node):
            if node >= 0:
                pods_on.setdefault(node, []).append(p)
        counts_on = {}
        for node, pods in pods_on.items():
            per: dict[int, int] = {}
            for p in pods:
                per[m.pod_workload[p]] = per.get(m.pod_workload[p], 0) + 1
            counts_on[node] = tuple(per.items())
        ready = [sum(1 for p in pods if m.baseline.pod_node[p] >= 0) for pods in m.workload_pods]
        hit = _BASELINES[m] = _Baseline(
            {n: tuple(ps) for n, ps in pods_on.items()}, counts_on,
            {n: sum(1 for p in ps if not m.is_daemon[p]) for n, ps in pods_on.items()}, tuple(ready),
            tuple(p for p, node in enumerate(m.baseline.pod_node) if node < 0),
            tuple(n.region for n in m.cluster.nodes), m.baseline.copy(), list(m.baseline_scope))
    return hit


@dataclass(frozen=True)
class Response:
    """What losing ``domains`` costs once everything has settled (the blast-radius row)."""

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
    #: Per unavailable workload, what keeps it down once settled, in the engine's attribution
    #: words (:mod:`kchaos.model.recording.attribution`): ``control plane down``,
    #: ``replacements Pending (spread)`` (or capacity, volume scope), ``recovery chain``.
    workload_causes: dict[str, str]


def eviction_groups(m: ClusterModel, not_ready: list[int]) -> list[list[int]]:
    """The nodes evicted, grouped by instant in time order, when ``not_ready`` (in this
    order) turn NotReady at one instant on a healthy cluster and stay so: each zone's state
    from its final NotReady count, its full bucket tainting one node per ``1/rate`` seconds
    in queue order (:mod:`.eviction`); none at all when every zone is fully disrupted."""
    k = m.cluster.kubernetes
    zone, _, names = zones_of(m)
    view = zones_after(m, not_ready)
    if view.halted:
        return []
    state, size = view.state, view.size
    at: dict[float, list[int]] = {}
    clock = [0.0] * len(names)
    seen = [0] * len(names)
    for node in not_ready:
        z = zone[node]
        if z < 0:
            continue
        rate = zone_rate(state[z], size[z], k)
        if rate <= 0:
            continue
        if seen[z]:
            clock[z] = clock[z] + 1.0 / rate
        seen[z] += 1
        at.setdefault(clock[z], []).append(node)
    return [at[t] for t in sorted(at)]


def scale_up(m: ClusterModel, pl: Placement, pending: list[int], scope: list[int], up: np.ndarray) -> list[int]:
    """The machines cluster-autoscaler adds for the ``pending`` pods once everything settled
    (:func:`~..nodes.autoscaler.plan_scale_up`), made present and usable in ``pl``."""
    from ..nodes.autoscaler import plan_scale_up, pool_slots

    slots = pool_slots(m)
    in_pool = {pool: int(pl.present[nodes].sum()) for pool, nodes in slots.items()}
    can_add = {pool: [n for n in nodes if not pl.present[n] and up[n]] for pool, nodes in slots.items()}
    chosen = plan_scale_up(m, pl, pending, scope, in_pool, can_add, [])
    for node in chosen:
        pl.present[node] = True
        pl.usable[node] = True
    return chosen


def settle_rng(domains) -> np.random.Generator:
    """The scheduler's tie-break stream for the settled response to ``domains`` (fixed per
    set of domains, so the response is cacheable; the engine takes it to compare)."""
    return placement_rng(1, *sorted(int(d) for d in domains))


def settle(model: ClusterModel, domains) -> Response:
    """The settled response to ``domains`` failing and staying down (see the module's text)."""
    base = _baseline(model)
    changed: tuple[set[int], list[int], set[int]] = (set(), [], set())  # nodes, pods, workloads
    done = False
    try:
        response = _settle(model, domains, base, changed)
        nodes, pods, workloads = changed  # the scratch placement goes back to the healthy one
        base.scratch.restore(model.baseline, nodes, pods, workloads)
        for p in pods:
            base.scratch_scope[p] = model.baseline_scope[p]
        done = True
    finally:
        if not done:  # a settle or restore cut short leaves the scratch placement unknown
            _BASELINES.pop(model, None)
    return response


def _settle(model: ClusterModel, domains, base: _Baseline,
            changed: tuple[set[int], list[int], set[int]]) -> Response:
    m, c = model, model.cluster
    changed_nodes, changed_pods, changed_workloads = changed
    sch = m.scheduler
    rng = settle_rng(domains)
    doms = sorted({int(d) for d in domains})
    down_nodes: list[int] = []
    seen: set[int] = set()
    cut = 0
    for d in doms:
        bit = m.link_bit.get(d)
        if bit is not None:
            cut |= bit
            continue
        for node in m.nodes_under[d]:
            if node not in seen:
                seen.add(node)
                down_nodes.append(node)
    up = np.ones(m.n_nodes, dtype=bool)
    up[down_nodes] = False
    alive = 0
    for i, node in enumerate(m.member_nodes):
        if up[node]:
            alive |= 1 << i
    live, component = m.quorum_partition(alive, cut)
    comp = m.components(cut)
    region_of = base.region_of

    def in_quorum_side(node: int) -> bool:
        return component is not None and comp[region_of[node]] == component

    api_ok = live is not None and any(up[n] and in_quorum_side(n) for n in m.api_nodes)
    # Cut off from the quorum's side: workers and control-plane nodes alike go NotReady.
    cut_off = [n for n in kube_nodes(m) if up[n] and not in_quorum_side(n)] if cut and component is not None else []

    pl, scope = base.scratch, base.scratch_scope
    placed_on_up: list[int] = []  # replacements bound (to up, usable nodes): ready by the settle time
    lost_ready = [0] * len(c.workloads)  # baseline pods that stopped counting as ready
    daemon_on_cut_off = [0] * len(c.workloads)  # bound to an up node, NotReady, never evicted: not a lasting loss
    for node in down_nodes:
        for w, k in base.counts_on.get(node, ()):
            lost_ready[w] += k

    # Pending pods by (workload, volume scope); a pod pinned to its node is its own key.
    pending: dict[tuple, list[int]] = {}

    def key_of(p: int) -> tuple:
        return ("pinned", p) if m.pod_pin[p] >= 0 else (m.pod_workload[p], scope[p])

    def add_pending(pods) -> None:
        for p in pods:
            pending.setdefault(key_of(p), []).append(p)

    add_pending(base.pending)
    # (workload, scope) keys that fit nowhere: placing other pods only adds load and NotReady
    # only removes nodes, so a key stays hopeless until its own pods leave (their spread
    # counts drop) or, for a spread that honours taints, the set of usable nodes changes.
    # Their pods are not even looked at (a region's loss can leave tens of thousands).
    hopeless: set[tuple[int, int]] = set()
    honors = {w for w, wl in enumerate(c.workloads) if wl.spread is not None and wl.spread.node_taints_policy == "Honor"}

    def forget(workloads) -> None:
        if hopeless:
            hopeless.difference_update([key for key in hopeless if key[0] in workloads
                                        or sch.affinity.related[key[0]] & workloads])

    def scheduler_pass() -> None:
        live_keys = [key for key in pending if key not in hopeless]
        if not live_keys:
            return
        todo = sorted(p for key in live_keys for p in pending[key])
        placed = []
        for p, node in schedule_pass(sch, pl, todo, m.pod_pin, scope, rng, hopeless=hopeless):
            if node < 0:
                continue
            placed.append(p)
        if placed:
            placed_on_up.extend(placed)
            changed_pods.extend(placed)
            for p in placed:
                changed_nodes.add(pl.pod_node[p])
                changed_workloads.add(m.pod_workload[p])
            done = set(placed)
            for key in live_keys:
                left = [p for p in pending[key] if p not in done]
                if left:
                    pending[key] = left
                else:
                    del pending[key]
            for p in placed:  # a StatefulSet pod's volume scope is where it first lands
                if scope[p] < 0 and m.scope_level[p] is not None:
                    scope[p] = m.scope_of(p, pl.pod_node[p])

    if api_ok:
        # The NotReady events come in this order: down nodes as their domains list them,
        # then nodes cut off by a region link.
        order = down_nodes + cut_off
        for node in cut_off:
            for w, k in base.counts_on.get(node, ()):
                lost_ready[w] += k
        changed_nodes.update(order)
        for node in order:  # NotReady, all at one instant: the nodes leave the usable set
            pl.usable[node] = False
        forget(honors)
        scheduler_pass()
        groups = eviction_groups(m, order)
        evicted_nodes = {node for group in groups for node in group}
        for node in order:  # pods that stay bound to a cut-off node run on and come back with the link
            if up[node]:
                for p in base.pods_on.get(node, ()):
                    if m.is_daemon[p] or node not in evicted_nodes:
                        daemon_on_cut_off[m.pod_workload[p]] += 1
        for group in groups:  # nodes evicted at one instant, then one pass
            evicted, moved = [], set()
            for node in group:
                for p in base.pods_on.get(node, ()):
                    if m.is_daemon[p]:
                        continue
                    moved.add(m.pod_workload[p])
                    if m.is_stateful[p]:  # Terminating: its identity is held until the node returns
                        sch.count(pl, p, node, -1)
                    else:
                        sch.unbind(pl, p)
                        evicted.append(p)
            forget(moved)
            changed_workloads.update(moved)
            changed_pods.extend(evicted)
            add_pending(evicted)
            scheduler_pass()
        if c.autoscale and pending:  # cluster-autoscaler adds machines for what is still Pending
            added = scale_up(m, pl, sorted(p for pods in pending.values() for p in pods), scope, up)
            if added:
                changed_nodes.update(added)
                hopeless.clear()
                scheduler_pass()

    pending = sorted(p for pods in pending.values() for p in pods)
    ready_count = list(base.ready_count)
    for w in range(len(c.workloads)):
        ready_count[w] -= lost_ready[w]
    for p in placed_on_up:
        ready_count[m.pod_workload[p]] += 1
    # Pods bound to up nodes and not Terminating come back by themselves (a DaemonSet pod on
    # a worker cut off by a region link, or any pod there that its zone's state kept from
    # eviction): not counted as a lasting loss.
    unavailable = tuple(wl.name for w, wl in enumerate(c.workloads)
                        if ready_count[w] < m.workload_required[w]
                        and ready_count[w] + daemon_on_cut_off[w] < m.workload_required[w])
    pending_by: dict[str, int] = {}
    first_pending: dict[int, int] = {}
    for p in pending:
        name = c.workloads[m.pod_workload[p]].name
        pending_by[name] = pending_by.get(name, 0) + 1
        first_pending.setdefault(m.pod_workload[p], p)
    causes = {}
    for w, wl in enumerate(c.workloads):
        if wl.name not in unavailable:
            continue
        if not api_ok:
            causes[wl.name] = "control plane down"
        elif w in first_pending:  # the scheduler's own reason for its first Pending pod
            p = first_pending[w]
            causes[wl.name] = f"replacements Pending ({sch.blocking_filter(pl, p, scope[p])})"
        else:  # held Terminating, or its zone's eviction stalled: waiting for the repair
            causes[wl.name] = "recovery chain"
    displaced = sum(base.movable_on.get(node, 0) for node in (*down_nodes, *cut_off))
    up_workers = up & m.worker_mask & pl.present  # surviving workers: up and not cut off from the quorum
    up_workers[cut_off] = False
    hottest = float(sch.utilization(pl)[up_workers].max()) if up_workers.any() else 0.0
    members_lost = len(m.member_nodes) - (len(live) if live is not None else bin(alive).count("1"))
    baseline_pending = len(base.pending)
    return Response(
        domains=tuple(c.domains[d].id for d in doms), quorum_lost=live is None, api_down=not api_ok,
        members_lost=members_lost, nodes_lost=len(down_nodes), pods_displaced=displaced,
        pods_pending=max(0, len(pending) - baseline_pending), hottest=hottest,
        workloads_unavailable=unavailable, pending_by_workload=pending_by, workload_causes=causes)
