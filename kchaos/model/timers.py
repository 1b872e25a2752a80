"""The engine's one timer heap, shared by every component.

Entries are ``(time, seq, kind, a, b)``: ``seq`` counts pushes, so entries due at
the same time pop in the order they were pushed and a history replays the same way
every time. ``a`` and ``b`` are the kind's arguments (a node, a pod, a lease and an
epoch or version); a handler drops an entry whose epoch or version is stale, so
nothing is ever removed from the heap.
"""

from __future__ import annotations

import heapq

#: Timer kinds, and the component that handles each (see ``engine.HistoryRun``).
(ELECTION_DONE, LEASE_ACQUIRE, LEASE_LOST, NOT_READY, EVICT, POD_READY, DRAIN_TRY, ROLLOUT, TAINT,
 OUT_OF_SERVICE, UPGRADE, ROLLOUT_WAVE, AUTOSCALE_SCAN, NODE_PROVISIONED, SCALE_DOWN) = range(15)
N_KINDS = 15


class Timers:
    """A min-heap of pending timers with a push counter for deterministic ties."""

    __slots__ = ("heap", "seq")

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, int, int, int]] = []
        self.seq = 0

    def push(self, t: float, kind: int, a: int = 0, b: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, a, b))
