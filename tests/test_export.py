"""`kchaos export --to chaos-mesh`: drills that stop the cluster's own machines, valid against
Chaos Mesh's own CRD schemas (tests/data/chaos-mesh, copied from chaos-mesh/chaos-mesh
config/crd/bases at commit 608b61e7, Apache-2.0), naming nothing the cluster does not have."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from kchaos.cli import main
from kchaos.kube.chaos_mesh import SIGSTOP, chaos_mesh, go_duration, machine_action, significant
from kchaos.model.cluster import Capacity, Node
from kchaos.topology import load_topology

from .conftest import TWO_REGIONS, topology
from .kube_fixtures import DATA, azure_nodes, kind_nodes

CRDS = Path(__file__).parent / "data" / "chaos-mesh"
ROOT = Path(__file__).resolve().parent.parent
WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 4
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: app, resources: {requests: {cpu: "1", memory: 2Gi}}}
      topologySpreadConstraints:
        - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule,
           labelSelector: {matchLabels: {app: web}}}
"""


def _schema(kind: str) -> dict:
    crd = yaml.safe_load((CRDS / f"chaos-mesh.org_{kind.lower()}.yaml").read_text())
    assert crd["spec"]["names"]["kind"] == kind
    return next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")["schema"]["openAPIV3Schema"]


def _valid(manifest: dict) -> None:
    assert manifest["apiVersion"] == "chaos-mesh.org/v1alpha1"
    jsonschema.validate(manifest, _schema(manifest["kind"]))


def _export(tmp_path, nodes_arg: str, failures: int = 3000) -> tuple[object, list[dict], list[str]]:
    """Import the nodes (and web), export drills; the cluster, every manifest, every file's text."""
    web = tmp_path / "web.yaml"
    web.write_text(WEB)
    topo = tmp_path / "cluster.yaml"
    assert main(["import", "--nodes", nodes_arg, "-f", str(web), "-o", str(topo)]) == 0
    out = tmp_path / "drills"
    assert main(["export", str(topo), "-o", str(out), "-n", str(failures), "--top", "4", "--sampling", "plain",
                 "-q"]) == 0
    texts = [f.read_text() for f in sorted(out.glob("*.yaml"))]
    manifests = [m for text in texts for m in yaml.safe_load_all(text)]
    assert manifests
    return load_topology(topo), manifests, texts


def _machines(cluster) -> set[str]:
    return {n.provider_id for n in cluster.nodes if n.provider_id and not n.standby}


def test_drills_from_an_imported_aws_cluster_stop_its_ec2_instances(tmp_path):
    cluster, manifests, texts = _export(tmp_path, str(DATA / "openshift-aws-nodes.json"))
    instances = {pid.rsplit("/", 1)[1] for pid in _machines(cluster)}
    for m in manifests:
        _valid(m)
        assert m["kind"] == "AWSChaos" and m["spec"]["action"] == "ec2-stop"
        assert m["spec"]["ec2Instance"] in instances and m["spec"]["awsRegion"] == "us-west-1"
        notes = m["metadata"]["annotations"]
        assert notes["kchaos.dev/machine"] in {n.name for n in cluster.nodes}
        if notes["kchaos.dev/predicted-quorum"] == "kept":
            assert "kchaos.dev/predicted-node-not-ready-after" in notes
        else:  # without quorum nothing is marked NotReady: the API is down until the machines return
            assert notes["kchaos.dev/predicted-api-write-gap"] == "until the machines return"
    for text in texts:  # plain YAML: no anchors or aliases
        assert not any(line.lstrip().startswith(("&", "*")) or ": &" in line or ": *" in line
                       for line in text.splitlines())


def test_drills_from_an_imported_azure_cluster_stop_its_vms(tmp_path):
    nodes = tmp_path / "azure.json"
    nodes.write_text(json.dumps(azure_nodes()))
    cluster, manifests, _ = _export(tmp_path, str(nodes))
    vms = {pid.rsplit("/", 1)[1] for pid in _machines(cluster)}
    for m in manifests:
        _valid(m)
        assert m["kind"] == "AzureChaos" and m["spec"]["action"] == "vm-stop"
        assert m["spec"]["vmName"] in vms and m["spec"]["resourceGroupName"] == "ocp-prod-7x2kq-rg"
        assert m["spec"]["subscriptionID"] == "5f1d7b0a-1c3e-4b6a-9d2e-8a7c6b5d4e3f"


