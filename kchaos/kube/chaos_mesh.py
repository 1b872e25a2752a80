"""The costliest failures of a run as live chaos experiments (``kchaos export --to chaos-mesh``).

The failure domains whose hardening would save the most (results.json ``importance``;
without it, the blast radius's worst rows) become Chaos Mesh manifests
(``chaos-mesh.org/v1alpha1``), so a drill on the real cluster can confirm what kchaos
predicts, which each manifest carries in its annotations:

- a region or datacenter outage: a ``PodChaos`` ``pod-failure`` of every pod on the nodes with
  that ``topology.kubernetes.io/region`` or ``/zone`` label, for the domain's mean repair;
- a rack, server or node: the same on the named nodes (kchaos's node names: map them to the
  cluster's, as ``kchaos import`` comments them);
- a region link: a ``NetworkChaos`` ``partition`` between the pods of the two regions.

Chaos Mesh selects pods within namespaces: the manifests name ``default``; list the
namespaces to disrupt before applying them (an annotation says so).
"""

from __future__ import annotations

from typing import Any

from ..model.cluster import Cluster

API_VERSION = "chaos-mesh.org/v1alpha1"
ZONE_LABEL = "topology.kubernetes.io/zone"
REGION_LABEL = "topology.kubernetes.io/region"
PREFIX = "kchaos.dev/"


def go_duration(seconds: float) -> str:
    """Go's duration syntax, as Chaos Mesh reads it: ``8h``, ``10m``, ``1h30m``, ``45s``."""
    total = max(1, round(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return "".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (s, "s")) if v) or "1s"


def _slug(text: str) -> str:
    out = "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")
    while "--" in out:
        out = out.replace("--", "-")
    return out[:50].strip("-") or "x"


def _annotations(row: dict, blast: dict | None, rank: int) -> dict[str, str]:
    notes = {PREFIX + "rank": str(rank),
             PREFIX + "namespaces": "edit selector.namespaces to the namespaces this drill may disrupt"}
    if "api_minutes_per_year_saved" in row:
        notes[PREFIX + "api-minutes-per-year-if-hardened"] = f"{row['api_minutes_per_year_saved']:g}"
        for name, saved in (row.get("workload_minutes_per_year_saved") or {}).items():
            if saved:
                notes[PREFIX + f"workload-{_slug(name)}-minutes-per-year-if-hardened"] = f"{saved:g}"
    if blast:
        notes[PREFIX + "predicted-quorum-lost"] = str(bool(blast.get("quorum_lost"))).lower()
        notes[PREFIX + "predicted-api-down"] = str(bool(blast.get("api_down"))).lower()
        notes[PREFIX + "predicted-pods-displaced"] = str(blast.get("pods_displaced", 0))
        notes[PREFIX + "predicted-pods-pending"] = str(blast.get("pods_pending", 0))
        unavailable = blast.get("workloads_unavailable") or []
        notes[PREFIX + "predicted-workloads-unavailable"] = ", ".join(unavailable) or "none"
    return notes


def chaos_mesh(cluster: Cluster, results: dict, top: int = 5, blast_radius=None) -> list[dict[str, Any]]:
    """Up to ``top`` Chaos Mesh manifests, costliest first. ``blast_radius`` (a
    :class:`~kchaos.model.scheduling.response.BlastRadius`) predicts the domains the results' blast-radius
    table leaves out (nodes)."""
    by_id = {d.id: d for d in cluster.domains}
    blast = {row["id"]: row for row in results.get("domains") or []}
    if blast_radius is not None:
        for d in cluster.domains:
            if d.id not in blast and d.kind == "node":
                r = blast_radius.respond([d.index])
                blast[d.id] = {"quorum_lost": r.quorum_lost, "api_down": r.api_down, "pods_displaced": r.pods_displaced,
                               "pods_pending": r.pods_pending, "workloads_unavailable": list(r.workloads_unavailable)}
    rows = [r for r in results.get("importance") or [] if r.get("total_minutes_per_year_saved", 0) > 0]
    if not rows:  # no saving measured: the blast radius's worst single failures
        rows = [{"domain": r["id"], "kind": r["kind"]} for r in results.get("domains") or []
                if r.get("quorum_lost") or r.get("workloads_unavailable") or r.get("pods_pending")]
    manifests = []
    for rank, row in enumerate(rows[:top], 1):
        d = by_id.get(row["domain"])
        if d is None:
            continue
        spec_ = cluster.failures.get(d.kind)
        duration = go_duration(spec_.ttr.mean) if spec_ is not None else "1h"
        meta = {"name": f"kchaos-{rank}-{_slug(d.id)}", "namespace": "default",
                "annotations": _annotations(row, blast.get(d.id), rank)}
        namespaces = ["default"]
        if d.kind == "regionLink":
            a, b = (cluster.domains[r].name for r in d.regions)
            spec = {"action": "partition", "mode": "all", "direction": "both", "duration": duration,
                    "selector": {"namespaces": namespaces, "nodeSelectors": {REGION_LABEL: a}},
                    "target": {"mode": "all", "selector": {"namespaces": namespaces, "nodeSelectors": {REGION_LABEL: b}}}}
            manifests.append({"apiVersion": API_VERSION, "kind": "NetworkChaos", "metadata": meta, "spec": spec})
            continue
        selector: dict[str, Any] = {"namespaces": namespaces}
        if d.kind == "region":
            selector["nodeSelectors"] = {REGION_LABEL: d.name}
        elif d.kind == "datacenter":
            selector["nodeSelectors"] = {ZONE_LABEL: d.name}
        else:
            selector["nodes"] = sorted(n.name for n in cluster.nodes if d.index in (n.domain, *n.ancestors))
        spec = {"action": "pod-failure", "mode": "all", "duration": duration, "selector": selector}
        manifests.append({"apiVersion": API_VERSION, "kind": "PodChaos", "metadata": meta, "spec": spec})
    return manifests
