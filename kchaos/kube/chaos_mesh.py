"""The costliest failures of a run as live drills (``kchaos export --to chaos-mesh``).

A drill fails what kchaos predicted, on the cluster's own machines, named as the cluster names
them (the topology's ``nodes:``, written by ``kchaos import``):

- a node, server, rack, datacenter or region: every machine of it is stopped the way its
  ``providerID`` says: ``AWSChaos`` ``ec2-stop`` (region and instance id), ``AzureChaos``
  ``vm-stop`` (subscription, resource group, VM), ``GCPChaos`` ``node-stop`` (project, zone,
  instance); a machine without a cloud (bare metal, kind) gets a ``PhysicalMachineChaos`` that
  stops its kubelet through chaosd at the node's address (SIGSTOP: a killed kubelet is
  restarted by systemd within seconds, a stopped one is not). One manifest per machine, all of
  a drill in one file, applied together;
- a region link: a ``NetworkChaos`` ``partition`` with ``direction: both`` between the pods on
  the two regions' nodes. It cuts pod traffic only: what runs on the host network (etcd peers,
  kubelets and static pods) keeps talking, and the manifest says so.

Each manifest carries kchaos's predicted timeline (``kchaos whatif`` of that domain) in its
annotations, lasts long enough for it to play out (the last predicted step plus a margin, not
the mean repair), and names the hardening saving only where its 95% interval excludes zero.
Written as plain YAML (no anchors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..analysis.whatif import run_scenario
from ..model.cluster import Cluster, Node
from .timeline import Event, phases

API_VERSION = "chaos-mesh.org/v1alpha1"
PREFIX = "kchaos.dev/"
#: Chaos Mesh's cloud chaos reads credentials from this secret in the experiment's namespace
#: (chaos-mesh.org docs: "Simulate AWS/Azure/GCP Faults", ``secretName: cloud-key-secret``).
SECRET = "cloud-key-secret"
#: chaosd's server port (``chaosd server --port``, default 31767).
CHAOSD_PORT = 31767
#: SIGSTOP on Linux: the kubelet stops renewing its lease and systemd does not restart it.
SIGSTOP = 19
#: A drill lasts until the last predicted step plus this share of it, and at least this margin.
MARGIN_SHARE, MIN_MARGIN, MIN_DURATION = 0.25, 120.0, 600.0

_AWS = re.compile(r"^aws:///(?P<zone>[^/]+)/(?P<id>i-[0-9a-zA-Z]+)$")
_AZURE = re.compile(r"^azure:///subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
                    r"Microsoft\.Compute/(?P<kind>virtualMachines|virtualMachineScaleSets)/(?P<name>[^/]+)"
                    r"(?:/virtualMachines/(?P<instance>[^/]+))?$", re.IGNORECASE)
_GCE = re.compile(r"^gce://(?P<project>[^/]+)/(?P<zone>[^/]+)/(?P<instance>[^/]+)$")


class _PlainDumper(yaml.SafeDumper):
    """YAML without anchors and aliases: every value written out where it is used."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_all(manifests: list[dict]) -> str:
    return yaml.dump_all(manifests, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False)


def go_duration(seconds: float) -> str:
    """Go's duration syntax, as Chaos Mesh reads it: ``8h``, ``10m``, ``1h30m``, ``45s``."""
    total = max(1, round(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return "".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (s, "s")) if v) or "1s"


def _slug(text: str, limit: int = 40) -> str:
    out = "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")
    while "--" in out:
        out = out.replace("--", "-")
    return out[:limit].strip("-") or "x"


