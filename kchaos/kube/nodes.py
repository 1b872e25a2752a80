"""``kchaos import``: the nodes of a live cluster, as ``kubectl get nodes`` prints them.

Read: JSON or YAML; a ``List`` / ``NodeList`` (with or without its ``kind``) or single ``Node``
objects; files, folders of them and several ``--nodes``. Each node keeps what the topology
needs and what kubectl says of it:

- where it is: ``topology.kubernetes.io/region`` and ``/zone``, or the deprecated
  ``failure-domain.beta.kubernetes.io/region`` and ``/zone`` where only those are set (or the
  labels ``--region-label`` / ``--zone-label`` name), a rack label and a host label of the
  user's choosing;
- what it runs: a control-plane node (``node-role.kubernetes.io/control-plane`` or the older
  ``master`` label) is an etcd member; whether workloads land on a node is read from its taints,
  not its role labels (a control-plane node without a NoSchedule taint runs workloads: compact
  clusters);
- its state: NotReady (the Ready condition), cordoned (``spec.unschedulable``), tainted
  ``NoSchedule`` / ``NoExecute`` by something other than the node lifecycle;
- the machine: ``spec.providerID`` and the InternalIP, the instance type, and the cloud node
  group it belongs to (EKS, GKE, AKS, Karpenter, OpenShift machine sets).

Every value is checked by the topology's own rules; an object that is not a node is skipped
with a warning; a node whose values cannot be read is a problem with its file:line.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..errors import KchaosUsageError, Problem
from ..topology.checker import Checker, format_path, name_problem
from ..topology.fields import Fields
from ..topology.files import MAX_EXPORT_BYTES, Budget, fail
from ..topology.schema_common import MAX_NODES, MAX_PODS
from .manifest_files import Manifest, manifest_files, parse_documents
from .origin import Origin

LABEL_REGION = "topology.kubernetes.io/region"
LABEL_ZONE = "topology.kubernetes.io/zone"
DEPRECATED_REGION = "failure-domain.beta.kubernetes.io/region"
DEPRECATED_ZONE = "failure-domain.beta.kubernetes.io/zone"
LABEL_HOSTNAME = "kubernetes.io/hostname"
INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
#: Cloud node groups, by the label each provider puts on its nodes (the group's name is its value).
NODE_GROUP_LABELS = (("eks.amazonaws.com/nodegroup", "EKS node group"),
                     ("cloud.google.com/gke-nodepool", "GKE node pool"),
                     ("kubernetes.azure.com/agentpool", "AKS agent pool"), ("agentpool", "AKS agent pool"),
                     ("karpenter.sh/nodepool", "Karpenter NodePool"),
                     ("karpenter.sh/provisioner-name", "Karpenter provisioner"))
#: OpenShift: the Machine behind a node, ``openshift-machine-api/<machineset>-<random>``.
OPENSHIFT_MACHINE = "machine.openshift.io/machine"
#: Taints the node lifecycle sets for a state kchaos reads elsewhere (NotReady, cordoned, pressure).
STATE_TAINT = "node.kubernetes.io/"
#: etcd sizes kchaos models.
MAX_MEMBERS = 7
EXPECTED = "the output of `kubectl get nodes -o json` (or -o yaml)"


@dataclass(frozen=True)
class KubeNode:
    """One ``Node`` object, reduced to what the topology needs; ``origin``: its item in the file."""

    name: str
    region: str | None
    zone: str | None
    rack: str | None
    host: str | None
    control_plane: bool
    cpu: float  # cores
    memory: float  # bytes
    pods: int
    instance_type: str | None = None
    node_group: str | None = None  # the cloud node group (machine-set family) it belongs to
    node_group_kind: str | None = None  # "EKS node group", ...
    provider_id: str | None = None
    address: str | None = None
    ready: bool = True
    cordoned: bool = False
    #: NoSchedule / NoExecute taints other than the control plane's and the node lifecycle's.
    taints: tuple[str, ...] = ()
    #: Has the control plane's NoSchedule taint (node-role.kubernetes.io/control-plane or master).
    control_plane_taint: bool = False
    deprecated_labels: bool = False  # zone or region read from failure-domain.beta.*
    origin: Origin = field(default=Origin(""), compare=False)

    @property
    def runs_workloads(self) -> bool:
        """The scheduler may place workloads here: no NoSchedule taint a workload must tolerate."""
        return not self.control_plane_taint and not self.taints

    @property
    def hostname(self) -> str:  # the name by which kchaos used to call it
        return self.name


@dataclass
class NodesRead:
    """The nodes of every ``--nodes`` input, and what was left out, for the user to see."""

    nodes: list[KubeNode] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def _objects(paths: list[str]) -> tuple[list[Manifest], list[str]]:
    budget = Budget(MAX_EXPORT_BYTES, what="nodes exports")
    out, files = [], []
    for p in paths:
        for f in manifest_files(p):
            files.append(f)
            out += parse_documents(f, budget.read_text(f))
    return out, files


def read_nodes(paths: list[str] | str, rack_label: str | None = None, host_label: str | None = None,
               zone_label: str | None = None, region_label: str | None = None) -> NodesRead:
    """The nodes of the files and folders, every value checked by the topology's rules (names,
    quantities and their bounds); every problem found, with file:line."""
    paths = [paths] if isinstance(paths, str) else list(paths)
    objects, files = _objects(paths)
    if len(objects) > MAX_NODES:
        first = objects[0]
        at = first.prefix[:1] if first.prefix else ()
        raise KchaosUsageError([Problem(first.file, first.lines.get(at), format_path(at),
                                        f"holds {len(objects):,} objects; kchaos handles at most {MAX_NODES:,} nodes")])
    result = NodesRead(sources=files)
    checks: dict[str, Checker] = {}
    seen: dict[str, Origin] = {}
    for m in objects:
        kind = m.data.get("kind", "Node")
        if kind != "Node":
            result.warnings.append(f"{m.file}:{m.line}: a {str(kind)[:40]}, not a Node: left out")
            continue
        check = checks.setdefault(m.file, Checker(m.file, m.lines))
        node = _node(check, m.origin, m.data, rack_label, host_label, zone_label, region_label)
        if node is None:
            continue
        if node.name in seen:
            result.warnings.append(f"{m.file}:{m.line}: node {node.name} is also in {seen[node.name].file}: "
                                   "the first one read is kept")
            continue
        seen[node.name] = node.origin
        result.nodes.append(node)
    problems = [p for c in checks.values() for p in c.problems]
    if problems:
        raise KchaosUsageError(problems)
    if not objects:
        raise fail(paths[0], f"is empty; expected {EXPECTED}")
    if not result.nodes:
        found = f" (found: {result.warnings[0].split(': ', 1)[1].removesuffix(': left out')})" if result.warnings else ""
        raise fail(paths[0], f"holds no Node{found}; expected {EXPECTED}")
    if len(result.nodes) > MAX_NODES:
        raise fail(paths[0], f"{len(result.nodes):,} nodes; kchaos handles at most {MAX_NODES:,}")
    members = sum(n.control_plane for n in result.nodes)
    if members > MAX_MEMBERS:
        raise fail(paths[0], f"{members} control-plane nodes; kchaos models 1 to {MAX_MEMBERS} etcd members")
    if members == 0:
        raise fail(paths[0], "no node carries the node-role.kubernetes.io/control-plane label: a managed control "
                             "plane (EKS, GKE, AKS) is not in the nodes list; write the controlPlane section by hand")
    return result


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _pods(value: Any) -> Any:
    """kubectl writes ``pods: "110"``: a string of ASCII digits is that number (of any length:
    ``int(str)`` refuses more than 4,300 digits)."""
    return int(Decimal(value)) if isinstance(value, str) and value.isascii() and value.isdigit() else value


def _machine_set(machine: str | None, zone: str | None) -> str | None:
    """The OpenShift machine-set family of a node (``machine``: its Machine, from the
    annotation): its name without the random suffix,
    and without the zone the installer appends (``-worker-us-east-2a``, ``-worker-centralus1``, ``-worker-b``):
    the zonal machine sets of one role are one pool, as ``--balance-similar-node-groups`` treats them."""
    if not machine or "/" not in machine:
        return None
    name = machine.split("/", 1)[1]
    if re.search(r"-(master|control-plane)-\d+$", name):
        return None  # control-plane machines: not a worker pool
    name = re.sub(r"-[a-z0-9]{5}$", "", name)
    for suffix in (zone, (zone or "").replace("-", ""), (zone or "")[-1:]):  # us-east-2a, centralus1, b
        if suffix and name.endswith("-" + suffix):
            name = name[: -len(suffix) - 1]
            break
    return name or None


def _ip(text: str | None) -> bool:
    """An IP address (an export with addresses redacted, ``xx.x.x.x``, has none)."""
    try:
        ipaddress.ip_address(text or "")
    except ValueError:
        return False
    return True


def _ready(f: Fields) -> bool:
    """The node's Ready condition is True (every condition's type and status checked)."""
    ready = None
    for i, _ in f.items(("status", "conditions")):
        at = ("status", "conditions", i)
        kind, status = f.get(at + ("type",), str), f.get(at + ("status",), str)
        if kind == "Ready" and ready is None:
            ready = status == "True"
    return bool(ready)  # no Ready condition: the kubelet never reported


def _taints(f: Fields) -> tuple[bool, list[str]]:
    """Whether the node carries the control plane's NoSchedule taint, and its other NoSchedule
    and NoExecute taints (``key=value:effect``) but the node lifecycle's."""
    cp_taint, taints = False, []
    for i, _ in f.items(("spec", "taints")):
        at = ("spec", "taints", i)
        key, value = f.get(at + ("key",), str, ""), f.get(at + ("value",), str, "")
        effect = f.get(at + ("effect",), str)
        if effect not in ("NoSchedule", "NoExecute"):
            continue
        if key in CONTROL_PLANE_LABELS:
            cp_taint = True
        elif not key.startswith(STATE_TAINT):
            taints.append(f"{key}{'=' + value if value else ''}:{effect}")
    return cp_taint, taints


