"""Each engine component alone, with fakes for its peers and a hand-driven clock.

The whole engine is checked elsewhere (test_invariants, test_accuracy, whatif); here
each component's own bookkeeping: the recorder's sums, infrastructure's nested
failures, etcd's quorum and elections, the leases' takeover timing, the node
lifecycle's NotReady -> eviction clock, and the workload controllers and drains.
"""

from __future__ import annotations

import dataclasses
import heapq
from pathlib import Path

import numpy as np
import pytest

from kchaos.model.recording.sketch import EpisodeSums

from kchaos.model.cluster_model import ClusterModel
from kchaos.model.controlplane.etcd import ApiServers, Etcd
from kchaos.model.engine import HistoryRun
from kchaos.model.sampling.failures import History
from kchaos.model.infrastructure import Infrastructure
from kchaos.model.controlplane.leases import KCM, SCHEDULER, Leases
from kchaos.model.workloads.maintenance import DRAIN_RETRY_SECONDS, Drains
from kchaos.model.nodes.lifecycle import NodeLifecycle
from kchaos.model.recording.recorder import Episodes, Recorder
from kchaos.model.timers import (DRAIN_TRY, ELECTION_DONE, EVICT, LEASE_ACQUIRE, LEASE_LOST, NOT_READY,
                                 OUT_OF_SERVICE, POD_READY, TAINT, Timers)
from kchaos.model.workloads.controllers import Workloads
from kchaos.model.workloads.fresh_start import redeploy
from kchaos.topology import load_topology

from .conftest import topology

ROOT = Path(__file__).resolve().parent.parent
GRACE, TOLERATION, STARTUP = 50.0, 300.0, 30.0  # the defaults stress.yaml keeps
LINK = "regionLink/ra~rb"


@pytest.fixture(scope="module")
def stress():
    """Regions ra (a1, a2) and rb (b1), one link; members cp-1 (a1), cp-2 (b1), cp-3 (a2)."""
    return ClusterModel(load_topology(ROOT / "tests/data/stress.yaml"))


def node(model, name):
    return next(n.index for n in model.cluster.nodes if n.name == name)


def domain(model, ident):
    return next(d.index for d in model.cluster.domains if d.id == ident)


def node_domain(model, name):
    return model.cluster.nodes[node(model, name)].domain


class Calls:
    """Records every method called on it (a fake peer or listener)."""

    def __init__(self, **attrs):
        self.calls: list[tuple] = []
        self.__dict__.update(attrs)

    def __getattr__(self, name):
        return lambda *args: self.calls.append((name, *args))


def advance(timers: Timers, handlers: dict, until: float, work=None) -> list[tuple]:
    """A fake clock: fire the due timers up to ``until``; kinds without a handler are listed.
    With ``work``, each instant ends with the scheduling pass it asked for, as in the loop."""
    other = []
    while timers.heap and timers.heap[0][0] <= until:
        t, _, kind, a, b = heapq.heappop(timers.heap)
        if kind in handlers:
            handlers[kind](t, a, b)
        else:
            other.append((t, kind, a, b))
        if work is not None and hasattr(work, "flush") and not (timers.heap and timers.heap[0][0] == t):
            work.flush(t)
    return other


# -- timers ---------------------------------------------------------------------------------
def test_timers_pop_in_time_then_push_order():
    timers = Timers()
    for t, a in ((5.0, 1), (1.0, 2), (5.0, 3), (1.0, 4), (5.0, 5)):
        timers.push(t, POD_READY, a)
    popped = [heapq.heappop(timers.heap) for _ in range(5)]
    assert [(e[0], e[3]) for e in popped] == [(1.0, 2), (1.0, 4), (5.0, 1), (5.0, 3), (5.0, 5)]


# -- recorder ---------------------------------------------------------------------------------
def test_episodes_sum_and_censor():
    eps = Episodes()
    eps.set(1.0, True)
    eps.set(2.0, True)  # still down: the episode does not restart
    eps.set(4.0, False)
    eps.set(5.0, False)
    eps.set(10.0, True)
    eps.close(12.5)
    assert eps.sums == EpisodeSums(2, 5.5, 3.0 ** 2 + 2.5 ** 2, 3.0) and eps.total == 5.5 and not eps.down


