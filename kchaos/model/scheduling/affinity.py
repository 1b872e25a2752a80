"""Pod (anti-)affinity as kube-scheduler's InterPodAffinity plugin applies it.

Sources (kubernetes/kubernetes ``pkg/scheduler/framework/plugins/interpodaffinity``):

- Filter (``filtering.go``): a node is rejected when a pod matching one of the incoming pod's
  required anti-affinity terms runs in the node's domain of that term's topology key
  (``satisfyPodAntiAffinity``); when a pod whose own required anti-affinity term matches the
  incoming pod runs there (``satisfyExistingPodsAntiAffinity``, the symmetry); and when, for
  some required affinity term, no pod matching *all* the incoming pod's affinity terms runs
  in the node's domain (``satisfyPodAffinity``), unless no such pod runs anywhere and the
  incoming pod matches its own terms (the first pod of a series with affinity to itself).
- Score (``scoring.go``): per topology domain, + weight for each pod matching a preferred
  affinity term of the incoming pod, - weight for a preferred anti-affinity term; and the
  symmetric terms of the pods already running: + ``hardPodAffinityWeight`` (1) for each of
  their required affinity terms the incoming pod matches, +/- weight for their preferred
  ones. A node scores the sum over its domains; ``NormalizeScore`` maps the candidates to
  ``100 x (s - min) / (max - min)`` (all 0 when they are equal), and the plugin weighs 2 in
  the default profile (``apis/config/v1/default_plugins.go``).

Every pod bound counts, wherever its node is and whatever its state, Terminating ones included
(the plugin reads every pod of the scheduler's cache); a Deployment pod evicted from a dead node
is counted gone, as the model removes it. A term's ``workloads`` stand for its label selector:
a pod matches when it belongs to one of them. Nothing here turns a term into a spread rule:
anti-affinity only forbids the domains where matching pods run, whatever other domains hold.
"""

from __future__ import annotations

import numpy as np

#: pkg/scheduler/apis/config/v1/default_plugins.go: InterPodAffinity's score weight.
WEIGHT_INTER_POD_AFFINITY = 2
#: pkg/scheduler/apis/config/v1/defaults.go: DefaultHardPodAffinitySymmetricWeight.
HARD_POD_AFFINITY_WEIGHT = 1
MAX_NODE_SCORE = 100