def test_a_drill_lasts_until_its_prediction_has_played_out(tmp_path):
    cluster, manifests, _ = _export(tmp_path, str(DATA / "openshift-gcp"))
    for m in manifests:
        _valid(m)
        assert m["kind"] == "GCPChaos" and m["spec"]["project"] == "openshift-gce-devel-ci"
        assert m["spec"]["instance"] == m["metadata"]["annotations"]["kchaos.dev/machine"]
        notes = m["metadata"]["annotations"]
        recovered = notes.get("kchaos.dev/predicted-replacements-ready-after")
        seconds = _seconds(m["spec"]["duration"])
        assert seconds >= 600
        if recovered:
            assert seconds > _seconds(recovered)


def _seconds(go: str) -> int:
    total, number = 0, ""
    for ch in go:
        if ch.isdigit():
            number += ch
        else:
            total += int(number) * {"h": 3600, "m": 60, "s": 1}[ch]
            number = ""
    return total


def test_bare_metal_machines_stop_their_kubelet_through_chaosd(tmp_path):
    nodes = tmp_path / "kind.json"
    nodes.write_text(json.dumps(kind_nodes()))
    cluster, manifests, _ = _export(tmp_path, str(nodes))
    addresses = {f"http://{n.address}:31767" for n in cluster.nodes if n.address}
    for m in manifests:
        _valid(m)
        assert m["kind"] == "PhysicalMachineChaos" and m["spec"]["process"]["signal"] == SIGSTOP
        assert set(m["spec"]["address"]) <= addresses


def test_a_region_link_is_a_partition_of_both_sides_that_says_what_it_does_not_cut():
    cluster = topology(TWO_REGIONS)
    nodes = [n.name for n in cluster.nodes]
    results = {"importance": [], "domains": [{"id": "regionLink/ra~rb", "kind": "regionLink", "quorum_lost": True}]}
    (drill,) = chaos_mesh(cluster, results, top=1)
    (m,) = drill.manifests
    _valid(m)
    assert m["kind"] == "NetworkChaos" and m["spec"]["action"] == "partition" and m["spec"]["direction"] == "both"
    sides = m["spec"]["selector"]["nodes"], m["spec"]["target"]["selector"]["nodes"]
    assert set(sides[0]) | set(sides[1]) == set(nodes) and not set(sides[0]) & set(sides[1])
    assert "etcd peers" in m["metadata"]["annotations"]["kchaos.dev/not-cut"]


def test_a_topology_written_by_hand_names_no_machine_and_exports_nothing(tmp_path, capsys):
    out = tmp_path / "drills"
    assert main(["export", str(ROOT / "topologies" / "three-workers.yaml"), "-o", str(out), "-n", "1500",
                 "--sampling", "plain", "-q"]) == 2
    err = capsys.readouterr().err
    assert "no drill names a machine of the cluster" in err and "kchaos import" in err
    assert not out.exists()


def test_only_savings_whose_interval_excludes_zero_are_named():
    row = {"api_minutes_per_year_saved": 0.29, "workload_minutes_per_year_saved": {"web": 3.1, "db": 0.2},
           "ci95": {"api": [-0.1, 0.7], "workloads": {"web": [1.2, 5.0], "db": [-0.3, 0.7]}}}
    assert significant(row)
    row["ci95"]["workloads"]["web"] = [-0.2, 6.0]
    assert not significant(row)


def test_scale_set_instances_and_unknown_machines_are_said_not_stopped():
    def node(pid, address=None):
        return Node(0, "aks-pool-vmss000000", "worker", 1, 0, 0, 0, 0, Capacity(1, 1, 1), provider_id=pid,
                    address=address)
    vmss = ("azure:///subscriptions/s/resourceGroups/mc_rg/providers/Microsoft.Compute/virtualMachineScaleSets/"
            "aks-pool-vmss/virtualMachines/0")
    assert "az vmss stop -g mc_rg -n aks-pool-vmss --instance-ids 0" in machine_action(node(vmss), "10m")
    assert "no providerID and no address" in machine_action(node(None), "10m")


def test_go_durations():
    assert [go_duration(s) for s in (28800, 600, 86400, 5400, 45)] == ["8h", "10m", "24h", "1h30m", "45s"]


def test_a_broken_manifest_fails_the_schema():
    """The check can fail: an AWSChaos without its instance is rejected."""
    with pytest.raises(jsonschema.ValidationError):
        _valid({"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "AWSChaos", "metadata": {"name": "x"},
                "spec": {"action": "ec2-stop", "awsRegion": "us-west-1"}})
