"""Loading valid topologies: defaults, the built Cluster, placement, overrides, advisories."""

from __future__ import annotations

import hashlib
import random
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kchaos.model.cluster import FAILURE_KINDS, Cluster, EtcdTiming, KubernetesTiming, LeaderElectionTiming
from kchaos.topology.addons import coredns
from kchaos.topology import load_topology, load_topology_text
from kchaos.topology.placement import spread

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "topologies").glob("*.yaml"))

HEADER = "apiVersion: kchaos/v1alpha1\nkind: Topology\n"
ONE_DC = HEADER + textwrap.dedent("""\
    regions:
      - name: r1
        datacenters:
          - name: dc1
            racks:
              - name: rack1
                servers: [s1, s2, s3, s4]
    """)


def load(body: str, **kwargs: object) -> Cluster:
    return load_topology_text(HEADER + textwrap.dedent(body), "t.yaml", **kwargs)  # type: ignore[arg-type]


def names(cluster: Cluster, indices: object) -> list[str]:
    return [cluster.domains[i].name for i in indices]  # type: ignore[union-attr]


def codes(cluster: Cluster) -> set[str]:
    return {a.code for a in cluster.advisories}


# -- the examples ----------------------------------------------------------

def test_examples_exist() -> None:
    expected = {"single-member", "one-rack", "three-datacenters", "four-members", "korea-stretched",
                "two-workers", "three-workers", "benchmark-5-members"}
    assert expected <= {p.stem for p in EXAMPLES}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_loads(path: Path) -> None:
    cluster = load_topology(path)
    assert cluster.name == path.stem
    assert cluster.source == str(path)
    assert cluster.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert path.read_text().startswith("# "), "every example starts with an explanatory comment"
    _check_invariants(cluster)


def _check_invariants(c: Cluster) -> None:
    kinds = [d.kind for d in c.domains]
    order = ["region", "datacenter", "rack", "server", "node", "regionLink"]
    assert kinds == sorted(kinds, key=order.index), "domains are ordered by kind"
    for i, d in enumerate(c.domains):
        assert d.index == i
        if d.kind in ("datacenter", "rack", "server", "node"):
            assert c.domains[d.parent].kind == order[order.index(d.kind) - 1]  # type: ignore[index]
        else:
            assert d.parent is None
    for i, n in enumerate(c.nodes):
        assert n.index == i
        assert c.domains[n.domain].kind == "node" and c.domains[n.domain].name == n.name
        assert c.domains[n.domain].parent == n.server
        assert c.domains[n.server].parent == n.rack
        assert c.domains[n.rack].parent == n.datacenter
        assert c.domains[n.datacenter].parent == n.region
    assert len({n.name for n in c.nodes}) == len(c.nodes)
    assert len({d.id for d in c.domains}) == len(c.domains)
    assert set(c.failures) == set(FAILURE_KINDS)
    regions = c.domains_of_kind("region")
    for i, a in enumerate(regions):
        for b in regions[i + 1:]:
            assert (a.index, b.index) in c.network.region_rtt
    for m in c.members:
        for o in c.members:
            assert c.rtt(m, o) >= 0