def test_recorder_weights_commit_latency_pending_and_cover(stress):
    rec = Recorder(stress, pending=0)
    rec.commit_latency(0.0, 0.002)
    rec.commit_latency(4.0, 0.002)  # unchanged: no new segment
    rec.commit_latency(10.0, None)  # writes impossible: not counted
    rec.commit_latency(15.0, 0.004)
    # Workload 0 down 20..40; a covering domain is down 25..30, so the rest is 20..25 and 30..40.
    rec.workload_state(20.0, 0, True)
    rec.cover(25.0, 0, +1)
    rec.cover(30.0, 0, -1)
    rec.workload_state(40.0, 0, False)
    # Two pods pending from 50, one from 60 to the end.
    rec.pending_count(50.0, 0)
    rec.pending_count(50.0, 1)
    rec.pending_count(60.0, 2)
    h = History(0, 100.0, np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool),
                np.zeros(0, dtype=np.int64))
    res = rec.result(h, 100.0, pending=1)
    assert res.commit_seconds == {0.002: 10.0, 0.004: 85.0}
    assert res.workloads[0].sums == EpisodeSums(1, 20.0, 400.0, 20.0)
    assert res.workload_rest[0].sums == EpisodeSums(2, 15.0, 125.0, 10.0)
    assert res.pending_pod_seconds == pytest.approx(2 * 10 + 1 * 40)


def test_recorder_keeps_the_hottest_node_per_failure_episode(stress):
    rec = Recorder(stress, pending=0)
    limit = stress.utilization_limit
    rec.load(0.0, 0.5)  # before any failure: no episode yet
    rec.failure_episode(0.5)
    assert rec.load_dirty
    rec.load(1.0, 0.7)
    rec.load(2.0, limit + 0.05)
    rec.load(3.0, 0.6)
    rec.failure_episode(3.5)
    rec.load(4.0, 0.55)
    h = History(0, 10.0, np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool),
                np.zeros(0, dtype=np.int64))
    res = rec.result(h, 10.0, pending=0)
    peaks = res.hottest_after_failure
    assert peaks.n == 2 and peaks.high == limit + 0.05 and peaks.low == 0.55
    assert res.above_limit.sums == EpisodeSums(1, 1.0, 1.0, 1.0)


# -- infrastructure ---------------------------------------------------------------------------
def test_infrastructure_counts_nested_failures_and_links(stress):
    infra = Infrastructure(stress)
    g2, cp1, g5 = node(stress, "g-2"), node(stress, "cp-1"), node(stress, "g-5")
    server = stress.cluster.nodes[g2].server
    assert infra.apply(domain(stress, "datacenter/a1"), True) == [cp1, g2, g5]
    assert infra.alive == 0b110  # member 0 (cp-1) is down
    assert infra.apply(server, True) == []  # already down under its datacenter
    assert sorted(infra.apply(domain(stress, "datacenter/a1"), False)) == [cp1, g5]
    assert not infra.node_up[g2] and not infra.up_arr[g2] and infra.alive == 0b111
    assert infra.apply(server, False) == [g2]
    assert infra.up_arr.all()
    link = domain(stress, LINK)
    assert infra.apply(link, True) is None
    groups = infra.region_groups()
    assert groups[domain(stress, "region/ra")] != groups[domain(stress, "region/rb")]
    infra.apply(link, False)
    assert infra.cut == 0


# -- etcd ---------------------------------------------------------------------------------------
def make_etcd(model, seed=1):
    infra, timers, rec, listener = Infrastructure(model), Timers(), Recorder(model, 0), Calls()
    etcd = Etcd(model, infra, timers, np.random.default_rng(seed), rec, None, listener)
    etcd.update(0.0, initial=True)
    return etcd, infra, timers, rec, listener


