"""``placement: spread``: put a group of nodes on servers, as far apart as possible.

Items are placed one at a time. Each goes to the server whose key is smallest:

    (group count in its region, in its datacenter, in its rack, on the server,
     earlier nodes in its region, datacenter, rack, on the server,
     declaration order)

so the group is balanced region by region first (round-robin over regions,
then datacenters, racks and servers: no two items share a domain while an
empty one of that level exists below an equally loaded parent), ties go to
the domains that earlier groups (e.g. the control plane, for workers) left
emptiest, and then to the one declared first.

One :class:`Spreader` serves every group of a cluster. Each domain keeps a
heap of its children's keys; an entry whose key is no longer the child's
current key is stale and dropped when it reaches the top (a key only ever
changes to a different value: group counts grow within a group, earlier-node
counts grow between groups). Placing ``n`` nodes over ``S`` servers in any
number of groups costs ``O(S + n log S)``.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

# best key of a subtree: (group counts top-down, earlier-node counts top-down, server index)
_Key = tuple[tuple[int, ...], tuple[int, ...], int]
_ROOT = -1


class Spreader:
    """Places groups of nodes over ``servers`` (domain indices, declaration order).

    ``parent`` maps each domain index to the enclosing one (server -> rack ->
    datacenter -> region -> None).
    """

    def __init__(self, servers: Sequence[int], parent: Mapping[int, int | None]):
        self.parent: dict[int, int] = {}
        children: dict[int, list[int]] = {}
        for server in servers:
            node = server
            while node not in self.parent:
                up = parent.get(node)
                self.parent[node] = _ROOT if up is None else up
                children.setdefault(self.parent[node], []).append(node)
                if up is None:
                    break
                node = up
        self.chain: dict[int, list[int]] = {}  # server -> [server, rack, datacenter, region]
        for server in servers:
            chain, node = [], server
            while node != _ROOT:
                chain.append(node)
                node = self.parent[node]
            self.chain[server] = chain
        self.group: Counter[int] = Counter()
        self.prior: Counter[int] = Counter()
        self._keys: dict[int, _Key] = {}  # cache; a node's entry is dropped when its subtree's counts change
        self.heaps: dict[int, list[tuple[_Key, int]]] = {node: [] for node in children}
        for node in sorted(children, key=self._depth, reverse=True):  # servers' racks first
            heap = self.heaps[node]
            heap.extend((self.key(child), child) for child in children[node])
            heapq.heapify(heap)

    def _depth(self, node: int) -> int:
        depth = 0
        while node != _ROOT:
            node, depth = self.parent[node], depth + 1
        return depth

    def key(self, node: int) -> _Key:
        """The smallest key in ``node``'s subtree given the current counts."""
        cached = self._keys.get(node)
        if cached is not None:
            return cached
        g, p = self.group[node], self.prior[node]
        if node not in self.heaps:  # a server
            key: _Key = ((g,), (p,), node)
        else:
            (gs, ps, order), _ = self.top(node)
            key = ((g,) + gs, (p,) + ps, order)
        self._keys[node] = key
        return key

    def top(self, node: int) -> tuple[_Key, int]:
        """The valid smallest entry of ``node``'s heap (stale entries are dropped)."""
        heap = self.heaps[node]
        while heap[0][0] != self.key(heap[0][1]):
            heapq.heappop(heap)
        return heap[0]

    def _push(self, chain: Iterable[int]) -> None:
        """Re-enter the keys of ``chain`` (changed nodes, bottom-up) into their parents' heaps."""
        chain = list(chain)
        for node in chain:
            self._keys.pop(node, None)
        for node in chain:
            heapq.heappush(self.heaps[self.parent[node]], (self.key(node), node))

    def place(self, count: int, within: int | None = None) -> list[int]:
        """Spread ``count`` nodes (over every server, or those under domain ``within``)."""
        chosen: list[int] = []
        for _ in range(count):
            node = _ROOT if within is None else within
            while node in self.heaps:
                node = self.top(node)[1]
            chosen.append(node)
            chain = self.chain[node]
            self.group.update(chain)
            self._push(chain)
        self._settle(chosen)
        return chosen

    def occupy(self, servers: Iterable[int]) -> None:
        """Record nodes placed explicitly, so that later groups avoid their domains."""
        servers = list(servers)
        self.group.update(node for server in servers for node in self.chain[server])
        self._settle(servers)

    def _settle(self, servers: list[int]) -> None:
        """End of a group: its counts become earlier-node counts."""
        touched = sorted({node for server in servers for node in self.chain[server]}, key=self._depth, reverse=True)
        for node in touched:
            self.prior[node] += self.group.pop(node, 0)
        self._push(touched)


def spread(count: int, servers: Sequence[int], parent: Mapping[int, int | None],
           prior: Mapping[int, int] | None = None) -> list[int]:
    """One group on its own: ``count`` servers chosen among ``servers``.

    ``prior`` counts the nodes already placed in each domain by earlier groups.
    """
    spreader = Spreader(servers, parent)
    if prior:
        spreader.prior.update({d: n for d, n in prior.items() if d in spreader.parent})
        spreader._push(sorted(spreader.parent, key=spreader._depth, reverse=True))
    return spreader.place(count)
