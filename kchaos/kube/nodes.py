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

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import KchaosUsageError, Problem
from ..topology.units import UnitError, format_cpu, format_memory, parse_cpu, parse_memory
from ..topology.yamlsafe import YamlFatal, load_yaml

LABEL_REGION = "topology.kubernetes.io/region"
LABEL_ZONE = "topology.kubernetes.io/zone"
LABEL_HOSTNAME = "kubernetes.io/hostname"
LABEL_INSTANCE_TYPE = "node.kubernetes.io/instance-type"
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
#: Largest nodes file read with line numbers (the YAML reader's limit); larger ones are read as plain JSON.
MAX_WITH_LINES = 5 * 1024 * 1024
#: etcd sizes kchaos models.
MAX_MEMBERS = 7
_BAD_NAME = re.compile(r"[\s/\\]")


@dataclass(frozen=True)
class KubeNode:
    """One `Node` object, reduced to what the topology needs."""

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


def _load(path: str) -> tuple[Any, dict]:
    """The parsed JSON and, when the file is small enough, key path -> line."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise KchaosUsageError([Problem(path, None, "", "no such file")]) from None
    except OSError as err:
        raise KchaosUsageError([Problem(path, None, "", f"cannot be read: {err.strerror or err}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise KchaosUsageError([Problem(path, None, "", "is not UTF-8 text; give the output of "
                                        "`kubectl get nodes -o json`")]) from None
    if len(raw) <= MAX_WITH_LINES:
        try:
            doc = load_yaml(text)
        except YamlFatal as err:
            raise KchaosUsageError([Problem(path, err.line, "", err.message)]) from None
        return doc.data, doc.lines
    try:
        return json.loads(text), {}
    except json.JSONDecodeError as err:
        raise KchaosUsageError([Problem(path, err.lineno, "", f"not valid JSON: {err.msg}")]) from None


def _dotted(key_path: tuple) -> str:
    out = ""
    for part in key_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read_nodes(path: str, rack_label: str | None = None, host_label: str | None = None) -> list[KubeNode]:
    """The nodes of a `kubectl get nodes -o json` file; every problem found, with file:line."""
    data, lines = _load(path)
    problems: list[Problem] = []

    def problem(key_path: tuple, message: str) -> None:
        line = None
        for n in range(len(key_path), -1, -1):
            line = lines.get(tuple(key_path[:n]))
            if line is not None:
                break
        problems.append(Problem(path, line, _dotted(key_path), message))

    if not isinstance(data, dict) or data.get("kind") not in ("List", "NodeList") or not isinstance(data.get("items"), list):
        raise KchaosUsageError([Problem(path, lines.get(()), "", "expected a List of Node objects, the output of "
                                        "`kubectl get nodes -o json`")])
    nodes = []
    for i, item in enumerate(data["items"]):
        where = ("items", i)
        if not isinstance(item, dict) or item.get("kind", "Node") != "Node":
            problem(where, f"is a {item.get('kind') if isinstance(item, dict) else type(item).__name__}, not a Node")
            continue
        meta = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
        labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
        name = labels.get(LABEL_HOSTNAME) or meta.get("name")
        if not isinstance(name, str) or not name or _BAD_NAME.search(name):
            problem(where + ("metadata", "name"), f"a node needs a name without blanks, '/' or '\\', got {name!r}")
            continue
        alloc = (item.get("status") or {}).get("allocatable") if isinstance(item.get("status"), dict) else None
        if not isinstance(alloc, dict):
            problem(where + ("status",), "no status.allocatable: export with `kubectl get nodes -o json`")
            continue
        try:
            cpu = parse_cpu(alloc.get("cpu", "0"))
            memory = parse_memory(alloc.get("memory", "0"))
        except UnitError as err:
            problem(where + ("status", "allocatable"), str(err))
            continue
        pods = alloc.get("pods", "110")
        if not str(pods).isdigit():
            problem(where + ("status", "allocatable", "pods"), f"must be a whole number, got {pods!r}")
            continue

        def label(key: str | None) -> str | None:
            value = labels.get(key) if key else None
            return str(value) if value not in (None, "") else None

        nodes.append(KubeNode(
            hostname=name, region=label(LABEL_REGION), zone=label(LABEL_ZONE), rack=label(rack_label),
            host=label(host_label), control_plane=any(k in labels for k in CONTROL_PLANE_LABELS),
            cpu=cpu, memory=memory, pods=int(pods), instance_type=label(LABEL_INSTANCE_TYPE)))
    if problems:
        raise KchaosUsageError(problems)
    if not nodes:
        raise KchaosUsageError([Problem(path, lines.get(("items",)), "items", "holds no Node")])
    members = sum(n.control_plane for n in nodes)
    if members > MAX_MEMBERS:
        raise KchaosUsageError([Problem(path, None, "", f"{members} control-plane nodes; kchaos models 1 to "
                                        f"{MAX_MEMBERS} etcd members")])
    if members == 0:
        raise KchaosUsageError([Problem(path, None, "", "no node carries the node-role.kubernetes.io/control-plane "
                                        "label: a managed control plane (EKS, GKE, AKS) is not in the nodes list; "
                                        "write the controlPlane section by hand")])
    return nodes


def _q(value: str) -> str:
    """A YAML scalar that stays a string whatever it looks like (a JSON string is valid YAML)."""
    return json.dumps(value)


class _Names:
    """Regions, datacenters, racks and servers share one namespace: a later level's name that
    is taken gets its level appended."""

    def __init__(self):
        self.taken: dict[str, str] = {}

    def claim(self, name: str, level: str, key: tuple) -> str:
        owner = self.taken.get(name)
        if owner is None or owner == repr(key):
            self.taken[name] = repr(key)
            return name
        return self.claim(f"{name}-{level}", level, key)


def topology_text(nodes: list[KubeNode], name: str, source: str, rack_label: str | None = None,
                  host_label: str | None = None, workloads: list[str] | None = None) -> str:
    """The topology file for ``nodes``, with comments where a guess or a default stands in;
    ``workloads``: the lines of a ``workloads:`` section (from manifests), if any."""
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
        region = names.claim(n.region or "region-1", "region", ("region", n.region))
        zone = names.claim(n.zone or f"{region}-dc", "datacenter", ("dc", region, n.zone))
        rack = names.claim(n.rack or f"{zone}-r1", "rack", ("rack", zone, n.rack))
        server = names.claim(n.host or n.hostname, "server", ("server", rack, n.host or n.hostname))
        servers = tree.setdefault(region, {}).setdefault(zone, {}).setdefault(rack, [])
        if server not in servers:
            servers.append(server)
        server_of[n.hostname] = server

    out = [f"# Imported by `kchaos import` from {source} ({len(nodes)} nodes).",
           *[f"# {note}." for note in notes],
           "apiVersion: kchaos/v1alpha1", "kind: Topology", "metadata:", f"  name: {_q(name)}",
           f"  description: {_q(f'Imported from kubectl get nodes ({len(nodes)} nodes)')}", "", "regions:"]
    for region, zones in sorted(tree.items()):
        out += [f"  - name: {_q(region)}", "    datacenters:"]
        for zone, racks in sorted(zones.items()):
            out += [f"      - name: {_q(zone)}", "        racks:"]
            for rack, servers in sorted(racks.items()):
                out += [f"          - name: {_q(rack)}",
                        f"            servers: [{', '.join(_q(s) for s in sorted(servers))}]"]
    out += ["", "network:  # TODO: measure and set the round trips (kchaos's defaults below)",
            "  rtt: {sameServer: 50us, sameRack: 100us, sameDatacenter: 500us, sameRegion: 2ms}"]
    if len(tree) > 1:
        out.append("  # TODO: add `regions: [{between: [a, b], rtt: ...}]` for each pair of regions")

    members = sorted((n for n in nodes if n.control_plane), key=lambda n: n.hostname)
    out += ["", "controlPlane:", f"  members: {len(members)}  # stacked etcd on the control-plane nodes; "
            "set etcdTopology: external if etcd runs apart",
            f"  placement: [{', '.join(_q(server_of[n.hostname]) for n in members)}]"]
    out += [f"  # cp-{i}: {n.hostname}" for i, n in enumerate(members, 1)]

    groups: dict[tuple, list[KubeNode]] = {}
    for n in sorted((n for n in nodes if not n.control_plane), key=lambda n: n.hostname):
        groups.setdefault((n.cpu, n.memory, n.pods), []).append(n)
    if groups:
        out += ["", "workers:  # pools of equal allocatable cpu, memory and pods"]
    pool_names: set[str] = set()
    for k, ((cpu, memory, pods), group) in enumerate(sorted(groups.items(), key=lambda kv: kv[0]), 1):
        types = {n.instance_type for n in group}
        pool = next(iter(types)) if len(types) == 1 and None not in types else f"pool-{k}"
        pool = pool.replace(".", "-") if not _BAD_NAME.search(pool) else f"pool-{k}"
        while pool in pool_names:
            pool = f"{pool}-{k}"
        pool_names.add(pool)
        out += [f"  - pool: {_q(pool)}", f"    count: {len(group)}",
                f"    placement: [{', '.join(_q(server_of[n.hostname]) for n in group)}]",
                f"    capacity: {{cpu: {format_cpu(cpu)}, memory: {format_memory(memory)}, pods: {pods}}}"]
        out += [f"    # {pool}-{i}: {n.hostname}" for i, n in enumerate(group, 1)]

    if workloads:
        out += workloads + [""]
    else:
        out += ["", "# TODO: describe what runs on the workers (or pass its manifests with -f):",
                "# workloads:",
                "#   - {name: web, kind: Deployment, replicas: 6, requests: {cpu: 500m, memory: 1Gi}, minAvailable: 4,",
                "#      spreadOver: datacenter}",
                ""]
    out += [
            "# TODO: failure rates of your hardware and sites; kchaos's defaults (docs/topology.md#failures):",
            "# failures:",
            "#   node: {mtbf: 90d, mttr: 10m}",
            "#   server: {mtbf: 3y, mttr: 4h}",
            "#   rack: {mtbf: 20y, mttr: 3h}",
            "#   datacenter: {mtbf: 50y, mttr: 8h}",
            "#   region: {mtbf: 200y, mttr: 24h}",
            "#   regionLink: {mtbf: 5y, mttr: 1h}", ""]
    return "\n".join(out)