def test_etcd_loses_quorum_then_elects_when_it_returns(stress):
    etcd, infra, timers, rec, listener = make_etcd(stress)
    assert etcd.live == (0, 1, 2) and etcd.leader in etcd.live and etcd.writes_ok
    assert [c[0] for c in listener.calls] == ["partition_changed", "etcd_changed"]
    infra.apply(node_domain(stress, "cp-1"), True)
    infra.apply(node_domain(stress, "cp-3"), True)
    etcd.update(10.0)
    assert etcd.live is None and etcd.leader == -1 and not etcd.writes_ok and rec.quorum.down
    infra.apply(node_domain(stress, "cp-3"), False)
    etcd.update(70.0)
    assert etcd.live == (1, 2) and etcd.electing and etcd.election_cause == "quorum-restored"
    assert not etcd.writes_ok and not rec.quorum.down and rec.quorum.sums == EpisodeSums(1, 60.0, 3600.0, 60.0)
    (t_done, _, kind, epoch, _), = timers.heap
    assert kind == ELECTION_DONE and t_done > 70.0
    etcd.on_election_done(t_done, epoch - 1)  # stale: ignored
    assert etcd.electing
    etcd.on_election_done(t_done, epoch)
    assert etcd.leader == etcd.election_end_winner and etcd.leader in (1, 2) and etcd.writes_ok
    assert rec.elections.n == 1 and rec.elections.total == t_done - 70.0 and rec.after_leader_loss == 0
    assert list(rec.commit_seconds.values()) == [10.0]  # writes committed 0..10 only, so far


def test_etcd_keeps_a_leader_that_stays_in_the_quorum(stress):
    etcd, infra, timers, rec, _ = make_etcd(stress)
    etcd.leader = 0  # cp-1, in region ra
    infra.apply(node_domain(stress, "cp-2"), True)  # a follower dies
    etcd.update(5.0)
    assert etcd.leader == 0 and not etcd.electing and not timers.heap
    infra.apply(node_domain(stress, "cp-1"), True)  # the leader dies
    etcd.update(6.0)
    assert etcd.live is None and etcd.leader == -1  # one member left of three
    infra.apply(node_domain(stress, "cp-2"), False)
    etcd.update(7.0)
    assert etcd.electing and etcd.election_cause == "quorum-restored"


def test_election_restarts_only_when_its_winner_leaves_the_quorum():
    model = ClusterModel(load_topology(ROOT / "topologies/benchmark-5-members.yaml"))
    etcd, infra, timers, rec, _ = make_etcd(model)
    etcd.leader = 0
    infra.apply(node_domain(model, "cp-1"), True)
    etcd.update(10.0)
    assert etcd.electing and etcd.election_cause == "leader-lost"
    winner, epoch = etcd.election_end_winner, etcd.election_epoch
    infra.apply(node_domain(model, "cp-1"), False)
    etcd.update(10.1)  # a member joins: the election goes on
    assert len(etcd.live) == 5 and (etcd.election_end_winner, etcd.election_epoch) == (winner, epoch)
    infra.apply(node_domain(model, model.cluster.nodes[model.member_nodes[winner]].name), True)
    etcd.update(10.2)  # the winner-to-be leaves: a new election among the four left
    assert etcd.electing and etcd.election_epoch > epoch and etcd.election_end_winner in etcd.live
    etcd.on_election_done(max(e[0] for e in timers.heap if e[3] == epoch), epoch)  # stale
    assert etcd.electing
    t_done = next(e[0] for e in timers.heap if e[3] == etcd.election_epoch)
    etcd.on_election_done(t_done, etcd.election_epoch)
    assert rec.elections.n == 1 and rec.elections.total == t_done - 10.0 and rec.after_leader_loss == 1


@pytest.mark.parametrize("pre_vote", [True, False])
def test_member_cut_off_past_election_timeout_disrupts_leader_without_pre_vote(stress, pre_vote):
    c = stress.cluster
    model = ClusterModel(dataclasses.replace(c, etcd=dataclasses.replace(c.etcd, pre_vote=pre_vote)))
    etcd, infra, timers, rec, _ = make_etcd(model)
    etcd.leader = 0  # cp-1 in ra; cp-2 is alone in rb
    infra.apply(domain(model, LINK), True)
    etcd.update(5.0)
    assert etcd.live == (0, 2) and etcd.leader == 0 and etcd.outside_since == {1: 5.0}
    infra.apply(domain(model, LINK), False)
    etcd.update(5.0 + c.etcd.election_timeout + 0.5)
    assert etcd.electing is (not pre_vote)
    if not pre_vote:
        assert etcd.election_cause == "leader-lost"


