"""Deterministic chaos scenarios: fail named domains (and drain nodes) once, and
follow what Kubernetes does, event by event, with the same engine as the Monte Carlo."""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass

import numpy as np

from ..errors import KchaosUsageError
from ..model.cluster import Cluster, Maintenance
from ..model.engine import ClusterModel, HistoryRun
from ..model.sampling.failures import History
from ..topology.units import UnitError, parse_duration

#: After the last scheduled change, time for NotReady, eviction, startup and lease takeovers.
SETTLE_MARGIN = 300.0


def resolve(cluster: Cluster, target: str, kinds: tuple[str, ...] | None = None, option: str = "--fail") -> int:
    """Domain index for ``kind/name`` (``name`` alone when unambiguous)."""
    candidates = [d for d in cluster.domains if kinds is None or d.kind in kinds]
    by_id = {d.id: d for d in candidates}
    if target in by_id:
        return by_id[target].index
    kind, _, name = target.partition("/")
    if kind == "regionLink" and "~" in name:  # a link has no direction: a~b is b~a
        a, _, b = name.partition("~")
        swapped = f"regionLink/{b}~{a}"
        if swapped in by_id:
            return by_id[swapped].index
    named = [d for d in candidates if d.name == target.split("/", 1)[-1]]
    if "/" not in target and len(named) == 1:
        return named[0].index
    close = difflib.get_close_matches(target, list(by_id), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else \
        f"; use kind/name, e.g. {next(iter(by_id), 'rack/r1')}"
    raise KchaosUsageError(f"{option} {target}: no such {'/'.join(kinds) if kinds else 'failure domain'}{hint}")


@dataclass(frozen=True)
class Failure:
    """One ``--fail KIND/NAME+FOR@AT``: the domain fails at ``at`` and is repaired at ``until``
    (None: it stays down)."""

    domain: int
    at: float
    until: float | None


def parse_failure(cluster: Cluster, text: str, repair_after: float | None) -> Failure:
    """``KIND/NAME``, with ``+FOR`` (down this long; else ``--repair-after``, else for good) and
    ``@AT`` (from this time on; else at once): ``server/s1+4h``, ``node/w3+10m@2m``. A name that
    itself holds ``+`` or ``@`` is read whole first."""
    try:
        return Failure(resolve(cluster, text), 0.0, repair_after)
    except KchaosUsageError:
        match = _FAIL_SPEC.fullmatch(text)
        if match is None or not (match["for"] or match["at"]):
            raise
    at = _duration(text, match["at"], "@AT") if match["at"] else 0.0
    down_for = _duration(text, match["for"], "+FOR") if match["for"] else repair_after
    if down_for is not None and down_for <= 0:
        raise KchaosUsageError(f"--fail {text}: +FOR must be longer than zero")
    return Failure(resolve(cluster, match["target"]), at, None if down_for is None else at + down_for)


#: ``KIND/NAME``, then ``+FOR`` and ``@AT``, each optional.
_FAIL_SPEC = re.compile(r"(?P<target>.+?)(?:\+(?P<for>[^+@]+))?(?:@(?P<at>[^+@]+))?")


def _duration(text: str, value: str, what: str) -> float:
    try:
        seconds = parse_duration(value)
    except UnitError as exc:
        raise KchaosUsageError(f"--fail {text}: {what}: {exc}") from None
    if seconds < 0:
        raise KchaosUsageError(f"--fail {text}: {what} must not be negative")
    return seconds


def failure_history(cluster: Cluster, failures: list[Failure], horizon: float) -> History:
    """The scenario's failure history: each failure and its repair, in time order (a domain
    failed twice must be repaired in between)."""
    by_domain: dict[int, list[Failure]] = {}
    for f in failures:
        by_domain.setdefault(f.domain, []).append(f)
    for d, fs in by_domain.items():
        fs.sort(key=lambda f: f.at)
        for a, b in zip(fs, fs[1:]):
            if a.until is None or a.until > b.at:
                raise KchaosUsageError(f"--fail {cluster.domains[d].id}: fails again at +{b.at:g} s while still "
                                       "down; give the first failure a +FOR that ends before")
    changes = sorted([(f.at, 1, f.domain, True) for f in failures]
                     + [(f.until, 0, f.domain, False) for f in failures if f.until is not None])
    return History(-1, horizon, np.array([c[0] for c in changes], dtype=float),
                   np.array([c[2] for c in changes], dtype=np.int64), np.array([c[3] for c in changes], dtype=bool),
                   np.empty(0, dtype=np.int64))


def run_scenario(cluster: Cluster, fail: list[str], drain: list[str] | None = None,
                 repair_after: float | None = None, seed: int = 1, upgrade: bool = False) -> dict:
    """Play the scenario; return its events and outcome as a plain dict. ``fail``: domains as
    ``KIND/NAME+FOR@AT`` (:func:`parse_failure`); ``upgrade``: one rolling upgrade (the
    topology's ``maintenance:``, or one node at a time) starts at t=0."""
    drain = drain or []
    if not fail and not drain and not upgrade:
        raise KchaosUsageError("whatif needs at least one --fail DOMAIN, --drain node/NAME or --upgrade")
    if upgrade and cluster.maintenance is None:
        cluster = dataclasses.replace(cluster, maintenance=Maintenance(every=DEFAULT_UPGRADE_PERIOD))
    failures = [parse_failure(cluster, f, repair_after) for f in fail]
    failed = sorted({f.domain for f in failures})
    drained = [resolve(cluster, d, ("node",), "--drain") for d in drain]
    node_of_domain = {n.domain: n.index for n in cluster.nodes}
    drained_nodes = [node_of_domain[d] for d in drained]
    model = ClusterModel(cluster)
    k = cluster.kubernetes
    # Long enough for every affected node's rate-limited taint (one per 1/rate s and zone).
    affected = sum(len(model.nodes_under.get(d, ())) for d in failed) or len(cluster.nodes)
    slowest = min(r for r in (k.node_eviction_rate, k.secondary_node_eviction_rate) if r > 0)
    settle = (k.node_monitor_grace_period + 5.0 + affected / slowest + k.not_ready_toleration + k.pod_startup
              + SETTLE_MARGIN + scenario_slack(cluster))
    last = max([f.until if f.until is not None else f.at for f in failures], default=0.0)
    horizon = last + settle
    if upgrade:
        horizon += upgrade_horizon(cluster, model)
    history = failure_history(cluster, failures, horizon)
    events: list = []
    run = HistoryRun(model, history, np.random.default_rng(seed), events=events, rollouts=False)
    if upgrade:
        run.upgrade_at = 0.0
    for node in drained_nodes:
        run.start_drain(0.0, node)
    result = run.run()
    outcome = _outcome(cluster, model, run, result, failed, drained_nodes, events, repair_after, horizon)
    outcome["failures"] = [{"domain": cluster.domains[f.domain].id, "at_seconds": f.at, "repair_at_seconds": f.until}
                           for f in failures]
    if upgrade:
        outcome["outcome"]["upgrade"] = upgrade_outcome(cluster, model, run, result, events)
    return outcome


def scenario_slack(cluster: Cluster) -> float:
    """Time beyond the last change for the slow chains: a StatefulSet's ordered restarts
    (podManagementPolicy OrderedReady: one pod after another), volume attaches."""
    k = cluster.kubernetes
    per_pod = k.pod_startup + max((wl.volume.attach for wl in cluster.workloads if wl.volume is not None),
                                  default=0.0)
    return max((wl.replicas * per_pod for wl in cluster.workloads if wl.kind == "StatefulSet"), default=0.0)


#: ``whatif --upgrade`` without a ``maintenance:`` section: monthly, one node at a time, 10 min each.
DEFAULT_UPGRADE_PERIOD = 30 * 86400.0


def upgrade_horizon(cluster: Cluster, model: ClusterModel) -> float:
    """Time enough for one rolling upgrade whose drains are not blocked: each batch's drain
    (evictions, replacements starting), reboot and return; a blocked one shows as unfinished."""
    plan = cluster.maintenance
    assert plan is not None
    steps = len(model.workers) + (len(model.cp_nodes) if plan.control_plane else 0)  # at most one batch per node
    return steps * (plan.per_node + 2 * cluster.kubernetes.pod_startup + 60.0)


def upgrade_outcome(cluster: Cluster, model: ClusterModel, run, result, events: list) -> dict:
    """How the upgrade went: finished or not, drains, what blocked them, leader transfers."""
    stats = result.planned
    finished = [e[0] for e in events if e[2] == "UpgradeCompleted"]
    blocked = []
    for node, pods in sorted(run.blocked_pods.items()):
        still = [p for p in pods if run.pl.pod_node[p] == node]
        if still and not run.draining.get(node):
            budgets = sorted({model.pod_workload[p] for p in still})
            blocked.append({"node": cluster.nodes[node].name, "pods": [run.pod_name(p) for p in still],
                            "budgets": [{"workload": cluster.workloads[w].name,
                                         "min_available": model.workload_required[w],
                                         "ready": run.ready_count[w]} for w in budgets]})
    return {
        "completed": bool(finished), "seconds": round(finished[0], 3) if finished else None,
        "drains": stats.drains, "blocked_drains": stats.blocked_drains,
        "blocked_max_seconds": round(stats.blocked_max_seconds, 3), "blocked_by": dict(stats.blocked_by),
        "blocked_now": blocked, "leader_transfers": stats.transfers,
        "api_unavailable_seconds": round(result.api.total, 3),
        "hottest_utilization_in_window": round(stats.hottest_in_window, 4) if stats.hottest_in_window is not None
        else None,
    }


def _outcome(cluster, model, run, result, failed, drained_nodes, events, repair_after, horizon) -> dict:
    c = cluster
    down_at_failure = {n for d in failed if d in model.nodes_under for n in model.nodes_under[d]}
    members_down = [c.nodes[n].name for n in model.member_nodes if n in down_at_failure]
    # Members up but outside the partition that keeps quorum (a region-link cut): lost too.
    alive = sum(1 << i for i, n in enumerate(model.member_nodes) if n not in down_at_failure)
    cut = 0
    for d in failed:
        cut |= model.link_bit.get(d, 0)
    live, _ = model.quorum_partition(alive, cut)
    members_cut_off = [c.nodes[n].name for i, n in enumerate(model.member_nodes)
                       if live is not None and alive >> i & 1 and i not in live]
    quorum_lost = any(e[2] == "QuorumLost" for e in events)
    # Displaced: pods whose node failed, was drained, or was cut off at any time during the
    # scenario (went NotReady), even when a repair reconnected it before the end.
    node_index = {f"node/{n.name}": n.index for n in c.nodes}
    cut_off = {node_index[e[3]] for e in events if e[2] == "NodeNotReady" and e[3] in node_index}
    displaced = [p for p, node in enumerate(model.baseline.pod_node)
                 if node >= 0 and (node in down_at_failure or node in drained_nodes or node in cut_off
                                   or run.unreachable[node])
                 and not model.is_daemon[p]]
    pending = sorted(run.pending)
    pending_reasons = {}
    for p in pending:
        pending_reasons[run.pod_name(p)] = model.scheduler.explain(run.pl, p, scope=run.scope[p])
    util = model.scheduler.utilization(run.pl)
    # Surviving workers: up and reaching the control plane (a cut-off worker is NotReady).
    up_workers = run.up_arr & model.worker_mask & ~np.asarray(run.unreachable, dtype=bool)
    hottest_node, hottest = None, 0.0
    if up_workers.any():
        idx = int(np.argmax(np.where(up_workers, util, -1.0)))
        hottest_node, hottest = c.nodes[idx].name, float(util[idx])
    restored = [e[0] for e in events
                if e[2] in ("Started", "LeaderElected", "APIAvailable", "LeaderElection", "Drained")]
    all_ready = all(run.ready_count[w] >= model.workload_desired[w] for w in range(len(c.workloads)))
    recovered = all_ready and not run.pending
    workloads = []
    for w, wl in enumerate(c.workloads):
        eps = result.workloads[w]
        workloads.append({"name": wl.name, "kind": wl.kind, "ready": run.ready_count[w],
                          "desired": model.workload_desired[w], "min_available": model.workload_required[w],
                          "unavailable_seconds": round(eps.total, 3),
                          # every request while it is down, and dead endpoints' share while it is up
                          "failed_request_seconds": round(eps.total + result.requests[w].total, 3),
                          "available_at_end": run.ready_count[w] >= model.workload_required[w]})
    drains = []
    for node in drained_nodes:
        blocked = [run.pod_name(p) for p in run.blocked_pods.get(node, []) if run.pl.pod_node[p] == node]
        drains.append({"node": c.nodes[node].name, "completed": bool(run.draining.get(node)),
                       "blocked_pods": blocked})
    return {
        "topology": c.name,
        "failed": [c.domains[d].id for d in failed],
        "drained": [c.nodes[n].name for n in drained_nodes],
        "repair_after_seconds": repair_after,
        "horizon_seconds": horizon,
        "events": [{"t": round(t, 3), "type": ty, "reason": re, "object": ob, "message": me}
                   for t, ty, re, ob, me in events],
        "outcome": {
            "quorum": "lost" if quorum_lost else "kept",
            "members_down": members_down,
            "members_cut_off": members_cut_off,
            "members": len(model.member_nodes), "quorum_size": c.quorum,
            "control_plane_gap_seconds": round(result.api.total, 6),
            "api_available_at_end": bool(run.api_ok),
            "elections_ms": [round(g * 1000, 1) for g in result.election_samples],
            "pods_displaced": len(displaced),
            "pending_pods": pending_reasons,
            "hottest_node": hottest_node, "hottest_utilization": round(hottest, 4),
            "baseline_hottest_utilization": round(model.baseline_hottest, 4),
            "recovered": recovered,
            "time_to_full_recovery_seconds": round(max(restored), 3) if recovered and restored else (0.0 if recovered else None),
            "workloads": workloads,
            "drains": drains,
        },
    }