class AffinityIndex:
    """Per workload, the terms its pods meet when they are scheduled (its own and the symmetric
    ones of other workloads' pods), over the cluster's nodes. Immutable."""

    def __init__(self, workloads, level_of_node: dict[str, np.ndarray], n_nodes: int):
        index = {wl.name: w for w, wl in enumerate(workloads)}
        n = len(workloads)
        self.n_nodes = n_nodes
        #: Per workload: [(level, selected workloads)] of required anti-affinity, own and symmetric.
        self.anti: list[list[tuple[str, tuple[int, ...]]]] = [[] for _ in range(n)]
        self.own_anti: list[list[tuple[str, tuple[int, ...]]]] = [[] for _ in range(n)]  # its own terms only
        #: Per workload: its required affinity terms' levels, and the workloads matching all of them.
        self.aff_levels: list[tuple[str, ...]] = [() for _ in range(n)]
        self.aff_all: list[tuple[int, ...]] = [() for _ in range(n)]
        self.aff_self: list[bool] = [False] * n
        #: Per workload: [(level, selected workloads, signed weight)] that score its candidates.
        self.score: list[list[tuple[str, tuple[int, ...], int]]] = [[] for _ in range(n)]
        for w, wl in enumerate(workloads):
            for term in wl.anti_affinity:
                sel = tuple(sorted(index[x] for x in term.workloads))
                if term.required:
                    self._add(self.anti[w], (term.over, sel))
                    self._add(self.own_anti[w], (term.over, sel))
                    for v in sel:  # a pod of v may not land where a pod of w runs
                        self._add(self.anti[v], (term.over, (w,)))
                else:
                    self.score[w].append((term.over, sel, -term.weight))
                    for v in sel:
                        self.score[v].append((term.over, (w,), -term.weight))
            required = [t for t in wl.affinity if t.required]
            if required:
                sets = [set(index[x] for x in t.workloads) for t in required]
                self.aff_levels[w] = tuple(t.over for t in required)
                self.aff_all[w] = tuple(sorted(set.intersection(*sets)))
                self.aff_self[w] = w in self.aff_all[w]
                for t in required:
                    for v in sorted(set(index[x] for x in t.workloads)):
                        self.score[v].append((t.over, (w,), HARD_POD_AFFINITY_WEIGHT))
            for t in wl.affinity:
                if not t.required:
                    sel = tuple(sorted(index[x] for x in t.workloads))
                    self.score[w].append((t.over, sel, t.weight))
                    for v in sel:
                        self.score[v].append((t.over, (w,), t.weight))
        self.active = [bool(self.anti[w] or self.aff_levels[w] or self.score[w]) for w in range(n)]
        #: Per workload, the workloads whose pods moving can change where its pods may go.
        self.related: list[frozenset[int]] = [frozenset(
            {v for _, sel in self.anti[w] for v in sel} | set(self.aff_all[w])
            | {v for _, sel, _ in self.score[w] for v in sel}) for w in range(n)]
        levels = sorted({lv for w in range(n) for lv, _ in self.anti[w]} | {lv for ls in self.aff_levels for lv in ls}
                        | {lv for w in range(n) for lv, _, _ in self.score[w]})
        #: Per level: each node's domain position, and the count columns of that level.
        self.dom: dict[str, np.ndarray] = {lv: (np.arange(n_nodes) if lv == "host" else level_of_node[lv])
                                           for lv in levels}
        self.slice: dict[str, slice] = {}
        start = 0
        for lv in levels:
            size = n_nodes if lv == "host" else int(level_of_node[lv].max()) + 1 if n_nodes else 0
            self.slice[lv] = slice(start, start + size)
            start += size
        self.n_columns = start
        #: Per node, the count columns a pod on it adds to.
        self.columns = [[self.slice[lv].start + int(self.dom[lv][node]) for lv in levels] for node in range(n_nodes)]
        self.any = any(self.active)
        #: Per workload, whether some term selects its pods: only those rows of the counts are read,
        #: so only their pods are counted on bind and unbind.
        selected = {v for w in range(n) for _, sel in self.anti[w] for v in sel} | {
            v for w in range(n) for v in self.aff_all[w]} | {v for w in range(n) for _, sel, _ in self.score[w] for v in sel}
        self.counted = [w in selected for w in range(n)]

    @staticmethod
    def _add(terms: list, term: tuple) -> None:
        if term not in terms:
            terms.append(term)

    def empty_counts(self, n_workloads: int) -> np.ndarray:
        return np.zeros((n_workloads, self.n_columns if self.any else 0), dtype=np.int64)

    def count(self, counts: np.ndarray, w: int, node: int, delta: int) -> None:
        """A pod of ``w`` was bound to (``delta`` 1) or left (-1) ``node`` (only with terms)."""
        row = counts[w]
        for column in self.columns[node]:
            row[column] += delta

    def _per_node(self, counts: np.ndarray, level: str, workloads: tuple[int, ...]) -> np.ndarray:
        """Matching pods in each node's domain of ``level``."""
        per_domain = counts[list(workloads), self.slice[level]].sum(axis=0)
        return per_domain[self.dom[level]]

    def anti_ok(self, counts: np.ndarray, w: int, own: bool = False) -> np.ndarray:
        """Nodes where no required anti-affinity term (its own or a running pod's; ``own``: its
        own only) forbids ``w``."""
        ok = np.ones(self.n_nodes, dtype=bool)
        for level, sel in (self.own_anti if own else self.anti)[w]:
            ok &= self._per_node(counts, level, sel) == 0
        return ok

    def affinity_ok(self, counts: np.ndarray, w: int) -> np.ndarray:
        """Nodes that meet every required affinity term of ``w``."""
        ok = np.ones(self.n_nodes, dtype=bool)
        levels, sel = self.aff_levels[w], self.aff_all[w]
        if not levels:
            return ok
        if not sel or counts[list(sel), self.slice[levels[0]]].sum() == 0:
            # No pod matches all the terms anywhere: only a pod matching its own terms may start the series.
            ok[:] = self.aff_self[w]
            return ok
        for level in levels:
            ok &= self._per_node(counts, level, sel) > 0
        return ok

    def filter(self, counts: np.ndarray, w: int) -> np.ndarray:
        return self.anti_ok(counts, w) & self.affinity_ok(counts, w)

    def scores(self, counts: np.ndarray, w: int, cand: np.ndarray) -> np.ndarray | None:
        """The normalised InterPodAffinity score of each candidate (None: no term scores ``w``)."""
        terms = self.score[w]
        if not terms:
            return None
        raw = np.zeros(cand.size, dtype=np.int64)
        for level, sel, weight in terms:
            raw += weight * self._per_node(counts, level, sel)[cand]
        low, high = int(raw.min()), int(raw.max())
        if high == low:
            return np.zeros(cand.size, dtype=np.int64)
        # float64 then truncated to int64, as NormalizeScore does
        return (MAX_NODE_SCORE * ((raw - low) / float(high - low))).astype(np.int64)
