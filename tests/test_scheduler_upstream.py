"""kube-scheduler's filters and scores, pinned to upstream's own test cases.

Each case names the upstream test it ports (kubernetes/kubernetes, pkg/scheduler/...)."""

from __future__ import annotations

import numpy as np
import pytest

from kchaos.model.engine import ClusterModel
from kchaos.model.scheduling.placement import BatchPlacer, balanced_allocation, least_allocated
from kchaos.model.scheduling.scheduler import num_feasible_nodes_to_find, zone_interleaved_order
from kchaos.topology import load_topology_text


def test_num_feasible_nodes_to_find():
    # schedule_one.go numFeasibleNodesToFind with the adaptive default percentage
    # (schedule_one_test.go TestNumFeasibleNodesToFind): all nodes below 100, 50% - n/125
    # above, never under 5% nor under 100 nodes.
    assert num_feasible_nodes_to_find(10) == 10
    assert num_feasible_nodes_to_find(99) == 99
    assert num_feasible_nodes_to_find(150) == 100  # 49% of 150 = 73, raised to 100
    assert num_feasible_nodes_to_find(1000) == 420  # 42%
    assert num_feasible_nodes_to_find(5000) == 500  # 10%
    assert num_feasible_nodes_to_find(6000) == 300  # 2%, raised to 5%


def test_zone_interleaved_node_list():
    # backend/cache/node_tree.go list(): one node of each zone in turn, zones in the order added.
    zones = ["z1", "z1", "z1", "z2", "z3", "z3"]
    assert zone_interleaved_order(zones).tolist() == [0, 3, 4, 1, 5, 2]


def test_least_allocated_and_balanced_allocation():
    # noderesources/least_allocated_test.go and balanced_allocation_test.go, "nothing scheduled,
    # resources requested, differently sized nodes": nodes of 4000m/10000 and 6000m/10000, a
    # pod of 3000m/5000 -> LeastAllocated 37 and 50; BalancedAllocation 87 and 100.
    cap_c, cap_m = np.array([4000, 6000]), np.array([10000, 10000])
    req_c, req_m = np.array([3000, 3000]), np.array([5000, 5000])
    assert least_allocated(cap_c, cap_m, req_c, req_m).tolist() == [37, 50]
    assert balanced_allocation(cap_c, cap_m, req_c, req_m).tolist() == [87, 100]
    # "resources requested, pods scheduled with resources": 3000m + 3000m of 10000m, 5000 +
    # 5000 of 20000 -> LeastAllocated (40 + 50) / 2 = 45; BalancedAllocation 1 - |0.6 - 0.5|/2 -> 95.
    assert least_allocated(np.array([10000]), np.array([20000]), np.array([6000]), np.array([10000])).tolist() == [45]
    assert balanced_allocation(np.array([10000]), np.array([20000]), np.array([6000]), np.array([10000])).tolist() == [95]


def _cluster(servers_per_dc: tuple[int, ...], spread: str = "", zone_level: str = "datacenter", replicas: int = 12):
    # The control-plane node gets a server of its own in z1 (it holds no pods; a tainted node).
    dcs = "\n".join(f"      - {{name: z{i + 1}, racks: 1, serversPerRack: {n + (i == 0)}}}"
                     for i, n in enumerate(servers_per_dc))
    pools = "\n".join(f"  - {{pool: w{i + 1}, count: {n}, placement: {{datacenter: z{i + 1}}}, "
                      "capacity: {cpu: 64, memory: 256Gi, pods: 110}}" for i, n in enumerate(servers_per_dc))
    text = f"""\
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {{name: upstream-case}}
regions:
  - name: r
    datacenters:
{dcs}
controlPlane: {{members: 1, placement: {{datacenter: z1}}}}
kubernetes: {{zoneLevel: {zone_level}}}
workers:
{pools}
workloads:
  - {{name: foo, kind: Deployment, replicas: {replicas}, requests: {{cpu: 100m, memory: 100Mi}}{spread}}}
"""
    model = ClusterModel(load_topology_text(text, "case.yaml"))
    workers = sorted(model.workers, key=lambda n: model.cluster.nodes[n].server)
    servers = [model.cluster.nodes[n].server for n in range(model.n_nodes)]
    assert len(set(servers)) == len(servers)  # one node per server
    return model, workers


def _placed(model, nodes, counts):
    """A placement with ``counts[i]`` pods of foo on ``nodes[i]``, the rest Pending."""
    sch = model.scheduler
    pl = sch.empty_placement(model.n_pods)
    pods = iter(model.workload_pods[0])
    for node, k in zip(nodes, counts):
        for _ in range(k):
            sch.bind(pl, next(pods), node)
    return pl