def test_korea_example_matches_the_spec() -> None:
    c = load_topology(ROOT / "topologies" / "korea-stretched.yaml")
    assert c.description == "Control plane stretched over Korea Central and Korea South"
    assert names(c, [n.datacenter for n in c.nodes[:3]]) == ["kc-1", "ks-1", "kc-2"]
    assert [n.name for n in c.nodes[:3]] == ["cp-1", "cp-2", "cp-3"]
    assert all(n.role == "control-plane" and n.runs_etcd and n.runs_apiserver for n in c.nodes[:3])
    assert c.members == (0, 1, 2) and c.apiservers == (0, 1, 2)
    assert len(c.workers) == 12
    servers = [d.name for d in c.domains_of_kind("server")]
    assert servers[:6] == ["kc-1-r1-s1", "kc-1-r1-s2", "kc-1-r1-s3", "kc-1-r1-s4", "db-a", "db-b"]
    assert "kc-2-r2-s4" in servers and "ks-1-r2-s4" in servers and len(servers) == 22
    assert [d.name for d in c.domains_of_kind("rack")] == ["kc-1-r1", "kc-1-r2", "kc-2-r1", "kc-2-r2", "ks-1-r1",
                                                           "ks-1-r2"]
    link, = c.domains_of_kind("regionLink")
    assert link.name == "korea-central~korea-south" and link.regions == (0, 1)
    assert c.network.region_rtt == {(0, 1): 0.008}
    assert c.network.same_server == 50e-6 and c.network.same_region == 0.002
    assert c.etcd == EtcdTiming(0.1, 1.0, True, 0.001)
    assert c.leader_election == LeaderElectionTiming(15.0, 10.0, 2.0)
    assert c.kubernetes == KubernetesTiming(50.0, 300.0, 30.0)
    web, db, agent, dns = c.workloads  # kubeadm's CoreDNS last, and every workload needs it
    assert (web.replicas, web.cpu, web.memory, web.min_available) == (6, 2.0, 4 * 2**30, 4)
    assert dns == coredns() and web.depends_on == db.depends_on == agent.depends_on == ("coredns",)
    assert web.spread is not None and web.spread.over == "datacenter" and web.spread.max_skew == 1
    assert web.spread.when_unsatisfiable == "DoNotSchedule" and web.spread.node_taints_policy == "Ignore"
    assert db.kind == "StatefulSet" and db.volume_scope == "datacenter"
    assert agent.kind == "DaemonSet" and agent.replicas == 12 and agent.cpu == pytest.approx(0.1)
    assert c.slo.control_plane == 0.9999 and c.slo.workloads == {"web": 0.9995}
    assert c.slo.max_node_utilization == 0.9
    assert c.failures["regionLink"].ttf.mean == 5 * 365 * 86400  # type: ignore[union-attr]
    assert c.rtt(0, 1) == 0.008 and c.rtt(0, 2) == 0.002


def test_example_advisories() -> None:
    def adv(name: str) -> Cluster:
        return load_topology(ROOT / "topologies" / f"{name}.yaml")

    one_rack = adv("one-rack")
    warning, = [a for a in one_rack.advisories if a.code == "shared-blast-radius"]
    assert warning.severity == "warning" and "rack 'dc-1-r1' holds 3 of 3" in warning.message
    assert "even-etcd-size" in codes(adv("four-members"))
    assert "single-member" in codes(adv("single-member"))
    assert not [a for a in adv("three-datacenters").advisories if a.severity == "warning"]
    assert not [a for a in adv("benchmark-5-members").advisories if a.severity == "warning"]


def test_benchmark_size() -> None:
    c = load_topology(ROOT / "topologies" / "benchmark-5-members.yaml")
    assert len(c.members) == 5 and len(c.workers) == 60 and len(c.domains_of_kind("region")) == 3
    assert 450 <= sum(w.replicas for w in c.workloads) <= 550
    assert {w.kind for w in c.workloads} == {"Deployment", "StatefulSet", "DaemonSet"}
    assert Counter(c.nodes[m].region for m in c.members) == Counter({0: 2, 1: 2, 2: 1})


@pytest.mark.parametrize(("name", "replicas"), [("two-workers", 12), ("three-workers", 18)])
def test_worker_examples_run_at_sixty_percent(name: str, replicas: int) -> None:
    c = load_topology(ROOT / "topologies" / f"{name}.yaml")
    app, _ = c.workloads  # and kubeadm's CoreDNS
    workers = [c.nodes[i] for i in c.workers]
    assert app.replicas == replicas and app.spread is None
    assert all(w.capacity.cpu == 10 for w in workers)
    assert app.replicas * app.cpu / sum(w.capacity.cpu for w in workers) == pytest.approx(0.6)
    assert len({w.server for w in workers}) == len(workers)


# -- defaults and shorthands ----------------------------------------------

def test_minimal_file_gets_every_default() -> None:
    c = load_topology_text(ONE_DC, "minimal.yaml")
    assert c.name == "minimal" and c.description == ""
    assert [n.name for n in c.nodes] == ["cp-1", "cp-2", "cp-3"]
    assert names(c, [n.server for n in c.nodes]) == ["s1", "s2", "s3"]
    assert c.etcd_topology == "stacked" and c.etcd == EtcdTiming()
    assert c.nodes[0].capacity.cpu == 4 and c.nodes[0].capacity.memory == 16 * 2**30
    assert c.failures["node"].ttf.mean == 90 * 86400 and c.failures["node"].ttr.mean == 600  # type: ignore[union-attr]
    assert c.failures["region"].ttr.mean == 24 * 3600
    assert c.slo.control_plane == 0.9999 and c.slo.max_node_utilization == 0.9
    assert c.workloads == (coredns(),) and c.domains_of_kind("regionLink") == ()  # kubeadm's CoreDNS only
    assert load_topology_text(ONE_DC).name == "topology"