def machine_action(node: Node, duration: str) -> tuple[str, dict] | str:
    """(kind, spec) that stops ``node``'s machine, or why it cannot be stopped from Chaos Mesh."""
    pid = node.provider_id or ""
    m = _AWS.match(pid)
    if m:
        zone = m["zone"]
        region = zone[:-1] if zone[-1:].isalpha() else zone  # eu-west-1a -> eu-west-1
        return "AWSChaos", {"action": "ec2-stop", "awsRegion": region, "ec2Instance": m["id"],
                            "secretName": SECRET, "duration": duration}
    m = _AZURE.match(pid)
    if m:
        if m["kind"].lower() == "virtualmachinescalesets":
            return (f"{node.name} is instance {m['instance']} of scale set {m['name']}: Chaos Mesh's AzureChaos "
                    f"stops standalone VMs only; stop it with `az vmss stop -g {m['rg']} -n {m['name']} "
                    f"--instance-ids {m['instance']}`")
        return "AzureChaos", {"action": "vm-stop", "subscriptionID": m["sub"], "resourceGroupName": m["rg"],
                              "vmName": m["name"], "secretName": SECRET, "duration": duration}
    m = _GCE.match(pid)
    if m:
        return "GCPChaos", {"action": "node-stop", "project": m["project"], "zone": m["zone"],
                            "instance": m["instance"], "secretName": SECRET, "duration": duration}
    if node.address:
        return "PhysicalMachineChaos", {
            "action": "process", "mode": "all", "address": [f"http://{node.address}:{CHAOSD_PORT}"],
            "process": {"process": "kubelet", "signal": SIGSTOP, "recoverCmd": "pkill -CONT -x kubelet"},
            "duration": duration}
    if pid:
        return f"{node.name}: providerID {pid!r} names no cloud Chaos Mesh can stop, and the node has no address"
    return (f"{node.name} has no providerID and no address (a topology written by hand): kchaos cannot name its "
            "machine; import the cluster with `kchaos import`, or give the pool's `nodes:` providerID/address")


@dataclass
class Drill:
    """One exported failure: its manifests, predicted timeline, and what it leaves out."""

    domain: str
    rank: int
    manifests: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def filename(self) -> str:
        return f"kchaos-{self.rank}-{_slug(self.domain)}.yaml"

    def text(self) -> str:
        return dump_all(self.manifests)


def scenario_events(scenario: dict) -> list[Event]:
    """The what-if scenario's events as :class:`Event` records."""
    kinds = {"pod": "Pod", "node": "Node", "replicaset": "ReplicaSet", "statefulset": "StatefulSet",
             "nodegroup": "NodeGroup", "lease": "Lease"}
    out = []
    for e in scenario["events"]:
        kind, _, name = e["object"].partition("/")
        out.append(Event(float(e["t"]), e["reason"], kinds.get(kind, kind), name, "", e["message"]))
    return out


def predicted(cluster: Cluster, domain: str, seed: int = 1) -> tuple[dict, dict[str, float | None]]:
    """The what-if scenario of ``domain`` and its phases (:func:`.timeline.phases`)."""
    scenario = run_scenario(cluster, [domain], seed=seed)
    failed = _failed_nodes(cluster, domain)
    wls = [(w["name"], "", w["desired"], w["min_available"]) for w in scenario["outcome"]["workloads"]
           if w["kind"] != "DaemonSet"]
    return scenario, phases(scenario_events(scenario), {n.name for n in failed}, wls)


def _failed_nodes(cluster: Cluster, domain: str) -> list[Node]:
    d = next(x for x in cluster.domains if x.id == domain)
    return [n for n in cluster.nodes if not n.standby and d.index in (n.domain, *n.ancestors)]


def _timeline_notes(scenario: dict, ph: dict[str, float | None]) -> dict[str, str]:
    out = scenario["outcome"]
    gap = out["control_plane_gap_seconds"]
    notes = {PREFIX + "predicted-quorum": out["quorum"],
             PREFIX + "predicted-api-write-gap": "until the machines return" if not out["api_available_at_end"]
             else go_duration(gap) if gap >= 0.5 else "none"}
    names = {"node_not_ready": "node-not-ready-after", "eviction": "eviction-after-not-ready",
             "scheduling": "replacements-scheduled-after-eviction", "pod_start": "pod-start",
             "recovery": "replacements-ready-after"}
    for key, label in names.items():
        if ph.get(key) is not None:
            notes[PREFIX + "predicted-" + label] = go_duration(ph[key])
    notes[PREFIX + "predicted-pods-displaced"] = str(out["pods_displaced"])
    notes[PREFIX + "predicted-pods-pending"] = str(len(out["pending_pods"]))
    down = [f"{w['name']} {go_duration(w['unavailable_seconds'])}" if w["available_at_end"]
            else f"{w['name']} until the machines return" for w in out["workloads"] if w["unavailable_seconds"] >= 1]
    notes[PREFIX + "predicted-workloads-unavailable"] = ", ".join(down) or "none"
    return notes


def _duration(scenario: dict) -> float:
    """Long enough for every predicted step: the last event plus a margin."""
    last = max([e["t"] for e in scenario["events"]] + [0.0])
    return max(MIN_DURATION, last + max(MIN_MARGIN, MARGIN_SHARE * last))


