"""What runs and what is expected of it: workloads, failure rates, Kubernetes timings and SLOs."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from kchaos.model.cluster import (
    FAILURE_KINDS,
    AffinityTerm,
    Distribution,
    FailureSpec,
    KubernetesTiming,
    Maintenance,
    Slo,
    Spread,
    Workload,
)
from kchaos.topology import definitions as D
from kchaos.topology import units
from kchaos.topology.checker import MISSING, Checker, describe, is_none_word, format_path, known_list, suggest
from kchaos.topology.schema_common import DEFAULT_FAILURES, DEFAULT_SLO, MAX_PODS
from kchaos.topology.yamlsafe import Path


class Workloads:
    """Reads the workloads; remembers their names for the SLO targets that refer to them."""

    def __init__(self, checker: Checker):
        self.c = checker
        self.names: dict[str, int | None] = {}  # valid names -> line
        self.names_ok = True  # every workload was read with a valid name (references can be checked)
        self.repeats = 0  # names defined twice: each may stand where another name was meant
        self.references: list[tuple[Path, str]] = []  # workloads named by (anti-)affinity terms

    def read(self, value: Any, n_workers: int | None) -> list[Workload]:
        """``n_workers`` is None when the worker pools could not all be read (already reported)."""
        c, path = self.c, ("workloads",)
        if value is MISSING or value is None:
            self.names_ok = not c.already_reported(path)
            return []
        items = c.sequence(value, path, "workloads", allow_empty=True)
        if items is None:
            self.names_ok = False
        result: list[Workload] = []
        seen = self.names
        pods = 0
        for i, item in enumerate(items or []):
            q = path + (i,)
            m = c.section(item, q, D.WORKLOAD)
            if m is None:
                self.names_ok = False
                continue
            name = c.field(m, q, D.WORKLOAD, "name")
            if name is None:
                self.names_ok = False
            elif name in seen:
                self.repeats += 1
                c.error(q + ("name",),
                        f"workload '{name}' is defined twice (lines {seen[name]} and {c.line(q + ('name',))})")
            else:
                seen[name] = c.line(q + ("name",))
            kind = c.field(m, q, D.WORKLOAD, "kind")
            replicas: int | None
            if kind == "DaemonSet":
                if "replicas" in m:
                    c.error(q + ("replicas",), "a DaemonSet runs one pod per worker node; remove replicas")
                replicas = n_workers
            elif kind is None and "replicas" not in m:
                replicas = None  # the default depends on the kind, which is invalid (already reported)
            else:
                replicas = c.field(m, q, D.WORKLOAD, "replicas")
            pods += replicas or 0
            requests = c.get(m, q, "requests", c.section, default={}, declared=D.REQUESTS) or {}
            cpu, memory = (c.field(requests, q + ("requests",), D.REQUESTS, key) for key in D.REQUESTS.keys)
            min_count, min_fraction = self.min_available(m, q, kind, replicas, n_workers)
            spread = self.spread(m, q, kind)
            scope = c.field(m, q, D.WORKLOAD, "volumeScope")
            if "volumeScope" in m and kind not in (None, "StatefulSet"):
                c.error(q + ("volumeScope",), "only applies to a StatefulSet (pods bound to their volumes)")
            surge, unavailable = self.strategy(m, q, kind, replicas)
            anti, aff = (self.affinity(m, q, key, kind, name) for key in ("antiAffinity", "affinity"))
            namespace = c.field(m, q, D.WORKLOAD, "namespace", default="default")
            if name is None or kind is None or replicas is None or cpu is None or memory is None or anti is None \
                    or aff is None or namespace is None:
                continue
            result.append(Workload(name, kind, replicas, cpu, memory, min_count, min_fraction, spread, scope,
                                   line=c.line(q), max_surge=surge, max_unavailable=unavailable,
                                   anti_affinity=anti, affinity=aff, namespace=namespace))
        if pods > MAX_PODS:
            c.error(path, f"the workloads add up to {pods} pods; kchaos handles at most {MAX_PODS}")
        self.check_references()
        return result

    def affinity(self, m: dict[str, Any], q: Path, key: str, kind: str | None,
                 name: str | None) -> tuple[AffinityTerm, ...] | None:
        """``antiAffinity`` / ``affinity``: terms {over, workloads, required, weight}; the
        workloads default to this one; a weight makes a term preferred."""
        c = self.c
        if key not in m:
            return ()
        if kind == "DaemonSet":
            c.error(q + (key,), "does not apply to a DaemonSet: it runs one pod per worker node")
            return None
        items = c.sequence(m[key], q + (key,), "terms, e.g. [{over: host}]")
        if items is None:
            return None
        terms: list[AffinityTerm] | None = []
        for k, item in enumerate(items):
            p = q + (key, k)
            t = c.section(item, p, D.AFFINITY_TERM)
            if t is None:
                terms = None
                continue
            over, required, weight = (c.field(t, p, D.AFFINITY_TERM, f) for f in ("over", "required", "weight"))
            if "required" in t and "weight" in t and required:
                c.error(p + ("weight",), "a weight makes the term preferred; remove it or set required: false")
                terms = None
                continue
            if "required" in t and not required and weight is None:
                c.error(p, "a preferred term (required: false) needs a weight from 1 to 100")
                terms = None
                continue
            names = c.get(t, p, "workloads", lambda v, path: c.sequence(v, path, "workload names"), default=None)
            if names is None:
                names = [name] if "workloads" not in t else None
            else:
                for j, ref in enumerate(names):
                    if c.scalar(ref, p + ("workloads", j), D.AFFINITY_TERM.fields["workloads"].items) is not None:
                        self.references.append((p + ("workloads", j), ref))
            if over is None or names is None or None in names or terms is None:
                terms = None
                continue
            terms.append(AffinityTerm(over, tuple(names), weight))
        return tuple(terms) if terms is not None else None

    def check_references(self) -> None:
        """Every workload an (anti-)affinity term names exists."""
        if not self.names_ok:
            return
        known = list(self.names)
        for path, ref in self.references:
            if ref not in self.names:
                hint = suggest(ref, known)
                self.c.error(path, f"unknown workload '{ref}'" + (f"; did you mean '{hint}'?" if hint else "")
                             + f"; known workloads: {known_list(known)}")

    def min_available(self, m: dict[str, Any], q: Path, kind: str | None, replicas: int | None,
                      n_workers: int | None) -> tuple[int | None, float | None]:
        c, path = self.c, q + ("minAvailable",)
        if "minAvailable" not in m:
            return (None, None) if c.already_reported(path) else (1, None)
        parsed = c.field(m, q, D.WORKLOAD, "minAvailable")
        if parsed is None:
            return None, None
        count, fraction = parsed
        if fraction is not None:
            if kind == "DaemonSet" or replicas is None:
                return None, fraction
            return math.ceil(fraction * replicas - 1e-9), fraction
        assert count is not None
        if kind == "DaemonSet" and n_workers and count > n_workers:
            c.error(path, f"must be at most the number of worker nodes ({n_workers}), got {count}")
        elif kind != "DaemonSet" and replicas is not None and count > replicas:
            c.error(path, f"must be at most replicas ({replicas}), got {count}: the workload could never be available")
        return count, None

    def strategy(self, m: dict[str, Any], q: Path, kind: str | None, replicas: int | None) -> tuple[tuple, tuple]:
        """A Deployment's RollingUpdate maxSurge and maxUnavailable, each (count, fraction)."""
        c, default = self.c, (None, 0.25)
        if "strategy" not in m:
            return default, default
        path = q + ("strategy",)
        if kind not in (None, "Deployment"):
            c.error(path, "only applies to a Deployment (its RollingUpdate strategy)")
            return default, default
        s = c.section(m["strategy"], path, D.STRATEGY)
        surge = c.field(s, path, D.STRATEGY, "maxSurge") or default
        unavailable = c.field(s, path, D.STRATEGY, "maxUnavailable") or default
        if s is not None and 0 in (surge[0], surge[1]) and 0 in (unavailable[0], unavailable[1]):
            c.error(path, "maxSurge and maxUnavailable cannot both be 0: the rollout could never progress")
        return surge, unavailable

    def spread(self, m: dict[str, Any], q: Path, kind: str | None) -> Spread | None:
        c = self.c
        if "spreadOver" in m and "spread" in m:
            c.error(q + ("spread",), "give either spreadOver (shorthand) or spread, not both")
            return None
        key = "spreadOver" if "spreadOver" in m else "spread" if "spread" in m else None
        if key is None:
            return None
        if kind == "DaemonSet":
            c.error(q + (key,), "does not apply to a DaemonSet: it runs one pod per worker node")
            return None
        if key == "spreadOver":
            over = c.field(m, q, D.WORKLOAD, key)
            return Spread(over) if over else None
        path = q + ("spread",)
        s = c.section(m[key], path, D.SPREAD)
        if s is None or "over" not in s:
            return None
        over, skew, when, taints = (c.field(s, path, D.SPREAD, key) for key in D.SPREAD.keys)
        if over is None or skew is None or when is None or taints is None:
            return None
        return Spread(over, skew, when, taints)


