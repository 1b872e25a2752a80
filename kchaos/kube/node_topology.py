"""The topology of imported nodes: sites from their labels, the control plane, worker pools.

- Sites: region -> region, zone -> datacenter, the rack label -> rack, the host label -> server
  (several VMs on one host share it; without one, each node is its own server). A level the
  labels do not give gets one domain per parent and a comment.
- Control plane: the control-plane nodes, as stacked etcd members, their allocatable as their
  capacity; without a NoSchedule taint they run workloads too (``schedulable: true``).
- Pools: the workers of one cloud node group (machine-set family) and instance type are one
  pool; without either, nodes whose allocatable cpu and memory lie within 5% of each other
  and whose pod limits match. A pool's capacity is its smallest node's (a comment gives the
  spread). A cloud node group gets ``autoscale`` with a TODO for its max.
- Every node keeps its name, providerID and address (``nodes:``); a NotReady, cordoned or
  tainted node is said in a comment and marked with the key the simulation honours.

What kubectl cannot know (failure rates, round trips, workloads, a node group's max) keeps
kchaos's documented defaults, with ``TODO`` comments; the file validates and runs as written.
"""

from __future__ import annotations

from typing import Any

from ..model.cluster import Autoscale
from ..topology.checker import name_problem
from ..topology.units import format_cpu, format_memory, plain_number
from ..topology.yaml_writer import Note
from .nodes import DEPRECATED_REGION, DEPRECATED_ZONE, LABEL_REGION, LABEL_ZONE, KubeNode
from .origin import Document, Origin

#: The round trip written between two imported regions, which kubectl cannot know (with a
#: TODO): 50 ms, the most etcd members should see between them in a healthy cluster (Red Hat,
#: OpenShift 4.20 etcd practices, "etcd cluster latency requirements"), so that the file runs
#: as written and its advisories show what such a distance costs.
DEFAULT_REGION_RTT = "50ms"
#: Nodes whose allocatable cpu and memory lie within this share of each other are one pool
#: (kubelet reservations and kernel memory make identical VMs differ by a few Ki).
SIMILAR = 0.05
PROVISION_DELAY = f"{int(Autoscale('', 0, 0).provision_delay // 60)}m"

FAILURE_DEFAULTS_COMMENT = (
    "", "TODO: failure rates of your hardware and sites; kchaos's defaults (docs/topology.md#failures):",
    "failures:", "  node: {mtbf: 90d, mttr: 10m}", "  server: {mtbf: 3y, mttr: 4h}", "  rack: {mtbf: 20y, mttr: 3h}",
    "  datacenter: {mtbf: 50y, mttr: 8h}", "  region: {mtbf: 200y, mttr: 24h}", "  regionLink: {mtbf: 5y, mttr: 1h}")
WORKLOADS_TODO_COMMENT = (
    "", "TODO: describe what runs on the workers (or pass its manifests with -f):", "workloads:",
    "  - {name: web, kind: Deployment, replicas: 6, requests: {cpu: 500m, memory: 1Gi}, minAvailable: 4,",
    "     spreadOver: datacenter}")


class _Names:
    """Regions, datacenters, racks and servers share one namespace: a later level's name that
    is taken gets its level appended. Each name keeps the origin of the label it came from."""

    def __init__(self):
        self.taken: dict[str, str] = {}
        self.origin: dict[str, Origin] = {}

    def claim(self, name: str, level: str, key: tuple, origin: Origin | None = None) -> str:
        owner = self.taken.get(name)
        if owner is None or owner == repr(key):
            self.taken[name] = repr(key)
            if origin is not None:
                self.origin.setdefault(name, origin)
            return name
        return self.claim(f"{name}-{level}", level, key, origin)


def _state(n: KubeNode) -> str:
    """What a node's entry says of its state: NotReady, cordoned, tainted."""
    said = []
    if not n.ready:
        said.append("NotReady when exported: the scheduler leaves it out and its pods do not run")
    if n.cordoned:
        said.append("cordoned (spec.unschedulable)")
    if n.taints:
        said.append(f"tainted {', '.join(n.taints)}: workloads without a toleration do not land here")
    return "; ".join(said)


def _entry(n: KubeNode, workloads_expected: bool) -> Note | str:
    """A node's ``nodes:`` entry: its name, machine, address and state."""
    entry: dict[str, Any] = {"name": n.name}
    if n.provider_id:
        entry["providerID"] = n.provider_id
    if n.address:
        entry["address"] = n.address
    if not n.ready:
        entry["ready"] = False
    if workloads_expected and (n.cordoned or n.taints or (n.control_plane and n.control_plane_taint)):
        entry["schedulable"] = False
    return Note(entry if len(entry) > 1 else n.name, after=_state(n))


