"""Control plane: etcd's quorum, leader and elections, and the API servers in front of it.

:class:`Etcd` decides which members form the partition that holds quorum (given the
members alive and the region links cut), runs elections when the leader is lost, and
says whether writes commit and how fast. :class:`ApiServers` says whether the API
accepts writes: etcd commits and some apiserver is up inside the quorum's partition.
The controller-manager and scheduler leases build on this (``leases.py``).

Neither reaches into other components: they tell the engine what changed through
:class:`ControlPlaneListener`, and the engine passes it on.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..cluster_model import ClusterModel
from ..eventlog import EventLog
from ..infrastructure import Infrastructure
from .raft import transfer_gap
from ..recording.recorder import Recorder
from ..timers import ELECTION_DONE, Timers


class ControlPlaneListener(Protocol):
    """What the control plane reports; the engine routes each to the component that reacts."""

    def partition_changed(self, t: float) -> None:
        """The partition holding quorum may have changed (kubelets may be cut off or back)."""

    def etcd_changed(self, t: float) -> None:
        """Whether etcd commits writes may have changed (the API re-evaluates)."""

    def api_changed(self, t: float) -> None:
        """Whether the API accepts writes may have changed (the leases re-evaluate)."""

    def leaders_changed(self, t: float, kcm_back: bool, controllers_back: bool) -> None:
        """The controller-manager (``kcm_back``), or it and the scheduler, lead again."""


class Etcd:
    """etcd membership seen through partitions, the leader, elections and commit latency."""

    def __init__(self, model: ClusterModel, infra: Infrastructure, timers: Timers, rng: np.random.Generator,
                 recorder: Recorder, log: EventLog | None, listener: ControlPlaneListener):
        self.m, self.c = model, model.cluster
        self.infra, self.timers, self.rng, self.rec, self.log = infra, timers, rng, recorder, log
        self.listener = listener
        self.leader = -1
        self.electing = False
        self.election_epoch = 0  # bumped when an election starts or is abandoned: stale ELECTION_DONE
        self.election_end_winner = -1
        self.election_cause = ""
        self.election_started = 0.0
        self.live: tuple | None = None  # members of the partition holding quorum
        self.component: int | None = None  # its region group (Infrastructure.region_groups)
        self.outside_since: dict[int, float] = {}  # member alive outside the quorum since
        self.writes_ok = False
        #: Quorum lost counting only failures (members stopped for maintenance as up): what the
        #: exact quorum figure describes, so the API's control variate keeps to it.
        self.failure_quorum_lost = False
        self.up_since = [0.0] * len(model.member_nodes)  # for etcd's "longest connected" transferee

    def quorum_held(self) -> bool:
        return self.component is not None

    def joins_quorum(self, node: int) -> bool:
        """``node``'s region is joined to the partition holding quorum (False if none holds it)."""
        return self.component is not None and \
            self.infra.region_groups()[self.c.nodes[node].region] == self.component

    def member_name(self, i: int) -> str:
        return self.c.nodes[self.m.member_nodes[i]].name

    def update(self, t: float, initial: bool = False) -> None:
        """Members died, returned or were split by a link: find the quorum's partition again;
        the leader keeps its place, or an election starts among the members reaching it."""
        m, infra = self.m, self.infra
        alive = infra.alive
        if self.leader >= 0 and not initial and not infra.failure_alive >> self.leader & 1:
            self.rec.leader_failed(t)  # the election control's count (recording/leader.py)
        live, component = m.quorum_partition(alive, infra.cut)
        disrupt = False
        if live is not None and not self.c.etcd.pre_vote:
            # Without pre-vote, a member that campaigned alone while cut off comes back
            # with a higher term and forces the leader to step down.
            for i in live:
                since = self.outside_since.pop(i, None)
                if since is not None and t - since >= self.c.etcd.election_timeout:
                    disrupt = True
        for i in range(len(m.member_nodes)):
            in_quorum = live is not None and i in live
            if alive >> i & 1 and not in_quorum:
                self.outside_since.setdefault(i, t)
            elif not alive >> i & 1:
                self.outside_since.pop(i, None)
        if self.log is not None and not initial and (live is None) != (self.live is None):
            n = len(m.member_nodes)
            if live is None:
                up = bin(alive).count("1")
                self.log.note(t, "Warning", "QuorumLost", "etcd",
                              f"no partition holds a quorum ({self.c.quorum} of {n}); {up} members up")
            else:
                self.log.note(t, "Normal", "QuorumRestored", "etcd", f"{len(live)} of {n} members reach each other")
        self.live, self.component = live, component
        for i in range(len(m.member_nodes)):
            if not alive >> i & 1:
                self.up_since[i] = float("inf")
            elif self.up_since[i] == float("inf"):
                self.up_since[i] = t
        self.failure_quorum_lost = live is None if infra.failure_alive == alive else \
            m.quorum_partition(infra.failure_alive, infra.cut)[0] is None
        self.rec.quorum_state(t, live is None)
        self.listener.partition_changed(t)
        if live is None:
            if self.leader >= 0 or self.electing:
                self.leader = -1
                self.electing = False
                self.election_epoch += 1
        elif initial:
            self.leader = live[int(self.rng.integers(len(live)))]
        elif self.electing:
            # The election goes on while its winner-to-be stays in the quorum's partition;
            # members joining or other members leaving do not reset the candidates' timers.
            if self.election_end_winner not in live:
                # A transfer whose transferee is lost times out (MoveLeader) and the old leader
                # stops anyway: the members elect as after any leader loss.
                cause = "leader-lost" if self.election_cause == "leader-transfer" else self.election_cause
                self.start_election(t, live, cause)
        elif self.leader < 0:
            self.start_election(t, live, "quorum-restored")
        elif self.leader not in live or disrupt:
            self.start_election(t, live, "leader-lost")
        self.refresh_writes(t)

    def hand_over(self, t: float, node: int) -> float:
        """The member on ``node`` is about to stop gracefully: a leader transfers its leadership
        first (etcd does, to the member connected longest). Returns the seconds until the
        transferee leads (0 when ``node`` does not lead or has nobody to hand over to)."""
        i = self.m.member_of_node.get(node)
        live = self.live
        if i is None or i != self.leader or self.electing or live is None:
            return 0.0
        others = [j for j in live if j != i]
        if not others:
            return 0.0  # a single voting member: etcd skips the transfer
        new = min(others, key=lambda j: (self.up_since[j], j))
        gap = transfer_gap(self.m.rtt, i, new, live, self.m.quorum, self.c.etcd.fsync)
        if self.log is not None:
            self.log.note(t, "Normal", "LeaderTransfer", f"etcd/{self.member_name(i)}",
                          f"{self.member_name(i)} hands leadership to {self.member_name(new)} before it stops")
        self.election_started = t
        self.leader = -1
        self.electing = True
        self.election_epoch += 1
        self.election_cause = "leader-transfer"
        self.election_end_winner = new
        self.timers.push(t + gap, ELECTION_DONE, self.election_epoch)
        self.refresh_writes(t)
        return gap

    def start_election(self, t: float, live: tuple, cause: str) -> None:
        """Draw the election's length and winner (raft.ElectionModel); writes stop until it ends."""
        if self.log is not None and not self.electing:
            if self.leader >= 0:
                self.log.note(t, "Warning", "LeaderLost", f"etcd/{self.member_name(self.leader)}",
                              f"leader {self.member_name(self.leader)} lost; election among "
                              + ", ".join(self.member_name(i) for i in live))
            else:
                self.log.note(t, "Normal", "ElectionStarted", "etcd",
                              "election among " + ", ".join(self.member_name(i) for i in live))
        if not self.electing:
            self.election_started = t
        self.leader = -1
        self.electing = True
        self.election_epoch += 1
        self.election_cause = cause
        gap, winner = self.m.election.sample(self.rng, live, cause)
        self.election_end_winner = winner
        self.timers.push(t + gap, ELECTION_DONE, self.election_epoch)

    def on_election_done(self, t: float, epoch: int, _: int = 0) -> None:
        if epoch != self.election_epoch or not self.electing:
            return
        self.electing = False
        self.leader = self.election_end_winner
        if self.election_cause != "leader-transfer":  # a planned hand-over is counted by the upgrade
            self.rec.election(t, t - self.election_started, self.election_cause)
        if self.log is not None:
            self.log.note(t, "Normal", "LeaderElected", f"etcd/{self.member_name(self.leader)}",
                          f"{self.member_name(self.leader)} elected leader; writes resume after "
                          f"{(t - self.election_started) * 1000:.0f} ms")
        self.refresh_writes(t)

    def refresh_writes(self, t: float) -> None:
        """Writes commit while a leader leads and no election runs; record their latency."""
        self.writes_ok = self.leader >= 0 and not self.electing
        self.rec.leader(t, self.leader)
        self.rec.commit_latency(t, self.m.commit_latency(self.leader, self.live) if self.writes_ok else None)
        self.listener.etcd_changed(t)


