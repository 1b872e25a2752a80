"""The mechanisms behind long real outages (issue 25), each pinned to upstream's behaviour with a
scenario that fails without it: StatefulSet ordering, volumes, endpoints, dependencies, bad
releases, and `whatif --fail KIND/NAME+FOR@AT`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from kchaos.analysis.whatif import run_scenario
from kchaos.errors import KchaosUsageError
from kchaos.topology import load_topology

ROOT = Path(__file__).resolve().parent.parent


def three_datacenters(**db_changes):
    cluster = load_topology(ROOT / "topologies/three-datacenters.yaml")
    workloads = tuple(dataclasses.replace(w, **db_changes) if w.name == "db" else w for w in cluster.workloads)
    return dataclasses.replace(cluster, workloads=workloads)


def unavailable(scenario: dict, name: str) -> float:
    return next(w["unavailable_seconds"] for w in scenario["outcome"]["workloads"] if w["name"] == name)


def server_of_pod(cluster, pod: str) -> str:
    """The server under the node where ``pod`` starts (``db-0``)."""
    from kchaos.model.cluster_model import ClusterModel
    model = ClusterModel(cluster)
    p = model.initial_pod_names().index(pod)
    return cluster.domains[cluster.nodes[model.baseline.pod_node[p]].server].id


def node_of_pod(cluster, pod: str) -> str:
    from kchaos.model.cluster_model import ClusterModel
    model = ClusterModel(cluster)
    p = model.initial_pod_names().index(pod)
    return "node/" + cluster.nodes[model.baseline.pod_node[p]].name


# -- StatefulSet podManagementPolicy --------------------------------------------------------------
# pkg/controller/statefulset/stateful_set_control.go (updateStatefulSet, processReplica): with
# OrderedReady the walk over ordinals stops at the first pod that is not Running and Ready (a
# Terminating one included), so a missing higher ordinal is not created; Parallel creates it.
@pytest.mark.parametrize("policy, low, high", [("OrderedReady", 4 * 3600.0, 4 * 3600.0 + 120.0),
                                               ("Parallel", 600.0, 720.0)])
def test_ordered_ready_keeps_a_higher_ordinal_waiting_for_a_terminating_lower_one(policy, low, high):
    """db-0 stuck Terminating on a server down 4 h; db-2's node back after 10 min. OrderedReady:
    db-2 is created only after db-0 is back and Ready, so db (minAvailable 2 of 3) is down ~4 h;
    Parallel: ~10.5 min (the node's return, then start-up)."""
    cluster = three_datacenters(pod_management=policy)
    scenario = run_scenario(cluster, [f"{server_of_pod(cluster, 'db-0')}+4h",
                                      f"{node_of_pod(cluster, 'db-2')}+10m"])
    assert low <= unavailable(scenario, "db") <= high
    reasons = [e["reason"] for e in scenario["events"] if e["object"] == "statefulset/db"]
    assert ("WaitingForOrdinal" in reasons) == (policy == "OrderedReady")


# A replacement pinned to its datacenter (volumeScope) that its DoNotSchedule spread keeps Pending
# while another datacenter is down and counted empty (nodeTaintsPolicy: Ignore): search-0, on w-6
# in c1, is lost at 1 h while b1 (search-2 and search-5) is down for 24 h.
PINNED = """
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: pinned}
regions:
  - name: r1
    datacenters:
      - {name: a1, racks: 1, serversPerRack: 4}
      - {name: b1, racks: 1, serversPerRack: 4}
      - {name: c1, racks: 1, serversPerRack: 4}
controlPlane: {members: 3}
workers:
  - {pool: w, count: 6, capacity: {cpu: 8, memory: 32Gi}}
addons: none
workloads:
  - {name: search, kind: StatefulSet, replicas: 6, requests: {cpu: 1, memory: 1Gi}, minAvailable: 4,
     spreadOver: datacenter, volumeScope: datacenter, podManagementPolicy: %s}
"""


def pinned_scenario(policy: str) -> dict:
    from kchaos.topology import load_topology_text
    cluster = load_topology_text(PINNED % policy, filename="pinned.yaml")
    assert node_of_pod(cluster, "search-0") == "node/w-6"
    return run_scenario(cluster, ["datacenter/b1+24h", "node/w-6+10m@1h"])


def test_a_pending_pod_is_tried_again_when_a_pod_its_spread_counts_is_bound():
    """Parallel: at 24 h b1's pods are created again and bound, which evens the spread, and
    kube-scheduler moves search-0 back to its active queue at once (PodTopologySpread registers
    Pod/Add events, pkg/scheduler/framework/plugins/podtopologyspread/plugin.go EventsToRegister):
    full recovery when b1's pods have started, not at some later failure."""
    scenario = pinned_scenario("Parallel")
    assert scenario["outcome"]["recovered"] and scenario["outcome"]["pending_pods"] == {}
    assert scenario["outcome"]["time_to_full_recovery_seconds"] <= 24 * 3600 + 120
    placed = [e for e in scenario["events"] if e["reason"] == "Scheduled" and e["object"] == "pod/search-0"]
    assert placed and placed[-1]["t"] >= 24 * 3600


def test_ordered_ready_deadlocks_on_a_pending_lower_ordinal_that_waits_for_higher_ones():
    """OrderedReady: search-0 Pending blocks search-2 and search-5 (processReplica waits for each
    ordinal), and only they would even the spread: search stays below minAvailable when the
    scenario ends. A run names it (ordered-restart-deadlock)."""
    from kchaos.analysis.advisories import ordered_restart_deadlock
    from kchaos.topology import load_topology_text
    scenario = pinned_scenario("OrderedReady")
    search = next(w for w in scenario["outcome"]["workloads"] if w["name"] == "search")
    assert not search["available_at_end"] and search["ready"] == 3
    cluster = load_topology_text(PINNED % "OrderedReady", filename="pinned.yaml")
    held = {"workloads": {"search": [{"cause": "replacements Pending (spread)", "minutes_per_year": 90.0}]}}
    (advisory,) = ordered_restart_deadlock(cluster, held)
    assert advisory.code == "ordered-restart-deadlock" and "podManagementPolicy: Parallel" in advisory.message
    assert ordered_restart_deadlock(load_topology_text(PINNED % "Parallel", filename="pinned.yaml"), held) == []


# -- whatif --fail KIND/NAME+FOR@AT ----------------------------------------------------------------
def test_each_failure_has_its_own_start_and_repair():
    cluster = three_datacenters()
    scenario = run_scenario(cluster, ["node/general-3+10m@2m", "node/general-1@1m", "node/general-2"],
                            repair_after=1800.0)
    got = {f["domain"]: (f["at_seconds"], f["repair_at_seconds"]) for f in scenario["failures"]}
    assert got == {"node/general-3": (120.0, 720.0), "node/general-1": (60.0, 1860.0),
                   "node/general-2": (0.0, 1800.0)}
    ups = {e["object"]: e["t"] for e in scenario["events"] if e["reason"] == "DomainUp"}
    assert ups == {"node/general-3": 720.0, "node/general-1": 1860.0, "node/general-2": 1800.0}


@pytest.mark.parametrize("spec, message", [
    ("node/general-3+0s", r"\+FOR must be longer than zero"),
    ("node/general-3+soon", r"\+FOR: cannot read"),
    ("node/nope+10m", "no such failure domain"),
])
def test_bad_failure_specs_are_usage_errors(spec, message):
    with pytest.raises(KchaosUsageError, match=message):
        run_scenario(three_datacenters(), [spec])


def test_a_domain_failed_again_while_down_is_refused():
    with pytest.raises(KchaosUsageError, match="fails again"):
        run_scenario(three_datacenters(), ["node/general-3+10m", "node/general-3@5m"])


# -- volumes: the attach/detach controller ---------------------------------------------------------
RWO = """
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: rwo}
regions:
  - name: r1
    datacenters:
      - {name: d1, racks: 2, serversPerRack: 4}
controlPlane: {members: 3}
workers:
  - {pool: w, count: 4, capacity: {cpu: 8, memory: 32Gi}}
workloads:
  - {name: git, kind: Deployment, replicas: 1, requests: {cpu: 1, memory: 1Gi}%s}
%s
"""


def git_scenario(volume: str = "", extra: str = "", down: str = "1h") -> dict:
    from kchaos.topology import load_topology_text
    cluster = load_topology_text(RWO % (volume, extra), filename="rwo.yaml")
    return run_scenario(cluster, [f"{node_of_pod(cluster, 'git-0')}+{down}"])


def event_time(scenario: dict, reason: str) -> float:
    return next(e["t"] for e in scenario["events"] if e["reason"] == reason)


def test_a_read_write_once_replacement_waits_for_the_old_pods_node():
    """pkg/controller/volume/attachdetach: the evicted pod stays Terminating on its dead node
    (util.DetermineVolumeAction keeps its volume desired there: IsPodTerminated is false), so the
    reconciler never detaches it, maxWaitForUnmountDuration's 6 min included, and
    attachDesiredVolumes refuses a second node: Multi-Attach until the node returns (1 h), then
    attach (20 s) and start (30 s). Without the volume the replacement runs after NotReady + 300 s
    + 30 s."""
    plain = git_scenario()
    assert 40 + 300 + 30 <= unavailable(plain, "git") <= 55 + 300 + 30
    held = git_scenario(", volume: {accessMode: ReadWriteOnce}")
    assert unavailable(held, "git") == pytest.approx(3600 + 20 + 30)
    assert unavailable(held, "git") >= event_time(held, "NodeNotReady") + 300 + 360  # at least the 6 min too
    multi = next(e for e in held["events"] if e["reason"] == "FailedAttachVolume")
    assert multi["type"] == "Warning" and "Multi-Attach error" in multi["message"] and "git-0" in multi["message"]
    assert event_time(held, "SuccessfulAttachVolume") == pytest.approx(3600.0)


def test_the_out_of_service_taint_detaches_at_once():
    """reconciler.go: hasOutOfServiceTaint skips the unmount wait, and the pod GC force-deletes the
    Terminating pod: the replacement attaches as soon as the operator taints the node."""
    held = git_scenario(", volume: {accessMode: ReadWriteOnce, attach: 45s}", "kubernetes: {outOfServiceAfter: 10m}")
    not_ready = event_time(held, "NodeNotReady")
    assert unavailable(held, "git") == pytest.approx(not_ready + 600 + 45 + 30)


def test_a_read_write_many_volume_only_costs_its_attach():
    shared = git_scenario(", volume: {accessMode: ReadWriteMany, attach: 15s}")
    assert "FailedAttachVolume" not in {e["reason"] for e in shared["events"]}
    assert unavailable(shared, "git") == pytest.approx(unavailable(git_scenario(), "git") + 15)


def test_a_shared_read_write_once_volume_needs_one_replica():
    from kchaos.topology import load_topology_text
    with pytest.raises(Exception, match="share one ReadWriteOnce volume"):
        load_topology_text(RWO.replace("replicas: 1", "replicas: 2") % (", volume: {accessMode: ReadWriteOnce}", ""))


# -- traffic to dead endpoints ---------------------------------------------------------------------
TEN = """
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: ten}
regions:
  - name: r1
    datacenters:
      - {name: d1, racks: 2, serversPerRack: 8}
controlPlane: {members: 3}
workers:
  - {pool: w, count: 10, capacity: {cpu: 8, memory: 32Gi}}
workloads:
  - {name: web, kind: Deployment, replicas: 10, requests: {cpu: 1, memory: 1Gi}, minAvailable: 5,
     spread: {over: server, whenUnsatisfiable: ScheduleAnyway}}
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_dead_nodes_endpoints_take_their_share_of_requests_until_not_ready(seed):
    """One of 10 replicas dies with its node: its endpoint is listed until the node lifecycle
    controller marks it NotReady (40-55 s, MarkPodsNotReady) and kube-proxy drops it (1 s), so 1/10
    of the requests fail meanwhile: 4-5.6 s of full-outage-equivalent, the workload itself up."""
    from kchaos.topology import load_topology_text
    cluster = load_topology_text(TEN, filename="ten.yaml")
    scenario = run_scenario(cluster, ["node/w-3"], seed=seed)
    web = next(w for w in scenario["outcome"]["workloads"] if w["name"] == "web")
    not_ready = event_time(scenario, "NodeNotReady")
    assert web["unavailable_seconds"] == 0.0
    assert web["failed_request_seconds"] == pytest.approx((not_ready + 1.0) / 10, abs=1e-3)
    assert 4.0 <= web["failed_request_seconds"] <= 6.0


def test_mark_pods_not_ready_is_throttled_by_the_controller_managers_client():
    """3,000 pods on 100 nodes going NotReady at once: one node status and one pod status update
    each, through kube-controller-manager's client (QPS 20, burst 30): the last pod leaves the
    endpoints (3,100 - 30) / 20 s + 1 s later, about 155 s."""
    from kchaos.model.nodes.endpoints import Endpoints
    from kchaos.model.timers import Timers

    class Model:
        pod_workload = [0] * 3000
        cluster = dataclasses.replace(three_datacenters(), workloads=three_datacenters().workloads[:1])

    class Work:
        ready_count = [0]

    class Recorder:
        def endpoints(self, t, w, stale, listed):
            self.share = (stale, listed)

    timers, recorder = Timers(), Recorder()
    ep = Endpoints(Model(), Work(), timers, recorder)
    for n in range(100):
        ep.died(0.0, n, list(range(30 * n, 30 * n + 30)))
    for n in range(100):
        ep.node_not_ready(50.0, n, 0)
    last = max(t for t, *_ in timers.heap)
    assert last == pytest.approx(50.0 + (3100 - 30) / 20 + 1.0)
    first = min(t for t, *_ in timers.heap)
    assert first == pytest.approx(51.0)  # the burst
    while timers.heap:
        t, _, _, key, _ = timers.heap.pop()
        ep.on_unlist(t, key)
    assert not ep.stale and recorder.share == (0, 0)


# -- change-induced failures -----------------------------------------------------------------------
RELEASES = """
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: releases}
regions:
  - name: r1
    datacenters:
      - {name: d1, racks: 1, serversPerRack: 6}
