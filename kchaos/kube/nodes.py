"""``kchaos import``: a topology file from a live cluster's `kubectl get nodes -o json`.

Kubernetes' well-known labels give the failure hierarchy: ``topology.kubernetes.io/region``
-> region, ``topology.kubernetes.io/zone`` -> datacenter, a rack label of the user's choosing
-> rack, a host label -> physical server (several nodes on one host share it; without one,
each node is its own server, named by ``kubernetes.io/hostname``). Nodes labelled
``node-role.kubernetes.io/control-plane`` (or the older ``master``) become stacked etcd
members; workers are grouped into pools of equal allocatable cpu, memory and pods. A level
the labels do not give gets one domain per parent and a comment. What kubectl cannot know
(failure rates, round trips, workloads) keeps kchaos's documented defaults, with ``# TODO``
comments saying what to fill in; the written file validates and runs as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import KchaosUsageError
from ..topology.checker import Checker, name_problem
from ..topology.files import MAX_EXPORT_BYTES, decode, fail, load_structured, read_bytes
from ..topology.schema_common import MAX_NODES, MAX_PODS
from ..topology.units import describe_value, format_cpu, format_memory, plain_number
from ..topology.yaml_writer import Note
from .origin import Document, Origin

LABEL_REGION = "topology.kubernetes.io/region"
LABEL_ZONE = "topology.kubernetes.io/zone"
LABEL_HOSTNAME = "kubernetes.io/hostname"
LABEL_INSTANCE_TYPE = "node.kubernetes.io/instance-type"
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
#: etcd sizes kchaos models.
MAX_MEMBERS = 7
#: The round trip written between two imported regions, which kubectl cannot know (with a
#: TODO): 50 ms, the most etcd members should see between them in a healthy cluster (Red Hat,
#: OpenShift 4.20 etcd practices, "etcd cluster latency requirements"), so that the file runs
#: as written and its advisories show what such a distance costs.
DEFAULT_REGION_RTT = "50ms"
EXPECTED = "the output of `kubectl get nodes -o json`"


@dataclass(frozen=True)
class KubeNode:
    """One `Node` object, reduced to what the topology needs; ``origin``: its item in the file."""

    hostname: str
    region: str | None
    zone: str | None
    rack: str | None
    host: str | None
    control_plane: bool
    cpu: float  # cores
    memory: float  # bytes
    pods: int
    instance_type: str | None
    origin: Origin = field(default=Origin(""), compare=False)


def _load(path: str) -> tuple[Any, Any]:
    """The parsed JSON or YAML and its key path -> line map."""
    raw = read_bytes(path, MAX_EXPORT_BYTES, f"is larger than {MAX_EXPORT_BYTES // 2**20} MB, the limit of a "
                                             "nodes export (20,000 nodes, images included, take about that)")
    text = decode(raw, path)
    if not text.strip():
        raise fail(path, f"is empty; expected {EXPECTED}")
    return load_structured(text, path, EXPECTED)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _pods(value: Any) -> Any:
    """kubectl writes ``pods: "110"``: a string of ASCII digits is that number."""
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else value


def read_nodes(path: str, rack_label: str | None = None, host_label: str | None = None) -> list[KubeNode]:
    """The nodes of a `kubectl get nodes -o json` file, every value checked by the topology's own
    rules (names, quantities and their bounds); every problem found, with file:line."""
    data, lines = _load(path)
    check = Checker(path, lines)
    if not isinstance(data, dict) or data.get("kind") not in ("List", "NodeList") or not isinstance(data.get("items"), list):
        raise fail(path, f"expected a List of Node objects, {EXPECTED}", lines.get(()))
    if len(data["items"]) > MAX_NODES:
        check.error(("items",), f"holds {len(data['items']):,} objects; kchaos handles at most {MAX_NODES:,} nodes")
        raise KchaosUsageError(check.problems)
    nodes = []
    for i, item in enumerate(data["items"]):
        node = _node(check, Origin(path, lines, ("items", i)), item, rack_label, host_label)
        if node is not None:
            nodes.append(node)
    if check.problems:
        raise KchaosUsageError(check.problems)
    if not nodes:
        check.error(("items",), "holds no Node")
        raise KchaosUsageError(check.problems)
    members = sum(n.control_plane for n in nodes)
    if members > MAX_MEMBERS:
        raise fail(path, f"{members} control-plane nodes; kchaos models 1 to {MAX_MEMBERS} etcd members")
    if members == 0:
        raise fail(path, "no node carries the node-role.kubernetes.io/control-plane label: a managed control "
                         "plane (EKS, GKE, AKS) is not in the nodes list; write the controlPlane section by hand")
    return nodes


def _node(check: Checker, origin: Origin, item: Any, rack_label: str | None, host_label: str | None) -> KubeNode | None:
    """One item as a :class:`KubeNode`, or None once its problems are recorded."""
    where = origin.path
    if not isinstance(item, dict) or item.get("kind", "Node") != "Node":
        kind = item.get("kind") if isinstance(item, dict) else None
        check.error(where, f"is a {kind if isinstance(kind, str) else 'value'}, not a Node")
        return None
    before = len(check.problems)
    meta = item.get("metadata") or {}
    if not isinstance(meta, dict):
        check.error(where + ("metadata",), f"must be a mapping, got {describe_value(meta)}")
        meta = {}
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict):
        check.error(where + ("metadata", "labels"), "must be a mapping of label names to values")
        labels = {}
    name_key = ("metadata", "labels", LABEL_HOSTNAME) if labels.get(LABEL_HOSTNAME) else ("metadata", "name")
    name = labels.get(LABEL_HOSTNAME) or meta.get("name")
    problem = name_problem(name)
    if problem:
        check.error(where + name_key, f"a node's name {problem}")

    def label(key: str | None) -> str | None:
        value = labels.get(key) if key else None
        if value in (None, ""):
            return None
        problem = name_problem(value)
        if problem:  # the value names a region, datacenter, rack or server of the topology
            check.error(where + ("metadata", "labels", key), problem)
            return None
        return value

    status = item.get("status")
    alloc = status.get("allocatable") if isinstance(status, dict) else None
    if not isinstance(alloc, dict):
        check.error(where + ("status", "allocatable"), f"is missing or not a mapping: export with "
                                                        "`kubectl get nodes -o json`")
        return None
    at = where + ("status", "allocatable")
    cpu = memory = pods = None
    for key in ("cpu", "memory"):
        if key not in alloc:
            check.error(at + (key,), "is required")
    if "cpu" in alloc:
        cpu = check.quantity(alloc["cpu"], at + ("cpu",), kind="cpu", allow_zero=False)
    if "memory" in alloc:
        memory = check.quantity(alloc["memory"], at + ("memory",), kind="memory", allow_zero=False)
    pods = check.integer(_pods(alloc.get("pods", "110")), at + ("pods",), 1, MAX_PODS)
    node = KubeNode(hostname=name, region=label(LABEL_REGION), zone=label(LABEL_ZONE), rack=label(rack_label),
                    host=label(host_label), control_plane=any(k in labels for k in CONTROL_PLANE_LABELS),
                    cpu=cpu, memory=memory, pods=pods, instance_type=_text(labels.get(LABEL_INSTANCE_TYPE)),
                    origin=origin)
    return node if len(check.problems) == before else None


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


FAILURE_DEFAULTS_COMMENT = (
    "", "TODO: failure rates of your hardware and sites; kchaos's defaults (docs/topology.md#failures):",
    "failures:", "  node: {mtbf: 90d, mttr: 10m}", "  server: {mtbf: 3y, mttr: 4h}", "  rack: {mtbf: 20y, mttr: 3h}",
    "  datacenter: {mtbf: 50y, mttr: 8h}", "  region: {mtbf: 200y, mttr: 24h}", "  regionLink: {mtbf: 5y, mttr: 1h}")
WORKLOADS_TODO_COMMENT = (
    "", "TODO: describe what runs on the workers (or pass its manifests with -f):", "workloads:",
    "  - {name: web, kind: Deployment, replicas: 6, requests: {cpu: 500m, memory: 1Gi}, minAvailable: 4,",
    "     spreadOver: datacenter}")


def topology_document(nodes: list[KubeNode], name: str, source: str, rack_label: str | None = None,
                      host_label: str | None = None) -> Document:
    """The topology of ``nodes`` as data, with comments where a guess or a default stands in,
    and the origin (file, line, key) of every value taken from a node."""
    names = _Names()
    tree: dict[str, dict[str, dict[str, list[str]]]] = {}
    server_of: dict[str, str] = {}
    notes = []
    if not any(n.region for n in nodes):
        notes.append(f"no node has the {LABEL_REGION} label: one region, 'region-1'")
    if not any(n.zone for n in nodes):
        notes.append(f"no node has the {LABEL_ZONE} label: one datacenter per region")
    if not rack_label:
        notes.append("no --rack-label: one rack per datacenter (give the label your nodes carry for racks)")
    if not host_label:
        notes.append("no --host-label: each node is its own physical server (give the label naming the host "
                     "when several VMs share one)")
    for n in sorted(nodes, key=lambda n: n.hostname):
        labels = n.origin.at("metadata", "labels")
        region = names.claim(n.region or "region-1", "region", ("region", n.region),
                             labels.at(LABEL_REGION) if n.region else None)
        zone = names.claim(n.zone or f"{region}-dc", "datacenter", ("dc", region, n.zone),
                           labels.at(LABEL_ZONE) if n.zone else None)
        rack = names.claim(n.rack or f"{zone}-r1", "rack", ("rack", zone, n.rack),
                           labels.at(rack_label) if n.rack else None)
        server = names.claim(n.host or n.hostname, "server", ("server", rack, n.host or n.hostname),
                             labels.at(host_label) if n.host else n.origin.at("metadata", "name"))
        servers = tree.setdefault(region, {}).setdefault(zone, {}).setdefault(rack, [])
        if server not in servers:
            servers.append(server)
        server_of[n.hostname] = server

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

    members = sorted((n for n in nodes if n.control_plane), key=lambda n: n.hostname)
    control_plane = {
        "members": Note(len(members), after="stacked etcd on the control-plane nodes; set etcdTopology: "
                                            "external if etcd runs apart"),
        "placement": Note([server_of[n.hostname] for n in members],
                          above=tuple(f"cp-{i}: {n.hostname}" for i, n in enumerate(members, 1)))}

    groups: dict[tuple, list[KubeNode]] = {}
    for n in sorted((n for n in nodes if not n.control_plane), key=lambda n: n.hostname):
        groups.setdefault((n.cpu, n.memory, n.pods), []).append(n)
    workers = []
    pool_names: set[str] = set()
    for k, ((cpu, memory, pods), group) in enumerate(sorted(groups.items(), key=lambda kv: kv[0]), 1):
        types = {n.instance_type for n in group}
        pool = next(iter(types)) if len(types) == 1 and None not in types else f"pool-{k}"
        pool = pool.replace(".", "-") if name_problem(pool.replace(".", "-")) is None else f"pool-{k}"
        while pool in pool_names:
            pool = f"{pool}-{k}"
        pool_names.add(pool)
        workers.append({
            "pool": pool, "count": len(group),
            "placement": Note([server_of[n.hostname] for n in group],
                              above=tuple(f"{pool}-{i}: {n.hostname}" for i, n in enumerate(group, 1))),
            "capacity": {"cpu": plain_number(format_cpu(cpu)), "memory": plain_number(format_memory(memory)),
                         "pods": pods}})
        origins[("workers", k - 1)] = group[0].origin
        origins[("workers", k - 1, "capacity")] = group[0].origin.at("status", "allocatable")

    data: dict[str, Any] = {
        "apiVersion": "kchaos/v1alpha1", "kind": "Topology",
        "metadata": {"name": name, "description": f"Imported from kubectl get nodes ({len(nodes)} nodes)"},
        "regions": Note(regions, above=("",)),
        "network": Note(network, above=("",), after="TODO: measure and set the round trips (kchaos's defaults below)"),
        "controlPlane": Note(control_plane, above=("",))}
    if workers:
        data["workers"] = Note(workers, above=("",), after="pools of equal allocatable cpu, memory and pods")
    return Document(data, header=[f"Imported by `kchaos import` from {source} ({len(nodes)} nodes).",
                                  *[f"{note}." for note in notes]],
                    footer=list(FAILURE_DEFAULTS_COMMENT), origins=origins)
