"""Workloads from Kubernetes manifests (``kchaos import -f``): Deployments, StatefulSets,
DaemonSets and their PodDisruptionBudgets, from files or folders of YAML (several documents
per file) or the JSON of ``kubectl get deploy,sts,ds,pdb -A -o json``.

What the scheduler and the disruption budget see is kept: replicas (default 1); requests
summed over containers, an init container's counting when larger (the scheduler takes the
larger of the two per resource); the first topology spread constraint (a hard one first)
on a level kchaos knows; pod affinity and anti-affinity, required and preferred, as the
topology's own terms (:mod:`.pod_affinity`); ``volumeClaimTemplates`` as a volume scope; a
StatefulSet's ``podManagementPolicy``; a volume's access mode (``volumeClaimTemplates``, or a
Deployment's PersistentVolumeClaim among the manifests); a PDB's ``minAvailable`` or
``maxUnavailable`` (number or percent, matched by its selector's ``matchLabels`` and
``matchExpressions``). Without a PDB, ``minAvailable`` is every replica, and a comment says
so. What a workload needs cannot be seen: ``dependsOn: []`` with a TODO. Other kinds are
skipped and counted.

Every field read is checked first (its type, and its value by the topology's own rules):
a manifest of the wrong shape is told with its file:line, never a traceback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import KchaosUsageError, Problem
from ..topology.checker import Checker, name_problem
from ..topology.fields import Fields
from ..topology.schema_common import MAX_PODS
from ..topology.units import describe_value, format_cpu, format_memory, plain_number
from ..topology.yaml_writer import Note, plain
from .manifest_files import WORKLOAD_KINDS, Manifest
from .origin import Origin
from .pod_affinity import raw_terms, read_selector, resolve, selector_matches

LEVEL_OF_KEY = {"topology.kubernetes.io/zone": "datacenter", "topology.kubernetes.io/region": "region",
                "kubernetes.io/hostname": "server"}
WHEN_UNSATISFIABLE = ("DoNotSchedule", "ScheduleAnyway")
NODE_TAINTS_POLICY = ("Honor", "Ignore")
_POD = ("spec", "template", "spec")


@dataclass
class Imported:
    """The workloads as topology entries (each a mapping with its comment), the origin of their
    values (per entry: key path in the entry -> :class:`Origin`), and what was skipped."""

    entries: list[Note] = field(default_factory=list)
    origins: list[dict[tuple, Origin]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # objects left out, each named

    def as_data(self) -> list[dict]:
        """The workloads as topology data: exactly what ``import -f`` writes."""
        return plain(self.entries)


class _Fields(Fields):
    """Typed reads from one manifest (:class:`~kchaos.topology.fields.Fields`), with the manifest
    at hand for the origin of what is read."""

    def __init__(self, m: Manifest, check: Checker):
        super().__init__(m.data, check, m.prefix)
        self.m = m


def _requests(f: _Fields) -> tuple[float, float]:
    """Pod requests as the scheduler counts them: containers summed, an init container's
    request when larger (per resource)."""
    def one(group: str) -> list[tuple[float, float]]:
        out = []
        for i, _ in f.items(_POD + (group,)):
            at = _POD + (group, i, "resources", "requests")
            req = f.get(at, dict, {})
            cpu = f.check.quantity(req["cpu"], f.path(*at, "cpu"), kind="cpu") if "cpu" in req else 0.0
            memory = f.check.quantity(req["memory"], f.path(*at, "memory"), kind="memory") if "memory" in req else 0.0
            out.append((cpu or 0.0, memory or 0.0))
        return out
    main, init = one("containers"), one("initContainers")
    cpu, memory = sum(c for c, _ in main), sum(mem for _, mem in main)
    return max([cpu, *(c for c, _ in init)]), max([memory, *(mem for _, mem in init)])


def _level(key: str, rack_label: str | None, host_label: str | None) -> str | None:
    if key in LEVEL_OF_KEY:
        return LEVEL_OF_KEY[key]
    if rack_label and key == rack_label:
        return "rack"
    if host_label and key == host_label:
        return "server"
    return None


def _unique(name: str, namespace: str, taken: list[str]) -> str:
    if name not in taken:
        return name
    name = f"{namespace}-{name}"
    k, candidate = 1, name
    while candidate in taken:
        k += 1
        candidate = f"{name}-{k}"
    return candidate


#: API groups of Kubernetes' own kinds; any other group is a custom resource an operator reads.
_BUILTIN_GROUPS = ("", "apps", "batch", "policy", "autoscaling", "extensions")


def _custom_resource(data: dict) -> bool:
    group = str(data.get("apiVersion", "")).rpartition("/")[0]
    return group not in _BUILTIN_GROUPS and not group.endswith(".k8s.io")


def _templated(value: Any) -> bool:
    """A Helm (or other Go template) leftover: ``{{ ... }}`` in a string of the object (walked
    without recursion: JSON may nest as deep as its parser allows)."""
    stack = [value]
    while stack:
        value = stack.pop()
        if isinstance(value, str) and "{{" in value and "}}" in value:
            return True
        if isinstance(value, dict):
            stack += value.keys()
            stack += value.values()
        elif isinstance(value, list):
            stack += value
    return False


def _described(m: Manifest) -> str:
    meta = m.data.get("metadata") if isinstance(m.data.get("metadata"), dict) else {}
    return (f"{str(m.data.get('kind'))[:40]} {str(meta.get('namespace', 'default'))[:63]}/"
            f"{str(meta.get('name', '?'))[:63]} ({m.file}:{m.line})")


def workloads_from(manifests: list[Manifest], rack_label: str | None = None, host_label: str | None = None,
                   volume_scope: str = "datacenter", daemon_nodes: int | None = None) -> Imported:
    """The workload entries of the manifests, their PDBs and pod (anti-)affinity applied; every
    problem at once. What cannot be imported (a Helm template not rendered, a custom resource
    that an operator turns into pods, a budget selecting none of these workloads) is left out
    with a warning naming it."""
    problems: list[Problem] = []
    result = Imported()
    kept = []
    for m in manifests:
        if m.unread:
            result.warnings.append(f"{_described(m)}: {m.unread}")
        elif m.data.get("kind") in WORKLOAD_KINDS + ("PodDisruptionBudget",) and _templated(m.data):
            result.warnings.append(f"{_described(m)}: a Helm template not rendered ({{{{ ... }}}} in its values): "
                                   "left out; give the output of `helm template`")
        else:
            kept.append(m)
    pdbs = [m for m in kept if m.data.get("kind") == "PodDisruptionBudget"]
    claims = _claims(kept, problems)
    pdb_fields = {id(p): _Fields(p, Checker(p.file, p.lines)) for p in pdbs}
    used_pdbs: set[int] = set()
    refused: list[tuple[str, dict]] = []  # namespace and pod labels of workloads with a problem
    pods: list[tuple[str, str, dict]] = []  # every imported workload's name, namespace and pod labels
    terms = []  # per entry, its raw (anti-)affinity terms
    for m in kept:
        kind = m.data.get("kind")
        if kind not in WORKLOAD_KINDS:
            if kind not in ("PodDisruptionBudget", "PersistentVolumeClaim"):
                shown = kind if isinstance(kind, str) else describe_value(kind)
                result.skipped[shown[:60]] = result.skipped.get(shown[:60], 0) + 1
                if _custom_resource(m.data) and isinstance(m.data.get("spec"), dict) and "replicas" in m.data["spec"]:
                    result.warnings.append(f"{_described(m)}: a custom resource its operator turns into pods "
                                           "kchaos cannot see: left out; import what the operator creates "
                                           "(`kubectl get sts,deploy -A -o json`)")
            continue
        f = _Fields(m, Checker(m.file, m.lines))
        if kind != "DaemonSet" and _scaled_to_zero(m.data):  # Kubernetes accepts it: nothing runs to lose
            result.warnings.append(f"{_described(m)}: scaled to 0 replicas: no pod to lose; left out")
            refused.append((f.get(("metadata", "namespace"), str, "default"),
                            f.strings(("spec", "template", "metadata", "labels"))))
            continue
        entry, origins = _workload(f, kind, result.names, volume_scope, rack_label, host_label)
        labels = f.strings(("spec", "template", "metadata", "labels"))
        namespace = f.get(("metadata", "namespace"), str, "default")
        if entry is not None:
            count = entry.get("replicas", daemon_nodes)
            matched = [i for i, p in enumerate(pdbs) if _selects(pdb_fields[id(p)], namespace, labels)]
            if matched:
                used_pdbs.update(matched)
                pdb = pdbs[matched[0]]
                entry["minAvailable"], origins[("minAvailable",)] = _min_available(pdb_fields[id(pdb)], count)
            else:
                entry["minAvailable"] = Note("100%" if kind == "DaemonSet" else entry["replicas"],
                                             after="no PodDisruptionBudget matches: every replica counted as "
                                                   "needed; set what the service really needs")
            entry.update(_spread(f, rack_label, host_label, origins))
            if kind == "StatefulSet" and f.get(("spec", "volumeClaimTemplates"), list):
                entry["volumeScope"] = Note(volume_scope,
                                            after=f"volumeClaimTemplates: disks stay in their {volume_scope}")
            if namespace != "default":
                entry["namespace"] = namespace
            needs, remarks = _needs(f, kind, namespace, entry.get("replicas", 1), claims)
            entry.update(needs)
        own_terms = [] if entry is None or kind == "DaemonSet" else raw_terms(f, namespace)
        problems += f.check.problems
        if entry is None or f.check.problems:
            refused.append((namespace, labels))
            continue
        name = entry["name"]
        meta_name = f.get(("metadata", "name"), str)
        result.entries.append(Note(entry, above=(f"{kind} {namespace}/{meta_name} ({Path(m.file).name}:{m.line})",
                                                 *remarks)))
        result.origins.append(origins)
        result.names.append(name)
        pods.append((name, namespace, labels))
        terms.append(own_terms)
    for k, (own, origins) in enumerate(zip(terms, result.origins)):
        resolved, dropped = resolve(own, pods, rack_label, host_label)
        entry = result.entries[k]
        for key, value in resolved.items():
            entry.value[key] = value
            origins[(key,)] = next(t.origin for t in own if t.key == key)
        if dropped:
            result.entries[k] = Note(entry.value, above=entry.above + tuple(dropped), after=entry.after)
    for i, p in enumerate(pdbs):
        f = pdb_fields[id(p)]
        spec = f.get(("spec",), dict, {})
        if "minAvailable" in spec and "maxUnavailable" in spec:
            f.error(("spec",), "a PodDisruptionBudget takes minAvailable or maxUnavailable, not both")
        elif i not in used_pdbs and not f.check.problems and not any(_selects(f, *r) for r in refused):
            result.warnings.append(f"{_described(p)}: selects no Deployment, StatefulSet or DaemonSet of these "
                                   "manifests (pods an operator creates, perhaps): left out")
        problems += f.check.problems
    if problems:
        raise KchaosUsageError(list(dict.fromkeys(problems)))
    return result


#: PersistentVolumeClaim access modes as kchaos' volume.accessMode: one node at a time
#: (ReadWriteOnce, ReadWriteOncePod) or shared between nodes (ReadWriteMany, ReadOnlyMany).
ACCESS_MODES = {"ReadWriteOnce": "ReadWriteOnce", "ReadWriteOncePod": "ReadWriteOnce",
                "ReadWriteMany": "ReadWriteMany", "ReadOnlyMany": "ReadWriteMany"}


def _claims(manifests: list[Manifest], problems: list[Problem]) -> dict[tuple[str, str], list[str]]:
    """(namespace, name) -> access modes of every PersistentVolumeClaim among the manifests; a
    claim's problems into ``problems``."""
    out = {}
    for m in manifests:
        if m.data.get("kind") == "PersistentVolumeClaim":
            f = _Fields(m, Checker(m.file, m.lines))
            key = (f.get(("metadata", "namespace"), str, "default"), f.get(("metadata", "name"), str))
            out[key] = [mode for _, mode in f.items(("spec", "accessModes"), str)]
            problems += f.check.problems
    return out


