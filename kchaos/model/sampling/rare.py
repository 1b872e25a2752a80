"""Importance sampling of overlapping failures: failure biasing over regenerative cycles.

In a well-built cluster an outage needs two failures at once, and plain sampling sees
such an overlap about once per thousand failures: its interval stays as wide as the
estimate. :class:`BiasedSampler` draws histories in which failures come at their natural
times when everything is up, but:

- the failure that opens an episode (strikes a fully-up cluster) is drawn partly
  (:data:`FIRST_BIAS`) by the overlap it allows rather than by rate;
- during the episode, until one of them has failed in this cycle
  (:data:`BOOSTED_CROSSINGS`), the *critical* instances (:class:`Criticality`: those whose
  failure now would lose quorum or take a workload below minAvailable) fail up to
  :data:`CRITICAL_BOOST` times faster, at most an :data:`OVERLAP_BIAS` chance before the
  episode would end, and every up instance gets a smaller general boost, partly shared
  equally ("balanced failure biasing", Shahabuddin 1994, Management Science 40:333; Nicola,
  Shahabuddin & Nakayama 2001, Operations Research 49:788; steered by failure distance,
  Carrasco, FTCS 1991);
- the exponential repair of an opening failure is drawn :data:`REPAIR_STRETCH` times longer
  on average, that of a critical one so half the time (:data:`CRITICAL_STRETCH_SHARE`; other
  repair distributions are never biased).

Each *regenerative cycle* runs from a failure that strikes a fully-up cluster to the
next one; its likelihood ratio (natural over biased density of its failure times,
choices and stretched repairs) is its ``weight``, and every figure that accrues in the
cycle is multiplied by it: down seconds, pending pod-seconds, distributions, the cycle's
own length (the estimators are ratios of weighted sums, as in regenerative simulation).
The failure process is then unbiased; the engine's state is assumed to regenerate at each
cycle (docs/model.md, known limits).

The method needs memoryless times to failure (exponential: the natural intensity of
an up instance is constant) and rare overlaps (a fully-up cluster is the usual state,
or cycles grow long and their weights degenerate); :func:`sampling_plan` says when it
applies and otherwise falls back to plain sampling, with the reason.
"""

from __future__ import annotations

import heapq
import math
import zlib
from dataclasses import dataclass

import numpy as np

from ..cluster import Cluster, FailureSpec
from ..cluster_model import ClusterModel
from .failures import History, _draw, _draw_residual

#: Probability, in the biased histories, of a further failure before an episode would end.
OVERLAP_BIAS = 0.5
#: Importance sampling applies while the expected number of instances down at once is at
#: most this (a fully-up cluster at least ~90% of the time): overlaps are rare, cycles short.
MAX_MEAN_DOWN = 0.1
#: The exponential repair of a failure that opens an episode, or of a critical one, is drawn
#: this many times longer on average...
REPAIR_STRETCH = 2.0
#: ... a critical one's only this share of the time, natural otherwise: a defensive mixture
#: (Hesterberg 1995, Technometrics 37:185), whose ratio stays under 1 / (1 - share). An overlap
#: whose down time is the shorter of two repairs (quorum, a pinned pod) gains from the long
#: repairs; one in which a node down past its eviction strands a replacement until the first
#: failure is repaired does not, and a pure stretch only spreads its cycles' ratios: on
#: benchmarks/medium-default-rates.yaml search's interval at 20,000 failures is 0.85 times as
#: wide with the mixture as with every critical repair stretched.
CRITICAL_STRETCH_SHARE = 0.5
#: Share of the episode-opening failures drawn by unavailability rather than by rate (at most:
#: see MAX_OPENING_WORK).
FIRST_BIAS = 0.5
#: The biased share of opening failures is lowered so that an opening failure makes at most this
#: many times the engine's work of a natural one (work: the pods a failure displaces, which the
#: scheduler places again and the next rollout re-places): a datacenter or region outage of a
#: large cluster costs tens of node failures, so drawing them half the time would spend most of
#: a run on them (an efficiency trade of variance against work, Glynn & Whitt 1992).
MAX_OPENING_WORK = 2.5
#: During an episode the critical instances fail up to this many times faster (capped by OVERLAP_BIAS).
CRITICAL_BOOST = 300.0
#: Critical failures drawn with the boost per cycle. Each multiplies its cycle's ratio by a small
#: factor; where a cycle may cross several lines (a region outage leaves several workloads at
#: minAvailable), boosting every crossing would draw chains of them, whose ratios spread over
#: orders of magnitude, and the figure of a workload that crossed second would be carried by the
#: few cycles in which it crossed first. With one boosted crossing per cycle, the interval of
#: search on benchmarks/medium-default-rates.yaml (only overlaps take it down) is 0.75 times as
#: wide at 20,000 failures (docs/model.md, statistics).
BOOSTED_CROSSINGS = 1
#: During an episode every up instance fails up to this many times faster...
OVERLAP_BOOST = 10.0
#: ... with at most this probability of such a general extra failure before the episode ends.
GENERAL_BIAS = 0.1
#: Part of the general extra rate shared equally among the up instances (the rest follows
#: the down time each would add), so rare but long failures are still drawn.
UNIFORM_SHARE = 0.1
#: A pilot history (this many natural failures long) measures the biased failure rate, so
#: that ``--failures N`` still spreads over as many histories as plain sampling would.
PILOT_FAILURES = 1000
PILOT_INDEX = 2**31 - 1
#: Uniform draws fetched from the generator at a time.
_BLOCK = 256


