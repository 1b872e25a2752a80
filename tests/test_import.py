"""`kchaos import --nodes`: a topology from `kubectl get nodes -o json` (issue 10, first part)."""

from __future__ import annotations

import json

import pytest

from kchaos.cli import main
from kchaos.model.engine import ClusterModel
from kchaos.topology import load_topology, load_topology_text

from .kube_fixtures import HOST_LABEL, RACK_LABEL, three_zone_nodes, write_nodes


@pytest.fixture
def nodes_file(tmp_path):
    path = tmp_path / "nodes.json"
    write_nodes(path)
    return path


def test_import_maps_zones_racks_hosts_members_and_pools(nodes_file, tmp_path, capsys):
    out = tmp_path / "cluster.yaml"
    assert main(["import", "--nodes", str(nodes_file), "--rack-label", RACK_LABEL, "--host-label", HOST_LABEL,
                 "-o", str(out)]) == 0
    c = load_topology(out)
    kinds = {}
    for d in c.domains:
        kinds.setdefault(d.kind, set()).add(d.name)
    assert kinds["region"] == {"eu-west-1"}
    assert kinds["datacenter"] == {"eu-west-1a", "eu-west-1b", "eu-west-1c"}
    assert len(kinds["rack"]) == 6 and len(kinds["server"]) == 6
    assert len(c.members) == 3 and c.etcd_topology == "stacked"
    model = ClusterModel(c)
    assert len(model.workers) == 9
    # One control-plane member per zone, on the host its node runs on.
    member_zones = {c.domains[c.nodes[m].datacenter].name for m in c.members}
    assert member_zones == {"eu-west-1a", "eu-west-1b", "eu-west-1c"}
    # Allocatable, not capacity: 7910m and 31792132Ki.
    worker = c.nodes[model.workers[0]]
    assert worker.capacity.cpu == pytest.approx(7.91) and worker.capacity.memory == 31792132 * 1024
    text = out.read_text()
    assert "# cp-1: ip-10-0-0-10.eu-west-1.compute.internal" in text and "# TODO" in text
    assert "wrote" in capsys.readouterr().err


def test_import_runs_as_written(nodes_file, tmp_path):
    out = tmp_path / "cluster.yaml"
    assert main(["import", "--nodes", str(nodes_file), "-o", str(out)]) == 0
    assert main(["run", str(out), "-n", "300", "-q", "--out", str(tmp_path / "report")]) == 0
    assert (tmp_path / "report" / "results.json").exists()


def test_missing_levels_get_one_domain_per_parent_and_say_so(nodes_file, capsys):
    assert main(["import", "--nodes", str(nodes_file)]) == 0
    text = capsys.readouterr().out
    assert "no --rack-label: one rack per datacenter" in text
    assert "no --host-label: each node is its own physical server" in text
    cluster = load_topology_text(text, "imported.yaml")
    assert len([d for d in cluster.domains if d.kind == "rack"]) == 3
    assert len([d for d in cluster.domains if d.kind == "server"]) == 12


def _write(tmp_path, data) -> str:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data, indent=2))
    return str(path)


def test_bad_nodes_files_exit_2_with_file_and_line(tmp_path, capsys):
    data = three_zone_nodes()
    data["items"][4]["status"]["allocatable"]["memory"] = "32GB"
    out = tmp_path / "never.yaml"
    assert main(["import", "--nodes", _write(tmp_path, data), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.json:" in err and "items[4].status.allocatable" in err and "32GB" in err
    line = int(err.split("bad.json:")[1].split(":")[0])
    assert '"allocatable"' in (tmp_path / "bad.json").read_text().splitlines()[line - 1]
    assert not out.exists()

    no_cp = three_zone_nodes()
    for item in no_cp["items"]:
        item["metadata"]["labels"].pop("node-role.kubernetes.io/control-plane", None)
    assert main(["import", "--nodes", _write(tmp_path, no_cp)]) == 2
    assert "managed control plane" in capsys.readouterr().err

    assert main(["import", "--nodes", _write(tmp_path, {"kind": "Pod"})]) == 2
    assert "expected a List of Node objects" in capsys.readouterr().err
    (tmp_path / "broken.json").write_text('{"kind": "List", "items": [\n  {"kind": "Node",}\n]}')
    assert main(["import", "--nodes", str(tmp_path / "broken.json")]) == 2
    assert "broken.json:" in capsys.readouterr().err
