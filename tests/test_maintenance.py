"""Planned disruption (issue 11): rolling upgrades, drains through budgets, leader transfers and
RollingUpdate waves, interleaved with failures, and what results.json and the report say."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kchaos.analysis.whatif import run_scenario
from kchaos.cli import main
from kchaos.model.cluster_model import ClusterModel
from kchaos.model.controlplane.raft import commit_latency, transfer_gap
from kchaos.model.workloads.rollout_waves import rolling_update
from kchaos.report.html import render_html
from kchaos.topology import load_topology_text

THREE_WORKERS = """\
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {{name: upgrades}}
regions:
  - name: r1
    datacenters:
      - {{name: dc1, racks: 3, serversPerRack: 2}}
controlPlane: {{members: 3}}
workers:
  - {{pool: w, count: 3, capacity: {{cpu: 8, memory: 32Gi}}}}
workloads:
  - {{name: web, kind: Deployment, replicas: {replicas}, minAvailable: {need}, requests: {{cpu: 500m, memory: 512Mi}}}}
{extra}
"""
MONTHLY = "maintenance: {every: 30d, batch: 1, perNode: 10m}"


def topology(replicas: int = 3, need: int = 2, extra: str = MONTHLY):
    return load_topology_text(THREE_WORKERS.format(replicas=replicas, need=need, extra=extra), filename="t.yaml")


def run(tmp_path, text: str, failures: int = 2000) -> dict:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    assert main(["run", str(path), "-n", str(failures), "-q", "--out", str(tmp_path / "out")]) == 0
    return json.loads((tmp_path / "out" / "results.json").read_text())


# -- the RollingUpdate waves, replayed from pkg/controller/deployment/rolling.go ----------------

def test_rolling_update_follows_the_deployment_controller():
    # 8 replicas, maxSurge 2, maxUnavailable 2 (25% each), pods ready 30 s after creation.
    # t=0: new RS to 2 (total 10 = replicas + surge), old RS to 6 (6 stay available, 2 new
    # unavailable), new RS to 4 (total 10 again). t=30: 4 new ready: old to 2, new to 8.
    # t=60: all 8 new ready, old to 0. Ready: 6 from 0 to 60 s, then 8.
    assert rolling_update(8, 2, 2, 30.0) == [(0.0, 6), (60.0, 8)]
    # No room for surge pods: each new pod waits for an old pod's slot, two per 30 s.
    assert rolling_update(8, 2, 2, 30.0, room=0) == [(0.0, 6), (120.0, 8)]
    # maxUnavailable 0 (3 replicas: 25% rounds down): surge only, never below 3 ready.
    assert rolling_update(3, 1, 0, 30.0) == [(0.0, 3)]
    # maxUnavailable 0 and no room for the surge pod: the rollout cannot progress.
    assert rolling_update(4, 1, 0, 30.0, room=0) is None


def test_the_strategy_rounds_as_upstream():
    c = topology(replicas=8, need=8, extra="")
    assert c.workloads[0].rolling_update() == (2, 2)  # maxSurge 25% rounds up, maxUnavailable 25% down
    c = topology(replicas=3, need=2, extra="")
    assert c.workloads[0].rolling_update() == (1, 0)


# -- a graceful control-plane stop -------------------------------------------------------------

def test_leader_transfer_gap_is_half_an_rtt_and_two_commit_rounds():
    """Three members in one datacenter (RTT 500 us, fsync 1 ms): the transferee gets MsgTimeoutNow
    (RTT/2), collects a quorum of persisted votes (RTT + fsync) and commits its first entry
    (RTT + fsync): 0.25 + 1.5 + 1.5 = 3.25 ms, against a ~1 s election after a crash.
    Sources: etcd server/etcdserver/server.go (Stop -> TransferLeadership -> MoveLeader) and
    etcd-io/raft raft.go (MsgTransferLeader -> sendTimeoutNow; MsgTimeoutNow -> hup(campaignTransfer))."""
    model = ClusterModel(topology())
    rtt = model.rtt
    assert commit_latency(rtt, 1, (0, 1, 2), 2, 0.001) == pytest.approx(0.0015)
    assert transfer_gap(rtt, 0, 1, (0, 1, 2), 2, 0.001) == pytest.approx(0.00325)


def test_a_rolling_upgrade_hands_over_and_starts_no_election():
    scenario = run_scenario(topology(), [], upgrade=True)
    events = scenario["events"]
    reasons = [e["reason"] for e in events]
    assert reasons.count("LeaderTransfer") == 1  # the leader stops last, once
    etcd = [e["reason"] for e in events if e["object"].startswith("etcd")]
    assert "ElectionStarted" not in etcd and "LeaderLost" not in etcd  # followers stop without one
    transfer = reasons.index("LeaderTransfer")
    stops = [i for i, e in enumerate(events) if e["reason"] == "NodeRebooting" and e["object"].startswith("node/cp-")]
    assert len(stops) == 3 and stops[-1] > transfer  # the leader's node is the last control-plane node stopped
    o = scenario["outcome"]
    assert o["elections_ms"] == []
    assert o["control_plane_gap_seconds"] == pytest.approx(0.00325, abs=1e-6)  # the transfer's write gap only
    up = o["upgrade"]
    assert up["completed"] and up["drains"] == 6 and up["leader_transfers"] == 1
    # kube-scheduler releases its lease (ReleaseOnCancel); kube-controller-manager's expires.
    scheduler = [e["message"] for e in events if e["object"] == "lease/kube-scheduler"]
    kcm = [e["message"] for e in events if e["object"] == "lease/kube-controller-manager"]
    assert any("released the lease" in m for m in scheduler)
    assert not any("released" in m for m in kcm) and any("wait for the lease to expire" in m for m in kcm)


# -- what must hold (issue 11) ---------------------------------------------------------------------

def test_one_node_at_a_time_with_room_in_the_budget_costs_no_planned_minute(tmp_path):
    r = run(tmp_path, THREE_WORKERS.format(replicas=3, need=2, extra=MONTHLY))
    m = r["maintenance"]
    assert 11.5 <= m["upgrades_per_year"] <= 12.5  # monthly, every one completed
    assert m["drains"] >= 6 * (m["upgrades"])  # three control-plane nodes and three workers each
    assert m["blocked_drains"]["max_seconds"] <= 120  # held up at most until a replacement is Ready
    assert m["workloads"]["web"]["planned_minutes_per_year"] < 0.05
    assert r["run"]["sampling"]["method"] == "plain" and "maintenance" in r["run"]["sampling"]["reason"]


def test_a_budget_that_allows_no_disruption_blocks_the_drains_and_says_which(tmp_path):
    r = run(tmp_path, THREE_WORKERS.format(replicas=2, need=2, extra=MONTHLY))
    blocked = r["maintenance"]["blocked_drains"]
    assert blocked["count"] > 0 and blocked["max_seconds"] > 86400
    assert blocked["by_budget"][0]["workload"] == "web" and blocked["by_budget"][0]["min_available"] == 2
    advice = [a for a in r["advisories"] if a["code"] == "drain-blocked"]
    assert advice and advice[0]["severity"] == "warning" and "minAvailable 2 of 2" in advice[0]["message"]
    page = render_html(r)
    assert "waited for a disruption budget" in page and "web (minAvailable 2 of 2" in page
    scenario = run_scenario(topology(replicas=2, need=2), [], upgrade=True)
    up = scenario["outcome"]["upgrade"]
    assert not up["completed"]
    assert up["blocked_now"][0]["budgets"][0] == {"workload": "web", "min_available": 2, "ready": 2}


@pytest.mark.parametrize("replicas,need,extra", [(2, 2, MONTHLY), (8, 8, ""), (3, 2, MONTHLY)])
def test_planned_overlap_and_unplanned_add_up_to_the_downtime(tmp_path, replicas, need, extra):
    r = run(tmp_path, THREE_WORKERS.format(replicas=replicas, need=need, extra=extra).replace(
        "count: 3,", "count: 4," if replicas == 8 else "count: 3,").replace("cpu: 8,", "cpu: 16,"))
    m = r["maintenance"]
    quantities = [("API", m["api_planned_minutes_per_year"], m["api_overlap_minutes_per_year"],
                   m["api_unplanned_minutes_per_year"], r["control_plane"]["downtime_minutes_per_year"]["estimate"])]
    for w in r["workloads"]:
        s = m["workloads"][w["name"]]
        quantities.append((w["name"], s["planned_minutes_per_year"], s["overlap_minutes_per_year"],
                           s["unplanned_minutes_per_year"], w["downtime_minutes_per_year"]["estimate"]))
    for name, planned, overlap, unplanned, total in quantities:
        assert planned >= 0 and overlap >= 0 and unplanned >= 0
        assert planned + overlap + unplanned == pytest.approx(total, rel=0.02, abs=1e-3), name


def test_rollouts_below_the_budget_are_planned_minutes_and_advised(tmp_path):
    """8 replicas, minAvailable 8, weekly rollouts: each rollout holds 6 ready for 60 s (see
    test_rolling_update_follows_the_deployment_controller), 365.25 / 7 times a year: 52.2 min."""
    text = THREE_WORKERS.format(replicas=8, need=8, extra="").replace("count: 3,", "count: 4,").replace(
        "cpu: 8,", "cpu: 16,")
    r = run(tmp_path, text, failures=3000)
    planned = r["maintenance"]["workloads"]["web"]["planned_minutes_per_year"]
    overlap = r["maintenance"]["workloads"]["web"]["overlap_minutes_per_year"]
    expected = 60.0 / 60.0 * 365.25 / 7
    assert planned + overlap == pytest.approx(expected, rel=0.03)
    assert planned > 0.9 * expected
    advice = [a for a in r["advisories"] if a["code"] == "rollout-below-budget"]
    assert advice and "maxUnavailable 2 of 8" in advice[0]["message"] and "minAvailable: 6" in advice[0]["message"]
    assert any(row["cause"] == "planned: rollout wave" for row in r["attribution"]["workloads"]["web"])


def test_drains_wait_for_budgets_without_replaying_every_retry():
    """A drain blocked for days costs a handful of events, not one every 5 s (the engine wakes it
    when the blocking workload's ready count changes, at its next 5 s tick)."""
    from kchaos.model.engine import HistoryRun
    from kchaos.model.sampling.failures import StationarySampler

    cluster = topology(replicas=2, need=2)
    model = ClusterModel(cluster)
    history = StationarySampler(cluster).history(0, 90 * 86400.0, seed=3)
    run_ = HistoryRun(model, history, np.random.default_rng(0))
    seen = []
    dispatch = run_.dispatch

    def counting(t, kind, a, b):
        seen.append(kind)
        dispatch(t, kind, a, b)

    run_.dispatch = counting
    result = run_.run()
    from kchaos.model.timers import DRAIN_TRY
    assert result.planned.blocked_drains >= 1
    assert seen.count(DRAIN_TRY) < 2000  # 90 days of 5 s retries would be 1.5 million


# -- failures during an upgrade (found in review) ------------------------------------------------

def _scripted(cluster, failures, horizon=8000.0):
    """One upgrade from t=0 with scripted failures [(t, domain id, down)]; (run, result, events)."""
    from kchaos.model.engine import HistoryRun
    from kchaos.model.sampling.failures import History

    dom = {d.id: d.index for d in cluster.domains}
    h = History(-1, horizon, np.array([t for t, _, _ in failures], dtype=float),
                np.array([dom[d] for _, d, _ in failures], dtype=np.int64),
                np.array([x for _, _, x in failures], dtype=bool), np.empty(0, dtype=np.int64))
    events: list = []
    run_ = HistoryRun(ClusterModel(cluster), h, np.random.default_rng(1), events=events, rollouts=False)
    run_.upgrade_at = 0.0
    return run_, run_.run(), events


def test_losing_the_transferee_during_a_transfer_elects_as_after_a_leader_loss():
    _, _, events = _scripted(topology(), [])
    transfer = next(e for e in events if e[2] == "LeaderTransfer")
    transferee = transfer[4].split(" hands leadership to ")[1].split()[0]
    _, result, events = _scripted(topology(), [(transfer[0] + 0.001, f"node/{transferee}", True),
                                               (transfer[0] + 100.0, f"node/{transferee}", False)])
    assert any(e[2] == "LeaderElected" for e in events) and result.planned.transfers == 1


def test_an_upgrade_waits_while_a_control_plane_node_is_down():
    """kubeadm-style health gate: with cp-1 down by failure, no other member is stopped (that
    would lose quorum by the upgrade's own hand)."""
    _, result, events = _scripted(topology(), [(1.0, "node/cp-1", True), (3000.0, "node/cp-1", False)])
    stops = [e[0] for e in events if e[2] == "NodeRebooting" and e[3].startswith("node/cp-")]
    assert len(stops) == 3 and not [t for t in stops if 1.0 < t < 3000.0]  # the first stopped at 0, before


def test_a_node_uncordoned_while_briefly_down_is_schedulable_once_back():
    c = topology(extra="maintenance: {every: 30d, batch: 1, perNode: 20s, controlPlane: false}")
    run_, _, _ = _scripted(c, [(15.0, "node/w-1", True), (25.0, "node/w-1", False)], horizon=5000.0)
    w1 = next(n.index for n in c.nodes if n.name == "w-1")
    assert not run_.work.cordoned and run_.work.pl.usable[w1]


def test_a_drain_refuses_an_unready_pod_while_the_budget_is_already_short():
    """unhealthyPodEvictionPolicy IfHealthyBudget (the default): an unready pod may be evicted
    while the budget is healthy (2 ready of minAvailable 2), not once it is short (1 ready)."""
    work = _scripted(topology(extra=""), [], horizon=1.0)[0].work  # three replicas ready
    p_ready, p_other, p_down = work.m.workload_pods[0]
    work.set_ready(0.0, p_down, False)
    assert not work.budget_blocks(p_down) and work.budget_blocks(p_ready)
    work.set_ready(0.0, p_other, False)
    assert work.budget_blocks(p_down)


def test_a_stopped_members_failure_counts_in_the_failures_only_quorum():
    """cp-2 stopped for its upgrade; cp-3 and then cp-2 itself fail: by failures alone two of
    three members are down, which the API's control variate must know."""
    run_, _, _ = _scripted(topology(), [(100.0, "node/cp-3", True), (200.0, "node/cp-2", True)], horizon=300.0)
    stopped = [run_.c.nodes[n].name for n in run_.m.cp_nodes if run_.infra.stopped[n]]
    assert stopped == ["cp-2"]  # the first control-plane node, stopped at t=0 (the leader's goes last)
    assert run_.etcd.failure_quorum_lost


def test_a_rollout_that_cannot_progress_leaves_its_pods_in_place():
    """maxSurge 1, maxUnavailable 0 and no room for the surge pod: the Deployment controller
    cannot progress, so nothing moves (Kubernetes marks the rollout ProgressDeadlineExceeded)."""
    from kchaos.model.engine import HistoryRun
    from kchaos.model.sampling.failures import History

    text = THREE_WORKERS.format(replicas=6, need=1, extra="kubernetes: {rolloutInterval: 1d}\naddons: none").replace(
        "requests: {cpu: 500m, memory: 512Mi}}", "requests: {cpu: 4, memory: 512Mi}, "
        "strategy: {maxSurge: 1, maxUnavailable: 0}}")
    c = load_topology_text(text, filename="t.yaml")  # 3 workers of 8 cpu hold exactly 6 pods of 4 cpu
    model = ClusterModel(c)
    h = History(-1, 3 * 86400.0, np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool),
                np.zeros(0, dtype=np.int64))
    run_ = HistoryRun(model, h, np.random.default_rng(0))
    result = run_.run()
    assert result.planned.rollouts >= 2 and result.planned.rollouts_stuck == result.planned.rollouts
    assert run_.pl.pod_node == model.baseline.pod_node and run_.ready_count[0] == 6