def _savings(row: dict) -> dict[str, str]:
    """The hardening savings whose 95% interval excludes zero."""
    notes = {}
    ci = row.get("ci95") or {}
    lo = (ci.get("api") or [0.0])[0]
    if lo > 0:
        notes[PREFIX + "api-minutes-per-year-if-hardened"] = f"{row['api_minutes_per_year_saved']:g}"
    for name, saved in (row.get("workload_minutes_per_year_saved") or {}).items():
        if ((ci.get("workloads") or {}).get(name) or [0.0])[0] > 0:
            notes[PREFIX + f"workload-{_slug(name)}-minutes-per-year-if-hardened"] = f"{saved:g}"
    return notes


def significant(row: dict) -> bool:
    """A hardening saving whose 95% interval excludes zero, for the API or some workload."""
    return bool(_savings(row))


def drill_domains(cluster: Cluster, results: dict, top: int) -> list[tuple[str, dict]]:
    """Up to ``top`` domains to drill, costliest first: those whose hardening saves minutes with
    an interval that excludes zero; else the blast radius's worst single failures."""
    known = {d.id for d in cluster.domains if d.kind != "node" or not _standby(cluster, d.index)}
    rows = [r for r in results.get("importance") or [] if r["domain"] in known and significant(r)]
    if not rows:
        rows = [{"domain": r["id"], "kind": r["kind"]} for r in results.get("domains") or []
                if r["id"] in known and (r.get("quorum_lost") or r.get("workloads_unavailable")
                                         or r.get("pods_pending"))]
    return [(r["domain"], r) for r in rows[:top]]


def _standby(cluster: Cluster, domain: int) -> bool:
    return any(n.domain == domain and n.standby for n in cluster.nodes)


def chaos_mesh(cluster: Cluster, results: dict, top: int = 5, namespace: str = "default") -> list[Drill]:
    """The drills for the ``top`` costliest failures; each names the cluster's own machines."""
    drills = []
    stopped: set[frozenset[str]] = set()  # a server holding one node fails what its node does: one drill
    for domain, row in drill_domains(cluster, results, 4 * top):
        kind = domain.split("/", 1)[0]
        machines = frozenset(n.name for n in _failed_nodes(cluster, domain)) if kind != "regionLink" else None
        if machines in stopped or len(drills) == top:
            continue
        if machines is not None:
            stopped.add(machines)
        rank = len(drills) + 1
        drill = Drill(domain, rank)
        scenario, ph = predicted(cluster, domain)
        duration = go_duration(_duration(scenario))
        notes = {PREFIX + "rank": str(rank), PREFIX + "domain": domain, **_savings(row),
                 **_timeline_notes(scenario, ph)}
        if kind == "regionLink":
            drill.manifests.append(_partition(cluster, domain, duration, notes, namespace, rank))
        else:
            for node in _failed_nodes(cluster, domain):
                action = machine_action(node, duration)
                if isinstance(action, str):
                    drill.skipped.append(action)
                    continue
                chaos_kind, spec = action
                meta = {"name": f"kchaos-{rank}-{_slug(node.name, 45)}", "namespace": namespace,
                        "annotations": {**notes, PREFIX + "machine": node.name}}
                drill.manifests.append({"apiVersion": API_VERSION, "kind": chaos_kind, "metadata": meta,
                                        "spec": spec})
            if drill.skipped and drill.manifests:
                for m in drill.manifests:
                    m["metadata"]["annotations"][PREFIX + "not-stopped"] = "; ".join(drill.skipped)
        drills.append(drill)
    return drills


def _partition(cluster: Cluster, domain: str, duration: str, notes: dict, namespace: str, rank: int) -> dict:
    """Pods on one region's nodes cut from pods on the other's, both ways."""
    d = next(x for x in cluster.domains if x.id == domain)
    a, b = d.regions
    side = {r: sorted(n.name for n in cluster.nodes if n.region == r and not n.standby) for r in (a, b)}
    namespaces = sorted({w.namespace for w in cluster.workloads}) or ["default"]
    notes = {**notes, PREFIX + "not-cut": "host-network traffic: etcd peers, kubelets and static control-plane "
                                          "pods keep talking across the link; only the pods' traffic is "
                                          "partitioned, so the predicted quorum loss is not tested"}
    return {"apiVersion": API_VERSION, "kind": "NetworkChaos",
            "metadata": {"name": f"kchaos-{rank}-{_slug(domain)}", "namespace": namespace, "annotations": notes},
            "spec": {"action": "partition", "mode": "all", "direction": "both", "duration": duration,
                     "selector": {"namespaces": namespaces, "nodes": side[a]},
                     "target": {"mode": "all", "selector": {"namespaces": list(namespaces), "nodes": side[b]}}}}
