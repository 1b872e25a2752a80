"""Findings a newcomer relies on: `validate` refuses layouts that cannot run, the blast
radius agrees with the topology, advisories name the right level and what to change."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kchaos.analysis.advisories import dynamic_advisories, layout_findings
from kchaos.cli import main
from kchaos.model.engine import ClusterModel
from kchaos.model.scheduling.response import BlastRadius
from kchaos.topology import load_topology, load_topology_text

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"

HEAD = """\
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: findings}
regions:
  - name: r1
    datacenters:
      - {name: dc1, racks: 1, serversPerRack: 4}
      - {name: dc2, racks: 1, serversPerRack: 4}
      - {name: dc3, racks: 1, serversPerRack: 4}
controlPlane: {members: 3}
"""


def _validate(tmp_path: Path, body: str, capsys) -> tuple[int, str]:
    path = tmp_path / "t.yaml"
    path.write_text(HEAD + textwrap.dedent(body))
    code = main(["validate", str(path)])
    return code, capsys.readouterr().out


def test_cpu_in_cores_meant_as_millicores_is_an_error(tmp_path, capsys):
    code, out = _validate(tmp_path, """\
        workers:
          - {pool: general, count: 3, capacity: {cpu: 8, memory: 32Gi}}
        workloads:
          - {name: web, kind: Deployment, replicas: 3, requests: {cpu: 2000, memory: 1Gi}}
        """, capsys)
    assert code == 1
    assert "error pod-too-large: workload 'web'" in " ".join(out.split())
    assert "did you mean '2000m'?" in " ".join(out.split())
    assert "cannot run as written: 1 error" in " ".join(out.split())


def test_workloads_without_workers_is_an_error(tmp_path, capsys):
    code, out = _validate(tmp_path, """\
        workloads:
          - {name: web, kind: Deployment, replicas: 3, requests: {cpu: 1, memory: 1Gi}}
        """, capsys)
    assert code == 1 and "error no-workers" in out


def test_capacity_shortfall_names_the_pending_workload_once(tmp_path, capsys):
    code, out = _validate(tmp_path, """\
        workers:
          - {pool: general, count: 3, capacity: {cpu: 8, memory: 32Gi}}
        workloads:
          - {name: small, kind: Deployment, replicas: 3, requests: {cpu: 1, memory: 1Gi}}
          - {name: api, kind: Deployment, replicas: 30, requests: {cpu: 2, memory: 1Gi}}
        """, capsys)
    flat = " ".join(out.split())
    assert code == 1
    # 8-cpu nodes hold one small pod and three api pods each: 9 of 30 fit.
    assert flat.count("error ") == 2 and "cannot run as written: 1 error" in flat
    assert "error insufficient-capacity" in flat and "Pending: api 21 of 30" in flat


def test_fragmented_capacity_says_why_in_the_schedulers_words(tmp_path, capsys):
    code, out = _validate(tmp_path, """\
        workers:
          - {pool: general, count: 3, placement: {datacenter: dc1}, capacity: {cpu: 8, memory: 32Gi}}
          - {pool: more, count: 3, placement: {datacenter: dc2}, capacity: {cpu: 8, memory: 32Gi}}
        workloads:
          - name: web
            kind: Deployment
            replicas: 6
            requests: {cpu: 1, memory: 1Gi}
            spread: {over: datacenter, maxSkew: 1, whenUnsatisfiable: DoNotSchedule, nodeTaintsPolicy: Honor}
          - name: db
            kind: StatefulSet
            replicas: 8
            requests: {cpu: 5, memory: 1Gi}
        """, capsys)
    flat = " ".join(out.split())
    assert code == 1
    assert "unschedulable-workload: workload 'db': 2 of 8 pods cannot be scheduled" in flat
    assert "Insufficient cpu" in flat


def test_a_layout_that_works_validates_with_exit_0(capsys):
    assert main(["validate", str(ROOT / "topologies" / "three-datacenters.yaml")]) == 0
    assert capsys.readouterr().out.rstrip().endswith("valid")


@pytest.mark.parametrize("path", ["topologies/three-datacenters.yaml", "topologies/korea-stretched.yaml",
                                  "topologies/benchmark-5-members.yaml", "tests/data/korea-unconfirmed.yaml"])
def test_members_lost_per_domain_match_the_topology(path):
    cluster = load_topology(ROOT / path)
    model = ClusterModel(cluster)
    blast = BlastRadius(model)
    for d in cluster.domains:
        if d.kind == "regionLink":
            continue
        under = set(model.nodes_under.get(d.index, ()))
        inside = sum(1 for m in cluster.members if cluster.nodes[m].index in under)
        r = blast.respond([d.index])
        # Down members are lost; when quorum survives elsewhere nothing else is (one failure
        # domain does not partition the rest).
        assert r.members_lost == inside, (d.id, r.members_lost, inside)
        assert r.quorum_lost == (len(cluster.members) - inside < cluster.quorum)


def test_region_link_cut_loses_the_members_outside_the_quorum():
    cluster = load_topology(ROOT / "tests/data/korea-unconfirmed.yaml")
    model = ClusterModel(cluster)
    link = next(d for d in cluster.domains if d.kind == "regionLink")
    r = BlastRadius(model).respond([link.index])
    south = next(d for d in cluster.domains if d.id == "region/korea-south")
    cut_off = sum(1 for m in cluster.members if cluster.nodes[m].region == south.index)
    assert not r.quorum_lost and r.members_lost == cut_off == 2


def _advisories(path: Path):
    model = ClusterModel(load_topology(path))
    return dynamic_advisories(model, BlastRadius(model))


def test_spread_trap_names_the_workloads_own_level():
    """web spreads over datacenter: losing the single-datacenter region strands it because the
    dead *datacenter* ks-1 still counts, not the region."""
    adv = [a.message for a in _advisories(DATA / "korea-unconfirmed.yaml") if a.code == "spread-blocks-rescheduling"]
    region = next(m for m in adv if m.startswith("losing region korea-south"))
    assert "over datacenter" in region and "the dead datacenter ks-1 as an empty domain" in region
    assert "dead region" not in " ".join(adv)


UNEVEN = """\
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: uneven}
regions:
  - name: r
    datacenters:
      - {name: a, racks: 1, serversPerRack: 3}
      - {name: b, racks: 1, serversPerRack: 3}
      - {name: c, racks: 1, serversPerRack: 3}