def _similar(a: KubeNode, b: KubeNode) -> bool:
    return a.pods == b.pods and all(abs(x - y) <= SIMILAR * max(x, y) for x, y in ((a.cpu, b.cpu), (a.memory, b.memory)))


def pools_of(workers: list[KubeNode]) -> list[list[KubeNode]]:
    """The workers grouped into pools: one per (node group, instance type); the rest by
    allocatable within :data:`SIMILAR`."""
    keyed: dict[tuple, list[KubeNode]] = {}
    loose: list[KubeNode] = []
    for n in workers:
        if n.node_group or n.instance_type:
            keyed.setdefault((n.node_group or "", n.instance_type or ""), []).append(n)
        else:
            loose.append(n)
    groups = list(keyed.values())
    clusters: list[list[KubeNode]] = []
    for n in sorted(loose, key=lambda n: (n.pods, n.cpu, n.memory, n.name)):
        home = next((c for c in clusters if _similar(c[0], n)), None)
        if home is None:
            clusters.append([n])
        else:
            home.append(n)
    return sorted(groups + clusters, key=lambda g: (g[0].node_group or "", g[0].instance_type or "", g[0].name))


def _capacity(group: list[KubeNode]) -> tuple[dict, str]:
    """The pool's capacity (its smallest node's) and a comment when its nodes differ."""
    cpu, memory, pods = min(n.cpu for n in group), min(n.memory for n in group), min(n.pods for n in group)
    capacity = {"cpu": plain_number(format_cpu(cpu)), "memory": plain_number(format_memory(memory)), "pods": pods}
    top_cpu, top_mem = max(n.cpu for n in group), max(n.memory for n in group)
    if top_cpu > cpu or top_mem > memory:
        differs = [f"{format_cpu(top_cpu - cpu)} cpu" if top_cpu > cpu else "",
                   f"{format_memory(top_mem - memory)} memory" if top_mem > memory else ""]
        return capacity, (f"allocatable differs by up to {' and '.join(d for d in differs if d)} between these "
                          "nodes: the smallest is written")
    return capacity, ""


def _pool_name(group: list[KubeNode], k: int, taken: set[str]) -> str:
    base = group[0].node_group or group[0].instance_type or f"pool-{k}"
    if group[0].node_group and len({n.instance_type for n in group}) == 1 and group[0].instance_type:
        base = group[0].node_group
    name = base.replace(".", "-").replace("_", "-").lower()
    if name_problem(name) is not None or name in ("cp", "etcd", "apiserver"):
        name = f"pool-{k}"
    candidate, i = name, 1
    while candidate in taken:
        i += 1
        candidate = f"{name}-{i}"
    taken.add(candidate)
    return candidate