def test_api_needs_writes_and_an_apiserver_in_the_quorum_partition(stress):
    etcd, infra, _, rec, _ = make_etcd(stress)
    listener = Calls()
    api = ApiServers(stress, infra, etcd, rec, None, listener)
    api.refresh(0.0)
    assert api.api_ok and api.serving() == stress.api_nodes and listener.calls == [("api_changed", 0.0)]
    etcd.leader = 0
    infra.apply(domain(stress, LINK), True)  # cp-2's apiserver is cut off with rb
    etcd.update(1.0)
    api.refresh(1.0)
    assert api.api_ok and api.serving() == [node(stress, "cp-1"), node(stress, "cp-3")]
    infra.apply(node_domain(stress, "cp-3"), True)  # quorum lost: no writes anywhere
    etcd.update(2.0)
    api.refresh(2.0)
    assert not api.api_ok and api.serving() == [] and rec.api.down and not rec.api_only.down


# -- leases -----------------------------------------------------------------------------------
def make_leases(model):
    infra, timers, listener = Infrastructure(model), Timers(), Calls()
    api = Calls(api_ok=True, up=set(model.api_nodes))
    api.reaches = lambda n: n in api.up
    api.serving = lambda: [n for n in model.api_nodes if n in api.up]
    leases = Leases(model, infra, api, timers, np.random.default_rng(3), None, listener)
    leases.choose_initial_holders()
    leases.leases[KCM].holder, leases.leases[SCHEDULER].holder = node(model, "cp-1"), node(model, "cp-3")
    leases.refresh(0.0)
    return leases, infra, api, timers, listener


def test_dead_holder_is_replaced_after_the_lease_expires(stress):
    leases, infra, api, timers, listener = make_leases(stress)
    assert leases.kcm_ready and leases.controllers_ready and listener.calls == [("leaders_changed", 0.0, True, True)]
    le = stress.cluster.leader_election
    dead = node(stress, "cp-1")
    infra.apply(node_domain(stress, "cp-1"), True)
    api.up.discard(dead)
    leases.refresh(100.0)
    kcm = leases.leases[KCM]
    assert kcm.holder == -1 and not leases.kcm_ready and not leases.controllers_ready
    assert 100.0 - le.retry_period <= kcm.renewed <= 100.0
    (t_acq, _, kind, index, token), = timers.heap
    assert kind == LEASE_ACQUIRE and index == KCM
    assert kcm.renewed + le.lease_duration <= t_acq <= kcm.renewed + le.lease_duration + le.retry_period * 2.2
    leases.on_acquire(t_acq, index, token)
    assert kcm.holder in api.serving() and kcm.holder != dead and kcm.renewing
    assert leases.kcm_ready and listener.calls[-1] == ("leaders_changed", t_acq, True, True)
    assert leases.leases[SCHEDULER].holder == node(stress, "cp-3")  # untouched


def test_holder_cut_from_the_api_steps_down_after_renew_deadline_unless_it_renews(stress):
    leases, _, api, timers, listener = make_leases(stress)
    le = stress.cluster.leader_election
    sched = leases.leases[SCHEDULER]
    api.up.discard(sched.holder)
    leases.refresh(50.0)
    assert not sched.renewing and not leases.controllers_ready and leases.kcm_ready
    (t_lost, _, kind, index, epoch), = timers.heap
    assert kind == LEASE_LOST and index == SCHEDULER and t_lost == pytest.approx(sched.renewed + le.renew_deadline)
    # Reaches the API again in time: renews, and the LEASE_LOST timer is stale.
    api.up.add(sched.holder)
    leases.refresh(51.0)
    leases.on_lost(t_lost, index, epoch)
    assert sched.holder == node(stress, "cp-3") and sched.renewing and leases.controllers_ready
    # Cut off again, for good this time: it steps down when the deadline passes.
    api.up.discard(sched.holder)
    leases.refresh(60.0)
    (t_lost, _, _, index, epoch), = [e for e in timers.heap if e[2] == LEASE_LOST and e[4] == sched.epoch]
    leases.on_lost(t_lost, index, epoch)
    assert sched.holder == -1 and not leases.controllers_ready
    assert any(e[2] == LEASE_ACQUIRE for e in timers.heap)  # standbys try next


