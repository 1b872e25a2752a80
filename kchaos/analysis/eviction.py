"""What the node lifecycle controller's zone rules do to this layout: the run's counts
(results.json ``eviction``) and the single-domain losses where the rules bite (advisories).

The rules (kube-controller-manager, ``node_lifecycle_controller.go``): a zone in partial
disruption with at most ``largeClusterSizeThreshold`` nodes evicts nothing; every zone fully
disrupted halts eviction; a healthy control-plane zone that counts keeps it going when every
worker zone is down (kubernetes#128528).
"""

from __future__ import annotations

from functools import reduce

from ..model.cluster import Advisory, Cluster
from ..model.engine import ClusterModel
from ..model.nodes.eviction import FULL, PARTIAL, EvictionStats, zone_rate, zones_after, zones_of
from ..model.scheduling.response import BlastRadius
from .statistics import SECONDS_PER_YEAR

#: Levels whose single loss the advisories examine (nodes are too many and too small to bite).
LEVELS = ("server", "rack", "datacenter", "region")


def eviction_summary(c: Cluster, stats: list[EvictionStats], total_seconds: float) -> dict:
    """The settings in force and what they did, per simulated year."""
    k = c.kubernetes
    s = reduce(EvictionStats.merge, stats, EvictionStats())

    def per_year(x: float) -> float | None:
        return round(x / total_seconds * SECONDS_PER_YEAR, 4) if total_seconds else None

    return {
        "zone_level": k.zone_level, "control_plane_counted": not k.exclude_control_plane,
        "node_eviction_rate": k.node_eviction_rate, "secondary_node_eviction_rate": k.secondary_node_eviction_rate,
        "unhealthy_zone_threshold": k.unhealthy_zone_threshold,
        "large_cluster_size_threshold": k.large_cluster_size_threshold,
        "out_of_service_after_seconds": k.out_of_service_after, "toleration_seconds": k.not_ready_toleration,
        "taints_per_year": per_year(s.taints),
        "partial_disruption_stalls_per_year": per_year(s.stalls),
        "stalled_zone_hours_per_year": per_year(s.stalled_seconds / 3600.0),
        "halts_per_year": per_year(s.halts),
        "halted_hours_per_year": per_year(s.halted_seconds / 3600.0),
        "kept_evicting_per_year": per_year(s.kept_evicting),
    }


def eviction_advisories(model: ClusterModel, blast: BlastRadius) -> list[Advisory]:
    """Single-domain losses the control plane survives where the zone rules change the
    outcome, one advisory per finding and level."""
    c, k = model.cluster, model.cluster.kubernetes
    zone, _, names = zones_of(model)
    size = zones_after(model, ()).size
    worker_zones = {zone[n] for n in model.workers if zone[n] >= 0}
    movable = {node for node, p in ((model.baseline.pod_node[p], p) for p in range(model.n_pods))
               if node >= 0 and not model.is_daemon[p]}
    stalls: dict[str, list[str]] = {}
    halts: dict[str, list[str]] = {}
    kept: dict[str, list[str]] = {}
    for level in LEVELS:
        for d in c.domains_of_kind(level):
            nodes = model.nodes_under.get(d.index, ())
            if not nodes or blast.respond([d.index]).api_down:
                continue  # without the API no controller acts anyway
            view = zones_after(model, nodes)
            down, state = view.down, view.state
            if view.halted:
                halts.setdefault(level, []).append(d.name)
                continue
            if worker_zones and all(state[z] == FULL for z in worker_zones):
                kept.setdefault(level, []).append(d.name)
            stalled = [z for z in range(len(names)) if state[z] == PARTIAL and zone_rate(PARTIAL, size[z], k) <= 0]
            if any(zone[n] in stalled and n in movable for n in nodes):
                zones = ", ".join(f"{names[z]} ({down[z]} of {size[z]} nodes)" for z in stalled)
                stalls.setdefault(level, []).append(f"{d.name} [{zones}]")
    out: list[Advisory] = []
    for level, hit in stalls.items():
        out.append(Advisory(
            "eviction-stalls",
            f"losing {_listed(level, hit)} puts its zone in partial disruption (at least "
            f"{k.unhealthy_zone_threshold:.0%} of the nodes NotReady) in a zone of at most "
            f"{k.large_cluster_size_threshold} nodes, where kube-controller-manager evicts nothing: the pods "
            f"there wait for the repair instead of moving. Spread each zone's nodes over more {level}s, use "
            f"larger zones, or set kubernetes.outOfServiceAfter if operators declare dead nodes out of service",
            "warning"))
    for level, hit in halts.items():
        out.append(Advisory(
            "eviction-halted",
            f"losing {_listed(level, hit)} leaves every counted zone fully disrupted: kube-controller-manager "
            f"assumes its own network is cut and stops evicting, so no pod moves until a zone returns"
            + (" (the control-plane nodes are excluded from disruption checks)" if k.exclude_control_plane else ""),
            "info"))
    for level, hit in kept.items():
        out.append(Advisory(
            "eviction-continues",
            f"losing {_listed(level, hit)} leaves every worker zone fully disrupted while the control-plane "
            f"zone counts as healthy, so eviction goes on at {k.node_eviction_rate:g} nodes/s per zone "
            f"(kubernetes#128528); after a partition heals, the evicted pods restart instead of resuming. "
            f"controlPlane.excludeFromDisruption: true makes the controller halt instead", "info"))
    return out


def _listed(level: str, names: list[str]) -> str:
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return f"{level} {shown}" if len(names) == 1 else f"any of {level}s {shown}"