controlPlane: {members: 3}
workers:
  - {pool: big-a, count: 2, placement: {datacenter: a}, capacity: {cpu: 8, memory: 32Gi}}
  - {pool: big-b, count: 2, placement: {datacenter: b}, capacity: {cpu: 8, memory: 32Gi}}
  - {pool: small-c, count: 2, placement: {datacenter: c}, capacity: {cpu: 1, memory: 32Gi}}
workloads:
  - {name: payments, kind: StatefulSet, replicas: 3, requests: {cpu: 2, memory: 4Gi}, minAvailable: 2}
"""


def test_headroom_says_where_the_pods_sat_and_what_to_add():
    """payments fits only in datacenters a and b (c's workers are too small), so one of them
    holds 2 of its 3 pods; the advisory names it and suggests spreading over datacenters."""
    model = ClusterModel(load_topology_text(UNEVEN, "uneven.yaml"))
    adv = [a.message for a in dynamic_advisories(model, BlastRadius(model)) if a.code == "datacenter-headroom"]
    text = next(m for m in adv if "payments: 2 of its 3 pods ran there, minAvailable 2" in m)
    assert "it has no spreadOver: add spreadOver: datacenter" in text
    region = next(a.message for a in _advisories(DATA / "korea-unconfirmed.yaml")
                  if a.code == "region-headroom" and "korea-central" in a.message)
    assert "even spread over the 2 regions with workers would keep only 3" in region


def test_layout_findings_put_errors_first():
    text = (HEAD + textwrap.dedent("""\
        workers:
          - {pool: general, count: 3, capacity: {cpu: 8, memory: 32Gi}}
        workloads:
          - {name: web, kind: Deployment, replicas: 3, requests: {cpu: 2000, memory: 1Gi}}
        """)).replace("members: 3", "members: 4")
    findings = layout_findings(ClusterModel(load_topology_text(text, "t.yaml")))
    severities = [a.severity for a in findings]
    assert severities[0] == "error" and "error" not in severities[1:]
    assert "even-etcd-size" in [a.code for a in findings[1:]]
