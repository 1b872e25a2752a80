"""The event log a what-if scenario attaches to a history (``kubectl get events``).

Components hold ``log`` as either an :class:`EventLog` or ``None`` (the Monte Carlo
path) and write to it only when it is there, so the log never changes what happens.
It also keeps readable pod names: a Deployment replacement gets a new name, a
StatefulSet or DaemonSet pod keeps its own.
"""

from __future__ import annotations

from .cluster_model import ClusterModel


class EventLog:
    """Appends ``(time, type, reason, object, message)`` tuples to ``events``."""

    def __init__(self, model: ClusterModel, events: list):
        self.m = model
        self.events = events
        self.pod_names: list[str] | None = None
        self.pod_counter: dict[int, int] = {}  # workload -> pods named so far

    def note(self, t: float, type_: str, reason: str, obj: str, message: str) -> None:
        self.events.append((t, type_, reason, obj, message))

    def pod_name(self, p: int) -> str:
        if self.pod_names is None:
            self.pod_names = self.m.initial_pod_names()
        return self.pod_names[p]

    def pod_ref(self, p: int) -> str:
        """``namespace/name`` (CoreDNS lives in kube-system)."""
        return f"{self.m.cluster.workloads[self.m.pod_workload[p]].namespace}/{self.pod_name(p)}"

    def renamed(self, p: int) -> str:
        """The name of the pod that replaces ``p``: new for a Deployment, the same otherwise."""
        m = self.m
        if not m.is_stateful[p] and not m.is_daemon[p]:
            self.pod_name(p)
            w = m.pod_workload[p]
            self.pod_counter[w] = self.pod_counter.get(w, m.workload_desired[w]) + 1
            self.pod_names[p] = f"{m.cluster.workloads[w].name}-{self.pod_counter[w] - 1}"
        return self.pod_name(p)
