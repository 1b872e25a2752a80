"""Why the API and each workload are down: one cause at a time, from the cluster's state.

Once per instant in which something is down, :class:`Attribution` names the cause of each
down quantity and hands it to the recorder, which splits the down time by cause (so the
causes of a quantity add up to its down time by construction).

The API: quorum lost (naming the kinds of the failure instances that took members down,
"overlapping" when several did), a region-link partition, a leader election with quorum
held, or no apiserver reaching the quorum.

A workload down while its own pods are up is down for a dependency (``dependsOn``, CoreDNS):
its cause is ``<the dependency's trigger>: dependency NAME down``. Otherwise the *trigger* is
the failure instances now down under the nodes its missing pods sit on (for a Pending replacement, its pod's initial node): one (``datacenter
outage``), several (``overlapping failures``), or none (after the repair). The *mechanism*
is what keeps the pods from coming back: the API down, kube-controller-manager or
kube-scheduler failing over their leases, replacements Pending (capacity, spread, volume
scope: kube-scheduler's own reasons), a StatefulSet pod not created again until a lower
ordinal is Ready (OrderedReady), a replacement waiting for a ReadWriteOnce volume still attached
to the old pod's node (Multi-Attach), or the recovery chain (NotReady, eviction, start-up).

A bad release (``rollouts.bad``) that alone takes a workload down is ``bad rollout``, and its
dependents' ``bad rollout: dependency NAME down``: change-induced, neither planned nor a failure
domain's. Planned disruption (a rolling-upgrade batch out, a Deployment's rollout wave) marks the
cause: ``planned: ...`` when no failure instance is down, ``during maintenance: ...`` when a
failure struck while it ran; the analysis adds these up as planned and overlap minutes.
"""

from __future__ import annotations

import numpy as np

from ..cluster_model import ClusterModel
from ..workloads.controllers import BROKEN

