"""Workloads that need other workloads: up only while each dependency is up.

A web front end whose pods all run is still down while the database it queries is (or while
no DNS answers it: every workload depends on the cluster's CoreDNS, see
:mod:`kchaos.topology.addons`). The workload controllers report each workload's *own* state
(ready pods against minAvailable); :class:`Dependencies` composes it with the state of the
workloads it depends on (``dependsOn``, transitively; the topology rejects loops) and hands
the recorder the workload's state as its users see it. The attribution asks
:meth:`Dependencies.root` which dependency is to blame.
"""

from __future__ import annotations

from ..cluster_model import ClusterModel


class Dependencies:
    """Each workload's state as its users see it: its own state and its dependencies'."""

    def __init__(self, model: ClusterModel, report):
        n = len(model.cluster.workloads)
        self.needs = model.workload_needs
        needed_by: list[list[int]] = [[] for _ in range(n)]
        for w, deps in enumerate(self.needs):
            for d in deps:
                needed_by[d].append(w)
        self.needed_by = [tuple(x) for x in needed_by]
        self.report = report  # Recorder.workload_state
        self.own_down = [False] * n
        self.down = [False] * n
        #: Moves whenever some workload's composed state changes (the attribution's cache key).
        self.version = 0

    def own_state(self, t: float, w: int, down: bool) -> None:
        """Workload ``w``'s own pods put it below (or back above) minAvailable at ``t``."""
        self.own_down[w] = down
        self._update(t, w)

    def _update(self, t: float, w: int) -> None:
        down = self.own_down[w]
        if not down:
            for d in self.needs[w]:
                if self.down[d]:
                    down = True
                    break
        if down != self.down[w]:
            self.down[w] = down
            self.version += 1
            self.report(t, w, down)
            for user in self.needed_by[w]:
                self._update(t, user)

    def root(self, w: int) -> int | None:
        """The dependency to blame while ``w`` is down with its own pods up: the first down
        dependency, followed down to one that is down on its own (None: ``w`` itself is)."""
        if self.own_down[w]:
            return None
        for d in self.needs[w]:
            if self.down[d]:
                deeper = self.root(d)
                return d if deeper is None else deeper
        return None
