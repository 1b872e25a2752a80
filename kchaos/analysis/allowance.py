"""The one-more-episode allowance of the upper bounds: how long an outage this run did not
draw plausibly lasts (:func:`typical_episodes`, from the blast radius and the repair times),
and what such an outage would weigh under importance sampling (:func:`allowance_weight`,
:func:`rest_allowance`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..model.cluster import Cluster
from ..model.cluster_model import ClusterModel
from ..model.sampling.montecarlo import SimulationOutput
from ..model.sampling.rare import FIRST_BIAS
from ..model.scheduling.response import BlastRadius


def allowance_weight(out: SimulationOutput, episodes, single_cause: bool = True) -> float:
    """The weight an outage this run did not draw would carry, which scales the interval's
    one-more-episode allowance: 1 when plain. Importance-sampled: where one failure alone can
    cause the outage (``single_cause``), such a failure is drawn at about its natural rate, so
    its cycle's ratio is up to 1 / (1 - FIRST_BIAS); otherwise only overlaps cause it, and an
    undrawn one weighs what the cycles in which this quantity was down weighed on average (or,
    when it never was, those in which failures overlapped)."""
    if not out.weighted:
        return 1.0
    floor = 1.0 / (1.0 - FIRST_BIAS) if single_cause else 0.0
    parts = [eps.weighted for eps in episodes if eps.weighted is not None]
    n = sum(p.cycles for p in parts)
    if n:
        return max(floor, sum(p.weight_sum for p in parts) / n)
    n = sum(h.overlap_cycles[0] for h in out.histories)
    return max(floor, sum(h.overlap_cycles[1] for h in out.histories) / n if n else 1.0)


def rest_allowance(out: SimulationOutput, episodes, single_cause: bool, single: float, overlap: float) -> float:
    """The one-more-episode allowance of a workload's down time outside its covering domains:
    the longest plausible episode when plain. Importance-sampled, its two kinds of episode
    weigh what their cycles weigh: one that a single failure (or the restart after a covering
    domain's repair) makes (``single`` long), :func:`allowance_weight`; one that only an
    overlap of two failures makes (``overlap`` long), what the overlap cycles in which this
    quantity was down weighed on average (or, when it never was, all of this run's overlap
    cycles): the sampler draws overlaps far more often than nature, so their cycles weigh little,
    and a quantity also down in ordinary cycles (rollouts, say) does not lend them its weight."""
    if not out.weighted:
        return max(single, overlap)
    weight = allowance_weight(out, episodes, single_cause)
    parts = [eps.weighted for eps in episodes if eps.weighted is not None]
    n = sum(p.overlap_cycles for p in parts)
    if n:
        overlap_weight = sum(p.overlap_weight_sum for p in parts) / n
    else:
        n = sum(h.overlap_cycles[0] for h in out.histories)
        overlap_weight = sum(h.overlap_cycles[1] for h in out.histories) / n if n else weight
    return max(single * weight, overlap * overlap_weight)
@dataclass(frozen=True)
class TypicalEpisodes:
    """The longest outage each quantity can plausibly suffer, for the upper bounds.

    An outage that one failure causes alone lasts about that failure's repair, so the
    longest mean repair among such domains (from the blast radius) is used; when no
    single domain can cause it, two failures must overlap, which lasts about half the
    longest mean repair."""

    quorum: float
    api_residual: float
    workloads: tuple[float, ...]
    workload_rest: tuple[float, ...]  # outside the workload's covering domains
    #: The part of ``workload_rest`` that an overlap of failures makes (half the longest mean
    #: repair among the kinds that hit the workload): under importance sampling, such an
    #: undrawn episode would weigh what an overlap cycle weighs (:func:`rest_allowance`).
    workload_rest_overlap: tuple[float, ...] = ()
    workload_rest_single: tuple[float, ...] = ()  # the rest of it: what single failures make


def typical_episodes(c: Cluster, model: ClusterModel, blast: BlastRadius, max_gap: float) -> TypicalEpisodes:
    # The repair an outage this run did not draw plausibly lasts: the mean, or, for repairs with a
    # heavier tail than exponential ones, the mean stretched by half the length-biased mean
    # (E[X^2] / E[X] = mean x (1 + CV^2): exponential 2 x mean; lognormal sigma 2: 55 x mean), so
    # that the one-more-episode allowance stays honest where a few very long repairs carry most
    # of the down time.
    mttr = {k: s.ttr.mean * max(1.0, s.ttr.squared_cv) for k, s in c.failures.items()
            if s.ttf is not None}
    overlap = max(mttr.values(), default=3600.0) / 2.0
    k = c.kubernetes
    chain = k.node_monitor_grace_period + k.not_ready_toleration + k.pod_startup
    slack = [d - r for d, r in zip(model.workload_desired, model.workload_required)]
    quorum, api, wl = [], [], [[] for _ in c.workloads]
    rest: list[list[float]] = [[chain] for _ in c.workloads]  # also the restart after a cover repair
    rest_kinds: list[set[str]] = [set() for _ in c.workloads]
    pods_on: list[dict[int, int]] = []
    for pods in model.workload_pods:
        counts: dict[int, int] = {}
        for p in pods:
            node = model.baseline.pod_node[p]
            counts[node] = counts.get(node, 0) + 1
        pods_on.append(counts)

    def workloads_hit(kind: str, down_nodes, still_down: tuple[str, ...]) -> None:
        for w, wl_ in enumerate(c.workloads):
            lost = sum(pods_on[w].get(n, 0) for n in down_nodes)
            if wl_.name in still_down:
                wl[w].append(mttr[kind])
                continue
            rest_kinds[w].add(kind)
            if lost > slack[w]:  # down until the replacements (or the repair) arrive
                wl[w].append(min(mttr[kind] + k.pod_startup, chain))
                rest[w].append(min(mttr[kind] + k.pod_startup, chain))

    for d in c.domains:
        if d.kind not in mttr or d.kind == "node":
            continue
        r = blast.respond([d.index])
        if r.quorum_lost:
            quorum.append(mttr[d.kind])
        elif r.api_down:
            api.append(mttr[d.kind])
        workloads_hit(d.kind, model.nodes_under.get(d.index, ()), r.workloads_unavailable)
    if "node" in mttr:  # a single node: quorum with one member; a workload whose slack it exceeds
        if len(c.members) == 1:
            quorum.append(mttr["node"])
        for node in model.workers:
            workloads_hit("node", (node,), ())
    elections = max(2.0, max_gap)
    return TypicalEpisodes(
        quorum=max(quorum, default=overlap),
        api_residual=max(api + [elections]) if c.etcd_topology == "external" else elections,
        workloads=tuple(max(x, default=overlap) for x in wl),
        workload_rest=tuple(max(r + [max((mttr[kd] for kd in kinds), default=0.0) / 2.0])
                            for r, kinds in zip(rest, rest_kinds)),
        workload_rest_overlap=tuple(max((mttr[kd] for kd in kinds), default=0.0) / 2.0 for kinds in rest_kinds),
        workload_rest_single=tuple(max(r) for r in rest))
