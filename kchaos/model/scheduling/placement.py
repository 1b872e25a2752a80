"""One scheduling cycle after another for the pods of one workload, as kube-scheduler runs them.

Each cycle (``pkg/scheduler/schedule_one.go``): scan the zone-interleaved node list from
where the previous cycle stopped until ``numFeasibleNodesToFind`` feasible nodes are
found (every node below 100 nodes), score them, bind the best, a tie going to a node
drawn uniformly (``selectHost``). The filters and scores are described in
:mod:`.scheduler`; here they are kept per node for one workload and volume scope, and a
bind updates only what it changes (the bound node's fit and resource score, its spread
domains' counts), so k replicas cost k vectorised cycles over the candidates, not k full
recomputations. :func:`~.batch.place_batch` runs them back to back; ``Scheduler.pick``
runs one: the same code, so a batch gives exactly the nodes pod-by-pod scheduling gives
(property-tested).

PodTopologySpread scoring (``podtopologyspread/scoring.go``): per soft constraint, a
candidate's raw score is its domain's matching pods x log(domains among the candidates
+ 2) + maxSkew - 1 (hostname: the node's own pods, log(candidates + 2)), rounded; then
normalised over the candidates to ``100 x (max + min - s) / max`` (all 100 when max is
0), weight 2. Domain counts include the pods of every node the constraint's
``nodeTaintsPolicy`` admits.
"""

from __future__ import annotations

import math

import numpy as np

from .affinity import WEIGHT_INTER_POD_AFFINITY
from .scheduler import (MAX_NODE_SCORE, WEIGHT_BALANCED_ALLOCATION, WEIGHT_LEAST_ALLOCATED,
                        WEIGHT_POD_TOPOLOGY_SPREAD, Placement, Scheduler)


#: Up to this many stale nodes, the memoised resource scores are refreshed one by one.
SCALAR_REFRESH = 8
#: Up to this many domains (or candidates), minima and maxima are taken over Python lists.
SHORT_LIST = 64
#: Entries of a scheduler's memo of one-node fits and scores (cleared when full).
SCORE_MEMO_SIZE = 200_000