@dataclass(frozen=True)
class SamplingPlan:
    """How a run draws its failure histories: ``importance`` or ``plain``, and why."""

    method: str
    reason: str
    bias: float | None = None

    def as_dict(self) -> dict:
        return {"method": self.method, "reason": self.reason, "overlap_bias": self.bias}


def _instances(cluster: Cluster) -> list[tuple[int, str, FailureSpec]]:
    out = []
    for d in cluster.domains:
        spec = cluster.failure_spec(d)
        if spec is not None:
            out.append((d.index, d.id, spec))
    return out


def sampling_plan(cluster: Cluster, requested: str = "auto") -> SamplingPlan:
    """Importance sampling where it is valid and pays (``auto``), or as ``requested``.
    Raises ``ValueError`` (a usage error for the CLI) when importance sampling is asked for
    and cannot apply."""
    if requested == "plain":
        return SamplingPlan("plain", "plain sampling was asked for (--sampling plain)")
    instances = _instances(cluster)
    not_exp = sorted({spec.kind for _, _, spec in instances if spec.ttf.kind != "exponential"})
    mean_down = sum(spec.unavailability for _, _, spec in instances)
    problem = planned_problem(cluster)
    if problem is not None:
        pass
    elif not_exp:
        problem = (f"times to failure of {', '.join(not_exp)} are not exponential, and failure biasing "
                   f"needs memoryless failure times")
    elif len(instances) < 2:
        problem = "there is only one failure instance, so failures cannot overlap"
    elif mean_down > MAX_MEAN_DOWN:
        problem = (f"failures overlap often ({mean_down:.2f} instances down on average), so plain "
                   f"sampling sees overlaps anyway and biasing would only add variance")
    if problem is None:
        return SamplingPlan("importance", f"overlapping failures are rare ({mean_down:.2g} instances down "
                            f"on average): balanced failure biasing over regenerative cycles", OVERLAP_BIAS)
    if requested == "importance":
        raise ValueError(f"--sampling importance cannot apply: {problem}")
    return SamplingPlan("plain", problem)


def planned_problem(cluster: Cluster) -> str | None:
    """Why planned disruption rules importance sampling out, or None. Rolling upgrades run on a
    clock of their own, long enough to overlap most failure cycles, so a cycle that starts
    with every failure repaired does not start afresh. (Rollout waves stay: they run only on a
    healthy cluster, between cycles, where every weight averages to one.)"""
    if cluster.maintenance is not None:
        return "rolling upgrades (maintenance:) run on a schedule, so the histories do not regenerate"
    return None


def stretched_repair(mean: float, rng: np.random.Generator, uniform, share: float) -> tuple[float, float]:
    """An exponential repair time drawn :data:`REPAIR_STRETCH` times longer on average with
    probability ``share``, at its natural mean otherwise; returns (seconds, log of the natural
    over the biased density there). ``uniform``: the history's uniform draws."""
    stretched = share >= 1.0 or uniform() < share
    x = float(rng.exponential(mean * (REPAIR_STRETCH if stretched else 1.0)))
    natural = -x / mean - math.log(mean)
    long = math.log(share) - x / (mean * REPAIR_STRETCH) - math.log(mean * REPAIR_STRETCH)
    biased = long if share >= 1.0 else float(np.logaddexp(math.log(1.0 - share) + natural, long))
    return x, natural - biased