class ApiServers:
    """kube-apiserver: accepts writes while etcd commits and one apiserver reaches the quorum."""

    def __init__(self, model: ClusterModel, infra: Infrastructure, etcd: Etcd, recorder: Recorder,
                 log: EventLog | None, listener: ControlPlaneListener):
        self.m = model
        self.infra, self.etcd, self.rec, self.log, self.listener = infra, etcd, recorder, log, listener
        self.api_ok = False

    def reaches(self, node: int) -> bool:
        """An apiserver on ``node`` can serve writes: it is up and in the quorum's partition."""
        return self.infra.node_up[node] and self.etcd.joins_quorum(node)

    def serving(self) -> list[int]:
        """Nodes whose apiserver can serve writes, in ``api_nodes`` order."""
        return [n for n in self.m.api_nodes if self.reaches(n)]

    def refresh(self, t: float) -> None:
        api_ok = self.etcd.writes_ok and any(self.reaches(n) for n in self.m.api_nodes)
        if self.log is not None and api_ok != self.api_ok and t > 0:
            self.log.note(t, "Normal" if api_ok else "Warning", "APIAvailable" if api_ok else "APIUnavailable",
                          "kube-apiserver",
                          "the API accepts writes again" if api_ok else "the API cannot accept writes")
        self.api_ok = api_ok
        self.rec.api_state(t, api_ok, not self.etcd.failure_quorum_lost)
        self.listener.api_changed(t)
