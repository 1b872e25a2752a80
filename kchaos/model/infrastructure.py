"""Infrastructure: which failure instances are down, hence which nodes are up, which
etcd members are alive and which region links are cut.

A node is down while any domain above it (server, rack, datacenter, region, or the
node itself) is down, so each node counts its down ancestors, or while it is stopped for
maintenance (a planned reboot). Region links do not take nodes down; they only split
regions apart (``ClusterModel.components``).
"""

from __future__ import annotations

import numpy as np

from .cluster_model import ClusterModel


class Infrastructure:
    """Up/down state of nodes and links, driven by the failure history."""

    def __init__(self, model: ClusterModel):
        self.m = model
        n = model.n_nodes
        self.down_count = [0] * n  # down domains above each node (itself included)
        self.node_up = [True] * n
        self.up_arr = np.ones(n, dtype=bool)  # node_up as an array, for masks
        self.cut = 0  # bitmask of cut region links (ClusterModel.link_bit)
        self.alive = (1 << len(model.member_nodes)) - 1  # bitmask of etcd members on up nodes
        #: Members whose nodes no failure holds down (stopped ones included): quorum by failures alone
        self.failure_alive = self.alive
        self.stopped = [False] * n  # nodes stopped for maintenance
        #: Machines the autoscaler has not added (or has removed): not in the cluster at all.
        self.absent = [False] * n
        for node in model.standby:
            self.absent[node] = True
            self._set_up(node, False)

    def apply(self, d: int, down: bool) -> list[int] | None:
        """Failure instance ``d`` fails (``down``) or is repaired. For a region link, update
        the cut and return None; otherwise return the nodes that went down or came back,
        in ``nodes_under`` order (empty when another failed domain still holds them down)."""
        m = self.m
        bit = m.link_bit.get(d)
        if bit is not None:
            self.cut = self.cut | bit if down else self.cut & ~bit
            return None
        changed = []
        delta = 1 if down else -1
        for node in m.nodes_under[d]:
            before = self.down_count[node]
            self.down_count[node] = before + delta
            if (before == 0) != (before + delta == 0):
                member = m.member_of_node.get(node)
                if member is not None:
                    self.failure_alive = self.failure_alive & ~(1 << member) if down else \
                        self.failure_alive | 1 << member
                if not self.stopped[node] and not self.absent[node]:
                    changed.append(node)
                    self._set_up(node, not down)
        return changed

    def set_absent(self, node: int, absent: bool) -> bool:
        """The autoscaler adds (``absent`` False) or removes a machine; True when it came up
        (no failure holds it down) or went down."""
        if self.absent[node] == absent:
            return False
        self.absent[node] = absent
        if self.down_count[node] or self.stopped[node]:
            return False
        self._set_up(node, not absent)
        return True

    def stop(self, node: int, stopped: bool) -> bool:
        """Stop (or start again) ``node`` for maintenance; True when it went down (came up)."""
        if self.stopped[node] == stopped:
            return False
        self.stopped[node] = stopped
        if self.down_count[node] or self.absent[node]:
            return False  # a failure holds it down anyway
        self._set_up(node, not stopped)
        return True

    def _set_up(self, node: int, up: bool) -> None:
        self.node_up[node] = up
        self.up_arr[node] = up
        member = self.m.member_of_node.get(node)
        if member is not None:
            if up:
                self.alive |= 1 << member
            else:
                self.alive &= ~(1 << member)

    def region_groups(self) -> dict[int, int]:
        """Region -> id of the group of regions still joined by uncut links."""
        return self.m.components(self.cut)

    def all_workers_up(self) -> bool:
        return bool(self.up_arr[self.m.workers].all())
