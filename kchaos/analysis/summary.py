"""From simulated histories to one results document (the schema of results.json).

Flat per-history records -> a DataFrame -> one summary dict, as Ciw does.
"""

from __future__ import annotations

from math import log10

import numpy as np
import pandas as pd

from .. import __version__
from ..model.cluster import Cluster
from ..model.engine import ClusterModel
from ..model.sampling.montecarlo import SimulationOutput
from . import exact
from .allowance import allowance_weight, rest_allowance, typical_episodes
from .advisories import (dynamic_advisories, fix_first_advisory, layout_findings, ordered_restart_deadlock,
                         sampling_advisory, undersampling_advisory)
from ..model.scheduling.response import BlastRadius
from .attribution import attribution
from .importance import importance
from .blast import domain_table
from .eviction import eviction_advisories, eviction_summary
from .maintenance import maintenance_advisories, maintenance_summary
from .survive import survive_summary
from ..model.recording.leader import ControlSums, mean_election_gap
from ..model.recording.sketch import EpisodeSums
from .estimators import (api_rest_sums, drift_by_domain, drift_corrected, effective_sample_size, material,
                         request_interval)
from .statistics import (MINUTES_PER_YEAR, SECONDS_PER_YEAR, Interval, down_seconds, episode_sums, histogram,
                         unavailability_interval, weighted_quantile)

SCHEMA = "kchaos.results/v1"


def _rnd(x, digits=6):
    return None if x is None else float(round(x, digits))


def _availability(iv: Interval) -> dict:
    a = iv.as_availability()
    return {"estimate": _rnd(a.estimate, 9), "ci95": [_rnd(a.low, 9), _rnd(a.high, 9)]}


def _downtime(iv: Interval) -> dict:
    return {"estimate": _rnd(iv.estimate * MINUTES_PER_YEAR, 3),
            "ci95": [_rnd(iv.low * MINUTES_PER_YEAR, 3), _rnd(iv.high * MINUTES_PER_YEAR, 3)]}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else _rnd(seconds * 1000.0, 1)


def nines(availability: float | None) -> float | None:
    if availability is None:
        return None
    return float("inf") if availability >= 1.0 else -log10(1.0 - availability)


def history_frame(out: SimulationOutput) -> pd.DataFrame:
    """One row per history: the flat records every figure is derived from (importance-sampled:
    seconds and down seconds weighted cycle by cycle, ``sim_seconds`` the time simulated)."""
    rows = []
    wt = out.weighted
    for h in out.histories:
        pending = (h.pending_weighted.total if h.pending_weighted is not None else 0.0) if wt else h.pending_pod_seconds
        row = {"history": h.index, "seconds": h.weighted_seconds if wt else h.horizon, "sim_seconds": h.horizon,
               "weight": h.weight, "failures": h.failures,
               "api_down": down_seconds(h.api, wt), "quorum_down": down_seconds(h.quorum, wt),
               "api_only_down": down_seconds(h.api_only, wt), "above_limit": down_seconds(h.above_limit, wt),
               "pending_pod_seconds": pending, "max_pending": h.max_pending,
               "elections": h.election_count, "election_seconds": h.election_seconds,
               "api_control_down": h.api_control.total if h.api_control is not None else np.nan}
        for w, eps in enumerate(h.workloads):
            row[f"wl{w}_down"] = down_seconds(eps, wt)
            row[f"wl{w}_rest"] = down_seconds(h.workload_rest[w], wt)
        rows.append(row)
    return pd.DataFrame(rows)


