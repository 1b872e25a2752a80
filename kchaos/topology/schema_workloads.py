"""What runs and what is expected of it: workloads, failure rates, Kubernetes timings and SLOs."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from kchaos.model.cluster import (
    FAILURE_KINDS,
    Distribution,
    FailureSpec,
    KubernetesTiming,
    Slo,
    Spread,
    Workload,
)
from kchaos.topology import units
from kchaos.topology.checker import MISSING, Checker, describe, format_path, known_list, suggest
from kchaos.topology.schema_common import DEFAULT_FAILURES, DEFAULT_SLO, MAX_PODS, SPREAD_LEVELS, WORKLOAD_KINDS
from kchaos.topology.yamlsafe import Path


class Workloads:
    """Reads the workloads; remembers their names for the SLO targets that refer to them."""

    def __init__(self, checker: Checker):
        self.c = checker
        self.names: dict[str, int | None] = {}  # valid names -> line
        self.names_ok = True  # every workload was read with a valid name (references can be checked)
        self.repeats = 0  # names defined twice: each may stand where another name was meant

    def read(self, value: Any, n_workers: int | None) -> list[Workload]:
        """``n_workers`` is None when the worker pools could not all be read (already reported)."""
        c, path = self.c, ("workloads",)
        if value is MISSING or value is None:
            self.names_ok = not c.already_reported(path)
            return []
        items = c.sequence(value, path, "workloads", allow_empty=True)
        if items is None:
            self.names_ok = False
        keys = ("name", "kind", "replicas", "requests", "minAvailable", "spreadOver", "spread", "volumeScope")
        result: list[Workload] = []
        seen = self.names
        pods = 0
        for i, item in enumerate(items or []):
            q = path + (i,)
            m = c.mapping(item, q, keys, required=("name", "kind"))
            if m is None:
                self.names_ok = False
                continue
            name = c.get(m, q, "name", c.name)
            if name is None:
                self.names_ok = False
            elif name in seen:
                self.repeats += 1
                c.error(q + ("name",),
                        f"workload '{name}' is defined twice (lines {seen[name]} and {c.line(q + ('name',))})")
            else:
                seen[name] = c.line(q + ("name",))
            kind = c.get(m, q, "kind", c.choice, options=WORKLOAD_KINDS)
            replicas: int | None
            if kind == "DaemonSet":
                if "replicas" in m:
                    c.error(q + ("replicas",), "a DaemonSet runs one pod per worker node; remove replicas")
                replicas = n_workers
            elif kind is None and "replicas" not in m:
                replicas = None  # the default depends on the kind, which is invalid (already reported)
            else:
                replicas = c.get(m, q, "replicas", c.integer, default=1, lo=1, hi=MAX_PODS)
            pods += replicas or 0
            requests = c.get(m, q, "requests", c.mapping, default={}, keys=("cpu", "memory")) or {}
            cpu = c.get(requests, q + ("requests",), "cpu", c.quantity, default=0.0, kind="cpu")
            memory = c.get(requests, q + ("requests",), "memory", c.quantity, default=0.0, kind="memory")
            min_count, min_fraction = self.min_available(m, q, kind, replicas, n_workers)
            spread = self.spread(m, q, kind)
            scope = c.get(m, q, "volumeScope", c.choice, options=SPREAD_LEVELS)
            if "volumeScope" in m and kind not in (None, "StatefulSet"):
                c.error(q + ("volumeScope",), "only applies to a StatefulSet (pods bound to their volumes)")
            if name is None or kind is None or replicas is None or cpu is None or memory is None:
                continue
            result.append(Workload(name, kind, replicas, cpu, memory, min_count, min_fraction, spread, scope,
                                   line=c.line(q)))
        if pods > MAX_PODS:
            c.error(path, f"the workloads add up to {pods} pods; kchaos handles at most {MAX_PODS}")
        return result

    def min_available(self, m: dict[str, Any], q: Path, kind: str | None, replicas: int | None,
                      n_workers: int | None) -> tuple[int | None, float | None]:
        c, path = self.c, q + ("minAvailable",)
        if "minAvailable" not in m:
            return (None, None) if c.already_reported(path) else (1, None)
        try:
            count, fraction = units.parse_count_or_percent(m["minAvailable"])
        except units.UnitError as err:
            c.error(path, str(err))
            return None, None
        if fraction is not None:
            if not 0 <= fraction <= 1:
                c.error(path, f"must be between 0% and 100%, got {describe(m['minAvailable'])}")
                return None, None
            if kind == "DaemonSet" or replicas is None:
                return None, fraction
            return math.ceil(fraction * replicas - 1e-9), fraction
        assert count is not None
        if count < 0:
            c.error(path, f"must be zero or more, got {count}")
        elif kind == "DaemonSet" and n_workers and count > n_workers:
            c.error(path, f"must be at most the number of worker nodes ({n_workers}), got {count}")
        elif kind != "DaemonSet" and replicas is not None and count > replicas:
            c.error(path, f"must be at most replicas ({replicas}), got {count}: the workload could never be available")
        return count, None

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
            over = c.choice(m[key], q + (key,), SPREAD_LEVELS)
            return Spread(over) if over else None
        path = q + ("spread",)
        s = c.mapping(m[key], path, ("over", "maxSkew", "whenUnsatisfiable", "nodeTaintsPolicy"), required=("over",))
        if s is None or "over" not in s:
            return None
        over = c.choice(s["over"], path + ("over",), SPREAD_LEVELS)
        skew = c.get(s, path, "maxSkew", c.integer, default=1, lo=1, hi=MAX_PODS)
        when = c.get(s, path, "whenUnsatisfiable", c.choice, default="DoNotSchedule",
                     options=("DoNotSchedule", "ScheduleAnyway"))
        taints = c.get(s, path, "nodeTaintsPolicy", c.choice, default="Ignore", options=("Ignore", "Honor"))
        if over is None or skew is None or when is None or taints is None:
            return None
        return Spread(over, skew, when, taints)


# -- failures, kubernetes, slo ---------------------------------------------
def failures(c: Checker, value: Any) -> dict[str, FailureSpec]:
    path = ("failures",)
    given = {} if value is MISSING or value is None else c.mapping(value, path, FAILURE_KINDS) or {}
    result: dict[str, FailureSpec] = {}
    for kind in FAILURE_KINDS:
        mtbf, mttr = DEFAULT_FAILURES[kind]
        default_ttr = Distribution("exponential", mttr)
        raw, q = given.get(kind, MISSING), path + (kind,)
        if raw is MISSING:
            result[kind] = FailureSpec(kind, Distribution("exponential", mtbf), default_ttr)
        elif isinstance(raw, str) and raw.lower() == "none":
            result[kind] = FailureSpec(kind, None, default_ttr)
        elif isinstance(raw, dict):
            m = c.mapping(raw, q, ("mtbf", "mttr", "ttf", "ttr"))
            mtbf = c.get(m, q, "mtbf", c.duration, default=mtbf)
            mttr = c.get(m, q, "mttr", c.duration, default=mttr)
            ttf = c.get(m, q, "ttf", partial(distribution, c), default=("exponential", None))
            ttr = c.get(m, q, "ttr", partial(distribution, c), default=("exponential", None))
            if None not in (mtbf, mttr, ttf, ttr):
                result[kind] = FailureSpec(kind, Distribution(ttf[0], mtbf, ttf[1]),
                                           Distribution(ttr[0], mttr, ttr[1]))
        else:
            c.error(q, f"must be {{mtbf: ..., mttr: ...}} or none, got {describe(raw)}")
    return result


def distribution(c: Checker, value: Any, path: Path) -> tuple[str, float | None] | None:
    """``exponential`` | ``fixed`` | ``{weibull: {shape: k}}`` | ``{lognormal: {sigma: s}}``."""
    shaped = {"weibull": ("shape", 0.1, 20.0, "{weibull: {shape: 1.3}}"),
              "lognormal": ("sigma", 0.0, 5.0, "{lognormal: {sigma: 1.0}}")}
    if isinstance(value, str) and value in shaped:
        c.error(path, f"{value} needs a parameter: {shaped[value][3]}")
        return None
    if isinstance(value, str) or not isinstance(value, dict):
        kind = c.choice(value, path, ("exponential", "fixed", "weibull", "lognormal"))
        return (kind, None) if kind else None
    m = c.mapping(value, path, tuple(shaped), what="a distribution")
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
    p = c.mapping(params, path + (kind,), (param,), required=(param,))
    if p is None or param not in p:
        return None
    x = c.number(p[param], path + (kind, param), lo=lo, hi=hi, lo_open=kind == "lognormal")
    return (kind, x) if x is not None else None


#: Levels whose domains can be the `topology.kubernetes.io/zone` of the node lifecycle controller.
ZONE_LEVELS = ("region", "datacenter", "rack", "none")


def kubernetes(c: Checker, value: Any) -> KubernetesTiming:
    path = ("kubernetes",)
    d = KubernetesTiming()
    if value is MISSING or value is None:
        return d
    m = c.mapping(value, path, ("nodeMonitorGracePeriod", "notReadyToleration", "podStartup",
                                "rolloutInterval", "zoneLevel", "nodeEvictionRate", "secondaryNodeEvictionRate",
                                "unhealthyZoneThreshold", "largeClusterSizeThreshold", "outOfServiceAfter"))
    grace = c.get(m, path, "nodeMonitorGracePeriod", c.duration, default=d.node_monitor_grace_period)
    toleration = c.get(m, path, "notReadyToleration", c.duration, default=d.not_ready_toleration,
                       allow_zero=True)
    startup = c.get(m, path, "podStartup", c.duration, default=d.pod_startup, allow_zero=True)
    rollout_interval = none_or(c, m, path, "rolloutInterval", c.duration, d.rollout_interval)
    out_of_service = none_or(c, m, path, "outOfServiceAfter", c.duration, d.out_of_service_after, allow_zero=True)
    zone_level = c.get(m, path, "zoneLevel", c.choice, default=d.zone_level, options=ZONE_LEVELS)
    rate = c.get(m, path, "nodeEvictionRate", c.number, default=d.node_eviction_rate, lo=0, lo_open=True, hi=1000)
    secondary = c.get(m, path, "secondaryNodeEvictionRate", c.number, default=d.secondary_node_eviction_rate,
                      lo=0, hi=1000)
    threshold = c.get(m, path, "unhealthyZoneThreshold", c.number, default=d.unhealthy_zone_threshold, lo=0, hi=1)
    large = c.get(m, path, "largeClusterSizeThreshold", c.integer, default=d.large_cluster_size_threshold,
                  lo=0, hi=1_000_000)

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


def none_or(c: Checker, m: Any, path: tuple, key: str, reader: Any, default: Any, **kw: Any) -> Any:
    """A duration that may be switched off with ``none``."""
    raw = m.get(key, MISSING) if isinstance(m, dict) else MISSING
    if isinstance(raw, str) and raw.strip().lower() == "none":
        return None
    x = c.get(m, path, key, reader, default=default, **kw)
    return default if x is None else x


def slo(c: Checker, value: Any, workloads: Workloads) -> Slo:
    path = ("slo",)
    d = DEFAULT_SLO
    if value is MISSING or value is None:
        return Slo(d.control_plane, {}, d.max_node_utilization, d.max_pending_pods)  # a dict of its own
    m = c.mapping(value, path, ("controlPlane", "workloads", "maxNodeUtilization", "maxPendingPods"))
    if m is None:
        return d

    def optional(key: str, reader: Any, default: Any, **kw: Any) -> Any:
        if key in m and m[key] is None:
            return None  # an explicit null switches the target off
        return c.get(m, path, key, reader, default=default, **kw)

    control_plane = optional("controlPlane", c.percent_target, d.control_plane)
    utilization = optional("maxNodeUtilization", c.fraction, d.max_node_utilization)
    pending = optional("maxPendingPods", c.integer, None, lo=0, hi=MAX_PODS)
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
                fraction = c.percent_target(target, q)
                if fraction is not None:
                    targets[name] = fraction
    return Slo(control_plane, targets, utilization, pending)