# -- node lifecycle ---------------------------------------------------------------------------
class HalfRandom:
    """A random stream that always draws 0.5: the controller checks at 2.5 + 5k s, and the
    kubelet's last lease renewal came 5 s before its node failed."""

    def random(self, size=None):
        return 0.5 if size is None else np.full(size, 0.5)


def not_ready_at(t):
    """First check (2.5 + 5k) strictly after the last renewal (t - 5) + grace."""
    x = t - 5.0 + GRACE
    return 2.5 + 5.0 * (np.floor((x - 2.5) / 5.0) + 1)


def make_lifecycle(model, kcm=True):
    infra, timers, work = Infrastructure(model), Timers(), Calls()
    etcd = Calls(joined={domain(model, "region/ra"), domain(model, "region/rb")})
    etcd.quorum_held = lambda: True
    etcd.joins_quorum = lambda n: model.cluster.nodes[n].region in etcd.joined
    leases = Calls(kcm_ready=kcm, controllers_ready=kcm, kcm_generation=0)
    life = NodeLifecycle(model, infra, etcd, leases, work, timers, HalfRandom(), None)
    handlers = {NOT_READY: life.on_not_ready, EVICT: life.on_evict, TAINT: life.zones.on_taint,
                OUT_OF_SERVICE: life.on_out_of_service}
    return life, infra, etcd, leases, work, timers, handlers


def pod_calls(work):
    return [c for c in work.calls if c[0] not in ("schedule_pending", "request_pass")]


def test_not_ready_lands_at_the_first_check_after_grace_since_the_last_renewal(stress):
    # pkg/controller/nodelifecycle/node_lifecycle_controller.go: monitorNodeHealth every 5 s,
    # tryUpdateNodeHealth: Unknown once now > probeTimestamp + grace; the probe is the last renewal.
    life, *_ = make_lifecycle(stress)
    assert not_ready_at(100.0) == 147.5
    for t in (0.0, 3.0, 100.0, 101.7):
        assert life.next_tick(t - 5.0 + GRACE) == not_ready_at(t)
        assert 40.0 <= life.next_tick(t - 5.0 + GRACE) - t <= 55.0


def test_dead_node_goes_not_ready_is_tainted_then_evicted_after_toleration(stress):
    life, infra, _, _, work, timers, handlers = make_lifecycle(stress)
    g2 = node(stress, "g-2")
    infra.apply(node_domain(stress, "g-2"), True)
    life.node_down(100.0, g2, False)
    advance(timers, handlers, not_ready_at(100.0) - 0.001)
    assert not life.not_ready[g2]
    advance(timers, handlers, not_ready_at(100.0) + TOLERATION - 0.001)
    assert life.not_ready[g2] and life.zones.tainted[g2] and not life.evicted[g2]
    advance(timers, handlers, 1e9)
    assert life.evicted[g2]
    assert pod_calls(work) == [("node_lost", 100.0, g2, False, False), ("node_not_ready", 147.5, g2, False),
                               ("evict_node", 447.5, g2)]


@pytest.mark.parametrize("back_at, was_not_ready", [(120.0, False), (300.0, True)])
def test_node_back_before_eviction_cancels_the_pending_step(stress, back_at, was_not_ready):
    life, infra, _, _, work, timers, handlers = make_lifecycle(stress)
    g2 = node(stress, "g-2")
    infra.apply(node_domain(stress, "g-2"), True)
    life.node_down(100.0, g2, False)
    advance(timers, handlers, back_at)
    infra.apply(node_domain(stress, "g-2"), False)
    life.node_returns(back_at, g2)
    advance(timers, handlers, 1e9)
    assert not life.not_ready[g2] and not life.evicted[g2] and not life.zones.tainted[g2]
    assert pod_calls(work)[-1] == ("node_ready", back_at, g2, was_not_ready)
    assert not any(c[0] == "evict_node" for c in work.calls)


