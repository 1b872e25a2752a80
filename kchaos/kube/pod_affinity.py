"""A pod template's ``podAffinity`` / ``podAntiAffinity`` as the topology's ``affinity`` /
``antiAffinity`` terms: never a spread rule (anti-affinity forbids the domains where matching
pods run; it has no skew, and a dead domain blocks nothing).

A term's ``topologyKey`` becomes its level (``kubernetes.io/hostname``: ``host``, the node; the
zone and region labels and the ``--rack-label`` / ``--host-label`` keys: datacenter, region,
rack, server); its ``labelSelector`` (``matchLabels`` and ``matchExpressions``), within its
``namespaces`` (its own namespace by default, every one for an empty ``namespaceSelector``),
becomes the imported workloads whose pod templates it selects. A term on another key, or one
that selects no imported workload, is left out with a comment saying so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .origin import Origin

LEVEL_OF_KEY = {"kubernetes.io/hostname": "host", "topology.kubernetes.io/zone": "datacenter",
                "failure-domain.beta.kubernetes.io/zone": "datacenter", "topology.kubernetes.io/region": "region",
                "failure-domain.beta.kubernetes.io/region": "region"}
_AT = ("spec", "template", "spec", "affinity")
_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


@dataclass(frozen=True)
class RawTerm:
    """One term as the manifest gives it."""

    key: str  # antiAffinity | affinity
    topology_key: str
    selector: dict
    namespaces: tuple[str, ...] | None  # None: every namespace (an empty namespaceSelector)
    weight: int | None
    origin: Origin


def selector_matches(selector: Any, labels: dict) -> bool:
    """A LabelSelector against a pod template's labels (an empty selector matches everything,
    as Kubernetes reads it; ``None`` matches nothing)."""
    if not isinstance(selector, dict):
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        if not isinstance(e, dict):
            return False
        key, op, values = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in _OPERATORS:
            return False
    return True


def raw_terms(f, namespace: str) -> list[RawTerm]:
    """Every pod (anti-)affinity term of a workload's pod template (``f``: its typed reader)."""
    out = []
    for kind, key in (("podAntiAffinity", "antiAffinity"), ("podAffinity", "affinity")):
        base = _AT + (kind,)
        for i, _ in f.items(base + ("requiredDuringSchedulingIgnoredDuringExecution",)):
            out.append(_raw(f, key, None, base + ("requiredDuringSchedulingIgnoredDuringExecution", i),
                            namespace))
        preferred = base + ("preferredDuringSchedulingIgnoredDuringExecution",)
        for i, item in f.items(preferred):
            weight = f.check.integer(f.get(preferred + (i, "weight"), int, 1), f.path(*preferred, i, "weight"), 1, 100)
            term = f.get(preferred + (i, "podAffinityTerm"), dict)
            if term is not None and weight is not None:
                out.append(_raw(f, key, weight, preferred + (i, "podAffinityTerm"), namespace))
    return out


def _raw(f, key: str, weight: int | None, at: tuple, namespace: str) -> RawTerm:
    names = [n for _, n in f.items(at + ("namespaces",), str)]
    everywhere = f.get(at + ("namespaceSelector",), dict) == {}
    read_selector(f, at + ("namespaceSelector",))  # its shape checked; only an empty one is read
    namespaces = None if everywhere else tuple(names) or (namespace,)
    return RawTerm(key, str(f.get(at + ("topologyKey",), str, "")), read_selector(f, at + ("labelSelector",)),
                   namespaces, weight, f.m.origin.at(*at))


def read_selector(f, at: tuple) -> dict:
    """The LabelSelector at ``at`` (a term's, a budget's), its parts checked for shape (each
    wrong part is reported once)."""
    selector = f.get(at, dict) or {}
    labels = f.strings(at + ("matchLabels",))
    expressions = []
    for i, e in f.items(at + ("matchExpressions",)):
        where = at + ("matchExpressions", i)
        key = f.get(where + ("key",), str)
        op = f.get(where + ("operator",), str)
        values = [v for _, v in f.items(where + ("values",), str)]
        if key is None:
            f.error(where + ("key",), "is required: the label the expression tests")
        if op not in _OPERATORS:
            f.error(where + ("operator",), f"must be one of {', '.join(_OPERATORS)}, got {op!r}")
        expressions.append({"key": key, "operator": op, "values": values})
    return {**selector, "matchLabels": labels, "matchExpressions": expressions}


def resolve(terms: list[RawTerm], workloads: list[tuple[str, str, dict]], rack_label: str | None,
            host_label: str | None) -> tuple[dict[str, list[dict]], list[str]]:
    """The topology terms of one workload (``workloads``: every imported workload's name,
    namespace and pod labels), and a comment for each term left out."""
    levels = dict(LEVEL_OF_KEY)
    if rack_label:
        levels[rack_label] = "rack"
    if host_label:
        levels[host_label] = "server"
    out: dict[str, list[dict]] = {}
    dropped = []
    for t in terms:
        what = f"{'preferred' if t.weight else 'required'} pod {'anti-' if t.key == 'antiAffinity' else ''}affinity"
        level = levels.get(t.topology_key)
        if level is None:
            dropped.append(f"{what} on {t.topology_key or 'no topologyKey'} left out (no level of the topology)")
            continue
        selected = [name for name, ns, labels in workloads
                    if (t.namespaces is None or ns in t.namespaces) and selector_matches(t.selector, labels)]
        if not selected:
            dropped.append(f"{what} over {level} left out: its selector matches no imported workload's pods")
            continue
        term: dict[str, Any] = {"over": level, "workloads": selected}
        if t.weight is not None:
            term["weight"] = t.weight
        out.setdefault(t.key, []).append(term)
    return out, dropped