def _address(f: Fields) -> str | None:
    """The node's first InternalIP (every address's type and address checked)."""
    found = None
    for i, _ in f.items(("status", "addresses")):
        at = ("status", "addresses", i)
        kind, text = f.get(at + ("type",), str), _text(f.get(at + ("address",), str))
        if found is None and kind == "InternalIP" and text:
            found = text
    return found if _ip(found) else None


def _node(check: Checker, origin: Origin, item: dict, rack_label: str | None, host_label: str | None,
          zone_label: str | None, region_label: str | None) -> KubeNode | None:
    """One item as a :class:`KubeNode`, or None once its problems are recorded."""
    where = origin.path
    before = len(check.problems)
    f = Fields(item, check, where)
    meta = f.get(("metadata",), dict, {})
    labels = f.get(("metadata", "labels"), dict, {})
    name = meta.get("name") or labels.get(LABEL_HOSTNAME)
    problem = name_problem(name)
    if problem:
        check.error(where + ("metadata", "name"), f"a node's name {problem}")

    def label(*keys: str | None) -> tuple[str | None, str | None]:
        """The first of ``keys`` the node carries, and which."""
        for key in keys:
            value = labels.get(key) if key else None
            if value in (None, ""):
                continue
            problem = name_problem(value)
            if problem:  # the value names a region, datacenter, rack or server of the topology
                check.error(where + ("metadata", "labels", key), problem)
                return None, None
            return value, key
        return None, None

    def text_label(key: str) -> str | None:
        return _text(f.get(("metadata", "labels", key), str))

    zone, zone_key = label(*([zone_label] if zone_label else [LABEL_ZONE, DEPRECATED_ZONE]))
    region, region_key = label(*([region_label] if region_label else [LABEL_REGION, DEPRECATED_REGION]))
    alloc = f.get(("status", "allocatable"), dict)
    if alloc is None:
        if not {("status",), ("status", "allocatable")} & f.reported:
            check.error(where + ("status", "allocatable"), "is missing: export with `kubectl get nodes -o json`")
        return None
    at = where + ("status", "allocatable")
    cpu = memory = None
    for key in ("cpu", "memory"):
        if key not in alloc:
            check.error(at + (key,), "is required")
    if "cpu" in alloc:
        cpu = check.quantity(alloc["cpu"], at + ("cpu",), kind="cpu", allow_zero=False)
    if "memory" in alloc:
        memory = check.quantity(alloc["memory"], at + ("memory",), kind="memory", allow_zero=False)
    pods = check.integer(_pods(alloc.get("pods", "110")), at + ("pods",), 1, MAX_PODS)
    control_plane = any(k in labels for k in CONTROL_PLANE_LABELS)
    cp_taint, taints = _taints(f)
    group = group_kind = None
    for key, kind in NODE_GROUP_LABELS:
        if text_label(key):
            group, group_kind = labels[key], kind
            break
    if group is None:
        group = _machine_set(_text(f.get(("metadata", "annotations", OPENSHIFT_MACHINE), str)), zone)
        group_kind = "OpenShift machine set" if group else None
    node = KubeNode(
        name=name, region=region, zone=zone, rack=label(rack_label)[0], host=label(host_label)[0],
        control_plane=control_plane, cpu=cpu, memory=memory, pods=pods,
        instance_type=next((labels[k] for k in INSTANCE_TYPE_LABELS if text_label(k)), None),
        node_group=group, node_group_kind=group_kind, provider_id=_text(f.get(("spec", "providerID"), str)),
        address=_address(f), ready=_ready(f), cordoned=f.get(("spec", "unschedulable"), bool) is True,
        taints=tuple(taints), control_plane_taint=cp_taint,
        deprecated_labels=DEPRECATED_ZONE in (zone_key,) or DEPRECATED_REGION in (region_key,), origin=origin)
    return node if len(check.problems) == before else None
