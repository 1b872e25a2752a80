"""cluster-autoscaler: nodes added to an autoscaled pool when pods are unschedulable.

Sources: kubernetes/autoscaler ``cluster-autoscaler/FAQ.md`` ("How does scale-up work?",
"How fast is Cluster Autoscaler?", "How does scale-down work?", "How does CA deal with unready
nodes?", "What are the parameters to CA?") and ``cluster-autoscaler/config/flags``:

- Every ``--scan-interval`` (10 s) CA looks for pods the scheduler marked unschedulable and
  asks for as many nodes as a binpacking of those pods onto new nodes of the pool needs
  ("scale-up is considered up to 10 seconds after pod is marked as unschedulable"), never
  beyond the pool's ``max``; nodes it already asked for count as upcoming: pods that fit on
  them ask for nothing more. A node is Ready ``provisionDelay`` after the request: the cloud's
  and the kubelet's part ("on GCE it usually takes 3 to 4 minutes from CA request to when pods
  can be scheduled on newly created nodes": the default, 4 min, is the upper end).
- With more than ``--max-total-unready-percentage`` (45%) and ``--ok-total-unready-count``
  (3) of the nodes NotReady, CA does nothing until that improves.
- Scale-down (``--scale-down-enabled``, on by default): a node is removed once it has been
  unneeded for ``--scale-down-unneeded-time`` (10 min), not within
  ``--scale-down-delay-after-add`` (10 min) of a scale-up, and never below the pool's ``min``.

What kchaos simplifies, and says so in docs/model.md: the pool is one node group whose machines
may land in any of its zones (the zone with the fewest of its nodes first, as
``--balance-similar-node-groups`` keeps zonal groups even); a machine whose zone is down at the
request is not asked for, and one whose zone fails while it boots never joins. Only machines
the autoscaler added are removed again, and only once empty (their pods gone); the pool's own
nodes stay. With several autoscaled pools, the first in the file that helps grows (CA's default
``random`` expander picks among those at random). The autoscaler itself is taken to run and to
reach the API whenever the API accepts writes.
"""

from __future__ import annotations

import math

import numpy as np

from ..cluster_model import ClusterModel
from ..eventlog import EventLog
from ..scheduling.batch import schedule_pass
from ..scheduling.scheduler import Placement, placement_rng
from ..timers import AUTOSCALE_SCAN, NODE_PROVISIONED, SCALE_DOWN, Timers

#: cluster-autoscaler defaults (FAQ.md "What are the parameters to CA?").
SCAN_INTERVAL = 10.0
SCALE_DOWN_DELAY_AFTER_ADD = 600.0
MAX_TOTAL_UNREADY_PERCENTAGE = 45.0
OK_TOTAL_UNREADY_COUNT = 3


def pool_slots(model: ClusterModel) -> dict[str, list[int]]:
    """Per autoscaled pool, every node that can be in it: its own nodes and the machines the
    autoscaler may add (``standby``), in node order."""
    pools = {a.pool for a in model.cluster.autoscale}
    slots: dict[str, list[int]] = {p: [] for p in pools}
    for n in model.cluster.nodes:
        if n.pool in slots:
            slots[n.pool].append(n.index)
    return slots