class _Uniforms:
    """Uniform draws from one generator, fetched in blocks (a scalar call costs more)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.buf: list[float] = []

    def __call__(self) -> float:
        if not self.buf:
            self.buf = self.rng.random(_BLOCK).tolist()
        return self.buf.pop()


class Criticality:
    """Which up instances would, failing now, cross a line that the instances already down
    have not: lose etcd quorum, or take more pods of a workload than its slack (replicas over
    minAvailable, counted on the initial placement). Only steers the biasing (the weights keep
    every estimate unbiased whatever it says): Carrasco's failure-distance idea (FTCS 1991)."""

    CACHE = 20_000

    def __init__(self, model: ClusterModel, instances: list[tuple[int, str, FailureSpec]]):
        n_nodes = len(model.cluster.nodes)
        under = model.nodes_under
        #: Instance x node: the nodes each instance takes down.
        self.takes = np.zeros((len(instances), n_nodes))
        for i, (dom, _, _) in enumerate(instances):
            self.takes[i, list(under.get(dom, ()))] = 1.0
        self.members = np.zeros(n_nodes)
        self.members[list(model.member_nodes)] = 1.0
        self.members_spare = len(model.member_nodes) - model.quorum
        #: Node x workload: the workload's pods on the node in the initial placement.
        self.pods = np.zeros((n_nodes, len(model.workload_pods)))
        for w, pods in enumerate(model.workload_pods):
            for p in pods:
                node = model.baseline.pod_node[p]
                if node >= 0:
                    self.pods[node, w] += 1.0
        self.slack = np.array([d - r for d, r in zip(model.workload_desired, model.workload_required)], dtype=float)
        #: What each instance takes when everything is up: members and pods per workload. What it
        #: would add now is that less its overlap with the nodes already down (few), so a state
        #: costs instances x down nodes x workloads, not instances x nodes x workloads. The
        #: counts are small integers, so the float sums are exact either way.
        self.takes_members = self.takes @ self.members
        self.takes_pods = self.takes @ self.pods
        self.cache: dict[frozenset, np.ndarray] = {}

    def critical(self, key: frozenset[int]) -> np.ndarray:
        """Per instance, whether it is critical while the instances in ``key`` are down."""
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        idx = list(key)
        down_nodes = self.takes[idx].max(axis=0) if idx else np.zeros(self.takes.shape[1])
        members_down = float(down_nodes @ self.members)
        lost = down_nodes @ self.pods  # [workloads]
        dn = np.flatnonzero(down_nodes)
        overlap = self.takes[:, dn]  # [instances, down nodes]: what each would take that is down already
        add_members = self.takes_members - overlap @ self.members[dn]
        out = (members_down <= self.members_spare) & (members_down + add_members > self.members_spare)
        if self.pods.shape[1]:
            more = self.takes_pods - overlap @ self.pods[dn]  # [instances, workloads]: what each would add
            out |= ((lost <= self.slack) & (lost + more > self.slack)).any(axis=1)
        out[idx] = False
        if len(self.cache) >= self.CACHE:
            self.cache.clear()
        self.cache[key] = out
        return out