def test_a_new_controller_manager_starts_the_grace_period_afresh(stress):
    """tryUpdateNodeHealth: a node the new leader has no health data for gets probeTimestamp = now,
    so NotReady comes one grace period (and the check after it) after the takeover."""
    life, infra, _, leases, work, timers, handlers = make_lifecycle(stress, kcm=False)
    g2 = node(stress, "g-2")
    infra.apply(node_domain(stress, "g-2"), True)
    life.node_down(0.0, g2, False)
    advance(timers, handlers, 1000.0)
    assert not life.not_ready[g2]
    leases.kcm_ready = leases.controllers_ready = True
    leases.kcm_generation = 1  # a takeover
    life.controller_manager_back(1000.0)
    advance(timers, handlers, 1054.9)
    assert not life.not_ready[g2]
    advance(timers, handlers, 1e9)
    assert ("node_not_ready", 1055.0, g2, False) in work.calls
    assert ("evict_node", 1055.0 + TOLERATION, g2) in work.calls


def test_a_new_controller_manager_re_arms_the_taints_it_finds_from_its_own_start(stress):
    life, infra, _, leases, work, timers, handlers = make_lifecycle(stress)
    g2 = node(stress, "g-2")
    infra.apply(node_domain(stress, "g-2"), True)
    life.node_down(0.0, g2, False)
    advance(timers, handlers, 200.0)
    assert life.zones.tainted[g2] and not life.evicted[g2]
    leases.kcm_ready = False  # the leader dies at 200 s; a standby takes over at 230 s
    advance(timers, handlers, 230.0)
    leases.kcm_ready, leases.kcm_generation = True, 1
    life.controller_manager_back(230.0)
    advance(timers, handlers, 1e9)
    assert [c for c in work.calls if c[0] == "evict_node"] == [("evict_node", 230.0 + TOLERATION, g2)]


def test_the_same_leader_back_after_a_pause_does_what_waited(stress):
    life, infra, _, leases, work, timers, handlers = make_lifecycle(stress, kcm=False)
    g2 = node(stress, "g-2")
    infra.apply(node_domain(stress, "g-2"), True)
    life.node_down(0.0, g2, False)
    advance(timers, handlers, 60.0)
    assert not life.not_ready[g2] and life.deferred == [(NOT_READY, g2, life.node_epoch[g2])]
    leases.kcm_ready = leases.controllers_ready = True
    life.controller_manager_back(60.0)  # same generation: the API was away for a moment
    assert life.not_ready[g2] and life.deferred == []
    advance(timers, handlers, 1e9)
    assert ("evict_node", 60.0 + TOLERATION, g2) in work.calls


def test_region_link_cuts_off_kubelets_outside_the_quorum_partition(stress):
    life, infra, etcd, _, work, timers, handlers = make_lifecycle(stress)
    rb_workers = [n for n in stress.workers if stress.cluster.nodes[n].region == domain(stress, "region/rb")]
    infra.apply(domain(stress, LINK), True)
    etcd.joined = {domain(stress, "region/ra")}
    # A control-plane node's kubelet in the cut-off region cannot renew its lease either.
    rb_nodes = [n.index for n in stress.cluster.nodes
                if n.region == domain(stress, "region/rb") and n.role in ("control-plane", "apiserver", "worker")]
    assert len(rb_nodes) > len(rb_workers) == 3
    life.refresh_reachability(10.0)
    assert [n for n in range(stress.n_nodes) if life.unreachable[n]] == rb_nodes
    assert life.n_unreachable == len(rb_nodes)
    assert not any(life.kubelet_reports(n) for n in rb_nodes)
    assert sorted(e[0] for e in timers.heap) == [not_ready_at(10.0)] * len(rb_nodes)
    # Reconnected before the grace period ends: Ready again, the NotReady timers are stale.
    infra.apply(domain(stress, LINK), False)
    etcd.joined.add(domain(stress, "region/rb"))
    life.refresh_reachability(30.0)
    advance(timers, handlers, 1e9)
    assert life.n_unreachable == 0 and not any(life.not_ready)
    assert [c for c in work.calls if c[0] == "node_ready"] == [("node_ready", 30.0, n, False) for n in rb_nodes]
    assert work.calls[-1] == ("request_pass",)  # the loop makes one pass once the instant is over