def plan_scale_up(model: ClusterModel, pl: Placement, pending: list[int], scope: list[int],
                  in_pool: dict[str, int], can_add: dict[str, list[int]], upcoming: list[int]) -> list[int]:
    """The machines to ask for so that the ``pending`` pods fit: binpacking on a scratch copy of
    the placement (the nodes there are and the ``upcoming`` ones first), one machine at a time,
    in the zone with the fewest of the pool's nodes; a machine that takes no pod is not asked
    for (its zone, then the pool, cannot help). ``in_pool``: nodes each pool has or awaits (at
    most ``max``); ``can_add``: per pool, the machines that may be asked for."""
    sch = model.scheduler
    scratch = pl.copy()
    rng = placement_rng(3)
    left = sorted(pending)

    def open_node(node: int) -> None:
        scratch.present[node] = True
        scratch.usable[node] = True

    def place() -> set[int]:
        nonlocal left
        decisions = schedule_pass(sch, scratch, left, model.pod_pin, list(scope), rng)
        placed = {p for p, node in decisions if node >= 0}
        nodes = {node for _, node in decisions if node >= 0}
        left = [p for p in left if p not in placed]
        return nodes

    for node in upcoming:
        open_node(node)
    place()  # pods that fit where they are or on upcoming nodes ask for nothing (filterOutSchedulable)
    zone_of = model.scheduler.level_of_node.get(model.cluster.kubernetes.zone_level)
    chosen: list[int] = []
    for auto in model.cluster.autoscale:
        room = auto.max - in_pool[auto.pool]
        free = list(can_add.get(auto.pool, ()))
        tried_zones: set[int] = set()
        while left and room > 0 and free:
            if zone_of is not None:
                counts: dict[int, int] = {}
                for n in model.cluster.nodes:
                    if n.pool == auto.pool and scratch.present[n.index]:
                        z = int(zone_of[n.index])
                        counts[z] = counts.get(z, 0) + 1
                free.sort(key=lambda n: (int(zone_of[n]) in tried_zones, counts.get(int(zone_of[n]), 0), n))
            node = free.pop(0)
            if zone_of is not None and int(zone_of[node]) in tried_zones:
                break  # every zone tried: nothing more helps
            open_node(node)
            if node in place():
                chosen.append(node)
                room -= 1
                tried_zones.clear()
            else:  # no pod fits a new node there: back out, try another zone
                scratch.present[node] = False
                scratch.usable[node] = False
                if zone_of is None:
                    break
                tried_zones.add(int(zone_of[node]))
    return chosen


