"""`kchaos import --nodes`: a topology from `kubectl get nodes -o json` (issue 10, first part)."""

from __future__ import annotations

import json

import pytest

from kchaos.cli import main
from kchaos.model.engine import ClusterModel
from kchaos.topology import load_topology, load_topology_text

from pathlib import Path

from .kube_fixtures import HOST_LABEL, RACK_LABEL, three_zone_nodes, write_manifests, write_nodes

ROOT = Path(__file__).resolve().parent.parent


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
    # Real names in the topology, and so in every output (whatif, report, drills).
    assert {c.nodes[m].name for m in c.members} == {f"ip-10-0-{z}-10.eu-west-1.compute.internal" for z in range(3)}
    assert "# TODO" in text and text.endswith("\n")
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
    assert "bad.json:" in err and "items[4].status.allocatable.memory" in err and "32GB" in err
    line = int(err.split("bad.json:")[1].split(":")[0])
    assert '"memory": "32GB"' in (tmp_path / "bad.json").read_text().splitlines()[line - 1]
    assert not out.exists()

    no_cp = three_zone_nodes()
    for item in no_cp["items"]:
        item["metadata"]["labels"].pop("node-role.kubernetes.io/control-plane", None)
    assert main(["import", "--nodes", _write(tmp_path, no_cp)]) == 2
    assert "managed control plane" in capsys.readouterr().err

    assert main(["import", "--nodes", _write(tmp_path, {"kind": "Pod"})]) == 2
    err = capsys.readouterr().err
    assert "holds no Node (found: a Pod, not a Node)" in err and "kubectl get nodes -o json" in err
    (tmp_path / "broken.json").write_text('{"kind": "List", "items": [\n  {"kind": "Node",}\n]}')
    assert main(["import", "--nodes", str(tmp_path / "broken.json")]) == 2
    assert "broken.json:" in capsys.readouterr().err


def _import_with_manifests(tmp_path, folder) -> str:
    nodes = tmp_path / "nodes.json"
    write_nodes(nodes)
    out = tmp_path / "cluster.yaml"
    assert main(["import", "--nodes", str(nodes), "--rack-label", RACK_LABEL, "--host-label", HOST_LABEL,
                 "-f", str(folder), "-o", str(out)]) == 0
    return str(out)


def test_manifests_become_workloads_with_their_budgets(tmp_path):
    folder = tmp_path / "manifests"
    write_manifests(folder)
    c = load_topology(_import_with_manifests(tmp_path, folder))
    wl = {w.name: w for w in c.workloads if not w.addon}  # kubeadm's CoreDNS is added to any topology
    assert set(wl) == {"web", "queue-worker", "db", "log-agent"}
    model = ClusterModel(c)
    desired = {w.name: n for w, n in zip(c.workloads, model.workload_desired) if not w.addon}
    required = {w.name: n for w, n in zip(c.workloads, model.workload_required) if not w.addon}
    # replicas (default 1); a DaemonSet on each of the 9 workers
    assert desired == {"web": 6, "queue-worker": 1, "db": 3, "log-agent": 9}
    # PDB minAvailable 4; maxUnavailable 1 of 3; maxUnavailable 34% of 9 rounds the allowance up (4);
    # no PDB: every replica
    assert required == {"web": 4, "queue-worker": 1, "db": 2, "log-agent": 5}
    # containers summed (600m, 1152Mi), the init container's 2 cpu larger
    assert wl["web"].cpu == pytest.approx(2.0) and wl["web"].memory == 1152 * 2**20
    assert wl["web"].spread.over == "datacenter" and wl["web"].spread.when_unsatisfiable == "DoNotSchedule"
    # Required pod anti-affinity stays anti-affinity (never a spread rule), against db's own pods.
    assert wl["db"].volume_scope == "datacenter" and wl["db"].spread is None
    assert [(t.over, t.workloads, t.required) for t in wl["db"].anti_affinity] == [("datacenter", ("db",), True)]
    assert wl["web"].namespace == "shop" and wl["log-agent"].namespace == "kube-system"
    text = open(_import_with_manifests(tmp_path, folder)).read()
    assert "# skipped (not workloads kchaos models): 1 ConfigMap, 1 Service" in text


def test_an_imported_zone_spread_constraint_is_the_hand_written_trap(tmp_path):
    """A zone topologySpreadConstraint (DoNotSchedule, default nodeTaintsPolicy) strands web's
    replacements after a zone outage exactly as the hand-written `spreadOver: datacenter` does."""
    folder = tmp_path / "manifests"
    write_manifests(folder)
    imported = open(_import_with_manifests(tmp_path, folder)).read()
    hand = imported.replace(
        "    spread: {over: datacenter, maxSkew: 1, whenUnsatisfiable: DoNotSchedule, nodeTaintsPolicy: Ignore}",
        "    spreadOver: datacenter")
    assert hand != imported
    results = []
    for text in (imported, hand):
        model = ClusterModel(load_topology_text(text, "x.yaml"))
        from kchaos.model.scheduling.response import BlastRadius
        blast = BlastRadius(model)
        zone = next(d.index for d in model.cluster.domains if d.id == "datacenter/eu-west-1a")
        r = blast.respond([zone])
        results.append((r.pods_pending, r.workloads_unavailable))
    assert results[0] == results[1]
    assert results[0][0] >= 2  # web's two replacements (and more) stay Pending: the trap