# -- workload controllers and drains -------------------------------------------------------------
WORKLOADS = """
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: wl}
regions:
  - name: r1
    datacenters:
      - {name: dc1, racks: 1, serversPerRack: 6}
controlPlane:
  members: 3
workers:
  - pool: app
    count: 3
    capacity: {cpu: 10, memory: 64Gi, pods: 110}
workloads:
  - {name: web, kind: Deployment, replicas: 3, requests: {cpu: 1, memory: 1Gi}}
  - {name: db, kind: StatefulSet, replicas: 3, requests: {cpu: 1, memory: 1Gi}, minAvailable: 2}
  - {name: agent, kind: DaemonSet, requests: {cpu: 100m, memory: 100Mi}}
"""


def make_workloads():
    model = ClusterModel(topology(WORKLOADS))
    infra, timers, rec = Infrastructure(model), Timers(), Recorder(model, 0)
    leases = Calls(kcm_ready=True, controllers_ready=True)
    work = Workloads(model, infra, leases, timers, rec, None, np.random.default_rng(0))
    work.lifecycle = Calls()
    work.lifecycle.kubelet_reports = lambda n: infra.node_up[n]
    return model, infra, timers, rec, work


def pods_of(model, name):
    w = next(i for i, wl in enumerate(model.cluster.workloads) if wl.name == name)
    return w, model.workload_pods[w]


def test_eviction_replaces_deployment_pods_keeps_statefulset_and_daemonset_pods():
    model, infra, timers, rec, work = make_workloads()
    app1 = node(model, "app-1")
    on_app1 = set(work.node_pods[app1])
    infra.apply(node_domain(model, "app-1"), True)
    work.node_lost(10.0, app1, False)
    w_db, db = pods_of(model, "db")
    assert work.ready_count[w_db] == 2 and not rec.wl_eps[w_db].down
    work.node_not_ready(60.0, app1, False)
    work.evict_node(360.0, app1)
    assert work.pass_due
    work.flush(360.0)  # the loop's end of the instant: one scheduling pass
    for p in on_app1:
        kind = model.cluster.workloads[model.pod_workload[p]].kind
        if kind == "Deployment":
            assert work.pl.pod_node[p] not in (-1, app1) and p not in work.pending
            assert any(e[0] == 360.0 + STARTUP and e[2] == POD_READY and p in [q for q, _ in work.starting[e[3]]]
                       for e in timers.heap)
        else:
            assert work.pl.pod_node[p] == app1 and work.terminating[p] == (kind == "StatefulSet")
    # The node returns: the Terminating StatefulSet pod is deleted at last, created afresh and
    # scheduled (in its volume's scope), then starts.
    infra.apply(node_domain(model, "app-1"), False)
    work.node_ready(400.0, app1, True)
    assert work.pl.usable[app1] and not any(work.terminating)
    (sts,) = [p for p in on_app1 if model.is_stateful[p]]
    assert sts in work.pending and work.pass_due
    work.flush(400.0)
    assert sts not in work.pending and model.scope_of(sts, work.pl.pod_node[sts]) == work.scope[sts]
    assert sorted(e[0] for e in timers.heap if e[2] == POD_READY) == [390.0, 430.0]  # one timer per pass
    for t, _, kind, key, _ in sorted(timers.heap):
        if kind == POD_READY:
            work.on_pod_ready(t, key)
    assert work.ready_count[w_db] == 3 and all(work.ready)
    assert rec.recoveries[w_db].n == 1 and rec.recoveries[w_db].quantile(0.5) == 430.0 - 10.0