def test_count_shorthands() -> None:
    body = textwrap.dedent("""\
        regions:
          - name: r
            datacenters:
              - name: d
                racks: 2
                serversPerRack: 3
              - name: e
                racks:
                  - {name: e-top, servers: 2}
        """)
    c = load(body)
    assert [d.name for d in c.domains_of_kind("rack")] == ["d-r1", "d-r2", "e-top"]
    assert [d.name for d in c.domains_of_kind("server")] == [
        "d-r1-s1", "d-r1-s2", "d-r1-s3", "d-r2-s1", "d-r2-s2", "d-r2-s3", "e-top-s1", "e-top-s2"]
    lines = (HEADER + body).splitlines()
    racks_line = lines.index("        racks: 2") + 1
    assert c.domains_of_kind("server")[0].line == racks_line
    assert c.domains_of_kind("rack")[2].line == lines.index("          - {name: e-top, servers: 2}") + 1


def test_partial_sections_keep_other_defaults() -> None:
    c = load_topology_text(ONE_DC + textwrap.dedent("""\
        network: {rtt: {sameRack: 200us}}
        controlPlane: {etcd: {heartbeatInterval: 50ms}}
        failures:
          server: {mtbf: 5y}
          rack: none
          node: {mtbf: 30d, mttr: 5m, ttf: {weibull: {shape: 1.3}}, ttr: {lognormal: {sigma: 1.0}}}
          datacenter: {mtbf: 10y, mttr: 1h, ttr: fixed, ttf: {lognormal: {sigma: 0.5}}}
          region: {mtbf: 100y, mttr: 2d, ttr: {weibull: {shape: 2}}}
        kubernetes: {podStartup: 1m}
        slo: {controlPlane: "99.9%", maxNodeUtilization: null}
        """))
    assert c.network.same_rack == 200e-6 and c.network.same_server == 50e-6
    assert c.etcd.heartbeat == 0.05 and c.etcd.election_timeout == 1.0
    server = c.failures["server"]
    assert server.ttf.mean == 5 * 365 * 86400 and server.ttr.mean == 4 * 3600  # type: ignore[union-attr]
    assert c.failures["rack"].ttf is None and c.failures["rack"].unavailability == 0.0
    node = c.failures["node"]
    assert (node.ttf.kind, node.ttf.shape, node.ttr.kind, node.ttr.shape) == ("weibull", 1.3, "lognormal", 1.0)  # type: ignore[union-attr]
    dc = c.failures["datacenter"]
    assert (dc.ttf.kind, dc.ttr.kind, dc.ttr.mean) == ("lognormal", "fixed", 3600)  # type: ignore[union-attr]
    assert c.failures["region"].ttr.kind == "weibull"
    assert c.kubernetes.pod_startup == 60 and c.kubernetes.not_ready_toleration == 300
    assert c.slo.control_plane == pytest.approx(0.999) and c.slo.max_node_utilization is None


def test_external_etcd() -> None:
    c = load_topology_text(ONE_DC + textwrap.dedent("""\
        controlPlane:
          etcdTopology: external
          members: 3
          etcdPlacement: [s1, s2, s3]
          apiServers: {count: 2, placement: [s4, s4]}
        """))
    assert [n.name for n in c.nodes] == ["etcd-1", "etcd-2", "etcd-3", "apiserver-1", "apiserver-2"]
    assert [n.role for n in c.nodes] == ["etcd"] * 3 + ["apiserver"] * 2
    assert c.members == (0, 1, 2) and c.apiservers == (3, 4)
    assert not c.nodes[0].runs_apiserver and not c.nodes[3].runs_etcd
    assert names(c, [c.nodes[3].server, c.nodes[4].server]) == ["s4", "s4"]
    spread_api = load_topology_text(ONE_DC + "controlPlane: {etcdTopology: external, apiServers: 1}\n")
    assert [n.name for n in spread_api.nodes] == ["etcd-1", "etcd-2", "etcd-3", "apiserver-1"]
    assert names(spread_api, [spread_api.nodes[3].server]) == ["s4"], "apiservers avoid the etcd servers"


