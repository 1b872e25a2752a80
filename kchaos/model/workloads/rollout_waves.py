"""Deployment rollouts as the Deployment controller runs them: RollingUpdate waves.

:func:`rolling_update` replays ``pkg/controller/deployment/rolling.go`` for one Deployment:
the new ReplicaSet is scaled up while all pods stay within ``replicas + maxSurge``
(``NewRSNewReplicas``), the old one down while ``replicas - maxUnavailable`` pods stay
available (``reconcileOldReplicaSets``, ``scaleDownOldReplicaSetsForRollingUpdate``), and
the controller syncs again whenever a count changes, so each step happens at once and
the rollout advances as new pods turn Ready (``podStartup`` after their creation).
Surge pods must fit: only as many as the cluster has room for are created (the others
stay Pending and count as unavailable). With no room and ``maxUnavailable`` 0 the rollout
cannot progress (the Deployment exceeds its progress deadline) and nothing changes.

:class:`RolloutWaves` applies the timeline in the engine: during a rollout the workload
has ``replicas - ready`` fewer ready pods than its placement shows (the placement itself
is redone at once by :func:`~.fresh_start.redeploy`).
"""

from __future__ import annotations

import numpy as np

from ..cluster_model import ClusterModel
from ..timers import ROLLOUT_WAVE, Timers


def rolling_update(replicas: int, surge: int, unavailable: int, startup: float,
                   room: int | None = None) -> list[tuple[float, int]] | None:
    """The ready replicas over a RollingUpdate, as (seconds from its start, ready from then
    on), ending with ``replicas`` ready; None when the rollout cannot progress. ``room``: how
    many pods beyond the running ones fit in the cluster (None: any number)."""
    r = replicas
    old, new_ready = r, 0
    new_starting: list[float] = []  # ready times of new pods that fit
    new_pending = 0  # new pods that do not fit (Pending): unavailable for ever
    free = r + surge if room is None else room  # spare pod slots: surge pods that can be placed
    t = 0.0
    steps: list[tuple[float, int]] = []
    for _ in range(10 * r + 10):
        changed = True
        while changed:  # the controller syncs until nothing changes (each change triggers a sync)
            changed = False
            placed = min(new_pending, free)  # Pending new pods take the room old ones left
            if placed > 0:
                new_pending -= placed
                free -= placed
                new_starting += [t + startup] * placed
                changed = True
            new_total = new_ready + len(new_starting) + new_pending
            scale_up = min(r + surge - (old + new_total), r - new_total)
            if scale_up > 0:
                fits = max(0, min(scale_up, free))
                free -= fits
                new_starting += [t + startup] * fits
                new_pending += scale_up - fits
                changed = True
            new_total = new_ready + len(new_starting) + new_pending
            unavailable_new = new_total - new_ready
            available = old + new_ready
            down = min(old + new_total - (r - unavailable) - unavailable_new, available - (r - unavailable), old)
            if down > 0:
                old -= down
                free += down  # the old pods' slots free up for new pods
                changed = True
        steps.append((t, old + new_ready))
        if new_ready == r and old == 0:
            break
        if not new_starting:
            return None  # stuck: nothing starting, nothing more may be created or removed
        t = min(new_starting)
        new_ready += sum(1 for x in new_starting if x == t)
        new_starting = [x for x in new_starting if x != t]
    # Keep only the changes of the ready count.
    out: list[tuple[float, int]] = []
    for when, ready in steps:
        if out and out[-1][1] == ready:
            continue
        if out and out[-1][0] == when:
            out[-1] = (when, ready)
        else:
            out.append((when, ready))
    return out


class RolloutWaves:
    """The ready-replica shortfall of each Deployment while its rollout runs."""

    def __init__(self, model: ClusterModel, timers: Timers, work, stats):
        self.m, self.c = model, model.cluster
        self.timers, self.work, self.stats = timers, work, stats
        self.deployments = [w for w, wl in enumerate(self.c.workloads) if wl.kind == "Deployment"]
        self.epoch = [0] * len(self.c.workloads)
        self.timelines: dict[int, list[tuple[float, int]]] = {}
        self.cache: dict[tuple[int, int, int], list[tuple[float, int]] | None] = {}

    def cancel(self, w: int) -> None:
        """``w``'s rollout stops where it is (a bad release): its remaining waves are dropped."""
        self.epoch[w] += 1

    def start(self, t: float, workloads: list[int] | None = None) -> frozenset[int]:
        """Every Deployment (or those in ``workloads``) starts a rollout at ``t``; returns those
        whose rollout cannot progress."""
        startup = self.c.kubernetes.pod_startup
        sch, pl = self.m.scheduler, self.work.pl
        # Free resources of the nodes Deployment pods may use (workers; control-plane nodes too for
        # those that tolerate their taint), once for each kind of Deployment.
        stuck: list[int] = []
        frees: dict[bool, tuple] = {}
        for w in self.deployments if workloads is None else workloads:
            tolerant = sch.tolerates_cp[w]
            if tolerant not in frees:
                usable = sch.schedulable(pl, w)
                frees[tolerant] = (sch.cap_cpu[usable] - pl.alloc_cpu[usable],
                                   sch.cap_mem[usable] - pl.alloc_mem[usable], sch.cap_pods[usable] - pl.alloc_pods[usable])
            free = frees[tolerant]
            wl = self.c.workloads[w]
            r = self.m.workload_desired[w]
            surge, unavailable = wl.rolling_update()
            room = min(surge, self.room(w, free)) if surge else 0
            key = (r, room, unavailable)
            if key not in self.cache:
                self.cache[key] = rolling_update(r, room, unavailable, startup, room=room)
            timeline = self.cache[key]
            self.stats.rollouts += 1
            if timeline is None:
                self.stats.rollouts_stuck += 1
                stuck.append(w)
                continue
            if len(timeline) == 1:
                continue  # the ready count never moves: nothing to play
            self.epoch[w] += 1
            self.timelines[w] = timeline
            for i, (when, _) in enumerate(timeline):
                self.timers.push(t + when, ROLLOUT_WAVE, w, self.epoch[w] * 1024 + i)
        return frozenset(stuck)

    def on_wave(self, t: float, w: int, token: int) -> None:
        epoch, i = divmod(token, 1024)
        if epoch != self.epoch[w]:
            return
        ready = self.timelines[w][i][1]
        self.work.set_rollout_short(t, w, self.m.workload_desired[w] - ready)

    def room(self, w: int, free: tuple[np.ndarray, np.ndarray, np.ndarray]) -> int:
        """How many more pods of ``w`` fit on the schedulable workers (resources only), given
        their free cpu, memory and pod slots."""
        sch = self.m.scheduler
        cpu, mem, pods = free
        if not pods.size:
            return 0
        per_node = np.minimum(np.minimum(cpu // max(1, sch.req_cpu[w]), mem // max(1, sch.req_mem[w])), pods)
        return int(np.maximum(per_node, 0).sum())


__all__ = ["rolling_update", "RolloutWaves"]