class Autoscaler:
    """The autoscaled pools' machines: which are in the cluster, asked for, or may be added."""

    def __init__(self, model: ClusterModel, infra, timers: Timers, rng: np.random.Generator,
                 log: EventLog | None, api_ok):
        self.m, self.c = model, model.cluster
        self.infra, self.timers, self.log = infra, timers, log
        self.api_ok = api_ok
        self.work = None  # Workloads (set by the engine)
        self.lifecycle = None  # NodeLifecycle (set by the engine)
        self.slots = pool_slots(model)
        self.auto = {a.pool: a for a in self.c.autoscale}
        self.pool_of = {n: pool for pool, nodes in self.slots.items() for n in nodes}
        self.upcoming: dict[int, int] = {}  # machine asked for -> its request's epoch
        self.epoch = [0] * model.n_nodes
        self.phase = float(rng.random()) * SCAN_INTERVAL  # CA's loop ticks
        self.scan_due = False
        self.last_scale_up = -math.inf
        self.added = 0  # machines added over the history
        self.fruitless: tuple | None = None  # the state of the last scan that asked for nothing

    @property
    def enabled(self) -> bool:
        return bool(self.auto)

    def in_pool(self, pool: str) -> int:
        """Nodes the pool has (down ones included: the node group still counts them) or awaits."""
        return sum(1 for n in self.slots[pool] if not self.infra.absent[n] or n in self.upcoming)

    # -- the 10 s loop ---------------------------------------------------------------------
    def wake(self, t: float) -> None:
        """Pods are Pending, or something changed that may help them: CA looks at its next tick.
        (CA scans every 10 s; kchaos wakes it only when a scan can find something new.)"""
        if not self.auto or self.scan_due:
            return
        self.scan_due = True
        tick = self.phase + SCAN_INTERVAL * (math.floor((t - self.phase) / SCAN_INTERVAL) + 1)
        self.timers.push(tick, AUTOSCALE_SCAN)

    def on_scan(self, t: float, _a: int = 0, _b: int = 0) -> None:
        self.scan_due = False
        work = self.work
        if not work.pending or not self.api_ok():
            return
        nodes = [n for n in range(self.m.n_nodes) if not self.infra.absent[n] and self.m.cluster.nodes[n].role != "etcd"]
        unready = sum(1 for n in nodes if self.lifecycle.not_ready[n])
        if unready > max(OK_TOTAL_UNREADY_COUNT, MAX_TOTAL_UNREADY_PERCENTAGE / 100 * len(nodes)):
            return  # CA stops while too much of the cluster is NotReady (FAQ: unready nodes)
        can_add = {pool: [n for n in slots if self.infra.absent[n] and n not in self.upcoming
                          and not self.infra.down_count[n]] for pool, slots in self.slots.items()}
        in_pool = {pool: self.in_pool(pool) for pool in self.slots}
        # Nothing moved since a scan that could not help: the same binpacking would ask for nothing.
        key = (len(work.pending), sum(work.pending_moves), tuple(len(v) for v in can_add.values()),
               tuple(in_pool.values()), len(self.upcoming))
        if key == self.fruitless:
            return
        chosen = plan_scale_up(self.m, work.pl, sorted(work.pending), work.scope, in_pool, can_add,
                               sorted(self.upcoming))
        for node in chosen:
            self.epoch[node] += 1
            self.upcoming[node] = self.epoch[node]
            delay = self.auto[self.pool_of[node]].provision_delay
            self.timers.push(t + delay, NODE_PROVISIONED, node, self.epoch[node])
        self.fruitless = None if chosen else key
        if chosen:
            self.last_scale_up = t
            if self.log is not None:
                for pool in sorted({self.pool_of[n] for n in chosen}):
                    k = sum(1 for n in chosen if self.pool_of[n] == pool)
                    size = in_pool[pool]
                    self.log.note(t, "Normal", "TriggeredScaleUp", f"nodegroup/{pool}",
                                  f"pod triggered scale-up: [{{{pool} {size}->{size + k} (max: {self.auto[pool].max})}}]")

    def on_provisioned(self, t: float, node: int, epoch: int) -> None:
        """The machine asked for has booted and its kubelet registers: Ready, schedulable."""
        if self.upcoming.get(node) != epoch:
            return
        del self.upcoming[node]
        if self.infra.down_count[node]:  # its zone failed while it booted: it never joins
            self.wake(t)
            return
        self.infra.set_absent(node, False)
        self.added += 1
        work, life = self.work, self.lifecycle
        work.schedulable[node] = True
        work.pl.present[node] = True
        life.not_ready[node] = True  # a new node registers NotReady and turns Ready at once here
        life.node_epoch[node] += 1
        if self.log is not None:
            name = self.c.nodes[node].name
            self.log.note(t, "Normal", "NodeReady", f"node/{name}", f"Node {name} status is now: NodeReady "
                          f"(added by cluster-autoscaler to {self.pool_of[node]})")
        life.node_visible(t, node)
        work.room_changed(node, usable=True)
        work.request_pass()

    # -- scale-down of the machines it added ----------------------------------------------------
    def maybe_empty(self, t: float, node: int) -> None:
        """A pod left ``node``, or it turned Ready: if it is an added machine, now empty and Ready,
        its unneeded time starts; it is removed that long after unless a pod lands meanwhile."""
        if not self.m.cluster.nodes[node].standby or self.infra.absent[node]:
            return
        auto = self.auto.get(self.pool_of.get(node, ""))
        if auto is None or auto.scale_down_after is None or not self._empty(node):
            return
        self.epoch[node] += 1
        self.timers.push(t + auto.scale_down_after, SCALE_DOWN, node, self.epoch[node])

    def _empty(self, node: int) -> bool:
        return not self.work.node_pods[node] and self.infra.node_up[node] and not self.lifecycle.not_ready[node]

    def on_scale_down(self, t: float, node: int, epoch: int) -> None:
        """An added machine has been empty for ``scaleDownAfter``: removed, unless the pool is at
        ``min``, a scale-up happened within 10 min (then looked at again when that has passed),
        or the API is down (looked at again when a pod next leaves it or it turns Ready)."""
        if epoch != self.epoch[node] or self.infra.absent[node] or not self._empty(node):
            return
        wait = self.last_scale_up + SCALE_DOWN_DELAY_AFTER_ADD - t
        if wait > 0:
            self.timers.push(t + wait, SCALE_DOWN, node, epoch)
            return
        pool = self.pool_of[node]
        if self.api_ok() and self.in_pool(pool) > self.auto[pool].min:
            self.remove(t, node)

    def remove(self, t: float, node: int) -> None:
        """An empty added machine is terminated; its Node object goes with it."""
        work = self.work
        work.schedulable[node] = False
        work.pl.usable[node] = False
        work.pl.present[node] = False
        work.room_changed()
        self.infra.set_absent(node, True)
        self.lifecycle.node_epoch[node] += 1
        self.lifecycle.taint_epoch[node] += 1
        if self.log is not None:
            name = self.c.nodes[node].name
            self.log.note(t, "Normal", "ScaleDownEmpty", f"node/{name}",
                          f"Scale-down: removing empty node {name}")