def test_workers_placements_and_workloads() -> None:
    c = load("""\
        regions:
          - name: r
            datacenters:
              - {name: a, racks: 2, serversPerRack: 2}
              - {name: b, racks: 1, serversPerRack: 2}
        controlPlane: {members: 1, placement: [a-r1-s1]}
        workers:
          - {pool: small, count: 2, placement: {datacenter: b}, capacity: {cpu: 2, memory: 4Gi}}
          - {pool: big, count: 3, placement: [a-r1-s1, a-r1-s1, a-r2-s2], capacity: {cpu: "8", memory: 32Gi, pods: 50}}
          - {pool: any, count: 1, capacity: {cpu: 500m, memory: 1G}}
        workloads:
          - {name: web, kind: Deployment, replicas: 3, requests: {cpu: 250m, memory: 512Mi}, minAvailable: "66%"}
          - {name: db, kind: StatefulSet, replicas: 2, spread: {over: rack, maxSkew: 2, nodeTaintsPolicy: Honor}}
          - {name: agent, kind: DaemonSet, minAvailable: "50%"}
          - {name: one, kind: Deployment}
        """)
    workers = [c.nodes[i] for i in c.workers]
    assert [n.name for n in workers] == ["small-1", "small-2", "big-1", "big-2", "big-3", "any-1"]
    assert names(c, [n.server for n in workers[:5]]) == ["b-r1-s1", "b-r1-s2", "a-r1-s1", "a-r1-s1", "a-r2-s2"]
    assert workers[2].pool == "big" and workers[2].capacity.pods == 50 and workers[0].capacity.pods == 110
    assert workers[5].capacity.memory == 1e9
    web, db, agent, one, _ = c.workloads  # and kubeadm's CoreDNS
    assert (web.min_available, web.min_available_fraction) == (2, 0.66) and web.required(3) == 2
    assert db.spread is not None and (db.spread.over, db.spread.max_skew, db.spread.node_taints_policy) == (
        "rack", 2, "Honor")
    assert (db.cpu, db.memory, db.min_available) == (0.0, 0.0, 1)
    assert agent.replicas == 6 and agent.min_available is None and agent.required(6) == 3
    assert one.replicas == 1 and one.min_available == 1
    assert c.workers == tuple(n.index for n in workers)


def test_anchors_and_merge_keys() -> None:
    c = load("""\
        regions:
          - name: r
            datacenters:
              - name: d
                racks: [{name: k, servers: [s1, s2, s3]}]
        workers:
          - pool: a
            count: 1
            capacity: &cap {cpu: 4, memory: 8Gi}
          - pool: b
            count: 1
            capacity:
              <<: *cap
              cpu: 6
          - {pool: c, count: 1, capacity: *cap}
        """)
    a, b, cc = (c.nodes[i] for i in c.workers)
    assert (a.capacity.cpu, a.capacity.memory) == (4, 8 * 2**30)
    assert (b.capacity.cpu, b.capacity.memory) == (6, 8 * 2**30)
    assert cc.capacity == a.capacity


def test_region_links_only_between_regions_with_nodes() -> None:
    c = load("""\
        regions:
          - {name: a, datacenters: [{name: a1, racks: 1, serversPerRack: 2}]}
          - {name: b, datacenters: [{name: b1, racks: 1, serversPerRack: 2}]}
          - {name: c, datacenters: [{name: c1, racks: 1, serversPerRack: 2}]}
        network:
          regions:
            - {between: [a, b], rtt: 3ms}
            - {between: [c, a], rtt: 5ms}
            - {between: [b, c], rtt: 4ms}
        controlPlane: {members: 2, placement: [a1-r1-s1, b1-r1-s1]}
        """)
    assert c.network.region_rtt == {(0, 1): 0.003, (0, 2): 0.005, (1, 2): 0.004}
    assert [d.name for d in c.domains_of_kind("regionLink")] == ["a~b"]
    assert c.domains_of_kind("regionLink")[0].index == len(c.domains) - 1