def _needs(f: _Fields, kind: str, namespace: str, replicas: int, claims: dict) -> tuple[dict, list[str]]:
    """podManagementPolicy, the volume's access mode, and dependsOn left to the user; and the
    remarks to write above the entry."""
    out: dict[str, Any] = {}
    remarks: list[str] = []
    policy = f.get(("spec", "podManagementPolicy"), str)
    if kind == "StatefulSet" and policy in ("OrderedReady", "Parallel"):
        out["podManagementPolicy"] = policy
    modes: list = []
    if kind == "StatefulSet":
        templates = ("spec", "volumeClaimTemplates")
        for i, _ in f.items(templates):
            modes += [mode for _, mode in f.items(templates + (i, "spec", "accessModes"), str)]
    elif kind == "Deployment":
        volumes = ("spec", "template", "spec", "volumes")
        for i, _ in f.items(volumes):
            claim = f.get(volumes + (i, "persistentVolumeClaim", "claimName"), str)
            modes += claims.get((namespace, claim), []) if claim is not None else []
    mode = next((ACCESS_MODES[x] for x in modes if x in ACCESS_MODES), None)
    if mode == "ReadWriteOnce" and kind == "Deployment" and replicas > 1:
        remarks.append(f"TODO: its ReadWriteOnce claim is shared by {replicas} replicas, which works on one node "
                       "only (Multi-Attach elsewhere): volume left out")
    elif mode is not None:
        out["volume"] = {"accessMode": mode}
    out["dependsOn"] = Note([], after="TODO: the workloads this one needs (kubectl cannot tell); CoreDNS is added")
    return out, remarks