# -- failures, kubernetes, slo, maintenance -------------------------------------
def maintenance(c: Checker, value: Any) -> Maintenance | None:
    """Rolling upgrades: ``every``, ``batch`` (a number, a percentage or a level), ``perNode``,
    ``controlPlane``; None when the section is absent."""
    path = ("maintenance",)
    if value is MISSING or value is None:
        return None
    m = c.section(value, path, D.MAINTENANCE)
    if m is None:
        return None
    every, per_node, control_plane = (c.field(m, path, D.MAINTENANCE, key)
                                      for key in ("every", "perNode", "controlPlane"))
    count, fraction, level = 1, None, None
    raw = m.get("batch", MISSING)
    as_count, as_share, as_level = D.MAINTENANCE.fields["batch"].options  # type: ignore[union-attr]
    q = path + ("batch",)
    if isinstance(raw, str) and raw.strip().endswith("%"):
        count, fraction = None, c.scalar(raw, q, as_share)
        if fraction is None:
            return None
    elif isinstance(raw, str):
        count, level = None, c.scalar(raw, q, as_level)
        if level is None:
            return None
    elif raw is not MISSING:
        count = c.scalar(raw, q, as_count)
        if count is None:
            return None
    if None in (every, per_node, control_plane):
        return None
    if per_node >= every:
        c.error(path + ("perNode",), f"is longer than the period (every: {units.format_duration(every)}); "
                                     "an upgrade could never finish")
        return None
    return Maintenance(every, per_node, control_plane, count, fraction, level)