def topology_document(nodes: list[KubeNode], name: str, source: str, rack_label: str | None = None,
                      host_label: str | None = None) -> Document:
    """The topology of ``nodes`` as data, with comments where a guess or a default stands in,
    and the origin (file, line, key) of every value taken from a node."""
    names = _Names()
    tree: dict[str, dict[str, dict[str, list[str]]]] = {}
    server_of: dict[str, str] = {}
    notes = []
    if not any(n.region for n in nodes):
        notes.append(f"no node has the {LABEL_REGION} (or {DEPRECATED_REGION}) label: one region, 'region-1'")
    if not any(n.zone for n in nodes):
        notes.append(f"no node has the {LABEL_ZONE} (or {DEPRECATED_ZONE}) label: one datacenter per region")
    if any(n.deprecated_labels for n in nodes):
        notes.append(f"zones or regions of some nodes read from the deprecated {DEPRECATED_ZONE} / "
                     f"{DEPRECATED_REGION} labels (the nodes carry no topology.kubernetes.io ones)")
    if not rack_label:
        notes.append("no --rack-label: one rack per datacenter (give the label your nodes carry for racks)")
    if not host_label:
        notes.append("no --host-label: each node is its own physical server (give the label naming the host "
                     "when several VMs share one)")
    for n in sorted(nodes, key=lambda n: n.name):
        labels = n.origin.at("metadata", "labels")
        region = names.claim(n.region or "region-1", "region", ("region", n.region),
                             labels.at(LABEL_REGION) if n.region else None)
        zone = names.claim(n.zone or f"{region}-dc", "datacenter", ("dc", region, n.zone),
                           labels.at(LABEL_ZONE) if n.zone else None)
        rack = names.claim(n.rack or f"{zone}-r1", "rack", ("rack", zone, n.rack),
                           labels.at(rack_label) if n.rack else None)
        server = names.claim(n.host or n.name, "server", ("server", rack, n.host or n.name),
                             labels.at(host_label) if n.host else n.origin.at("metadata", "name"))
        servers = tree.setdefault(region, {}).setdefault(zone, {}).setdefault(rack, [])
        if server not in servers:
            servers.append(server)
        server_of[n.name] = server

    origins: dict[tuple, Origin] = {}
    regions = []
    for r, (region, zones) in enumerate(sorted(tree.items())):
        datacenters = []
        for d, (zone, racks) in enumerate(sorted(zones.items())):
            datacenters.append({"name": zone, "racks": [{"name": rack, "servers": sorted(servers)}
                                                         for rack, servers in sorted(racks.items())]})
            for k, (rack, servers) in enumerate(sorted(racks.items())):
                for path, domain in [(("racks", k, "name"), rack)] + [
                        (("racks", k, "servers", j), s) for j, s in enumerate(sorted(servers))]:
                    if domain in names.origin:
                        origins[("regions", r, "datacenters", d) + path] = names.origin[domain]
            if zone in names.origin:
                origins[("regions", r, "datacenters", d, "name")] = names.origin[zone]
        regions.append({"name": region, "datacenters": datacenters})
        if region in names.origin:
            origins[("regions", r, "name")] = names.origin[region]

    network: dict[str, Any] = {"rtt": {"sameServer": "50us", "sameRack": "100us", "sameDatacenter": "500us",
                                       "sameRegion": "2ms"}}
    region_names = [r["name"] for r in regions]
    if len(region_names) > 1:
        network["regions"] = Note(
            [{"between": [a, b], "rtt": DEFAULT_REGION_RTT}
             for i, a in enumerate(region_names) for b in region_names[i + 1:]],
            after=f"TODO: measure the round trip between each pair of regions ({DEFAULT_REGION_RTT} "
                  "written: a default, not a measurement)")

    members = sorted((n for n in nodes if n.control_plane), key=lambda n: n.name)
    compact = any(n.runs_workloads for n in members)
    cp_capacity, cp_spread = _capacity(members)
    control_plane: dict[str, Any] = {
        "members": Note(len(members), after="stacked etcd on the control-plane nodes; set etcdTopology: "
                                            "external if etcd runs apart"),
        "placement": [server_of[n.name] for n in members],
        "nodes": [_entry(n, compact) for n in members],
        "capacity": Note(cp_capacity, after=cp_spread)}
    if compact:
        control_plane["schedulable"] = Note(True, after="no NoSchedule taint on the control-plane nodes: workloads "
                                                        "run on them (a compact cluster)")
    origins[("controlPlane", "capacity")] = members[0].origin.at("status", "allocatable")

    workers = []
    taken: set[str] = set()
    for k, group in enumerate(pools_of([n for n in nodes if not n.control_plane]), 1):
        pool = _pool_name(group, k, taken)
        capacity, spread = _capacity(group)
        entry: dict[str, Any] = {
            "pool": pool, "count": len(group),
            "placement": [server_of[n.name] for n in group],
            "capacity": Note(capacity, after=spread),
            "nodes": [_entry(n, True) for n in group]}
        if group[0].node_group:
            entry["autoscale"] = Note(
                {"max": len(group), "provisionDelay": PROVISION_DELAY},
                after=f"TODO: {group[0].node_group_kind} {group[0].node_group}: set its max (kubectl cannot "
                      "see it; as written nothing is added); remove if no autoscaler runs")
        kinds = {n.node_group_kind for n in group if n.node_group_kind}
        above = [f"{' and '.join(sorted(kinds))} {group[0].node_group}" if group[0].node_group else "",
                 f"instance type {group[0].instance_type}" if group[0].instance_type else ""]
        workers.append(Note(entry, above=tuple(x for x in ["; ".join(a for a in above if a)] if x)))
        origins[("workers", k - 1)] = group[0].origin
        origins[("workers", k - 1, "capacity")] = group[0].origin.at("status", "allocatable")

    data: dict[str, Any] = {
        "apiVersion": "kchaos/v1alpha1", "kind": "Topology",
        "metadata": {"name": name, "description": f"Imported from kubectl get nodes ({len(nodes)} nodes)"},
        "regions": Note(regions, above=("",)),
        "network": Note(network, above=("",), after="TODO: measure and set the round trips (kchaos's defaults below)"),
        "controlPlane": Note(control_plane, above=("",))}
    if workers:
        data["workers"] = Note(workers, above=("",), after="pools of similar machines (node group, instance type, "
                                                           "allocatable)")
    said = sum(1 for n in nodes if _state(n))
    if said:
        notes.append(f"{said} node{'s are' if said > 1 else ' is'} NotReady, cordoned or tainted: see their entries")
    return Document(data, header=[f"Imported by `kchaos import` from {source} ({len(nodes)} nodes).",
                                  *[f"{note}." for note in notes]],
                    footer=list(FAILURE_DEFAULTS_COMMENT), origins=origins)
