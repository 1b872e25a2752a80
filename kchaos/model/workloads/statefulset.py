"""The StatefulSet controller's ordering: ``podManagementPolicy`` OrderedReady.

Upstream (``pkg/controller/statefulset/stateful_set_control.go``, ``updateStatefulSet`` and
``processReplica``) walks the replicas in ordinal order and, with OrderedReady (the default),
stops at the first one that is not Running and Ready: a missing pod there is created, a
Terminating one is waited for, an unready one is waited for. So a missing pod is created only
once every lower ordinal is Running and Ready, one pod at a time. ``Parallel`` creates every
missing pod at once (``isParallel``), as the engine did for every StatefulSet.

The consequence this module exists for: ``db-0`` stuck Terminating on a node down for hours
keeps ``db-2``, whose own node came back after ten minutes, from being created again until
``db-0`` is back (its deletion completes when its node returns, then it starts), while
``Parallel`` restarts ``db-2`` at once.

A pod "absent" here is one whose deletion completed and that the controller has not created
again yet: neither bound nor Pending.
"""

from __future__ import annotations


class OrderedReady:
    """Pods of OrderedReady StatefulSets waiting to be created, and the walk that creates them."""

    def __init__(self, work):
        self.work = work
        m = work.m
        self.ordered = [wl.kind == "StatefulSet" and wl.pod_management == "OrderedReady"
                        for wl in m.cluster.workloads]
        self.absent: set[int] = set()
        self.waiting = [0] * len(self.ordered)  # absent pods per workload

    def deleted(self, t: float, p: int) -> bool:
        """``p``'s deletion completed: True when the caller is to create it again at once
        (Parallel); with OrderedReady it waits here, and the walk creates it when its turn comes."""
        w = self.work.m.pod_workload[p]
        if not self.ordered[w]:
            return True
        self.absent.add(p)
        self.waiting[w] += 1
        self.walk(t, w)
        return False

    def walk(self, t: float, w: int) -> None:
        """``processReplica`` in ordinal order: create the first missing pod if every pod below
        it is Running and Ready; otherwise wait for the first one that is not."""
        work = self.work
        for p in work.m.workload_pods[w]:
            if p in self.absent:
                self.absent.discard(p)
                self.waiting[w] -= 1
                work.created(t, p)
                return
            if work.terminating[p] or not work.ready[p]:
                if work.log is not None and self.waiting[w]:
                    self._note_wait(t, w, p)
                return

    def pod_ready(self, t: float, w: int) -> None:
        """A pod of ``w`` turned Running and Ready: the next missing one may be created."""
        if self.waiting[w]:
            self.walk(t, w)

    def _note_wait(self, t: float, w: int, blocker: int) -> None:
        work = self.work
        log, name = work.log, work.c.workloads[w].name
        waiting = ", ".join(log.pod_name(p) for p in work.m.workload_pods[w] if p in self.absent)
        state = "Terminating" if work.terminating[blocker] else "not Running and Ready"
        log.note(t, "Normal", "WaitingForOrdinal", f"statefulset/{name}",
                 f"podManagementPolicy OrderedReady: {waiting} not created while {log.pod_name(blocker)} is {state}")
