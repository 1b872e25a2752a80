"""The batch placer gives exactly the nodes pod-by-pod scheduling gives (Scheduler.pick):
random small clusters, random prior load, cordoned nodes, every spread flavour."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kchaos.model import batch
from kchaos.model.batch import place_batch
from kchaos.model.engine import ClusterModel
from kchaos.topology import load_topology_text

LEVELS = ["server", "rack", "datacenter", "region"]
CPUS = ["100m", "250m", "300m", "500m", "1", "1500m", "3"]
MEMS = ["128Mi", "300Mi", "512Mi", "1Gi", "3Gi"]


@st.composite
def clusters(draw):
    regions = draw(st.integers(1, 2))
    lines = ["apiVersion: kchaos/v1alpha1", "kind: Topology", "metadata: {name: prop}", "regions:"]
    for r in range(regions):
        lines += [f"  - name: r{r}", "    datacenters:"]
        for d in range(draw(st.integers(1, 3))):
            lines.append(f"      - {{name: r{r}d{d}, racks: {draw(st.integers(1, 2))}, "
                         f"serversPerRack: {draw(st.integers(1, 3))}}}")
    if regions == 2:
        lines += ["network:", "  regions:", "    - {between: [r0, r1], rtt: 5ms}"]
    lines += ["controlPlane: {members: 1}", "workers:"]
    for i in range(draw(st.integers(1, 3))):
        lines.append(f"  - {{pool: p{i}, count: {draw(st.integers(1, 6))}, capacity: "
                     f"{{cpu: {draw(st.sampled_from([2, 4, 8]))}, memory: {draw(st.sampled_from(['4Gi', '8Gi']))}, "
                     f"pods: {draw(st.integers(3, 12))}}}}}")
    lines.append("workloads:")
    for i in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["Deployment", "Deployment", "StatefulSet"]))
        lines += [f"  - name: w{i}", f"    kind: {kind}", f"    replicas: {draw(st.integers(1, 25))}",
                  f"    requests: {{cpu: {draw(st.sampled_from(CPUS))}, memory: {draw(st.sampled_from(MEMS))}}}"]
        if draw(st.booleans()):
            lines.append(f"    spread: {{over: {draw(st.sampled_from(LEVELS))}, maxSkew: {draw(st.integers(1, 2))}, "
                         f"whenUnsatisfiable: {draw(st.sampled_from(['DoNotSchedule', 'ScheduleAnyway']))}, "
                         f"nodeTaintsPolicy: {draw(st.sampled_from(['Ignore', 'Honor']))}}}")
        if kind == "StatefulSet" and draw(st.booleans()):
            lines.append(f"    volumeScope: {draw(st.sampled_from(['rack', 'datacenter']))}")
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=clusters(), seed=st.integers(0, 2**32 - 1))
def test_batch_matches_pod_by_pod(text, seed):
    small, batch.SMALL_BATCH = batch.SMALL_BATCH, 0  # the heap path even for one or two pods
    try:
        _check_batch_matches_pod_by_pod(text, seed)
    finally:
        batch.SMALL_BATCH = small


def _check_batch_matches_pod_by_pod(text, seed):
    model = ClusterModel(load_topology_text(text, "prop.yaml"))
    sch, rng = model.scheduler, np.random.default_rng(seed)
    pl = model.baseline.copy()
    # Cordon some workers and delete some pods, as failures and evictions do.
    for n in model.workers:
        if rng.random() < 0.25:
            pl.usable[n] = False
    for p in range(model.n_pods):
        if pl.pod_node[p] >= 0 and not model.is_daemon[p] and rng.random() < 0.4:
            sch.unbind(pl, p)
    for w, pods in enumerate(model.workload_pods):
        if model.cluster.workloads[w].kind == "DaemonSet":
            continue
        todo = [p for p in pods if pl.pod_node[p] < 0]
        scope = -1
        if todo and model.scope_level[todo[0]] is not None and rng.random() < 0.5:
            scope = model.scope_of(todo[0], int(rng.choice(model.workers)))
        one, many = pl.copy(), pl.copy()
        expected = []
        for p in todo:
            node = sch.pick(one, p, scope=scope)
            if node >= 0:
                sch.bind(one, p, node)
            expected.append(node)
        assert place_batch(sch, many, todo, scope) == expected
        assert np.array_equal(one.alloc_cpu, many.alloc_cpu) and np.array_equal(one.alloc_pods, many.alloc_pods)
        assert all(np.array_equal(one.spread_counts[k], many.spread_counts[k]) for k in one.spread_counts)
        pl = many  # the next workload places on top of this one, as the engine does


def test_batch_of_nothing_and_of_pods_that_fit_nowhere():
    text = """\
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: tiny}
regions:
  - name: r
    datacenters:
      - {name: d, racks: 1, serversPerRack: 3}
controlPlane: {members: 1}
workers:
  - {pool: p, count: 2, capacity: {cpu: 2, memory: 4Gi, pods: 10}}
workloads:
  - {name: web, kind: Deployment, replicas: 5, requests: {cpu: 1, memory: 1Gi}}
"""
    model = ClusterModel(load_topology_text(text, "tiny.yaml"))
    pl = model.baseline.copy()
    assert place_batch(model.scheduler, pl, []) == []
    pending = [p for p in model.workload_pods[0] if pl.pod_node[p] < 0]
    assert len(pending) == 1 and place_batch(model.scheduler, pl, pending) == [-1]