def summarize(out: SimulationOutput, intervals_only: bool = False) -> tuple[dict | None, dict[str, Interval]]:
    """The results document, and the unavailability intervals behind its availability figures
    (by SLO name: ``controlPlane``, ``workloads.NAME``), which the SLO verdicts project.
    ``intervals_only``: just the intervals (None for the document), for a run that checks
    between batches whether its figures are tight (:mod:`.precision`)."""
    c, model = out.cluster, out.model
    df = history_frame(out)
    seconds = df["seconds"].to_numpy() if len(df) else np.zeros(0)
    total_seconds = float(seconds.sum())
    gaps = out.distributions.elections  # seconds
    blast = model.blast or BlastRadius(model)
    typical = typical_episodes(c, model, blast, gaps.high if gaps.n else 0.0)

    def per_year(natural_count: float) -> float | None:
        """A count at its natural rate (weighted when importance-sampled), per simulated year."""
        return _rnd(natural_count / total_seconds * SECONDS_PER_YEAR, 4) if total_seconds else None

    def interval(get_eps, column, longest: float, single_cause: bool = True) -> Interval:
        eps = [get_eps(h) for h in out.histories]
        return unavailability_interval(episode_sums(eps, out.weighted), df[column].to_numpy() if len(df) else np.zeros(0),
                                       seconds, longest * allowance_weight(out, eps, single_cause))

    mttr_kinds = {k for k, spec in c.failures.items() if spec.ttf is not None}
    losers = quorum_losers(c, blast, mttr_kinds)
    api_mc = interval(lambda h: h.api, "api_down", max(typical.quorum, typical.api_residual))
    quorum_iv = interval(lambda h: h.quorum, "quorum_down", typical.quorum, bool(losers))

    after_leader_loss = sum(h.elections_after_leader_loss for h in out.histories)
    commit: dict[float, float] = {}
    for h in out.histories:
        for lat, secs in h.commit_seconds.items():
            commit[lat] = commit.get(lat, 0.0) + secs
    lat_values = np.array(sorted(commit)) * 1000.0
    lat_weights = np.array([commit[k] for k in sorted(commit)])

    mean_gap = mean_election_gap(model)
    quorum_exact = exact.quorum_availability(c)
    api_analytic = exact.api_availability_estimate(c, mean_gap) if mean_gap is not None else None
    residual, api_column = api_rest_sums(out.histories, out.weighted)
    api_allowance = allowance_weight(out, [h.api for h in out.histories])
    api_iv = control_variate(api_mc, quorum_exact, df, seconds, residual,
                             typical.api_residual * allowance_weight(out, [h.api_only for h in out.histories]),
                             api_column)

    workloads = []
    workload_exact: list[float | None] = []
    workload_covers: list[list[int] | None] = []
    intervals = {"controlPlane": api_iv}
    for w, wl in enumerate(c.workloads):
        slack = model.workload_desired[w] - model.workload_required[w]
        single = slack <= 0 or any(w in ws for ws in model.cover_of_domain.values())
        iv = interval(lambda h, w=w: h.workloads[w], f"wl{w}_down", typical.workloads[w], single)
        # A workload already below minAvailable with everything up is down all the time: no
        # domain "causes" its outages, so the control variate does not apply.
        ready_at_start = sum(1 for p in model.workload_pods[w] if model.baseline.pod_node[p] >= 0)
        covering = [d for d, ws in model.cover_of_domain.items() if w in ws] \
            if ready_at_start >= model.workload_required[w] else []
        method = "monte-carlo"
        workload_exact.append(None)
        workload_covers.append(None)
        if covering and len(df):
            # Down whenever a covering domain is down (known exactly) + the rest (simulated).
            up = 1.0
            for d in covering:
                up *= 1.0 - c.failures[c.domains[d].kind].unavailability
            rest_eps = [h.workload_rest[w] for h in out.histories]
            rest_iv = unavailability_interval(
                episode_sums(rest_eps, out.weighted), df[f"wl{w}_rest"].to_numpy(), seconds,
                rest_allowance(out, rest_eps, slack <= 0, typical.workload_rest_single[w], typical.workload_rest_overlap[w]))
            iv = drift_corrected(out, w, seconds, rest_iv.shifted(1.0 - up))
            method = "control-variate"
            workload_exact[-1] = iv.offset  # the covering domains' down time, less the drift measured
            workload_covers[-1] = covering
        intervals[f"workloads.{wl.name}"] = iv
        if intervals_only:
            continue
        requests = request_interval(out, w, seconds, iv)
        rec = out.distributions.recoveries[w]
        workloads.append({
            "name": wl.name, "kind": wl.kind, "replicas": model.workload_desired[w],
            "min_available": model.workload_required[w],
            "availability": {**_availability(iv), "method": method},
            "request_availability": _availability(requests),
            "downtime_minutes_per_year": _downtime(iv),
            "outages": int(sum(h.workloads[w].sums.count for h in out.histories)),
            "outages_per_year": per_year(sum(h.workloads[w].natural_count for h in out.histories)),
            "recovery_seconds": {"mean": _rnd(rec.mean, 2), "p50": _rnd(rec.quantile(0.5), 2),
                                 "p99": _rnd(rec.quantile(0.99), 2), "count": rec.n,
                                 "histogram": rec.histogram(log=True)},
        })

    if intervals_only:
        return None, intervals
    hottest = out.distributions.hottest
    domain_failures = sum((h.domain_failures for h in out.histories), np.zeros(len(c.domains), dtype=np.int64))
    domains = domain_table(blast, domain_failures, c.failures)
    avail = _availability(api_iv)
    avail["method"] = "control-variate" if api_iv is not api_mc else "monte-carlo"
    avail["monte_carlo"] = _availability(api_mc)
    measured = float(df["api_only_down"].sum()) if len(df) else 0.0
    api_scale = float(df[api_column].sum()) / measured if api_column != "api_only_down" and measured > 0 else 1.0
    ranking = importance(out, quorum_exact if api_iv is not api_mc else None, workload_covers)
    attributed = attribution(out, seconds, api_iv.offset if api_iv is not api_mc else None, losers,
                             workload_exact, workload_covers, blast,
                             [drift_by_domain(out, w, total_seconds) if workload_covers[w] else {}
                              for w in range(len(c.workloads))], api_scale)
    planned = maintenance_summary(c, model, [h.planned for h in out.histories], attributed, total_seconds)
    local_jobs = 1 if out.dask else out.jobs  # a Dask run's cores are elsewhere
    ess = effective_sample_size(out, api_iv is not api_mc, [w["availability"]["method"] == "control-variate"
                                                             for w in workloads],
                                {name.split(".", 1)[-1] if name != "controlPlane" else "API"
                                 for name, iv in intervals.items() if material(iv)})
    advisories = [*layout_findings(model), *dynamic_advisories(model, blast, local_jobs), *eviction_advisories(model, blast),
                  *undersampling_advisory(c, quorum_exact, 1.0 - quorum_iv.estimate, total_seconds),
                  *sampling_advisory(ess), *maintenance_advisories(c, model, planned),
                  *ordered_restart_deadlock(c, attributed), *fix_first_advisory(ranking)]

    avail["analytic"] = _rnd(api_analytic, 9)
    avail["nines"] = _rnd(nines(avail["estimate"]), 3) if avail["estimate"] < 1 else None
    quorum = _availability(quorum_iv)
    quorum["exact"] = _rnd(quorum_exact, 9)
    results = {
        "schema": SCHEMA,
        "kchaos_version": __version__,
        "topology": topology_summary(c, model),
        "run": {"failures_injected": int(df["failures"].sum()) if len(df) else 0,
                "failures_requested": out.failures_requested,
                "simulated_hours": _rnd(total_seconds / 3600.0, 3),
                "simulated_years": _rnd(total_seconds / SECONDS_PER_YEAR, 4),
                "histories": len(out.histories), "seed": out.seed, "jobs": out.jobs,
                "sampling": {**out.sampling.as_dict(), "effective_sample_size": ess} if out.sampling is not None
                else None,
                "wall_seconds": round(out.wall_seconds, 3), "partial": out.partial},
        "control_plane": {
            "members": len(c.members), "quorum": c.quorum, "tolerates": c.tolerates,
            "etcd_topology": c.etcd_topology,
            "availability": avail,
            "quorum_availability": quorum,
            "downtime_minutes_per_year": {
                **_downtime(api_iv),
                # The control variate's two parts: quorum loss known exactly (whether or not this
                # run drew such an outage) and the simulated rest (elections, apiservers cut off).
                "exact_quorum_loss": _rnd(api_iv.offset * MINUTES_PER_YEAR, 3) if api_iv is not api_mc else None,
                "simulated_rest": _rnd((api_iv.estimate - api_iv.offset) * MINUTES_PER_YEAR, 3)},
            "outages": {"count": int(sum(h.api.sums.count for h in out.histories)),
                        "quorum_losses": int(sum(h.quorum.sums.count for h in out.histories)),
                        "per_year": per_year(sum(h.api.natural_count for h in out.histories)),
                        "quorum_losses_per_year": per_year(sum(h.quorum.natural_count for h in out.histories))},
            "leader_elections": {
                "count": gaps.n, "after_leader_loss": after_leader_loss,
                "after_quorum_loss": gaps.n - after_leader_loss,
                "mean_ms": _ms(gaps.mean), "p50_ms": _ms(gaps.quantile(0.5)), "p99_ms": _ms(gaps.quantile(0.99)),
                "min_ms": _ms(gaps.low if gaps.n else None), "max_ms": _ms(gaps.high if gaps.n else None),
                "model_mean_ms": _ms(mean_gap),
                "per_year": _rnd(gaps.mass / total_seconds * SECONDS_PER_YEAR, 3) if total_seconds else None,
                "histogram": gaps.histogram(scale=1000.0)},
            "write_commit_ms": {
                "p50": _rnd(weighted_quantile(lat_values, lat_weights, 0.5), 3),
                "p99": _rnd(weighted_quantile(lat_values, lat_weights, 0.99), 3),
                "mean": _rnd(float(np.average(lat_values, weights=lat_weights)), 3) if lat_weights.sum() > 0 else None,
                "histogram": histogram(lat_values, bins=20, weights=lat_weights / max(lat_weights.sum(), 1e-300))
                if lat_values.size else {"edges": [], "counts": []}},
        },
        "workloads": workloads,
        "load": {
            "limit": model.utilization_limit,
            "baseline_max_node_utilization": _rnd(model.baseline_hottest, 4),
            "max_node_utilization": {"p50": _rnd(hottest.quantile(0.5), 4), "p95": _rnd(hottest.quantile(0.95), 4),
                                     "max": _rnd(hottest.high, 4) if hottest.n else None,
                                     "samples": hottest.n, "histogram": hottest.histogram(bins=20)},
            "time_above_limit": _rnd(float(df["above_limit"].sum()) / total_seconds if total_seconds else 0.0, 8),
            "pending_pods": {"max": int(df["max_pending"].max()) if len(df) else 0,
                             "pod_hours": _rnd(float(df["pending_pod_seconds"].sum()) / 3600.0, 3),
                             "pod_hours_per_year": _rnd(float(df["pending_pod_seconds"].sum()) / 3600.0
                                                        / (total_seconds / SECONDS_PER_YEAR), 3)
                             if total_seconds else None},
        },
        "attribution": attributed,
        "importance": ranking,
        "maintenance": planned,
        "eviction": eviction_summary(c, [h.eviction for h in out.histories], total_seconds),
        "domains": domains,
        "samples": samples(df, api_iv.offset if api_iv is not api_mc else None, c, workload_exact),
        "survive": survive_summary(model, c.slo.survive, blast) if c.slo.survive else None,
        "convergence": convergence(out, df, max(typical.quorum, typical.api_residual) * api_allowance, api_analytic,
                                   quorum_exact, typical.api_residual * api_allowance),
        "advisories": [{"code": a.code, "message": a.message, "severity": a.severity} for a in advisories],
    }
    return results, intervals


