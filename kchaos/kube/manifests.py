"""Workloads from Kubernetes manifests (``kchaos import -f``): Deployments, StatefulSets,
DaemonSets and their PodDisruptionBudgets, from files or folders of YAML (several documents
per file) or the JSON of ``kubectl get deploy,sts,ds,pdb -A -o json``.

What the scheduler and the disruption budget see is kept: replicas (default 1); requests
summed over containers, an init container's counting when larger (the scheduler takes the
larger of the two per resource); the first topology spread constraint (a hard one first)
on a level kchaos knows; required pod anti-affinity on zone or hostname as one pod per
domain; ``volumeClaimTemplates`` as a volume scope; ``podManagementPolicy``; a volume's
access mode (``volumeClaimTemplates``, or a Deployment's PersistentVolumeClaim); a PDB's ``minAvailable`` or
``maxUnavailable`` (number or percent, matched by ``matchLabels``). Without a PDB,
``minAvailable`` is every replica, and a comment says so. Dependencies cannot be seen: a
``# dependsOn`` TODO is written. Other kinds are skipped and counted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import KchaosUsageError, Problem
from ..topology.units import UnitError, format_cpu, format_memory, parse_cpu, parse_memory
from ..topology.yamlsafe import YamlFatal, load_yaml

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
LEVEL_OF_KEY = {"topology.kubernetes.io/zone": "datacenter", "topology.kubernetes.io/region": "region",
                "kubernetes.io/hostname": "server"}
_DOC_SPLIT = re.compile(r"^---\s*(#.*)?$")
_BAD_NAME = re.compile(r"[\s/\\]")


@dataclass
class Manifest:
    """One object with where it came from (file, line of its first key) and its key path -> line."""

    file: str
    line: int
    data: dict
    lines: dict
    prefix: tuple = ()

    def where(self, *key: Any) -> tuple[str, int | None, str]:
        path = self.prefix + key
        line = None
        for n in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:n]))
            if line is not None:
                break
        return self.file, line, ".".join(str(k) for k in key)


@dataclass
class Imported:
    """The workloads as topology entries (YAML lines), the notes, and what was skipped."""

    entries: list[list[str]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def as_data(self) -> list[dict]:
        """The workloads as topology data: exactly what ``import -f`` writes, read back."""
        lines = workloads_yaml(self)
        return (load_yaml("\n".join(lines)).data or {}).get("workloads") or [] if lines else []


def _documents(path: Path) -> list[Manifest]:
    text = path.read_text(encoding="utf-8-sig")
    chunks, start, current = [], 1, []
    for i, line in enumerate(text.splitlines(keepends=True), 1):
        if _DOC_SPLIT.match(line.rstrip("\n")):
            chunks.append((start, "".join(current)))
            start, current = i + 1, []
        else:
            current.append(line)
    chunks.append((start, "".join(current)))
    out = []
    for first, chunk in chunks:
        if not chunk.strip():
            continue
        try:
            doc = load_yaml(chunk)
        except YamlFatal as err:
            raise KchaosUsageError([Problem(str(path), None if err.line is None else err.line + first - 1, "",
                                            err.message)]) from None
        lines = {k: v + first - 1 for k, v in doc.lines.items()}
        data = doc.data
        if isinstance(data, dict) and isinstance(data.get("items"), list) and str(data.get("kind", "")).endswith("List"):
            out += [Manifest(str(path), lines.get(("items", i), first), item, lines, ("items", i))
                    for i, item in enumerate(data["items"]) if isinstance(item, dict)]
        elif isinstance(data, dict):
            out.append(Manifest(str(path), lines.get((), first), data, lines))
    return out


def read_manifests(paths: list[str]) -> list[Manifest]:
    """Every object in the files and folders (``*.yaml``, ``*.yml``, ``*.json``, sorted)."""
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files += sorted(f for f in path.rglob("*") if f.suffix in (".yaml", ".yml", ".json") and f.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise KchaosUsageError([Problem(p, None, "", "no such file or folder")])
    out = []
    for f in files:
        out += _documents(f)
    return out


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        d = d.get(k) if isinstance(d, dict) else None
    return d


def _requests(m: Manifest, spec: dict, problems: list[Problem]) -> tuple[float, float]:
    """Pod requests as the scheduler counts them: containers summed, an init container's
    request when larger (per resource)."""
    def one(container: Any, i: int, group: str) -> tuple[float, float]:
        req = _get(container, "resources", "requests") or {}
        try:
            return parse_cpu(req.get("cpu", 0)), parse_memory(req.get("memory", 0))
        except UnitError as err:
            problems.append(Problem(*m.where("spec", "template", "spec", group, i, "resources", "requests"), str(err)))
            return 0.0, 0.0
    main = [one(c, i, "containers") for i, c in enumerate(spec.get("containers") or [])]
    init = [one(c, i, "initContainers") for i, c in enumerate(spec.get("initContainers") or [])]
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


def workloads_from(manifests: list[Manifest], rack_label: str | None = None, host_label: str | None = None,
                   volume_scope: str = "datacenter", daemon_nodes: int | None = None) -> Imported:
    """The workload entries of the manifests, their PDBs applied; every problem at once."""
    problems: list[Problem] = []
    result = Imported()
    pdbs = [m for m in manifests if m.data.get("kind") == "PodDisruptionBudget"]
    claims = {((m.data.get("metadata") or {}).get("namespace", "default"), (m.data.get("metadata") or {}).get("name")):
              _get(m.data, "spec", "accessModes") or [] for m in manifests if m.data.get("kind") == "PersistentVolumeClaim"}
    used_pdbs: set[int] = set()
    for m in manifests:
        kind = m.data.get("kind")
        if kind not in WORKLOAD_KINDS:
            if kind not in ("PodDisruptionBudget", "PersistentVolumeClaim"):
                result.skipped[str(kind)] = result.skipped.get(str(kind), 0) + 1
            continue
        meta, spec = m.data.get("metadata") or {}, m.data.get("spec") or {}
        name, namespace = meta.get("name"), meta.get("namespace", "default")
        if not isinstance(name, str) or not name or _BAD_NAME.search(name):
            problems.append(Problem(*m.where("metadata", "name"), f"needs a name without blanks, '/' or '\\', got {name!r}"))
            continue
        if name in result.names:
            name = f"{namespace}-{name}"
        pod = _get(spec, "template", "spec") or {}
        labels = _get(spec, "template", "metadata", "labels") or {}
        cpu, memory = _requests(m, pod, problems)
        replicas = None if kind == "DaemonSet" else spec.get("replicas", 1)
        if replicas is not None and (not isinstance(replicas, int) or replicas < 1):
            problems.append(Problem(*m.where("spec", "replicas"), f"must be a whole number, 1 or more, got {replicas!r}"))
            continue
        entry = [f"  # {kind} {namespace}/{meta.get('name')} ({Path(m.file).name}:{m.line})",
                 f"  - name: \"{name}\"", f"    kind: {kind}"]
        if replicas is not None:
            entry.append(f"    replicas: {replicas}")
        entry.append(f"    requests: {{cpu: {format_cpu(cpu)}, memory: {format_memory(memory) if memory else 0}}}")
        # The disruption budget.
        matched = [i for i, p in enumerate(pdbs) if (p.data.get("metadata") or {}).get("namespace", "default") == namespace
                   and _matches(_get(p.data, "spec", "selector"), labels)]
        count = replicas if replicas is not None else daemon_nodes
        if matched:
            used_pdbs.update(matched)
            entry.append(_min_available(pdbs[matched[0]], count, problems))
        else:
            entry.append(f"    minAvailable: {'100%' if replicas is None else replicas}  # no PodDisruptionBudget "
                         "matches: every replica counted as needed; set what the service really needs")
        entry += _spread(m, pod, rack_label, host_label)
        if kind == "StatefulSet" and spec.get("volumeClaimTemplates"):
            entry.append(f"    volumeScope: {volume_scope}  # volumeClaimTemplates: disks stay in their {volume_scope}")
        entry += _needs(kind, spec, pod, namespace, replicas, claims)
        result.entries.append(entry)
        result.names.append(name)
    for i, p in enumerate(pdbs):
        spec = p.data.get("spec") or {}
        if "minAvailable" in spec and "maxUnavailable" in spec:
            problems.append(Problem(*p.where("spec"), "a PodDisruptionBudget takes minAvailable or maxUnavailable, not both"))
        elif i not in used_pdbs:
            problems.append(Problem(*p.where("spec", "selector"),
                                    "selects no Deployment, StatefulSet or DaemonSet in these manifests"))
    if problems:
        raise KchaosUsageError(problems)
    return result


def _matches(selector: Any, labels: dict) -> bool:
    match = (selector or {}).get("matchLabels") if isinstance(selector, dict) else None
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def _min_available(pdb: Manifest, count: int | None, problems: list[Problem]) -> str:
    spec = pdb.data.get("spec") or {}
    name = (pdb.data.get("metadata") or {}).get("name")
    if "minAvailable" in spec:
        value = spec["minAvailable"]
        return f"    minAvailable: {value if isinstance(value, int) else repr(str(value))}  # PDB {name}"
    value = spec.get("maxUnavailable")
    if isinstance(value, int) and count is not None:
        return f"    minAvailable: {max(0, count - value)}  # PDB {name}: maxUnavailable {value}"
    text = str(value)
    if text.endswith("%") and text[:-1].isdigit() and count is not None:  # Kubernetes rounds the allowance up
        return f"    minAvailable: {max(0, count - math.ceil(int(text[:-1]) * count / 100))}  # PDB {name}: maxUnavailable {text}"
    problems.append(Problem(*pdb.where("spec", "maxUnavailable"), f"cannot turn maxUnavailable {value!r} into a count"))
    return ""


def _spread(m: Manifest, pod: dict, rack_label: str | None, host_label: str | None) -> list[str]:
    constraints = [c for c in pod.get("topologySpreadConstraints") or [] if isinstance(c, dict)]
    constraints.sort(key=lambda c: c.get("whenUnsatisfiable", "DoNotSchedule") != "DoNotSchedule")
    for c in constraints:
        level = _level(str(c.get("topologyKey")), rack_label, host_label)
        if level is None:
            continue
        lines = [f"    spread: {{over: {level}, maxSkew: {int(c.get('maxSkew', 1))}, "
                 f"whenUnsatisfiable: {c.get('whenUnsatisfiable', 'DoNotSchedule')}, "
                 f"nodeTaintsPolicy: {c.get('nodeTaintsPolicy', 'Ignore')}}}"]
        if len(constraints) > 1:
            lines.append(f"    # {len(constraints) - 1} more topologySpreadConstraints left out (kchaos takes one)")
        return lines
    for term in _get(pod, "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution") or []:
        level = _level(str(_get(term, "topologyKey")), rack_label, host_label)
        if level is not None:
            return [f"    spread: {{over: {level}, maxSkew: 1, whenUnsatisfiable: DoNotSchedule}}  "
                    f"# required podAntiAffinity: one pod per {level} while there are enough"]
    return []


#: PersistentVolumeClaim access modes as kchaos' volume.accessMode: a volume one node at a time
#: (ReadWriteOnce, ReadWriteOncePod) or shared between nodes (ReadWriteMany, ReadOnlyMany).
ACCESS_MODES = {"ReadWriteOnce": "ReadWriteOnce", "ReadWriteOncePod": "ReadWriteOnce",
                "ReadWriteMany": "ReadWriteMany", "ReadOnlyMany": "ReadWriteMany"}


def _needs(kind: str, spec: dict, pod: dict, namespace: str, replicas: int | None,
           claims: dict[tuple[str, str], list]) -> list[str]:
    """podManagementPolicy, the volume's access mode (a StatefulSet's volumeClaimTemplates, a
    Deployment's PersistentVolumeClaim among the manifests), and a TODO for dependsOn."""
    out = []
    if kind == "StatefulSet" and spec.get("podManagementPolicy") in ("OrderedReady", "Parallel"):
        out.append(f"    podManagementPolicy: {spec['podManagementPolicy']}")
    modes: list = []
    if kind == "StatefulSet":
        for template in spec.get("volumeClaimTemplates") or []:
            modes += _get(template, "spec", "accessModes") or []
    elif kind == "Deployment":
        for volume in pod.get("volumes") or []:
            name = _get(volume, "persistentVolumeClaim", "claimName")
            if name is not None:
                modes += claims.get((namespace, name), [])
    mode = next((ACCESS_MODES[x] for x in modes if x in ACCESS_MODES), None)
    if mode == "ReadWriteOnce" and kind == "Deployment" and (replicas or 1) > 1:
        out.append(f"    # volume: a ReadWriteOnce claim shared by {replicas} replicas: pods on other nodes "
                   "cannot attach it (Multi-Attach); left out")
    elif mode is not None:
        out.append(f"    volume: {{accessMode: {mode}}}")
    out.append("    # dependsOn: []  # TODO: the workloads this one needs (kubectl cannot tell); CoreDNS is added")
    return out


def workloads_yaml(imported: Imported) -> list[str]:
    if not imported.entries:
        return []
    out = ["", "workloads:"]
    for entry in imported.entries:
        out += entry
    if imported.skipped:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(imported.skipped.items()))
        out.append(f"# skipped (not workloads kchaos models): {kinds}")
    return out