# -- overrides -------------------------------------------------------------

def test_overrides(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text(ONE_DC)
    assert len(load_topology(path).members) == 3
    five = load_topology(path, overrides={"controlPlane.members": 5})
    assert len(five.members) == 5 and five.quorum == 3
    assert names(five, [n.server for n in five.nodes]) == ["s1", "s2", "s3", "s4", "s1"]
    assert five.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "even-etcd-size" in codes(load_topology(path, overrides={"controlPlane.members": 4}))
    c = load_topology(ROOT / "topologies" / "korea-stretched.yaml",
                      overrides={"controlPlane.members": 1, "workers.0.count": 2, "slo.workloads.web": 90})
    assert len(c.members) == 1 and len(c.workers) == 2 and c.slo.workloads["web"] == 0.9
    assert len(load_topology(ROOT / "topologies" / "korea-stretched.yaml").workers) == 12


# -- spread placement ------------------------------------------------------

def _tree(shape: list[list[int]]) -> tuple[list[int], dict[int, int | None]]:
    """Regions of datacenters of racks with n servers each: ``[[n, n], [n]]`` = region of 2 DCs, 1 rack each...

    ``shape[r][d]`` is the number of servers of the single rack of datacenter d in region r.
    """
    parent: dict[int, int | None] = {}
    servers: list[int] = []
    next_id = 0

    def new(up: int | None) -> int:
        nonlocal next_id
        next_id += 1
        parent[next_id] = up
        return next_id

    for region in shape:
        r = new(None)
        for n in region:
            rack = new(new(r))
            servers += [new(rack) for _ in range(n)]
    return servers, parent


def test_spread_over_regions_then_datacenters() -> None:
    # 2 regions with 2 + 1 datacenters: kc-1, ks-1, kc-2 (the brief's example).
    c = load("""\
        regions:
          - name: korea-central
            datacenters:
              - {name: kc-1, racks: 1, serversPerRack: 2}
              - {name: kc-2, racks: 1, serversPerRack: 2}
          - name: korea-south
            datacenters:
              - {name: ks-1, racks: 1, serversPerRack: 2}
        network: {regions: [{between: [korea-central, korea-south], rtt: 8ms}]}
        """)
    assert names(c, [n.datacenter for n in c.nodes]) == ["kc-1", "ks-1", "kc-2"]


def test_spread_avoids_earlier_groups_when_possible() -> None:
    c = load_topology_text(ONE_DC + textwrap.dedent("""\
        controlPlane: {members: 2}
        workers: [{pool: w, count: 3, capacity: {cpu: 1, memory: 1Gi}}]
        """))
    assert names(c, [n.server for n in c.nodes]) == ["s1", "s2", "s3", "s4", "s1"]


def test_spread_direct() -> None:
    servers, parent = _tree([[2, 2], [2]])
    chosen = spread(3, servers, parent, {})
    dcs = [parent[parent[s]] for s in chosen]  # type: ignore[index]
    assert len(set(dcs)) == 3
    assert spread(0, servers, parent, {}) == []
    # Regions first: 3 + 3 even though the second region has only 2 servers.
    six = spread(6, servers, parent, {})
    assert Counter(parent[parent[parent[s]]] for s in six).most_common() == [(1, 3), (10, 3)]  # type: ignore[index]
    assert len(set(spread(4, servers, parent, {}))) == 4


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.integers(1, 4), min_size=1, max_size=3), min_size=1, max_size=3),
    st.integers(1, 30),
    st.integers(0, 10**6),
)
def test_spread_keeps_siblings_within_one(shape: list[list[int]], count: int, seed: int) -> None:
    """At every domain, the group counts of its children differ by at most one."""
    servers, parent = _tree(shape)
    rng = random.Random(seed)
    prior = {d: rng.randrange(3) for d in parent}
    chosen = spread(count, servers, parent, prior)
    assert len(chosen) == count and set(chosen) <= set(servers)
    held: Counter[int] = Counter()
    for s in chosen:
        node: int | None = s
        while node is not None:
            held[node] += 1
            node = parent[node]
    children: dict[int | None, list[int]] = {}
    for d, up in parent.items():
        children.setdefault(up, []).append(d)
    for kids in children.values():
        counts = [held[k] for k in kids]
        assert max(counts) - min(counts) <= 1


