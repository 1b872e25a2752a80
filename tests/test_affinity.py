"""Pod (anti-)affinity as kube-scheduler's InterPodAffinity plugin applies it
(kubernetes/kubernetes pkg/scheduler/framework/plugins/interpodaffinity: filtering.go, scoring.go).

The index the scheduler uses is checked against a literal reading of the plugin: every existing
pod, every term, topology pairs counted as the plugin counts them, on random clusters and random
placements. Then what the first-class keys do to a cluster: required anti-affinity keeps one pod
per domain and never invents spread's dead-domain trap; it is never turned into a spread rule."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kchaos.analysis.whatif import run_scenario
from kchaos.model.engine import ClusterModel
from kchaos.model.scheduling.affinity import HARD_POD_AFFINITY_WEIGHT, MAX_NODE_SCORE
from kchaos.topology import load_topology_text

from .conftest import topology

LEVELS = ["host", "server", "rack", "datacenter", "region"]


@st.composite
def clusters(draw):
    lines = ["apiVersion: kchaos/v1alpha1", "kind: Topology", "metadata: {name: aff}", "regions:"]
    regions = draw(st.integers(1, 2))
    for r in range(regions):
        lines += [f"  - name: r{r}", "    datacenters:"]
        for d in range(draw(st.integers(1, 3))):
            lines.append(f"      - {{name: r{r}d{d}, racks: {draw(st.integers(1, 2))}, serversPerRack: 2}}")
    if regions == 2:
        lines += ["network:", "  regions:", "    - {between: [r0, r1], rtt: 5ms}"]
    lines += ["controlPlane: {members: 1}", "workers:",
              f"  - {{pool: p, count: {draw(st.integers(2, 9))}, capacity: {{cpu: 8, memory: 8Gi, pods: 20}}}}",
              "workloads:"]
    n = draw(st.integers(1, 3))
    for i in range(n):
        lines += [f"  - name: w{i}", "    kind: Deployment", f"    replicas: {draw(st.integers(1, 6))}",
                  "    requests: {cpu: 100m, memory: 64Mi}"]
        for key in ("antiAffinity", "affinity"):
            terms = []
            for _ in range(draw(st.integers(0, 2))):
                sel = sorted(set(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=2))))
                term = f"over: {draw(st.sampled_from(LEVELS))}, workloads: [{', '.join(f'w{j}' for j in sel)}]"
                if draw(st.booleans()):
                    term += f", weight: {draw(st.integers(1, 100))}"
                terms.append("{" + term + "}")
            if terms:
                lines.append(f"    {key}: [{', '.join(terms)}]")
    return "\n".join(lines) + "\n"


def _domain(cluster, node: int, level: str) -> int:
    n = cluster.nodes[node]
    return n.index if level == "host" else getattr(n, level)


def reference(model, pl, w: int) -> tuple[np.ndarray, np.ndarray]:
    """InterPodAffinity's Filter and (raw) Score for one more pod of ``w``, read literally:
    topology pairs counted per existing pod and term, as PreFilter and PreScore build them."""
    c = model.cluster
    wls = c.workloads
    index = {wl.name: i for i, wl in enumerate(wls)}
    pods = [(model.pod_workload[p], node) for p, node in enumerate(pl.pod_node) if node >= 0]

    def matches(v: int, term) -> bool:  # the term's label selector selects pods of these workloads
        return wls[v].name in term.workloads

    req_aff = [t for t in wls[w].affinity if t.required]
    req_anti = [t for t in wls[w].anti_affinity if t.required]
    affinity_counts: dict[tuple, int] = {}
    anti_counts: dict[tuple, int] = {}
    existing_anti: dict[tuple, int] = {}
    for v, node in pods:
        if req_aff and all(matches(v, t) for t in req_aff):  # updateWithAffinityTerms: all terms
            for t in req_aff:
                key = (t.over, _domain(c, node, t.over))
                affinity_counts[key] = affinity_counts.get(key, 0) + 1
        for t in req_anti:
            if matches(v, t):
                key = (t.over, _domain(c, node, t.over))
                anti_counts[key] = anti_counts.get(key, 0) + 1
        for t in wls[v].anti_affinity:  # existing pods' anti-affinity against the incoming pod
            if t.required and wls[w].name in t.workloads:
                key = (t.over, _domain(c, node, t.over))
                existing_anti[key] = existing_anti.get(key, 0) + 1
    ok = np.ones(model.n_nodes, dtype=bool)
    for n in range(model.n_nodes):
        pods_exist = all(affinity_counts.get((t.over, _domain(c, n, t.over)), 0) > 0 for t in req_aff)
        if not pods_exist and not (not affinity_counts and all(wls[w].name in t.workloads for t in req_aff)):
            ok[n] = False
        if any(anti_counts.get((t.over, _domain(c, n, t.over)), 0) > 0 for t in req_anti):
            ok[n] = False
        if any(existing_anti.get((lv, _domain(c, n, lv)), 0) > 0 for lv in {lv for lv, _ in existing_anti}):
            ok[n] = False
    score: dict[tuple, int] = {}

    def add(level: str, node: int, weight: int) -> None:
        key = (level, _domain(c, node, level))
        score[key] = score.get(key, 0) + weight

    for v, node in pods:  # processExistingPod
        for t in wls[w].affinity:
            if not t.required and matches(v, t):
                add(t.over, node, t.weight)
        for t in wls[w].anti_affinity:
            if not t.required and matches(v, t):
                add(t.over, node, -t.weight)
        for t in wls[v].affinity:
            if wls[w].name in t.workloads:
                add(t.over, node, HARD_POD_AFFINITY_WEIGHT if t.required else t.weight)
        for t in wls[v].anti_affinity:
            if not t.required and wls[w].name in t.workloads:
                add(t.over, node, -t.weight)
    raw = np.array([sum(x for (lv, d), x in score.items() if _domain(c, n, lv) == d) for n in range(model.n_nodes)])
    assert index  # (the names resolve)
    return ok, raw


def normalise(raw: np.ndarray) -> np.ndarray:
    """NormalizeScore: 100 x (s - min) / (max - min) over the scored nodes, 0 when all equal."""
    low, high = int(raw.min()), int(raw.max())
    if high == low:
        return np.zeros(raw.size, dtype=np.int64)
    return np.array([int(float(MAX_NODE_SCORE) * (float(x - low) / float(high - low))) for x in raw])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=clusters(), seed=st.integers(0, 2**32 - 1))
def test_the_index_filters_and_scores_as_the_plugin(text, seed):
    model = ClusterModel(load_topology_text(text, "aff.yaml"))
    sch, rng = model.scheduler, np.random.default_rng(seed)
    pl = model.baseline.copy()
    for p in range(model.n_pods):  # a random placement: some pods elsewhere, some gone
        if pl.pod_node[p] >= 0 and rng.random() < 0.4:
            sch.unbind(pl, p)
    for p in range(model.n_pods):
        if pl.pod_node[p] < 0 and rng.random() < 0.5:
            sch.bind(pl, p, int(rng.choice(model.workers)))
    for w in range(len(model.cluster.workloads)):
        ok, raw = reference(model, pl, w)
        assert (sch.affinity.filter(pl.aff, w) == ok).all()
        cand = np.array(model.workers)
        got = sch.affinity.scores(pl.aff, w, cand)
        if got is not None:
            assert (got == normalise(raw[cand])).all()
        else:
            assert (raw[cand] == 0).all()


TOPO = """
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: aa}
regions:
  - name: r
    datacenters:
      - {name: a, racks: 1, serversPerRack: 2}
      - {name: b, racks: 1, serversPerRack: 2}
      - {name: c, racks: 1, serversPerRack: 2}