def _scaled_to_zero(data: dict) -> bool:
    spec = data.get("spec")
    replicas = spec.get("replicas") if isinstance(spec, dict) else None
    return isinstance(replicas, int) and not isinstance(replicas, bool) and replicas == 0


def _workload(f: _Fields, kind: str, taken: list[str], volume_scope: str, rack_label: str | None,
              host_label: str | None) -> tuple[dict | None, dict[tuple, Origin]]:
    """The entry's name, kind, replicas and requests (the budget and spread follow), or None."""
    if f.get(("metadata",), dict) is None and ("metadata",) in f.reported:
        return None, {}
    name = f.get(("metadata", "name"), str)
    problem = name_problem(name)
    if problem:
        f.error(("metadata", "name"), f"a workload {problem}")
        return None, {}
    namespace = f.get(("metadata", "namespace"), str, "default")
    problem = name_problem(namespace)
    if problem:
        f.error(("metadata", "namespace"), problem)
        return None, {}
    replicas = None
    if kind != "DaemonSet":
        replicas = f.check.integer(f.get(("spec", "replicas"), int, 1), f.path("spec", "replicas"), 1, MAX_PODS)
        if replicas is None:
            return None, {}
    cpu, memory = _requests(f)
    origin = f.m.origin
    entry: dict[str, Any] = {"name": _unique(name, namespace, taken), "kind": kind}
    if replicas is not None:
        entry["replicas"] = replicas
    entry["requests"] = {"cpu": plain_number(format_cpu(cpu)), "memory": plain_number(format_memory(memory))}
    if not cpu and not memory:  # pkg/scheduler/util/pod_resources.go: DefaultMilliCPURequest, DefaultMemoryRequest
        entry["requests"] = Note(entry["requests"], after="TODO: no requests in the manifest: the scheduler reserves "
                                                          "nothing and scores each pod as 100m cpu and 200Mi (its "
                                                          "defaults); set what the pods use")
    origins = {(): origin, ("name",): origin.at("metadata", "name"), ("replicas",): origin.at("spec", "replicas"),
               ("requests",): origin.at(*_POD)}
    return entry, origins