def test_spread_is_fast_on_large_topologies() -> None:
    servers, parent = _tree([[5000] * 4] * 5)  # 100,000 servers
    start = time.perf_counter()
    chosen = spread(20_000, servers, parent, {})
    assert time.perf_counter() - start < 5
    assert len(set(chosen)) == 20_000


def test_large_topology_loads_quickly() -> None:
    start = time.perf_counter()
    c = load("""\
        regions:
          - name: r
            datacenters:
              - {name: d1, racks: 50, serversPerRack: 40}
              - {name: d2, racks: 50, serversPerRack: 40}
        workers:
          - {pool: w, count: 3000, capacity: {cpu: 8, memory: 32Gi}}
        workloads:
          - {name: web, kind: Deployment, replicas: 20000, requests: {cpu: 100m, memory: 100Mi}, spreadOver: rack}
        """)
    assert len(c.domains_of_kind("server")) == 4000 and len(c.workers) == 3000
    assert time.perf_counter() - start < 5


# -- advisories ------------------------------------------------------------

def test_timing_and_stretch_advisories() -> None:
    c = load("""\
        regions:
          - {name: a, datacenters: [{name: a1, racks: 1, serversPerRack: 2}]}
          - {name: b, datacenters: [{name: b1, racks: 1, serversPerRack: 2}]}
          - {name: c, datacenters: [{name: c1, racks: 1, serversPerRack: 2}]}
        network:
          regions:
            - {between: [a, b], rtt: 150ms}
            - {between: [a, c], rtt: 150ms}
            - {between: [b, c], rtt: 150ms}
        """)
    assert {"heartbeat-too-small", "election-timeout-too-small", "stretched-commit-latency"} <= codes(c)
    stretched, = [a for a in c.advisories if a.code == "stretched-commit-latency"]
    assert "151ms" in stretched.message
    election, = [a for a in c.advisories if a.code == "election-timeout-too-small"]
    assert "etcd.io/docs" in election.message and "1.5s" in election.message


def test_workload_advisories() -> None:
    c = load_topology_text(ONE_DC + textwrap.dedent("""\
        controlPlane: {members: 3}
        workloads: [{name: web, kind: Deployment, replicas: 2}]
        """))
    assert "no-workers" in codes(c)
    c = load("""\
        regions:
          - name: r
            datacenters:
              - {name: a, racks: 1, serversPerRack: 2}
              - {name: b, racks: 1, serversPerRack: 2}
              - {name: cp-only, racks: 1, serversPerRack: 1}
        controlPlane: {members: 1, placement: [cp-only-r1-s1]}
        workers: [{pool: w, count: 2, placement: [a-r1-s1, b-r1-s1], capacity: {cpu: 4, memory: 8Gi}}]
        workloads:
          - {name: web, kind: Deployment, replicas: 4, spreadOver: datacenter}
          - {name: honored, kind: Deployment, replicas: 4, spread: {over: datacenter, nodeTaintsPolicy: Honor}}
          - {name: huge, kind: Deployment, replicas: 1, requests: {cpu: 6, memory: 1Gi}}
          - {name: many, kind: Deployment, replicas: 300}
        """)
    trap, = [a for a in c.advisories if a.code == "spread-domain-without-workers"]
    assert "'web'" in trap.message and "'cp-only'" in trap.message and "at most 2 of its 4" in trap.message
    assert "nodeTaintsPolicy: Honor" in trap.message
    too_large, = [a for a in c.advisories if a.code == "pod-too-large"]
    assert "'huge'" in too_large.message
    assert "insufficient-capacity" in codes(c)


def test_shared_server_advisory() -> None:
    c = load_topology_text(ONE_DC + "controlPlane: {members: 5, placement: [s1, s1, s2, s3, s4]}\n")
    shared = [a for a in c.advisories if a.code == "shared-blast-radius"]
    assert any(a.severity == "info" and "share server 's1'" in a.message for a in shared)
    c = load_topology_text(ONE_DC + "controlPlane: {members: 3, placement: [s1, s1, s2]}\n")
    assert any(a.severity == "warning" and "server 's1' holds 2 of 3" in a.message for a in c.advisories)