def least_allocated(cap_cpu, cap_mem, nonzero_cpu, nonzero_mem) -> np.ndarray:
    """NodeResourcesFit LeastAllocated, cpu and memory weighted 1 each, from the node's
    NonZeroRequested with the pod (``noderesources/least_allocated.go``)."""
    def one(cap, req):
        return np.where(req > cap, 0, (cap - req) * MAX_NODE_SCORE // cap)
    return (one(cap_cpu, nonzero_cpu) + one(cap_mem, nonzero_mem)) // 2


def balanced_allocation(cap_cpu, cap_mem, requested_cpu, requested_mem) -> np.ndarray:
    """NodeResourcesBalancedAllocation from the node's requests with the pod: 100 x (1 - the
    standard deviation of the two fractions) (``noderesources/balanced_allocation.go``)."""
    frac_c = np.minimum(requested_cpu / cap_cpu, 1.0)
    frac_m = np.minimum(requested_mem / cap_mem, 1.0)
    return ((1 - np.abs((frac_c - frac_m) / 2)) * MAX_NODE_SCORE).astype(np.int64)


def normalize_spread(raw: np.ndarray) -> np.ndarray:
    """PodTopologySpread's NormalizeScore: fewer matching pods score higher, 0..100."""
    top = int(raw.max())
    if top == 0:
        return np.full(raw.size, MAX_NODE_SCORE, dtype=np.int64)
    return MAX_NODE_SCORE * (top + int(raw.min()) - raw) // top


def resource_scores(sch: Scheduler, pl: Placement, w: int, nodes: np.ndarray) -> np.ndarray:
    """LeastAllocated + BalancedAllocation of ``nodes`` with one more pod of workload ``w``."""
    cap_c, cap_m = np.maximum(sch.cap_cpu[nodes], 1), np.maximum(sch.cap_mem[nodes], 1)
    least = least_allocated(cap_c, cap_m, pl.nonzero_cpu[nodes] + sch.nonzero_req_cpu[w],
                            pl.nonzero_mem[nodes] + sch.nonzero_req_mem[w])
    if sch.req_cpu[w] == 0 and sch.req_mem[w] == 0:  # BalancedAllocation skips best-effort pods (#129138)
        return least * WEIGHT_LEAST_ALLOCATED
    balanced = balanced_allocation(cap_c, cap_m, pl.alloc_cpu[nodes] + sch.req_cpu[w],
                                   pl.alloc_mem[nodes] + sch.req_mem[w])
    return least * WEIGHT_LEAST_ALLOCATED + balanced * WEIGHT_BALANCED_ALLOCATION


def resource_score_of(sch: Scheduler, pl: Placement, w: int, n: int) -> int:
    """:func:`resource_scores` of one node in Python integers and floats (the same IEEE
    operations, so the same numbers)."""
    cap_c, cap_m = sch.cap_cpu_list[n], sch.cap_mem_list[n]
    alloc_c, alloc_m, _, nonzero_c, nonzero_m = pl.load[n]
    req_c, req_m = nonzero_c + sch.nonzero_req_cpu[w], nonzero_m + sch.nonzero_req_mem[w]
    least = ((0 if req_c > cap_c else (cap_c - req_c) * MAX_NODE_SCORE // cap_c)
             + (0 if req_m > cap_m else (cap_m - req_m) * MAX_NODE_SCORE // cap_m)) // 2
    if sch.req_cpu[w] == 0 and sch.req_mem[w] == 0:
        return least * WEIGHT_LEAST_ALLOCATED
    frac_c = min((alloc_c + sch.req_cpu[w]) / cap_c, 1.0)
    frac_m = min((alloc_m + sch.req_mem[w]) / cap_m, 1.0)
    balanced = int((1 - abs((frac_c - frac_m) / 2)) * MAX_NODE_SCORE)
    return least * WEIGHT_LEAST_ALLOCATED + balanced * WEIGHT_BALANCED_ALLOCATION


def fit_and_score_of(sch: Scheduler, pl: Placement, w: int, n: int) -> tuple[bool, int]:
    """Fit and resource score of one more pod of ``w`` on node ``n``, memoised by the node's
    capacity and load (the same loads recur across scheduling cycles and histories)."""
    key = (sch.req_class[w], sch.capacity_id[n], pl.load[n])
    hit = sch.score_memo.get(key)
    if hit is None:
        if len(sch.score_memo) >= SCORE_MEMO_SIZE:
            sch.score_memo.clear()
        hit = sch.score_memo[key] = (sch.fits_on(pl, w, n), resource_score_of(sch, pl, w, n))
    return hit


def refresh_class(sch: Scheduler, pl: Placement, w: int, nodes: np.ndarray) -> None:
    """Bring the memoised fit and resource score of ``w``'s request class up to date on
    ``nodes`` (a mask): the nodes whose load changed since are computed again."""
    k = sch.req_class[w]
    fit, res, valid = pl.fit_cache[k], pl.res_cache[k], pl.res_valid[k]
    stale = (nodes > valid).nonzero()[0]
    if stale.size > SCALAR_REFRESH:
        fit[stale] = sch.fits(pl, w, stale)
        res[stale] = resource_scores(sch, pl, w, stale)
    elif stale.size:  # a few nodes: Python arithmetic beats numpy's per-call cost
        for n in stale.tolist():
            fit[n], res[n] = fit_and_score_of(sch, pl, w, n)
    valid[stale] = True


def refresh_scores(sch: Scheduler, pl: Placement) -> None:
    """Bring every request class up to date on every worker, so that the copies made of
    ``pl`` (each history starts from the initial placement) start warm."""
    for w in {sch.req_class[w]: w for w in range(len(sch.workloads))}.values():
        refresh_class(sch, pl, w, sch.is_worker)


def pick(sch: Scheduler, pl: Placement, pod: int, rng: np.random.Generator, only: int | None = None,
         scope: int = -1) -> int:
    """The node the scheduler binds ``pod`` to, or -1 (Pending); nothing is bound.

    ``only`` pins a DaemonSet pod to its node; ``scope`` (a domain index) keeps a
    StatefulSet pod next to its volume."""
    if only is not None:  # DaemonSet pod: its own node only (the same tests, on that node)
        fits = pl.usable[only] and sch.fits_on(pl, sch.pod_workload[pod], only) \
            and (scope < 0 or sch.scope_mask(scope)[only])
        return int(only) if fits else -1
    return BatchPlacer(sch, pl, sch.pod_workload[pod], scope).choose(rng)


class BatchPlacer:
    """Filter and score state of one workload (and volume scope) between its binds."""

    def __init__(self, sch: Scheduler, pl: Placement, w: int, scope: int = -1):
        self.sch, self.pl, self.w = sch, pl, w
        static = pl.usable | pl.cp_usable if sch.tolerates_cp[w] else pl.usable  # Scheduler.schedulable
        if scope >= 0:
            static = static & sch.scope_mask(scope)
        self.static = static
        # Resource fit and score of this request class, memoised in the placement: refresh
        # the usable nodes whose load changed since (live views: bound() keeps them current);
        # a node the filters exclude anyway is refreshed once it is usable again.
        k = sch.req_class[w]
        refresh_class(sch, pl, w, static)
        self.fit, self.res, self.valid = pl.fit_cache[k], pl.res_cache[k], pl.res_valid[k]
        self.counts_w = pl.counts[w, :sch.n_nodes]  # live views: bind() updates them
        self.windowed = sch.feasible_to_find < sch.n_nodes
        ok = self.fit & static
        # PodTopologySpread filter (DoNotSchedule): counts per domain over the included nodes.
        spread = sch.workloads[w].spread
        self.hard = spread is not None and spread.when_unsatisfiable == "DoNotSchedule"
        if self.hard:
            self.skew = spread.max_skew
            self.dom = sch.level_of_node[spread.over]
            self.dom_nodes = sch.domain_nodes[spread.over]
            self.honor = spread.node_taints_policy == "Honor"
            self.dom_counts = self._domain_counts(spread.over, self.honor)
            if self.honor:
                self.eligible = np.zeros(sch.level_size[spread.over], dtype=bool)
                self.eligible[self.dom[pl.usable]] = True
            elif sch.any_standby and pl.present is not None and not pl.present.all():  # every domain with a node counts
                self.eligible = np.zeros(sch.level_size[spread.over], dtype=bool)
                self.eligible[self.dom[pl.present]] = True
            else:
                self.eligible = None
            self._find_min()
            ok &= (self.dom_counts <= self.min + self.skew - 1)[self.dom]
        self.ok = ok
        #: InterPodAffinity (``affinity.py``): filter and score computed afresh each cycle from
        #: the bound pods, for the few workloads a term concerns.
        self.affinity = sch.affinity if sch.affinity.active[w] else None
        # PodTopologySpread score (ScheduleAnyway constraints or the system defaults).
        self.soft = []  # (node -> domain or None for hostname, counts per domain, maxSkew, counts kept here?)
        for level, skew, honor in sch.soft_spread[w]:
            if level == "hostname":
                self.soft.append((None, None, skew, False))
            else:
                counts = self._domain_counts(level, honor)
                self.soft.append((sch.level_of_node[level], counts, skew, honor))

    # -- state ---------------------------------------------------------------------------
    def _domain_counts(self, level: str, honor: bool) -> np.ndarray:
        """Matching pods per domain of ``level``: a live view of the placement's counts, or,
        honouring taints, a count of the untainted nodes' pods only (kept here)."""
        if not honor:
            return self.pl.counts[self.w, self.sch.count_slice[level]]
        counts = self.counts_w * self.pl.usable
        return np.bincount(self.sch.level_of_node[level], weights=counts,
                           minlength=self.sch.level_size[level]).astype(np.int64)

    def _eligible_counts(self):
        """The eligible domains' counts: a list when there are few (Python's min and count
        beat numpy's per-call cost), an array when there are many (servers, say)."""
        counts = self.dom_counts if self.eligible is None else self.dom_counts[self.eligible]
        return counts.tolist() if counts.size <= SHORT_LIST else counts

    def _find_min(self) -> None:
        """The minimum count over the eligible domains (how many domains hold it is counted
        when a bind needs it)."""
        counts = self._eligible_counts()
        if not len(counts):
            self.min = 0
        else:
            self.min = min(counts) if isinstance(counts, list) else int(counts.min())
        self.at_min = None

    def _count_at_min(self) -> int:
        counts = self._eligible_counts()
        return counts.count(self.min) if isinstance(counts, list) else int(np.count_nonzero(counts == self.min))

    def bound(self, n: int) -> None:
        """A pod of this workload was just bound to node ``n`` (``Scheduler.bind`` updated the
        counts it keeps): update what else that changes."""
        fits, self.res[n] = fit_and_score_of(self.sch, self.pl, self.w, n)
        self.fit[n] = fits
        self.valid[n] = True
        fits = fits and bool(self.static[n])
        for dom, counts, _, own in self.soft:
            if own:
                counts[dom[n]] += 1
        if not self.hard:
            self.ok[n] = fits
            return
        d = self.dom[n]
        if self.honor:
            self.dom_counts[d] += 1
        low = self.min
        if self.dom_counts[d] - 1 == low:  # the bound node's domain was one of those at the minimum
            if self.at_min is None:
                self.at_min = self._count_at_min() + 1  # counted after the bind: it left the minimum
            self.at_min -= 1
            if not self.at_min:
                self._find_min()
        if self.min != low:  # the minimum rose: every domain may take more
            low = self.min
            self.ok = self.fit & self.static & (self.dom_counts <= low + self.skew - 1)[self.dom]
        else:
            self.ok[n] = fits
            if self.dom_counts[d] + 1 - low > self.skew:  # the bound node's domain is full
                self.ok[self.dom_nodes[d]] = False

    # -- one cycle -------------------------------------------------------------------------
    def candidates(self, ok: np.ndarray | None = None) -> np.ndarray:
        """The feasible nodes (``ok``, by default the placer's) this cycle scores, in scan order,
        advancing the scan start."""
        sch, pl = self.sch, self.pl
        if ok is None:
            ok = self.ok
        if not self.windowed:
            return ok.nonzero()[0]
        n_all, want = sch.n_nodes, sch.feasible_to_find
        pos = ok[sch.order].nonzero()[0]
        if pos.size <= want:  # every node examined: the scan start stays
            return sch.order[pos]
        start = pl.next_start
        first = int(np.searchsorted(pos, start))
        window = np.take(pos, np.arange(first, first + want), mode="wrap")
        pl.next_start = (start + (int(window[-1]) - start) % n_all + 1) % n_all
        return sch.order[window]

    def spread_scores(self, cand: np.ndarray) -> np.ndarray:
        """PodTopologySpread's normalised score of each candidate (``podtopologyspread/scoring.go``)."""
        raw = None
        for dom, counts, skew, _ in self.soft:
            if dom is None:  # hostname: the node's own pods, weighted by the candidate count
                term = self.counts_w[cand] * math.log(cand.size + 2) + (skew - 1)
            else:
                where = dom[cand]
                term = counts[where] * math.log(len(set(where.tolist())) + 2) + (skew - 1)
            raw = term if raw is None else raw + term
        # math.Round (half away from zero) of non-negative scores; a score never sits within
        # an ulp of a half (the weights are logarithms), where floor(x + 0.5) could differ.
        return normalize_spread(np.floor(raw + 0.5).astype(np.int64))

    def choose(self, rng: np.random.Generator) -> int:
        """The node this cycle binds the next pod to (-1: it stays Pending)."""
        aff = self.affinity
        if aff is None and not self.windowed:  # every feasible node, in node order (candidates(), inlined)
            cand = self.ok.nonzero()[0]
        else:
            cand = self.candidates(self.ok if aff is None else self.ok & aff.filter(self.pl.aff, self.w))
        if cand.size <= 1:  # one feasible node: no scoring (schedulePod)
            return int(cand[0]) if cand.size else -1
        total = self.res[cand]
        if self.soft:
            total = total + WEIGHT_POD_TOPOLOGY_SPREAD * self.spread_scores(cand)
        if aff is not None:
            inter = aff.scores(self.pl.aff, self.w, cand)
            if inter is not None:
                total = total + WEIGHT_INTER_POD_AFFINITY * inter
        if total.size > SHORT_LIST:
            best = (total == total.max()).nonzero()[0].tolist()
            return int(cand[best[0] if len(best) == 1 else best[int(rng.random() * len(best))]])
        # a few dozen numbers: Python's max, count and index beat numpy's per-call cost
        scores = total.tolist()
        top = max(scores)
        ties = scores.count(top)
        i = scores.index(top)
        if ties > 1:  # the drawn one of the tied candidates, in scan order
            for _ in range(int(rng.random() * ties)):
                i = scores.index(top, i + 1)
        return int(cand[i])