class BiasedSampler:
    """Histories with failure biasing during episodes and a likelihood ratio per cycle."""

    def __init__(self, cluster: Cluster, model: ClusterModel | None = None):
        self.instances = _instances(cluster)
        self.criticality = Criticality(model, self.instances) if model is not None else None
        specs = [spec for _, _, spec in self.instances]
        self.rates = [1.0 / spec.ttf.mean for spec in specs]
        self.rate_arr = np.array(self.rates)
        self.mttr = np.array([spec.ttr.mean for spec in specs])
        #: Expected failure events per second over all instances (stationary), as plain sampling.
        self.natural_failure_rate = sum(1.0 / (s.ttf.mean + s.ttr.mean) for s in specs)
        self.failure_rate = self.natural_failure_rate
        self.total_rate = float(sum(self.rates))
        self.bias_log = -math.log(1.0 - OVERLAP_BIAS)
        self.general_log = -math.log(1.0 - GENERAL_BIAS)
        self.critical_boost = CRITICAL_BOOST
        self.boost = OVERLAP_BOOST
        # The failure that opens an episode comes at the natural time, but the instance is drawn
        # mostly by the overlap it opens the door to: its unavailability (rate x mean repair)
        # times the failure rate of the instances it makes critical (by unavailability alone
        # when it makes none): long outages next to many critical partners open more episodes.
        natural = self.rate_arr / self.total_rate if specs else self.rate_arr
        lasting = self.rate_arr * self.mttr
        if self.criticality is not None and specs:
            partners = np.array([float(self.rate_arr @ self.criticality.critical(frozenset((i,))))
                                 for i in range(len(specs))])
            lasting = lasting * np.where(partners > 0, partners, partners[partners > 0].min(initial=1.0))
        self.first_bias = FIRST_BIAS
        if specs:
            biased = lasting / lasting.sum()
            self.first_bias = self._capped_bias(natural, biased)
        first = (1.0 - self.first_bias) * natural + self.first_bias * biased if specs else natural
        self.first_cumulative = np.cumsum(first) / (first.sum() if specs else 1.0)
        self.first_log_ratio = np.log(natural / first).tolist() if specs else []
        if specs:  # biased histories hold more failures per second: plan their length from a pilot
            pilot = self.history(PILOT_INDEX, PILOT_FAILURES / self.natural_failure_rate, seed=0)
            self.failure_rate = max(self.natural_failure_rate, pilot.failures / pilot.horizon)

    def _capped_bias(self, natural: np.ndarray, biased: np.ndarray) -> float:
        """FIRST_BIAS, lowered where opening failures drawn by ``biased`` would make more than
        MAX_OPENING_WORK times the work of natural ones (``natural``), counting as work one
        plus the pods a failure displaces, in units of the pods of an average worker."""
        if self.criticality is None:
            return FIRST_BIAS
        pods = self.criticality.takes @ self.criticality.pods.sum(axis=1)  # per instance, the pods it displaces
        per_worker = max(float(self.criticality.pods.sum()) / max(int((self.criticality.pods.sum(axis=1) > 0).sum()), 1),
                         1.0)
        work = 1.0 + pods / per_worker
        natural_work, biased_work = float(natural @ work), float(biased @ work)
        if biased_work <= MAX_OPENING_WORK * natural_work:
            return FIRST_BIAS
        return min(FIRST_BIAS, (MAX_OPENING_WORK - 1.0) * natural_work / (biased_work - natural_work))

    def history(self, index: int, horizon: float, seed: int) -> History:
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, index, zlib.crc32(b"importance")])
        uniform = _Uniforms(rng)
        inst, rates = self.instances, self.rates
        n = len(inst)
        repairs: list[tuple[float, int]] = []  # (time, instance) of the instances down
        down_set: set[int] = set()  # the instances down (the key of their criticality)
        up = np.ones(n, dtype=bool)  # the instances up, as the intensities' mask
        initially = []
        for i, (dom, _, spec) in enumerate(inst):
            if uniform() < spec.unavailability:
                down_set.add(i)
                up[i] = False
                initially.append(dom)
                heapq.heappush(repairs, (float(_draw_residual(spec.ttr, rng, 1)[0]), i))
        times: list[float] = []
        doms: list[int] = []
        downs: list[bool] = []
        event_log_weight: list[float] = []
        cycle_starts: list[float] = []
        cycle_weights: list[float] = []
        log_w = 0.0  # log likelihood ratio of the current cycle so far
        crossings = 0  # critical failures in the current cycle so far
        down_rate = sum(rates[i] for i in range(n) if not up[i])
        t = 0.0

        def fail(i: int, at: float, stretch: bool = False) -> float:
            """``i`` fails at ``at``; returns the log ratio (natural over biased) of its repair
            draw: an exponential repair is stretched for the failure that opens an episode, and
            half the time for a critical one, since the overlap they make may grow with it."""
            nonlocal down_rate
            opening = not repairs
            down_set.add(i)
            up[i] = False
            down_rate += rates[i]
            spec = inst[i][2]
            ratio = 0.0
            if stretch and spec.ttr.kind == "exponential" and REPAIR_STRETCH > 1:
                x, ratio = stretched_repair(spec.ttr.mean, rng, uniform, 1.0 if opening else CRITICAL_STRETCH_SHARE)
            else:
                x = float(_draw(spec.ttr, rng, 1)[0])
            heapq.heappush(repairs, (at + x, i))
            times.append(at)
            doms.append(inst[i][0])
            downs.append(True)
            return ratio

        while True:
            if not repairs:  # all up: the natural next failure starts a new cycle
                t += -math.log(1.0 - uniform()) / self.total_rate
                if t > horizon:
                    break
                i = min(int(np.searchsorted(self.first_cumulative, uniform(), side="right")), n - 1)
                cycle_weights.append(math.exp(log_w))
                cycle_starts.append(t)
                crossings = 0
                log_w = self.first_log_ratio[i]  # which instance strikes first: natural over biased choice
                log_w += fail(i, t, stretch=True)
                event_log_weight.append(log_w)
                continue
            # An episode: the up instances fail faster (see :meth:`_intensities`).
            episode_end = max(r for r, _ in repairs)
            remaining = max(episode_end - t, 1e-9)
            up_rate = self.total_rate - down_rate
            intensity, critical = self._intensities(up, frozenset(down_set), remaining, up_rate, crossings)
            cumulative = np.cumsum(intensity)
            rate = float(cumulative[-1])
            extra = rate - up_rate
            t_repair = repairs[0][0]
            t_fail = t + (-math.log(1.0 - uniform()) / rate if rate > 0 else math.inf)
            step_end = min(t_fail, t_repair, horizon)
            log_w += extra * (step_end - t)  # natural over biased density of no failure until then
            t = step_end
            if step_end == horizon and min(t_fail, t_repair) > horizon:
                break
            if t_fail <= t_repair:
                i = min(int(np.searchsorted(cumulative, uniform() * rate, side="right")), n - 1)
                while intensity[i] <= 0:  # a rounding at the very end of the cumulative sum
                    i -= 1
                is_critical = critical is not None and bool(critical[i])
                crossings += is_critical
                log_w += math.log(rates[i] / intensity[i])  # natural over biased density of this failure
                log_w += fail(i, t, stretch=is_critical)
                event_log_weight.append(log_w)
            else:
                _, i = heapq.heappop(repairs)
                down_set.discard(i)
                up[i] = True
                down_rate -= rates[i]
                times.append(t)
                doms.append(inst[i][0])
                downs.append(False)
                event_log_weight.append(log_w)
        cycle_weights.append(math.exp(log_w))
        return History(index, horizon, np.array(times), np.array(doms, dtype=np.int64),
                       np.array(downs, dtype=bool), np.array(sorted(initially), dtype=np.int64),
                       cycle_starts=np.array(cycle_starts), cycle_weights=np.array(cycle_weights),
                       event_log_weight=np.array(event_log_weight))

    def _intensities(self, up: np.ndarray, down: frozenset[int], remaining: float,
                     up_rate: float, crossings: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
        """Each instance's biased failure rate for the rest of this step of an episode, and
        which instances are critical (None without a model).

        Up instances keep their natural rate, plus two extras: the *critical* ones
        (:class:`Criticality`) share a rate that makes one of them fail before the episode
        would end with probability :data:`OVERLAP_BIAS`, in proportion to the down time each
        would add (its rate x its mean repair, capped by the time left), while fewer than
        :data:`BOOSTED_CROSSINGS` critical failures happened in this cycle (``crossings``);
        every up instance shares a smaller general rate (up to :data:`OVERLAP_BOOST` times the
        natural one, at most a :data:`GENERAL_BIAS` chance before the end), mostly in that same
        proportion and a little equally, so that no instance is starved and overlaps the
        criticality test does not foresee (elections, load) are drawn more often too. ``up``: the up instances
        (a mask); ``down``: the down ones (a set)."""
        natural = self.rate_arr * up
        if not up.any():  # everything is down: nothing can fail
            return natural, None
        score = natural * np.minimum(self.mttr, remaining)
        general = min((self.boost - 1.0) * up_rate, self.general_log / remaining)
        spread = (1.0 - UNIFORM_SHARE) * score / score.sum() + UNIFORM_SHARE * up / up.sum()
        intensity = natural + general * spread
        critical = None
        if self.criticality is not None:
            critical = self.criticality.critical(down)
            crit = score * critical
            if crit.sum() > 0 and crossings < BOOSTED_CROSSINGS:
                boost = min((self.critical_boost - 1.0) * float(natural @ critical), self.bias_log / remaining)
                intensity += boost * crit / crit.sum()
        return intensity, critical
