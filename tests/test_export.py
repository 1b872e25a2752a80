"""`kchaos export --to chaos-mesh`: the costliest failures as Chaos Mesh experiments, valid
against Chaos Mesh's own CRD schemas (tests/data/chaos-mesh, copied from chaos-mesh/chaos-mesh
config/crd/bases at commit 608b61e7, Apache-2.0)."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from kchaos.analysis import analyze
from kchaos.kube.chaos_mesh import chaos_mesh, go_duration
from kchaos.cli import main
from kchaos.model.sampling.montecarlo import run_monte_carlo

from .conftest import TWO_REGIONS, topology

DATA = Path(__file__).parent / "data" / "chaos-mesh"
ROOT = Path(__file__).resolve().parent.parent


def _schema(kind: str) -> dict:
    crd = yaml.safe_load((DATA / f"chaos-mesh.org_{kind.lower()}.yaml").read_text())
    assert crd["spec"]["names"]["kind"] == kind
    return next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")["schema"]["openAPIV3Schema"]


def _valid(manifest: dict) -> None:
    assert manifest["apiVersion"] == "chaos-mesh.org/v1alpha1"
    jsonschema.validate(manifest, _schema(manifest["kind"]))


def test_go_durations():
    assert [go_duration(s) for s in (28800, 600, 86400, 5400, 45)] == ["8h", "10m", "24h", "1h30m", "45s"]


def test_exported_manifests_pass_the_crd_schemas(tmp_path, capsys):
    out = tmp_path / "drills"
    assert main(["export", str(ROOT / "topologies" / "korea-stretched.yaml"), "-o", str(out), "-n", "2000",
                 "--top", "5", "--sampling", "plain"]) == 0
    files = sorted(out.glob("*.yaml"))
    assert len(files) == 5
    for f in files:
        manifest = yaml.safe_load(f.read_text())
        _valid(manifest)
        notes = manifest["metadata"]["annotations"]
        assert notes["kchaos.dev/rank"] and "kchaos.dev/predicted-quorum-lost" in notes
    first = yaml.safe_load(files[0].read_text())
    assert first["spec"]["action"] == "pod-failure" and first["spec"]["duration"] == "24h"  # a region, for its repair
    assert "wrote 5 chaos-mesh manifests" in capsys.readouterr().out


def test_a_region_link_becomes_a_network_partition_and_a_node_names_its_node():
    cluster = topology(TWO_REGIONS)
    results = analyze(run_monte_carlo(cluster, failures=1500, seed=1, sampling="auto"))
    manifests = chaos_mesh(cluster, results, top=20)
    for m in manifests:
        _valid(m)
    kinds = {m["kind"] for m in manifests}
    assert kinds == {"PodChaos", "NetworkChaos"}
    link = next(m for m in manifests if m["kind"] == "NetworkChaos")
    assert link["spec"]["action"] == "partition" and link["spec"]["direction"] == "both"
    sides = {link["spec"]["selector"]["nodeSelectors"]["topology.kubernetes.io/region"],
             link["spec"]["target"]["selector"]["nodeSelectors"]["topology.kubernetes.io/region"]}
    assert sides == {"ra", "rb"} and link["spec"]["duration"] == "1h"
    node = next(m for m in manifests if m["metadata"]["name"].startswith("kchaos-") and "node-cp" in m["metadata"]["name"])
    assert node["spec"]["selector"]["nodes"] in (["cp-1"], ["cp-2"])


def test_a_broken_manifest_fails_the_schema():
    """The check can fail: a PodChaos without its required mode is rejected."""
    bad = {"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "PodChaos", "metadata": {"name": "x"},
           "spec": {"action": "pod-failure", "selector": {}}}
    with pytest.raises(jsonschema.ValidationError):
        _valid(bad)