def _short(values) -> list[float]:
    return [float(f"{x:.6g}") for x in values]


def samples(df: pd.DataFrame, api_exact: float | None, c: Cluster, workload_exact: list[float | None]) -> dict:
    """Per history, what the headline availabilities are estimated from, for a paired comparison
    of two runs (``check --baseline``): the seconds (weighted) and, per figure by its SLO
    name, the exactly known unavailability and the simulated part's down seconds."""
    out: dict = {"seconds": _short(df["seconds"]) if len(df) else []}

    def figure(exact: float | None, column: str, plain: str) -> dict:
        name = column if exact is not None else plain
        return {"exact": float(f"{exact or 0.0:.9g}"), "down": _short(df[name]) if len(df) else []}

    control = "api_control_down" if len(df) and not df["api_control_down"].isna().any() else "api_only_down"
    out["controlPlane"] = figure(api_exact, control, "api_down")
    for w, wl in enumerate(c.workloads):
        out[f"workloads.{wl.name}"] = figure(workload_exact[w], f"wl{w}_rest", f"wl{w}_down")
    return out


def quorum_losers(c: Cluster, blast: BlastRadius, kinds: set[str]) -> list[int]:
    """The failure instances whose failure alone loses quorum: too few members outside them
    (a region link: its partition, from the blast radius)."""
    out = []
    for d in c.domains:
        if d.kind not in kinds:
            continue
        if d.kind == "regionLink":
            if blast.respond([d.index]).quorum_lost:
                out.append(d.index)
            continue
        held = sum(1 for m in c.members if d.index in (c.nodes[m].domain, *c.nodes[m].ancestors))
        if held and len(c.members) - held < c.quorum:
            out.append(d.index)
    return out