controlPlane: {members: 3}
workers:
  - {pool: w, count: 6, capacity: {cpu: 8, memory: 32Gi}}
workloads:
"""


def test_required_anti_affinity_keeps_one_pod_per_host_and_says_why_the_rest_wait():
    c = topology(TOPO + "  - {name: db, kind: Deployment, replicas: 8, requests: {cpu: 1, memory: 1Gi}, "
                        "antiAffinity: [{over: host}]}\n")
    model = ClusterModel(c)
    nodes = [n for n in model.baseline.pod_node if n >= 0]
    assert len(nodes) == 6 and len(set(nodes)) == 6  # one per worker, two Pending
    pending = [p for p, n in enumerate(model.baseline.pod_node) if n < 0]
    assert model.scheduler.explain(model.baseline, pending[0]) == \
        "0/9 nodes are available: 6 node(s) didn't match pod anti-affinity rules, 3 node(s) had untolerated taint(s)."
    assert model.scheduler.blocking_filter(model.baseline, pending[0]) == "pod anti-affinity"


def test_anti_affinity_has_no_dead_domain_trap_where_spread_has_one():
    """A datacenter lost: with anti-affinity over hosts the replacement lands on a free host of
    another datacenter; the same pods spread over datacenters with DoNotSchedule stay Pending
    (the dead datacenter counts 0 pods). kchaos never turns one into the other."""
    anti = topology(TOPO + "  - {name: web, kind: Deployment, replicas: 3, requests: {cpu: 1, memory: 1Gi}, "
                           "minAvailable: 3, antiAffinity: [{over: host}]}\n")
    spread = topology(TOPO + "  - {name: web, kind: Deployment, replicas: 3, requests: {cpu: 1, memory: 1Gi}, "
                             "minAvailable: 3, spreadOver: datacenter}\n")
    assert anti.workloads[0].spread is None and anti.workloads[0].anti_affinity[0].over == "host"
    a = run_scenario(anti, ["datacenter/a"])["outcome"]
    s = run_scenario(spread, ["datacenter/a"])["outcome"]
    lost = a["pods_displaced"]
    if lost:  # the datacenter held a pod of web
        assert a["recovered"] and not a["pending_pods"]
        assert s["pending_pods"] and "pod topology spread" in next(iter(s["pending_pods"].values()))


def test_affinity_follows_the_pods_it_names_and_the_first_pod_of_a_series_may_start():
    text = TOPO + ("  - {name: cache, kind: Deployment, replicas: 2, requests: {cpu: 1, memory: 1Gi}, "
                   "affinity: [{over: datacenter, workloads: [cache]}]}\n"
                   "  - {name: app, kind: Deployment, replicas: 4, requests: {cpu: 1, memory: 1Gi}, "
                   "affinity: [{over: datacenter, workloads: [cache]}]}\n")
    c = topology(text)
    model = ClusterModel(c)
    dc = {c.nodes[n].datacenter for p, n in enumerate(model.baseline.pod_node) if n >= 0}
    assert len(dc) == 1  # the first cache pod started the series; everything followed it


def test_preferred_anti_affinity_spreads_without_blocking():
    c = topology(TOPO + "  - {name: web, kind: Deployment, replicas: 9, requests: {cpu: 1, memory: 1Gi}, "
                        "antiAffinity: [{over: host, weight: 100}]}\n")
    model = ClusterModel(c)
    nodes = [n for n in model.baseline.pod_node if n >= 0]
    counts = np.bincount(nodes, minlength=model.n_nodes)[model.workers]
    assert len(nodes) == 9 and counts.max() - counts.min() <= 1  # all placed, as even as can be


def test_symmetry_keeps_other_pods_off_the_hosts_an_existing_pod_forbids():
    c = topology(TOPO + ("  - {name: noisy, kind: Deployment, replicas: 3, requests: {cpu: 1, memory: 1Gi}, "
                         "antiAffinity: [{over: host, workloads: [quiet]}]}\n"
                         "  - {name: quiet, kind: Deployment, replicas: 3, requests: {cpu: 1, memory: 1Gi}}\n"))
    model = ClusterModel(c)
    noisy = {n for p, n in enumerate(model.baseline.pod_node) if model.pod_workload[p] == 0}
    quiet = {n for p, n in enumerate(model.baseline.pod_node) if model.pod_workload[p] == 1}
    assert not noisy & quiet


def test_an_unknown_workload_in_a_term_is_an_error(tmp_path):
    from kchaos.cli import main

    path = tmp_path / "t.yaml"
    path.write_text(TOPO + "  - {name: web, kind: Deployment, antiAffinity: [{over: host, workloads: [wbe]}]}\n")
    assert main(["validate", str(path)]) == 2


def test_weight_and_required_together_is_an_error(tmp_path):
    from kchaos.cli import main

    path = tmp_path / "t.yaml"
    path.write_text(TOPO + "  - {name: web, kind: Deployment, antiAffinity: [{over: host, required: true, weight: 5}]}\n")
    assert main(["validate", str(path)]) == 2
