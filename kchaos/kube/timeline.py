"""A failure's timeline, phase by phase, from Kubernetes events: the same reading for the events
``kchaos whatif`` predicts and for those ``kubectl get events`` shows after a drill.

Both speak Kubernetes' reasons: ``NodeNotReady`` (node-lifecycle controller, on the Node),
``TaintManagerEviction`` (taint-eviction controller, on each Pod it deletes), ``SuccessfulCreate``
(ReplicaSet / StatefulSet controller, ``Created pod: NAME``), ``Scheduled`` and
``FailedScheduling`` (kube-scheduler), ``Started`` (kubelet), ``TriggeredScaleUp``
(cluster-autoscaler). A phase is measured from the step before it:

- ``node_not_ready``: failure -> the first failed node's NodeNotReady;
- ``eviction``: that NotReady -> the first TaintManagerEviction;
- ``scheduling``: that eviction -> the first replacement Scheduled (waiting for room: Pending);
- ``pod_start``: a replacement's Scheduled -> its Started (the median over replacements);
- ``recovery``: failure -> the last replacement Started;
- ``pending_pods``: replacements never Scheduled;
- ``leader_election``: failure -> a controller-manager or scheduler lease's new leader (when
  the leader was lost);
- ``unavailable:<workload>``: seconds the workload had fewer ready pods than it needs, each
  pod of a failed node counted down from the failure until a replacement Started.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median


@dataclass(frozen=True)
class Event:
    """One event, reduced: seconds from the failure, reason, object kind and name, message."""

    t: float
    reason: str
    kind: str  # Node, Pod, ReplicaSet, ...
    name: str
    namespace: str = ""
    message: str = ""


#: Phases in the order of a failure's chain.
PHASES = ("node_not_ready", "leader_election", "eviction", "scheduling", "pod_start", "recovery", "pending_pods")


def _first(events: list[Event], reason: str, kind: str | None = None, after: float = -1e18,
           names: set[str] | None = None) -> Event | None:
    for e in events:
        if e.reason == reason and e.t >= after and (kind is None or e.kind == kind) \
                and (names is None or e.name in names):
            return e
    return None


def phases(events: list[Event], failed_nodes: set[str], workloads: list[tuple[str, str, int, int]] | None = None
           ) -> dict[str, float | None]:
    """Phase durations in seconds (None: not seen). ``workloads``: (name, namespace, replicas,
    minAvailable) to read each one's unavailable time from its pods' names."""
    events = sorted(events, key=lambda e: e.t)
    out: dict[str, float | None] = {p: None for p in PHASES}
    not_ready = _first(events, "NodeNotReady", "Node", 0.0, failed_nodes or None)
    if not_ready is not None:
        out["node_not_ready"] = not_ready.t
    leader = next((e for e in events if e.reason == "LeaderElection" and e.kind == "Lease" and e.t >= 0
                   and "became leader" in e.message), None)
    if leader is not None:
        out["leader_election"] = leader.t
    evictions = [e for e in events if e.reason == "TaintManagerEviction" and e.t >= 0]
    first_evict = evictions[0] if evictions else None
    if first_evict is not None and not_ready is not None:
        out["eviction"] = first_evict.t - not_ready.t
    created = [e.message.split("Created pod:", 1)[1].strip() for e in events
               if e.reason == "SuccessfulCreate" and e.t >= 0 and "Created pod:" in e.message]
    evicted = {e.name for e in evictions}
    replacements = set(created) | {n for n in evicted}  # a StatefulSet pod comes back under its name
    scheduled: dict[str, float] = {}
    started: dict[str, float] = {}
    failed: set[str] = set()
    after = first_evict.t if first_evict is not None else 0.0
    for e in events:
        if e.kind != "Pod" or e.name not in replacements or e.t < after:
            continue
        if e.reason == "Scheduled":
            scheduled.setdefault(e.name, e.t)
        elif e.reason == "Started" and e.name in scheduled:
            started.setdefault(e.name, e.t)
        elif e.reason == "FailedScheduling":
            failed.add(e.name)
    if scheduled and first_evict is not None:
        out["scheduling"] = min(scheduled.values()) - first_evict.t
    starts = [started[p] - scheduled[p] for p in started]
    if starts:
        out["pod_start"] = float(median(starts))
    if started:
        out["recovery"] = max(started.values())
    if first_evict is not None:
        out["pending_pods"] = float(len({p for p in created if p not in scheduled} | (failed - set(scheduled))))
    for name, namespace, replicas, min_available in workloads or []:
        out[f"unavailable:{name}"] = _unavailable(name, namespace, replicas, min_available, evictions, started, events)
    return out


def workload_of(pod: str, names: list[str]) -> str | None:
    """The workload a pod name belongs to: the longest workload name it starts with, then '-'."""
    best = None
    for n in names:
        if pod.startswith(n + "-") and (best is None or len(n) > len(best)):
            best = n
    return best


def _unavailable(name: str, namespace: str, replicas: int, min_available: int, evictions: list[Event],
                 started: dict[str, float], events: list[Event]) -> float | None:
    """Seconds ``name`` had fewer than ``min_available`` ready pods: each of its evicted pods is
    down from the failure (t=0) until one of its replacements Started, in order."""
    own = [e for e in evictions if workload_of(e.name, [name]) == name and (not e.namespace or not namespace
                                                                              or e.namespace == namespace)]
    if not own:
        return 0.0 if evictions else None
    ups = sorted(t for pod, t in started.items() if workload_of(pod, [name]) == name)
    down_until = [ups[i] if i < len(ups) else None for i in range(len(own))]
    allowed = replicas - min_available  # pods that may be down at once
    end = max([e.t for e in events] + [0.0])
    marks = sorted((t if t is not None else end) for t in down_until)
    # down count is len(own) from t=0, one fewer at each mark
    total, down, prev = 0.0, len(own), 0.0
    for t in marks:
        if down > allowed:
            total += t - prev
        down -= 1
        prev = t
    return round(total, 3)