#: The cause of down time a bad release brings (rollouts.bad), not a failure domain's.
BAD_ROLLOUT = "bad rollout"
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

    def __init__(self, model: ClusterModel, etcd, api, leases, work, recorder, upgrades=None):
        self.m = model
        self.etcd, self.api, self.leases, self.work, self.rec = etcd, api, leases, work, recorder
        self.upgrades = upgrades
        self.down: set[int] = set()  # failure instances down now
        self.kind = [d.kind for d in model.cluster.domains]
        self.nodes_of = {d: frozenset(nodes) for d, nodes in model.nodes_under.items()}
        self.members = frozenset(model.member_nodes)
        self.down_version = 0
        #: Per workload: (the state its cause was named in, the Pending count it was named at,
        #: the cause's context, the cause). Most instants change nothing a cause depends on, so
        #: the cause is named again only when that state moves; when only other pods'
        #: scheduling moved, only a Pending pod's scheduler reason is looked at again.
        self.named: dict[int, tuple[tuple, int, tuple, str]] = {}

    def domain(self, d: int, down: bool) -> None:
        if down:
            self.down.add(d)
        else:
            self.down.discard(d)
        self.down_version += 1

    def refresh(self, t: float) -> None:
        """Something is down at the end of instant ``t``: name each cause."""
        rec = self.rec
        up = self.upgrades
        upgrading = up is not None and up.active
        # The API counts as under maintenance only while a control-plane node is out.
        api = self.api_cause(upgrading and not self.m.cp_nodes.isdisjoint(up.out)) if rec.api.down else None
        work = self.work
        causes = {}
        deps = work.deps
        if rec.down_workloads:  # what every workload's cause depends on, once per instant
            shared = (self.down_version, self.api.api_ok, self.leases.controllers_ready,
                      id(work.pl), int(np.count_nonzero(work.pl.usable)), up.out_version if up is not None else 0,
                      len(work.planned_loss), deps.version if deps is not None else 0)
        for w in rec.down_workloads:
            # Down while its own pods are up: a dependency is to blame, named by its own state.
            root = deps.root(w) if deps is not None else None
            x = w if root is None else root
            own = (shared, x, work.ready_count[x], work.rollout_short[x], work.pending_moves[x], work.bad_release[x])
            # A Pending pod's reason (capacity, spread) moves with every other pod placed.
            others = len(work.pending) if work.pending_of[x] else 0
            named = self.named.get(w)
            if named is None or named[0] != own:
                context = self._context(x, via=root is not None)
                named = self.named[w] = (own, others, context, self._compose(context))
            elif named[1] != others:
                context = named[2]
                named = self.named[w] = (own, others, context,
                                         self._compose(context) if context[2] >= 0 else named[3])
            causes[w] = named[3]
        rec.causes(t, api, causes)

    @staticmethod
    def marked(cause: str, planned: bool, failed: bool, what: str) -> str:
        """Planned work's share: ``planned: what: cause`` when it alone took the quantity down,
        ``during maintenance: cause`` when a failure struck while it ran."""
        if failed:
            return f"during maintenance: {cause}"
        return f"planned: {what}: {cause}" if planned else cause

    def _hitting(self, nodes) -> list[int]:
        return [d for d in self.down if d in self.nodes_of and not self.nodes_of[d].isdisjoint(nodes)]

    def api_cause(self, upgrading: bool = False) -> str:
        links = [d for d in self.down if self.kind[d] == "regionLink"]
        hit = self._hitting(self.members)
        if not self.etcd.quorum_held():
            if links and not hit:
                cause = f"quorum loss: {outage('regionLink')}"
            elif not hit:
                cause = "quorum loss: members stopped"
            elif len(hit) == 1 and not links:
                cause = f"quorum loss: {outage(self.kind[hit[0]])}"
            else:
                cause = f"quorum loss: {overlapping([self.kind[d] for d in hit + links])}"
        elif self.etcd.electing and self.etcd.election_cause == "leader-transfer":
            return "planned: etcd leader transfer"
        elif self.etcd.electing or self.etcd.leader < 0:
            cause = "leader election"
        else:
            cause = "no apiserver reaches the quorum"
        if not upgrading:
            return cause
        return self.marked(cause, True, bool(hit or links), "control-plane upgrade")

    def _context(self, w: int, via: bool = False) -> tuple[list[str], str, int, bool, bool, bool]:
        """What ``w``'s cause is made of: the kinds of the failure instances hitting its missing
        pods, the mechanism (empty: a Pending pod's scheduler reason, asked for when composed),
        that Pending pod (-1: none), whether an upgrade holds some of its pods out, whether a
        rollout wave runs, and whether it would be up but for the wave. ``via``: ``w`` is the
        dependency another workload is down for: the mechanism names it."""
        m, work = self.m, self.work
        if via:
            hit, mechanism, _, upgrade, rolling, up_but_for_wave = self._context(w)
            via_name = f"dependency {m.cluster.workloads[w].name} down"
            if mechanism == BAD_ROLLOUT:
                return [], f"{BAD_ROLLOUT}: {via_name}", -1, False, False, False
            return hit, via_name, -1, upgrade, rolling, up_but_for_wave
        if work.bad_release[w] and (work.bad_release[w] == BROKEN or work.ready_count[w] >= m.workload_required[w]):
            return [], BAD_ROLLOUT, -1, False, False, False  # down for the bad release alone
        pl = work.pl
        missing = [p for p in m.workload_pods[w] if not work.ready[p]]
        nodes = {pl.pod_node[p] if pl.pod_node[p] >= 0 else m.baseline.pod_node[p] for p in missing}
        hit = [self.kind[d] for d in self._hitting(nodes)]
        pending_pod = -1
        if not self.api.api_ok:
            mechanism = "control plane down"
        elif not self.leases.controllers_ready:
            mechanism = "controller failover"
        else:
            pending = [p for p in missing if pl.pod_node[p] < 0 and p in work.pending]
            mechanism = "recovery chain"
            if pending:
                pending_pod, mechanism = pending[0], ""
            elif work.ordered.waiting[w]:  # a pod not created again until a lower ordinal is Ready
                mechanism = "StatefulSet ordered restart (OrderedReady)"
            elif work.volumes is not None and work.volumes.waits(w):
                mechanism = "volume still attached to the old node (Multi-Attach)"
        # Planned work's part: pods a drain evicted or whose node is stopped for the upgrade,
        # or ready replicas a rollout wave takes away (the workload would be up without them).
        out = self.upgrades.out if self.upgrades is not None else ()
        upgrade = bool(work.planned_loss or out) and \
            any(p in work.planned_loss or pl.pod_node[p] in out for p in missing)
        return (hit, mechanism, pending_pod, upgrade, work.rollout_short[w] > 0,
                work.ready_count[w] >= m.workload_required[w])

    def _compose(self, context: tuple[list[str], str, int, bool, bool, bool]) -> str:
        hit, mechanism, p, upgrade, rolling, up_but_for_wave = context
        if p >= 0:
            work = self.work
            mechanism = f"replacements Pending ({self.m.scheduler.blocking_filter(work.pl, p, work.scope[p])})"
        via = mechanism.startswith("dependency ")  # the trigger is the dependency's, named after it
        if mechanism.startswith(BAD_ROLLOUT):
            return mechanism
        if len(hit) > 1:
            cause = f"{overlapping(hit)}: {mechanism}" if via else overlapping(hit)
        elif hit:
            cause = f"{outage(hit[0])}: {mechanism}"
        else:
            cause = mechanism
        if rolling:
            if hit:
                return f"during maintenance: {cause}"
            if up_but_for_wave:
                return f"planned: rollout wave: {mechanism}" if via else "planned: rollout wave"
        return self.marked(cause, upgrade, bool(hit) and upgrade, "node upgrade")