def control_variate(api_mc: Interval, quorum_exact: float | None, df: pd.DataFrame, seconds: np.ndarray,
                    residual: EpisodeSums, residual_typical: float, column: str = "api_only_down") -> Interval:
    """API unavailability = exact quorum unavailability + simulated remainder.

    The API is down whenever quorum is lost, so its down time is the quorum's
    (known exactly) plus a remainder (elections, unreachable apiservers) that only
    the simulation knows. Estimating just the remainder removes the sampling noise
    of rare quorum losses (a control variate with coefficient 1): unbiased, and far
    tighter when rare, long outages dominate. The remainder is itself estimated with the
    election control where it applies (``column``, :func:`.estimators.api_rest_sums`). Falls
    back to plain Monte Carlo when no exact answer exists."""
    if quorum_exact is None or not len(df):
        return api_mc
    rest = unavailability_interval(residual, df[column].to_numpy(), seconds, residual_typical)
    return rest.shifted(1.0 - quorum_exact)


def convergence(out: SimulationOutput, df: pd.DataFrame, typical: float, analytic, quorum_exact=None,
                residual_typical: float = 2.0) -> dict:
    """API unavailability (the headline estimator) and its interval after each history."""
    fails, est, lo, hi = [], [], [], []
    episodes, measured = EpisodeSums(), EpisodeSums()
    controlled = api_rest_sums(out.histories, out.weighted)[1] == "api_control_down"
    control = ControlSums(0.0, 0.0, 0.0, 0.0, 0.0)
    elapsed = np.cumsum(df["seconds"].to_numpy()) if len(df) else np.zeros(0)
    for i, h in enumerate(out.histories):
        episodes = episodes.merge(episode_sums([h.api], out.weighted))
        measured = measured.merge(episode_sums([h.api_only], out.weighted))
        residual, column = measured, "api_only_down"
        if controlled:  # the election control over the histories so far, where it is defined
            control = control.merge(h.api_control)
            variance = control.variance(control.total / elapsed[i]) if control.total > 0 else 0.0
            if variance > 0:
                residual, column = EpisodeSums(measured.count, control.total, variance,
                                               control.largest), "api_control_down"
        part, secs = df.iloc[: i + 1], df["seconds"].to_numpy()[: i + 1]
        iv = unavailability_interval(episodes, part["api_down"].to_numpy(), secs, typical)
        iv = control_variate(iv, quorum_exact, part, secs, residual, residual_typical, column)
        fails.append(int(df["failures"].to_numpy()[: i + 1].sum()))
        est.append(iv.estimate)
        lo.append(iv.low)
        hi.append(iv.high)
    return {"failures": fails, "unavailability": est, "ci_low": lo, "ci_high": hi,
            "analytic": None if analytic is None else 1.0 - analytic}