def test_drain_waits_for_the_disruption_budget_then_completes():
    model, infra, timers, rec, work = make_workloads()
    drains = Drains(model, work, timers, None)
    w_db, db = pods_of(model, "db")
    app1, app2 = node(model, "app-1"), node(model, "app-2")
    db_on_app2 = next(p for p in db if work.pl.pod_node[p] == app2)
    work.set_ready(0.0, db_on_app2, False)  # one db pod not ready: evicting another would break minAvailable 2
    drains.start(0.0, app1)
    assert not work.pl.usable[app1]
    handlers = {DRAIN_TRY: drains.on_drain_try, POD_READY: work.on_pod_ready}
    advance(timers, handlers, 0.0, work)
    blocked = drains.blocked_pods[app1]
    assert [model.pod_workload[p] for p in blocked] == [w_db] and drains.draining[app1] is False
    # No retry is played every 5 s: the drain waits for db's ready count to change ...
    assert not [e for e in timers.heap if e[2] == DRAIN_TRY] and drains.waiting[app1] == (0.0, frozenset({w_db}))
    assert [model.cluster.workloads[model.pod_workload[p]].kind for p in work.node_pods[app1]] == \
        ["StatefulSet", "DaemonSet"]  # the web pod went; db waits; the DaemonSet pod is ignored
    work.set_ready(12.0, db_on_app2, True)
    # ... and then retries at its next 5 s tick, as kubectl drain would have.
    assert sorted(e[0] for e in timers.heap if e[2] == DRAIN_TRY) == [3 * DRAIN_RETRY_SECONDS]
    advance(timers, handlers, 15.0, work)
    assert drains.draining[app1] is True and drains.blocked_pods[app1] == []
    assert work.pl.pod_node[blocked[0]] not in (-1, app1)  # replaced elsewhere, kept off the cordoned node
    work.node_ready(20.0, app1, True)  # a status update does not uncordon
    assert not work.pl.usable[app1]


# -- the loop's read-only views ---------------------------------------------------------------------
def test_history_run_views_follow_the_owning_component(stress):
    h = History(-1, 10.0, np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool),
                np.zeros(0, dtype=np.int64))
    run = HistoryRun(stress, h, np.random.default_rng(0))
    run.run()
    redeploy(run.work, 5.0)  # replaces the placement object
    assert run.pl is run.work.pl and run.node_pods is run.work.node_pods
    assert run.api_ok is run.api.api_ok and run.live == run.etcd.live
    assert run.pod_name(0) == stress.initial_pod_names()[0]


def test_pods_started_together_share_a_timer_and_pop_as_their_own_timers_would():
    """One POD_READY timer serves the pods started one after another for one instant; a timer
    pushed in between (any kind) starts a new group, so the order within the instant is the
    order separate timers would have had (push order)."""
    model, infra, timers, rec, work = make_workloads()
    _, web = pods_of(model, "web")
    _, db = pods_of(model, "db")
    for p in (*web, db[0]):
        work.set_ready(0.0, p, False)
    work.start(100.0, web[0])
    work.start(100.0, web[1])  # joins web[0]'s timer
    timers.push(100.0, DRAIN_TRY, 7)
    work.start(100.0, web[2])  # after another timer: a new group
    work.start(200.0, db[0])  # another instant
    popped = [heapq.heappop(timers.heap) for _ in range(len(timers.heap))]
    assert [(e[0], e[2]) for e in popped] == [(100.0, POD_READY), (100.0, DRAIN_TRY), (100.0, POD_READY),
                                               (200.0, POD_READY)]
    assert [[p for p, _ in work.starting[e[3]]] for e in popped if e[2] == POD_READY] == \
        [[web[0], web[1]], [web[2]], [db[0]]]
    work.start(150.0, web[1])  # restarted before its first start was done: that one is stale
    work.on_pod_ready(100.0, popped[0][3])
    assert work.ready[web[0]] and not work.ready[web[1]] and not work.ready[web[2]]
    work.on_pod_ready(100.0, popped[2][3])
    assert work.ready[web[2]] and not work.ready[web[1]]