def test_redeploy_keeps_the_pods_of_stuck_rollouts_where_they_are():
    from kchaos.model.engine import HistoryRun
    from kchaos.model.sampling.failures import History
    from kchaos.model.workloads.fresh_start import redeploy

    model = ClusterModel(topology(extra=""))
    h = History(-1, 1.0, np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64))
    run_ = HistoryRun(model, h, np.random.default_rng(0), rollouts=False)
    run_.run()
    work, sch = run_.work, model.scheduler
    p = model.workload_pods[0][0]
    home = work.pl.pod_node[p]
    away = next(n for n in model.workers if n != home)
    sch.unbind(work.pl, p)
    work.node_pods[home].discard(p)
    sch.bind(work.pl, p, away)
    work.node_pods[away].add(p)
    redeploy(work, 10.0, keep=frozenset({0}))
    assert work.pl.pod_node[p] == away  # a stuck rollout moves nothing
    redeploy(work, 20.0)
    assert work.pl.pod_node == model.baseline.pod_node  # a rollout that runs places afresh


@pytest.mark.parametrize("seed", [2, 3])
def test_a_drain_that_completes_during_a_rollout_stops_listening_at_once(seed):
    """A rollout tells the drains waiting on budgets that pods moved, one Deployment after
    another; a drain that completes on the first clears the listener, and the next Deployment
    must not call it (it crashed with "'NoneType' object is not callable": pod starts as long
    as the upgrade's per-node time keep drains waiting through rollouts)."""
    from pathlib import Path

    from kchaos.model.sampling.montecarlo import run_monte_carlo
    from kchaos.topology import load_topology
    path = Path(__file__).parent / "data" / "stress-maintenance.yaml"
    cluster = load_topology(path, overrides={"kubernetes.podStartup": "600s"})
    out = run_monte_carlo(cluster, failures=1500, seed=seed, jobs=1, sampling="plain")
    assert sum(h.failures for h in out.histories) == 1500
    assert sum(h.planned.drains for h in out.histories) > 0


def test_blocked_workloads_are_counted_in_the_order_met_whatever_the_hash_seed():
    """results.json must not depend on PYTHONHASHSEED: a drain's blocking workloads are
    counted once each, in the order they were met (a set's order follows string hashes)."""
    from types import SimpleNamespace

    from kchaos.model.workloads.upgrades import PlannedStats, RollingUpgrades
    names = [f"w{i:02d}" for i in range(40, 0, -3)]
    upgrades = SimpleNamespace(stats=PlannedStats())
    RollingUpgrades.blocked(upgrades, 5.0, names + names[:3])
    assert list(upgrades.stats.blocked_by) == names and set(upgrades.stats.blocked_by.values()) == {1}