def topology_summary(c: Cluster, model: ClusterModel) -> dict:
    """Name, hash and the region > datacenter > rack > server > node tree for the drawing."""
    pods_on = [0] * len(c.nodes)
    for node in model.baseline.pod_node:
        if node >= 0:
            pods_on[node] += 1
    counts: dict[int, list[int]] = {d.index: [0, 0, 0] for d in c.domains}  # members, nodes, pods
    standby = {n.domain for n in c.nodes if n.standby}  # machines an autoscaler may add: not drawn
    for n in c.nodes:
        if n.standby:
            continue
        for d in (n.domain, *n.ancestors):
            counts[d][0] += int(n.runs_etcd)
            counts[d][1] += 1
            counts[d][2] += pods_on[n.index]
    role_of = {n.domain: n.role for n in c.nodes}
    tree = []
    for d in c.domains:
        if d.kind == "regionLink" or d.index in standby:
            continue
        parent = c.domains[d.parent].id if d.parent is not None else ""
        entry = {"id": d.id, "parent": parent, "kind": d.kind, "name": d.name,
                 "members": counts[d.index][0], "nodes": counts[d.index][1], "pods": counts[d.index][2]}
        if d.kind == "node":
            entry["role"] = role_of[d.index]
        tree.append(entry)
    return {"name": c.name, "description": c.description, "source": c.source, "sha256": c.sha256,
            "etcd_topology": c.etcd_topology, "members": len(c.members),
            "workers": len(model.workers), "pods": model.n_pods, "tree": tree}