# -- failures, kubernetes, slo ---------------------------------------------
def failures(c: Checker, value: Any) -> dict[str, FailureSpec]:
    path = ("failures",)
    given = {} if value is MISSING or value is None else c.section(value, path, D.FAILURES) or {}
    result: dict[str, FailureSpec] = {}
    for kind in FAILURE_KINDS:
        mtbf, mttr = DEFAULT_FAILURES[kind]
        default_ttr = Distribution("exponential", mttr)
        raw, q = given.get(kind, MISSING), path + (kind,)
        if raw is MISSING:
            result[kind] = FailureSpec(kind, Distribution("exponential", mtbf), default_ttr)
        elif is_none_word(raw):  # D.NO_FAILURES
            result[kind] = FailureSpec(kind, None, default_ttr)
        elif isinstance(raw, dict):
            rates = D.FAILURES.fields[kind].options[1]  # type: ignore[union-attr]
            m = c.section(raw, q, rates)
            mtbf, mttr = (c.field(m, q, rates, key) for key in ("mtbf", "mttr"))
            ttf = c.get(m, q, "ttf", partial(distribution, c), default=("exponential", None))
            ttr = c.get(m, q, "ttr", partial(distribution, c), default=("exponential", None))
            if None not in (mtbf, mttr, ttf, ttr):
                result[kind] = FailureSpec(kind, Distribution(ttf[0], nominal(mtbf), ttf[1]),
                                           Distribution(ttr[0], nominal(mttr), ttr[1]),
                                           mtbf if isinstance(mtbf, tuple) else None,
                                           mttr if isinstance(mttr, tuple) else None)
        else:
            c.error(q, f"must be {{mtbf: ..., mttr: ...}} or none, got {describe(raw)}")
    return result


def nominal(value: float | tuple[float, float]) -> float:
    """A mean, or an uncertain one's nominal value: the geometric middle of its range."""
    return math.sqrt(value[0] * value[1]) if isinstance(value, tuple) else value


def distribution(c: Checker, value: Any, path: Path) -> tuple[str, float | None] | None:
    """``exponential`` | ``fixed`` | ``{weibull: {shape: k}}`` | ``{lognormal: {sigma: s}}``."""
    shaped = D.SHAPED
    if isinstance(value, str) and value in shaped:
        c.error(path, f"{value} needs a parameter: {shaped[value][3]}")
        return None
    if isinstance(value, str) or not isinstance(value, dict):
        kind = c.choice(value, path, D.DISTRIBUTION.options[0].options + tuple(shaped))  # type: ignore[union-attr]
        return (kind, None) if kind else None
    m = c.mapping(value, path, tuple(shaped), what="a distribution")  # D.DISTRIBUTION's alternatives
    if m is None:
        return None
    if len(m) != 1:
        c.error(path, "must name exactly one distribution, e.g. {weibull: {shape: 1.3}}")
        return None
    (kind, params), = m.items()
    if kind not in shaped:
        return None
    param, lo, hi, example = shaped[kind]
    if not isinstance(params, dict):
        c.error(path + (kind,), f"must be {{{param}: ...}} as in {example}, got {describe(params)}")
        return None
    declared = next(o.fields[kind] for o in D.DISTRIBUTION.options[1:] if kind in o.fields)  # type: ignore[union-attr]
    p = c.section(params, path + (kind,), declared)
    if p is None or param not in p:
        return None
    x = c.field(p, path + (kind,), declared, param)
    return (kind, x) if x is not None else None