def _selects(f: _Fields, namespace: str, labels: dict) -> bool:
    if f.get(("metadata", "namespace"), str, "default") != namespace:
        return False
    selector = read_selector(f, ("spec", "selector"))  # matchLabels and matchExpressions, as the pod terms'
    return bool(selector["matchLabels"] or selector["matchExpressions"]) and selector_matches(selector, labels)


def _min_available(f: _Fields, count: int | None) -> tuple[Note | None, Origin]:
    """The PDB's budget as ``minAvailable``, with its comment and origin."""
    spec = f.get(("spec",), dict, {})
    name = f.get(("metadata", "name"), str, "")
    key = "minAvailable" if "minAvailable" in spec else "maxUnavailable"
    origin = f.m.origin.at("spec", key)
    value = f.get(("spec", key), (int, str))
    parsed = f.check.count_or_percent(value, f.path("spec", key)) if value is not None else None
    if parsed is None:
        if value is None and ("spec", key) not in f.reported:
            f.error(("spec",), "a PodDisruptionBudget needs minAvailable or maxUnavailable")
        return None, origin
    number, fraction = parsed
    if key == "minAvailable":
        return Note(number if number is not None else value.strip(), after=f"PDB {name}"), origin
    if count is None:
        f.error(("spec", key), "a percentage of a DaemonSet needs its node count")
        return None, origin
    allowance = number if number is not None else math.ceil(fraction * count)  # Kubernetes rounds it up
    return Note(max(0, count - allowance), after=f"PDB {name}: maxUnavailable {value}"), origin


def _spread(f: _Fields, rack_label: str | None, host_label: str | None, origins: dict) -> dict:
    """The first spread constraint on a known level (a hard one first), as ``spread`` (pod
    anti-affinity is not one: :mod:`.pod_affinity` keeps it as ``antiAffinity``)."""
    at = _POD + ("topologySpreadConstraints",)
    constraints = []
    for i, c in f.items(at):
        key = f.get(at + (i, "topologyKey"), str, "")
        skew = f.check.integer(f.get(at + (i, "maxSkew"), int, 1), f.path(*at, i, "maxSkew"), 1, MAX_PODS)
        when = f.check.choice(f.get(at + (i, "whenUnsatisfiable"), str, "DoNotSchedule"),
                              f.path(*at, i, "whenUnsatisfiable"), WHEN_UNSATISFIABLE)
        taints = f.check.choice(f.get(at + (i, "nodeTaintsPolicy"), str, "Ignore"),
                                f.path(*at, i, "nodeTaintsPolicy"), NODE_TAINTS_POLICY)
        constraints.append((when != "DoNotSchedule", i, key, skew, when, taints))
    for _, i, key, skew, when, taints in sorted(constraints):
        level = _level(key, rack_label, host_label)
        if level is None or None in (skew, when, taints):
            continue
        origins[("spread",)] = f.m.origin.at(*at, i)
        more = f"{len(constraints) - 1} more topologySpreadConstraints left out (kchaos takes one)" \
            if len(constraints) > 1 else ""
        return {"spread": Note({"over": level, "maxSkew": skew, "whenUnsatisfiable": when,
                                "nodeTaintsPolicy": taints}, after=more)}
    return {}