def test_bad_manifests_exit_2_with_file_and_line(tmp_path, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  template:\n"
        "    metadata: {labels: {app: api}}\n    spec:\n      containers:\n"
        "        - resources: {requests: {cpu: 5x}}\n"
        "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: lost}\n"
        "spec:\n  minAvailable: 1\n  selector: {matchLabels: {app: nothing}}\n"
        "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: both}\n"
        "spec:\n  minAvailable: 1\n  maxUnavailable: 1\n  selector: {matchLabels: {app: api}}\n")
    nodes = tmp_path / "nodes.json"
    write_nodes(nodes)
    out = tmp_path / "never.yaml"
    assert main(["import", "--nodes", str(nodes), "-f", str(folder), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "a.yaml:9: spec.template.spec.containers[0].resources.requests.cpu" in err and "5x" in err
    assert "a.yaml:21: spec: a PodDisruptionBudget takes minAvailable or maxUnavailable, not both" in err
    assert not out.exists()


WEB_MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 6
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: app, resources: {requests: {cpu: "2", memory: 4Gi}}}
      topologySpreadConstraints:
        - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule,
           labelSelector: {matchLabels: {app: web}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec: {minAvailable: 4, selector: {matchLabels: {app: web}}}
"""


def test_run_with_manifests_reproduces_the_hand_written_spread_trap(tmp_path, capsys):
    """`run -f` with web as a manifest (zone topologySpreadConstraint, DoNotSchedule, default
    nodeTaintsPolicy) gives the very results of the example's hand-written `spreadOver:
    datacenter` web: the zone-outage Pending trap included."""
    example = ROOT / "topologies" / "three-datacenters.yaml"
    manifest = tmp_path / "web.yaml"
    manifest.write_text(WEB_MANIFEST)
    runs = []
    for extra in ([], ["-f", str(manifest)]):
        out = tmp_path / f"run{len(extra)}"
        assert main(["run", str(example), "-n", "3000", "-q", "--out", str(out), "--sampling", "plain"] + extra) == 0
        r = json.loads((out / "results.json").read_text())
        runs.append(({w["name"]: w["availability"]["estimate"] for w in r["workloads"]}, r["domains"],
                     sorted(a["code"] for a in r["advisories"])))
    assert "replaces the one in" in capsys.readouterr().err
    assert runs[0] == runs[1]
    assert "spread-blocks-rescheduling" in runs[1][2]


def test_the_imported_topology_passes_the_json_schema(tmp_path):
    import jsonschema
    import yaml

    from kchaos.topology.json_schema import topology_schema

    folder = tmp_path / "manifests"
    write_manifests(folder)
    document = yaml.safe_load(open(_import_with_manifests(tmp_path, folder)).read())
    assert list(jsonschema.Draft202012Validator(topology_schema()).iter_errors(document)) == []


def test_import_reads_pod_management_and_volume_access_modes(tmp_path):
    """podManagementPolicy as written; a StatefulSet's volumeClaimTemplates and a Deployment's
    PersistentVolumeClaim give volume.accessMode; dependsOn is left to the user (a TODO)."""
    from kchaos.kube.manifest_files import read_manifests
    from kchaos.kube.manifests import workloads_from
    (tmp_path / "m.yaml").write_text("""\
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: repo, namespace: git}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 10Gi}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: gitea, namespace: git}
spec:
  template:
    spec:
      containers: [{name: app}]
      volumes: [{name: data, persistentVolumeClaim: {claimName: repo}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: kafka, namespace: git}
spec:
  replicas: 3
  podManagementPolicy: Parallel
  template: {spec: {containers: [{name: broker}]}}
  volumeClaimTemplates:
    - {metadata: {name: logs}, spec: {accessModes: [ReadWriteMany]}}
""")
    imported = workloads_from(read_manifests([str(tmp_path / "m.yaml")]))
    data = {w["name"]: w for w in imported.as_data()}
    assert data["gitea"]["volume"] == {"accessMode": "ReadWriteOnce"}
    assert data["kafka"]["volume"] == {"accessMode": "ReadWriteMany"} and data["kafka"]["podManagementPolicy"] == "Parallel"
    assert not imported.skipped  # the claim is read, not skipped
    for entry in imported.entries:  # dependsOn left to the user: [] with a TODO
        assert entry.value["dependsOn"].value == [] and "TODO" in entry.value["dependsOn"].after


def test_a_workload_scaled_to_zero_is_left_out_with_a_warning(tmp_path, capsys):
    """Kubernetes accepts replicas: 0 (an idle Deployment); it has no pod to lose, and the
    import of a live cluster must not stop on it. Its budget is not reported as matching nothing."""
    folder = tmp_path / "manifests"
    write_manifests(folder)
    (folder / "idle.yaml").write_text("""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: idle, namespace: shop}
spec:
  replicas: 0
  selector: {matchLabels: {app: idle}}
  template:
    metadata: {labels: {app: idle}}
    spec:
      containers: [{name: c, resources: {requests: {cpu: "1", memory: 1Gi}}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: idle-pdb, namespace: shop}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: idle}}
""")
    c = load_topology(_import_with_manifests(tmp_path, folder))
    assert "idle" not in {w.name for w in c.workloads}
    err = capsys.readouterr().err
    assert "Deployment shop/idle" in err and "scaled to 0 replicas" in err
    assert "idle-pdb" not in err


def test_a_budget_selecting_by_expressions_applies(tmp_path, capsys):
    """A PodDisruptionBudget's selector is a full LabelSelector: matchExpressions select too."""
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "api.yaml").write_text("""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: 5
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api, tier: backend}}
    spec:
      containers: [{name: c, resources: {requests: {cpu: 100m, memory: 128Mi}}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: api-pdb, namespace: shop}
spec:
  maxUnavailable: 2
  selector:
    matchExpressions: [{key: tier, operator: In, values: [backend]}]
""")
    c = load_topology(_import_with_manifests(tmp_path, folder))
    model = ClusterModel(c)
    required = {w.name: n for w, n in zip(c.workloads, model.workload_required)}
    assert required["api"] == 3
    assert "selects no" not in capsys.readouterr().err