@pytest.mark.parametrize("counts, failed, spread, zone_level, servers, want", [
    # podtopologyspread/scoring_test.go "system defaulting, nodes don't have zone, pods match
    # service": the hostname default (maxSkew 3) alone, pods 4/3/2/1 -> 44/66/77/100.
    ((4, 3, 2, 1), (), "", "none", (4,), [44, 66, 77, 100]),
    # "one constraint on node, 3 out of 4 nodes are candidates": pods 4/2/1/~3~, maxSkew 1
    # (one node per server here, so a server constraint is the node's own) -> 33/83/100.
    ((4, 2, 1, 3), (3,), ", spread: {over: server, maxSkew: 1, whenUnsatisfiable: ScheduleAnyway}",
     "datacenter", (4,), [33, 83, 100]),
    # "one constraint on zone, 3 out of 4 nodes are candidates": node-y failed the filters but
    # its pods count for its zone: zones 6 / 4 -> 75/75/100.
    ((4, 2, 1, 3), (3,), ", spread: {over: datacenter, maxSkew: 1, whenUnsatisfiable: ScheduleAnyway}",
     "datacenter", (2, 2), [75, 75, 100]),
])
def test_pod_topology_spread_scores(counts, failed, spread, zone_level, servers, want):
    model, nodes = _cluster(servers, spread, zone_level)
    pl = _placed(model, nodes, counts)
    for i in failed:
        pl.usable[nodes[i]] = False
    placer = BatchPlacer(model.scheduler, pl, 0)
    cand = np.array([n for i, n in enumerate(nodes) if i not in failed])
    assert placer.spread_scores(cand).tolist() == want


HONOR = ", spread: {over: datacenter, maxSkew: 1, nodeTaintsPolicy: Honor}"


@pytest.mark.parametrize("spread, counts, target", [
    # podtopologyspread/filtering_test.go "two node inclusion Constraints, zone: honor/honor":
    # node-a (zone1), node-b (zone1, tainted, 2 pods), node-x (zone2, 1 pod). Honoring taints,
    # node-b and its pods are left out: zone1 counts 0, zone2 1 (TpPairToMatchNum), so the
    # pod goes to node-a.
    (HONOR, [0, 1], 0),
    # The same with the default nodeTaintsPolicy: Ignore: zone1 counts 2, zone2 1; node-a
    # would make the skew 3 - 1 > 1, so the pod goes to node-x.
    (", spread: {over: datacenter, maxSkew: 1}", [2, 1], 2),
])
def test_spread_filter_counts_only_included_nodes(spread, counts, target):
    model, (a, b, x) = _cluster((2, 1), spread, replicas=4)
    pl = _placed(model, [b, x], [2, 1])
    pl.usable[b] = False  # tainted: cordoned, or NotReady
    placer = BatchPlacer(model.scheduler, pl, 0)
    assert placer.dom_counts.tolist() == counts
    assert placer.choose(np.random.default_rng(0)) == [a, b, x][target]


def test_a_zone_whose_only_pods_sit_on_a_cordoned_node_counts_as_empty_when_honoring_taints():
    """The case in the issue: zone z1 of two nodes, one cordoned still holding 2 pods, the other
    empty; z2 holds 1. Honor counts z1 as 0 and places the replica on the empty node; Ignore
    counts 2 and, with z2's only node full, leaves it Pending."""
    for spread, want_pending in ((HONOR, False), (", spread: {over: datacenter, maxSkew: 1}", True)):
        model, (a, b, x) = _cluster((2, 1), spread, replicas=4)
        pl = _placed(model, [b, x], [2, 1])
        pl.usable[b] = False
        full = int(model.scheduler.cap_pods[x])  # z2 has no room
        pl.alloc_pods[x] = full
        pl.load[x] = pl.load[x][:2] + (full,) + pl.load[x][3:]
        pl.res_valid[:, x] = False
        node = BatchPlacer(model.scheduler, pl, 0).choose(np.random.default_rng(0))
        assert (node < 0) == want_pending and (want_pending or node == a)


def test_scan_scores_only_the_feasible_nodes_to_find_and_rotates():
    """200 workers: each cycle scores the first 100 feasible nodes from where the last one
    stopped in the zone-interleaved list, and the next cycle starts after them."""
    model, nodes = _cluster((100, 100), replicas=3)
    sch = model.scheduler
    pl = sch.empty_placement(model.n_pods)
    n_all = sch.n_nodes
    assert sch.feasible_to_find == 100 and n_all == 201  # and the control-plane node
    placer = BatchPlacer(sch, pl, 0)
    first = placer.candidates()
    assert first.size == 100 and pl.next_start > 0
    position = {int(n): i for i, n in enumerate(sch.order)}
    assert [position[int(n)] for n in first] == sorted(position[int(n)] for n in first)
    second = placer.candidates()
    assert not set(first.tolist()) & set(second.tolist())
    # Zone-interleaved: a window of 100 holds 50 nodes of each datacenter.
    dcs = [model.cluster.nodes[int(n)].datacenter for n in first]
    assert sorted(dcs.count(d) for d in set(dcs)) == [50, 50]


def test_ties_go_to_a_uniformly_drawn_node():
    """Four identical empty workers: every one is chosen about a quarter of the time (selectHost)."""
    model, nodes = _cluster((4,), replicas=1)
    sch = model.scheduler
    rng = np.random.default_rng(7)
    picks = [BatchPlacer(sch, sch.empty_placement(model.n_pods), 0).choose(rng) for _ in range(4000)]
    shares = np.array([picks.count(n) for n in nodes]) / len(picks)
    # Binomial(4000, 1/4): standard deviation 0.0068; 5 sigma.
    assert np.all(np.abs(shares - 0.25) < 0.035), shares