def kubernetes(c: Checker, value: Any) -> KubernetesTiming:
    path = ("kubernetes",)
    d = KubernetesTiming()
    if value is MISSING or value is None:
        return d
    m = c.section(value, path, D.KUBERNETES)
    K = D.KUBERNETES
    grace, toleration, startup = (c.field(m, path, K, key) for key in
                                  ("nodeMonitorGracePeriod", "notReadyToleration", "podStartup"))
    rollout_interval = none_or(c, m, path, "rolloutInterval")
    out_of_service = none_or(c, m, path, "outOfServiceAfter")
    zone_level, rate, secondary, threshold, large = (c.field(m, path, K, key) for key in (
        "zoneLevel", "nodeEvictionRate", "secondaryNodeEvictionRate", "unhealthyZoneThreshold",
        "largeClusterSizeThreshold"))

    def given(x: Any, default: Any) -> Any:
        return default if x is None else x

    return KubernetesTiming(
        grace or d.node_monitor_grace_period,
        given(toleration, d.not_ready_toleration),
        given(startup, d.pod_startup),
        rollout_interval,
        zone_level=given(zone_level, d.zone_level),
        node_eviction_rate=given(rate, d.node_eviction_rate),
        secondary_node_eviction_rate=given(secondary, d.secondary_node_eviction_rate),
        unhealthy_zone_threshold=given(threshold, d.unhealthy_zone_threshold),
        large_cluster_size_threshold=given(large, d.large_cluster_size_threshold),
        out_of_service_after=out_of_service,
    )


def none_or(c: Checker, m: Any, path: tuple, key: str) -> Any:
    """A kubernetes duration that may be switched off with ``none`` (declared ``switch_off="none"``)."""
    raw = m.get(key, MISSING) if isinstance(m, dict) else MISSING
    if is_none_word(raw):
        return None
    x = c.field(m, path, D.KUBERNETES, key)
    return D.KUBERNETES.fields[key].default if x is None else x  # type: ignore[union-attr]


def slo(c: Checker, value: Any, workloads: Workloads) -> Slo:
    path = ("slo",)
    d = DEFAULT_SLO
    if value is MISSING or value is None:
        return Slo(d.control_plane, {}, d.max_node_utilization, d.max_pending_pods)  # a dict of its own
    m = c.section(value, path, D.SLO)
    if m is None:
        return d

    def optional(key: str) -> Any:
        if key in m and m[key] is None:
            return None  # an explicit null switches the target off (declared switch_off="null")
        return c.field(m, path, D.SLO, key)

    control_plane, utilization, pending = (optional(key) for key in
                                           ("controlPlane", "maxNodeUtilization", "maxPendingPods"))
    survive = survive_levels(c, m.get("survive"), path + ("survive",))
    targets: dict[str, float] = {}
    raw = m.get("workloads")
    if raw is not None:
        if not isinstance(raw, dict):
            c.error(path + ("workloads",), f"must be a mapping of workload name to percent, got {describe(raw)}")
        else:
            known = list(workloads.names)
            # An unknown name may be that of a workload whose name is invalid, or one written as a
            # repeat of another name (already reported): then the references are not reported.
            unknown = [name for name in raw if name not in known]
            report = workloads.names_ok and len(unknown) > workloads.repeats
            for name, target in raw.items():
                q = path + ("workloads", name)
                if name not in known:
                    if report:
                        hint = suggest(name, known)
                        c.error(q, f"unknown workload '{name}' (referenced in {format_path(q)}); "
                                   + (f"did you mean '{hint}'? " if hint else "")
                                   + (f"known workloads: {known_list(known)}" if known
                                      else "no workloads are defined"))
                    continue
                fraction = c.scalar(target, q, D.SLO.fields["workloads"].values)  # type: ignore[union-attr]
                if fraction is not None:
                    targets[name] = fraction
    return Slo(control_plane, targets, utilization, pending, survive)


def survive_levels(c: Checker, value: Any, path: Path) -> tuple[str, ...]:
    """``slo.survive``: one level or a list of levels, each once, outermost first."""
    if value is None:
        return ()
    declared = D.SLO.fields["survive"].options  # type: ignore[union-attr]
    if isinstance(value, str):
        level = c.scalar(value, path, declared[0])
        return (level,) if level else ()
    items = c.sequence(value, path, "levels (server, rack, datacenter, region)", allow_empty=True) or []
    levels = [c.scalar(x, path + (i,), declared[1].items) for i, x in enumerate(items)]
    order = ("region", "datacenter", "rack", "server")
    return tuple(level for level in order if level in levels)
