"""``kchaos observe``: a drill's events set against kchaos's prediction, phase by phase.

The prediction is ``kchaos whatif`` of the same domain; both timelines are read the same way
(:func:`.timeline.phases`). Where a phase differs by more than its tolerance, the topology
setting that would make the model match is suggested: the node-monitor grace period from
NotReady, the toleration from the eviction, ``podStartup`` from the pods' start, an autoscaled
pool's ``provisionDelay`` from the wait for room. Tolerances: NotReady lands anywhere in a 15 s
window (the kubelet's 10 s lease renewals and the controller's 5 s checks), other phases agree
within 15 s or 20%.
"""

from __future__ import annotations

from ..model.cluster import Cluster
from .chaos_mesh import _failed_nodes, go_duration, predicted, scenario_events
from .timeline import PHASES, Event, phases

#: (absolute seconds, share of the prediction) within which a phase agrees.
TOLERANCE = {"node_not_ready": (15.0, 0.0), "leader_election": (15.0, 0.2)}
DEFAULT_TOLERANCE = (15.0, 0.2)
#: The model's NotReady lands on average 2.5 s before the grace period ends: the last renewal
#: is 0-10 s before the failure (mean 5) and the controller's check 0-5 s after (mean 2.5).
NOT_READY_MEAN_OFFSET = -2.5


def agrees(phase: str, pred: float | None, obs: float | None) -> bool | None:
    if pred is None or obs is None:
        return None if pred != obs else True
    if phase == "pending_pods":
        return pred == obs
    absolute, share = TOLERANCE.get(phase, DEFAULT_TOLERANCE)
    return abs(obs - pred) <= max(absolute, share * abs(pred))


def _seconds(x: float) -> str:
    return f"{max(1, round(x))}s"


def suggestions(cluster: Cluster, pred: dict, obs: dict, ok: dict) -> list[dict]:
    """The settings that would bring the model to what was observed."""
    k = cluster.kubernetes
    out = []
    if ok.get("node_not_ready") is False:
        grace = obs["node_not_ready"] - NOT_READY_MEAN_OFFSET
        out.append({"key": "kubernetes.nodeMonitorGracePeriod", "value": _seconds(grace),
                    "why": f"nodes went NotReady {obs['node_not_ready']:.0f} s after the failure, the model said "
                           f"{pred['node_not_ready']:.0f} s with a {k.node_monitor_grace_period:g} s grace period "
                           "(kube-controller-manager --node-monitor-grace-period)"})
    if ok.get("eviction") is False:
        queue = max(0.0, pred["eviction"] - k.not_ready_toleration)  # the taint queue's share
        out.append({"key": "kubernetes.notReadyToleration", "value": _seconds(obs["eviction"] - queue),
                    "why": f"pods were evicted {obs['eviction']:.0f} s after NotReady, the model said "
                           f"{pred['eviction']:.0f} s (the pods' tolerationSeconds for node.kubernetes.io/unreachable "
                           "and not-ready, or --default-not-ready-toleration-seconds)"})
    if ok.get("pod_start") is False:
        out.append({"key": "kubernetes.podStartup", "value": _seconds(obs["pod_start"]),
                    "why": f"replacements took {obs['pod_start']:.0f} s (median) from Scheduled to Started, the model "
                           f"says {k.pod_startup:g} s (image pulls, init containers, readiness)"})
    if ok.get("scheduling") is False and obs.get("scheduling") is not None:
        late = obs["scheduling"] - (pred["scheduling"] or 0.0)
        for auto in cluster.autoscale:
            if late > 0 or pred["scheduling"]:
                value = max(1.0, auto.provision_delay + late)
                out.append({"key": f"workers[{auto.pool}].autoscale.provisionDelay", "value": _seconds(value),
                            "why": f"the first replacement was scheduled {obs['scheduling']:.0f} s after the eviction, "
                                   f"the model said {pred['scheduling'] or 0:.0f} s: new nodes of {auto.pool} took "
                                   "that much longer (or shorter) to be Ready"})
                break
        else:
            out.append({"key": "workers[].capacity", "value": "the nodes' allocatable",
                        "why": f"replacements waited {obs['scheduling']:.0f} s for room the model sees at once: "
                               "the nodes hold less room than the topology says (compare kubectl describe nodes)"})
    if ok.get("pending_pods") is False:
        more = (obs["pending_pods"] or 0) > (pred["pending_pods"] or 0)
        out.append({"key": "workers[].capacity" if more else "workloads[].requests",
                    "value": "less room" if more else "the pods' real requests",
                    "why": f"{obs['pending_pods']:.0f} replacements stayed Pending, the model said "
                           f"{pred['pending_pods']:.0f}: the cluster has {'less' if more else 'more'} room than "
                           "the topology describes"})
    return out


def observe(cluster: Cluster, domain: str, events: list[Event], seed: int = 1) -> dict:
    """Predicted and observed phases of ``domain``'s failure, and what to change."""
    scenario, pred = predicted(cluster, domain, seed)
    failed = {n.name for n in _failed_nodes(cluster, domain)}
    wls = [(w.name, w.namespace, wl["desired"], wl["min_available"])
           for w, wl in zip(cluster.workloads, scenario["outcome"]["workloads"]) if w.kind != "DaemonSet"]
    obs = phases(events, failed, wls)
    pred = {**pred, **{f"unavailable:{w['name']}": round(w["unavailable_seconds"], 3)
                       for w in scenario["outcome"]["workloads"] if w["kind"] != "DaemonSet"}}
    names = [p for p in PHASES if p != "pending_pods"] + sorted(k for k in pred if k.startswith("unavailable:"))
    ok = {p: agrees(p, pred.get(p), obs.get(p)) for p in names + ["pending_pods"]}
    rows = [{"phase": p, "predicted_seconds": pred.get(p), "observed_seconds": obs.get(p), "agrees": ok[p]}
            for p in names if pred.get(p) is not None or obs.get(p) is not None]
    outcome = scenario["outcome"]
    return {
        "topology": cluster.name, "domain": domain, "failed_nodes": sorted(failed),
        "phases": rows,
        "pending_pods": {"predicted": pred.get("pending_pods"), "observed": obs.get("pending_pods"),
                         "agrees": ok["pending_pods"]},
        "suggestions": suggestions(cluster, pred, obs, ok),
        "quorum": {"predicted": outcome["quorum"], "predicted_write_gap_seconds": outcome["control_plane_gap_seconds"],
                   "observed": None, "note": "etcd writes no Kubernetes events: compare the API's own metrics "
                                             "(apiserver_request_total, etcd_server_has_leader)"},
        "events": {"predicted": [_row(e) for e in scenario_events(scenario)],
                   "observed": [_row(e) for e in events if e.t >= -60]},
    }


def _row(e: Event) -> dict:
    return {"t": round(e.t, 3), "reason": e.reason, "object": f"{e.kind}/{e.name}", "message": e.message}


def describe(seconds: float | None) -> str:
    return "-" if seconds is None else go_duration(seconds) if seconds >= 1 else f"{seconds:.1f}s"
