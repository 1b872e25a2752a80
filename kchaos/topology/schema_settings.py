"""The cluster's settings around its workloads: failure rates, Kubernetes timings, planned
maintenance and the SLO targets (which name workloads read by :mod:`.schema_workloads`)."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from kchaos.model.cluster import FAILURE_KINDS, Distribution, FailureSpec, KubernetesTiming, Maintenance, Slo
from kchaos.topology import definitions as D
from kchaos.topology import units
from kchaos.topology.checker import MISSING, Checker, describe, is_none_word, format_path, known_list, suggest
from kchaos.topology.schema_common import DEFAULT_FAILURES, DEFAULT_SLO
from kchaos.topology.schema_workloads import Workloads
from kchaos.topology.yamlsafe import Path


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
    zone_level, rate, secondary, threshold, large, propagation = (c.field(m, path, K, key) for key in (
        "zoneLevel", "nodeEvictionRate", "secondaryNodeEvictionRate", "unhealthyZoneThreshold",
        "largeClusterSizeThreshold", "endpointPropagation"))

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
        endpoint_propagation=given(propagation, d.endpoint_propagation),
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
