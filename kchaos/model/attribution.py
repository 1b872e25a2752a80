"""Why the API and each workload are down: one cause at a time, from the cluster's state.

Once per instant in which something is down, :class:`Attribution` names the cause of each
down quantity and hands it to the recorder, which splits the down time by cause (so the
causes of a quantity add up to its down time by construction).

The API: quorum lost (naming the kinds of the failure instances that took members down,
"overlapping" when several did), a region-link partition, a leader election with quorum
held, or no apiserver reaching the quorum.

A workload: the *trigger* is the failure instances now down under the nodes its missing
pods sit on (for a Pending replacement, its pod's initial node): one (``datacenter
outage``), several (``overlapping failures``), or none (after the repair). The *mechanism*
is what keeps the pods from coming back: the API down, kube-controller-manager or
kube-scheduler failing over their leases, replacements Pending (capacity, spread, volume
scope: kube-scheduler's own reasons), or the recovery chain (NotReady, eviction, start-up).
"""

from __future__ import annotations

from .cluster_model import ClusterModel

#: Broad to narrow, for naming overlapping failures in a steady order.
KIND_ORDER = ("region", "regionLink", "datacenter", "rack", "server", "node")


def outage(kind: str) -> str:
    """``datacenter outage``; a region link's is a ``region-link partition``."""
    return "region-link partition" if kind == "regionLink" else f"{kind} outage"


def overlapping(kinds: list[str]) -> str:
    """``overlapping server failures``, ``overlapping failures (datacenter + node)``."""
    distinct = sorted(set(kinds), key=KIND_ORDER.index)
    if len(distinct) == 1:
        return f"overlapping {distinct[0]} failures"
    return f"overlapping failures ({' + '.join(distinct)})"


class Attribution:
    """The cause of each down quantity, from the failure instances down and the components' state."""

    def __init__(self, model: ClusterModel, etcd, api, leases, work, recorder):
        self.m = model
        self.etcd, self.api, self.leases, self.work, self.rec = etcd, api, leases, work, recorder
        self.down: set[int] = set()  # failure instances down now
        self.kind = [d.kind for d in model.cluster.domains]
        self.nodes_of = {d: frozenset(nodes) for d, nodes in model.nodes_under.items()}
        self.members = frozenset(model.member_nodes)
        self.down_version = 0
        #: Per workload: (the state its cause was named in, the cause). Most instants change
        #: nothing a cause depends on, so the cause is named again only when that state moves.
        self.named: dict[int, tuple[tuple, str]] = {}

    def domain(self, d: int, down: bool) -> None:
        if down:
            self.down.add(d)
        else:
            self.down.discard(d)
        self.down_version += 1

    def refresh(self, t: float) -> None:
        """Something is down at the end of instant ``t``: name each cause."""
        rec = self.rec
        api = self.api_cause() if rec.api.down else None
        work = self.work
        causes = {}
        if rec.down_workloads:  # what every workload's cause depends on, once per instant
            shared = (self.down_version, self.api.api_ok, self.leases.controllers_ready, len(work.pending),
                      id(work.pl), int(work.pl.usable.sum()))
        for w in rec.down_workloads:
            state = (shared, work.ready_count[w])
            named = self.named.get(w)
            if named is None or named[0] != state:
                named = self.named[w] = (state, self.workload_cause(w))
            causes[w] = named[1]
        rec.causes(t, api, causes)

    def _hitting(self, nodes) -> list[int]:
        return [d for d in self.down if d in self.nodes_of and not self.nodes_of[d].isdisjoint(nodes)]

    def api_cause(self) -> str:
        if not self.etcd.quorum_held():
            hit = self._hitting(self.members)
            links = [d for d in self.down if self.kind[d] == "regionLink"]
            if links and not hit:
                return f"quorum loss: {outage('regionLink')}"
            if len(hit) == 1 and not links:
                return f"quorum loss: {outage(self.kind[hit[0]])}"
            return f"quorum loss: {overlapping([self.kind[d] for d in hit + links])}"
        if self.etcd.electing or self.etcd.leader < 0:
            return "leader election"
        return "no apiserver reaches the quorum"

    def workload_cause(self, w: int) -> str:
        m, work = self.m, self.work
        pl = work.pl
        missing = [p for p in m.workload_pods[w] if not work.ready[p]]
        nodes = {pl.pod_node[p] if pl.pod_node[p] >= 0 else m.baseline.pod_node[p] for p in missing}
        hit = self._hitting(nodes)
        if not self.api.api_ok:
            mechanism = "control plane down"
        elif not self.leases.controllers_ready:
            mechanism = "controller failover"
        else:
            pending = [p for p in missing if pl.pod_node[p] < 0 and p in work.pending]
            mechanism = "recovery chain"
            if pending:
                p = pending[0]
                mechanism = f"replacements Pending ({m.scheduler.blocking_filter(pl, p, work.scope[p])})"
        if len(hit) > 1:
            return overlapping([self.kind[d] for d in hit])
        if hit:
            return f"{outage(self.kind[hit[0]])}: {mechanism}"
        return mechanism