controlPlane: {members: 3}
workers:
  - {pool: w, count: 3, capacity: {cpu: 8, memory: 32Gi}}
workloads:
  - {name: web, kind: Deployment, replicas: 4, requests: {cpu: 1, memory: 1Gi}, minAvailable: %d,
     rollouts: {every: 7d, bad: %s}}
failures: {node: {mtbf: 5y, mttr: 10m}, server: none, rack: none, datacenter: none, region: none, regionLink: none}
"""


def bad_rollout_minutes(min_available: int, bad: str) -> tuple[dict, dict]:
    from kchaos.analysis import analyze
    from kchaos.model.sampling.montecarlo import run_monte_carlo
    from kchaos.topology import load_topology_text
    cluster = load_topology_text(RELEASES % (min_available, bad), filename="releases.yaml")
    results = analyze(run_monte_carlo(cluster, failures=200, seed=3, sampling="plain"))
    rows = results["attribution"]["workloads"]["web"]
    return next(r for r in rows if r["cause"] == "bad rollout"), results


def test_bad_releases_users_catch_take_the_workload_down_for_detect_plus_rollback():
    """Weekly releases, 5% bad, users notice in 15 min, rollback 5 min: 365/7 x 5% x 20 min =
    52.1 min a year, attributed to "bad rollout" (its interval holds it)."""
    row, results = bad_rollout_minutes(3, "{probability: 5%, detectedBy: users, detect: 15m, rollback: 5m}")
    expected = 365 / 7 * 0.05 * 20
    assert row["ci95"][0] <= expected <= row["ci95"][1] and row["minutes_per_year"] == pytest.approx(expected, rel=0.15)
    assert results["maintenance"]["rollouts"]["bad"] > 0
    # Hardening a failure domain removes no bad release: fix-first leaves it out.
    saved = sum(r["workload_minutes_per_year_saved"].get("web", 0.0) for r in results["importance"])
    assert saved < 5.0


def test_bad_releases_readiness_catch_stall_the_rollout_until_the_progress_deadline():
    """Caught by readiness: the rollout stalls after its first wave, maxUnavailable (1 of 4) pods
    short, for progressDeadlineSeconds (600 s) + the rollback (podStartup, 30 s): with minAvailable
    4 the workload is down that long, 50% of 52 releases a year: 275.7 min a year."""
    row, _ = bad_rollout_minutes(4, "{probability: 50%, detectedBy: readiness}")
    expected = 365 / 7 * 0.5 * 630 / 60
    assert row["ci95"][0] <= expected <= row["ci95"][1]


# -- dependencies: dependsOn and CoreDNS --------------------------------------------------------------
def web_needs_db():
    cluster = three_datacenters()
    workloads = tuple(dataclasses.replace(w, depends_on=(*w.depends_on, "db")) if w.name == "web" else w
                      for w in cluster.workloads)
    return dataclasses.replace(cluster, workloads=workloads)


def test_a_workload_is_down_while_a_dependency_is():
    """db (minAvailable 2 of 3) loses two pods; web's own pods all run, yet web is down exactly as
    long as db, since it needs db (dependsOn)."""
    cluster = web_needs_db()
    scenario = run_scenario(cluster, [f"{node_of_pod(cluster, 'db-0')}+1h", f"{node_of_pod(cluster, 'db-1')}+1h"])
    web = next(w for w in scenario["outcome"]["workloads"] if w["name"] == "web")
    assert unavailable(scenario, "db") > 3600 and web["unavailable_seconds"] == unavailable(scenario, "db")
    alone = run_scenario(three_datacenters(), [f"{node_of_pod(cluster, 'db-0')}+1h",
                                               f"{node_of_pod(cluster, 'db-1')}+1h"])
    assert unavailable(alone, "web") < 3600  # without dependsOn, web only misses its own pods


def test_in_a_run_a_dependent_is_never_more_available_than_its_dependency_and_names_it():
    from kchaos.analysis import analyze
    from kchaos.model.sampling.montecarlo import run_monte_carlo
    from kchaos.model.cluster import Distribution, FailureSpec
    cluster = web_needs_db()  # nodes failing every 5 days for 2 hours: db loses two pods now and then
    node = FailureSpec("node", Distribution("exponential", 5 * 86400.0), Distribution("exponential", 7200.0))
    cluster = dataclasses.replace(cluster, failures={**cluster.failures, "node": node})
    results = analyze(run_monte_carlo(cluster, failures=1500, seed=2, sampling="plain"))
    got = {w["name"]: w for w in results["workloads"]}
    assert got["web"]["availability"]["estimate"] <= got["db"]["availability"]["estimate"]
    assert got["web"]["availability"]["estimate"] <= got["coredns"]["availability"]["estimate"]
    causes = [r["cause"] for r in results["attribution"]["workloads"]["web"]]
    assert any("dependency db down" in cause for cause in causes), causes
    # Request-level availability: at most the pod-level one, below it once endpoints die.
    for w in results["workloads"]:
        assert w["request_availability"]["estimate"] <= w["availability"]["estimate"]
    assert got["web"]["request_availability"]["estimate"] < got["web"]["availability"]["estimate"]


def test_kubeadms_coredns_runs_on_control_plane_nodes_and_every_workload_needs_it():
    """cmd/kubeadm/app/phases/addons/dns/manifests.go: 2 replicas, 100m / 70Mi, tolerating the
    control-plane taint; kchaos adds it unless addons: none or the file declares coredns."""
    from kchaos.model.cluster_model import ClusterModel
    cluster = three_datacenters()
    dns = next(w for w in cluster.workloads if w.name == "coredns")
    assert (dns.replicas, dns.cpu, dns.memory, dns.tolerates_control_plane, dns.addon) == (
        2, 0.1, 70 * 2**20, True, True)
    assert all(w.depends_on == ("coredns",) for w in cluster.workloads if w.name != "coredns")
    model = ClusterModel(cluster)
    nodes = [cluster.nodes[model.baseline.pod_node[p]] for p in model.workload_pods[-1]]
    assert {n.role for n in nodes} == {"control-plane"} and len({n.name for n in nodes}) == 2
    # Both of its control-plane nodes down: DNS, and with it every workload, is down.
    scenario = run_scenario(cluster, [f"node/{n.name}+30m" for n in nodes])
    assert unavailable(scenario, "coredns") > 0 and unavailable(scenario, "web") == unavailable(scenario, "coredns")
    from kchaos.topology import load_topology_text
    text = (ROOT / "topologies/three-datacenters.yaml").read_text()
    assert "coredns" not in [w.name for w in load_topology_text(text + "addons: none\n").workloads]
    own = load_topology_text(text.replace("workloads:\n", "workloads:\n  - {name: coredns, kind: Deployment, "
                                                        "replicas: 3}\n", 1))
    assert [w.replicas for w in own.workloads if w.name == "coredns"] == [3]
    assert all(w.depends_on == ("coredns",) for w in own.workloads if w.name != "coredns")
