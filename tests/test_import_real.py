"""`kchaos import` on what kubectl really prints: OpenShift CI clusters on AWS and GCP (the nodes
as kubectl printed them, tests/data/kube/README.md), Azure and kind exports, single Node objects,
folders, repeated --nodes, deprecated zone labels, compact clusters, NotReady, cordoned and tainted
nodes, and application manifests written as projects publish them. Each imports with exit 0 and
validates; what kubectl cannot know is a TODO."""

from __future__ import annotations

import json
import shutil

import pytest

from kchaos.cli import main
from kchaos.model.engine import ClusterModel
from kchaos.topology import load_topology

from .kube_fixtures import DATA, azure_nodes, compact, kind_nodes

AWS = DATA / "openshift-aws-nodes.json"
GCP = DATA / "openshift-gcp"
BAREMETAL = DATA / "baremetal"


def _import(tmp_path, *args, out="cluster.yaml"):
    path = tmp_path / out
    assert main(["import", *args, "-o", str(path)]) == 0
    assert main(["validate", str(path)]) == 0
    text = path.read_text()
    assert text.endswith("\n") and "TODO" in text
    return load_topology(path), text


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2))
    return str(path)


def test_openshift_on_aws_a_list_without_kind(tmp_path):
    c, text = _import(tmp_path, "--nodes", str(AWS))
    names = {n.name for n in c.nodes if not n.standby}
    assert "ip-10-0-132-92.us-west-1.compute.internal" in names  # metadata.name, not the short hostname label
    assert {c.domains[n.datacenter].name for n in c.nodes} == {"us-west-1a", "us-west-1b"}
    workers = [c.nodes[i] for i in c.workers]
    assert len(workers) == 3 and len({n.pool for n in workers}) == 1  # one machine-set family over two zones
    assert all(n.provider_id.startswith("aws:///us-west-1") for n in c.nodes if not n.standby)
    assert c.autoscale and c.autoscale[0].max == 3 and "set its max" in text


def test_single_node_objects_in_a_folder_and_identical_vms_in_one_pool(tmp_path):
    c, text = _import(tmp_path, "--nodes", str(GCP))
    workers = [c.nodes[i] for i in c.workers]
    assert len(workers) == 3 and len({n.pool for n in workers}) == 1  # memory differs by 16Ki: one pool
    assert workers[0].capacity.memory == 14238264 * 1024  # the smallest
    assert "allocatable differs by up to 16Ki memory" in text
    assert {c.domains[n.datacenter].name for n in workers} == {"us-east1-b", "us-east1-c", "us-east1-d"}


def test_repeated_nodes_options_read_like_one_folder(tmp_path):
    masters, workers = tmp_path / "masters", tmp_path / "workers"
    masters.mkdir()
    workers.mkdir()
    for f in GCP.iterdir():
        shutil.copy(f, masters if "master" in f.name else workers)
    one, _ = _import(tmp_path, "--nodes", str(GCP), out="a.yaml")
    two, _ = _import(tmp_path, "--nodes", str(masters), "--nodes", str(workers), out="b.yaml")
    assert [(n.name, n.pool) for n in one.nodes] == [(n.name, n.pool) for n in two.nodes]


def test_deprecated_zone_labels_and_a_zone_label_of_ones_own(tmp_path):
    data = json.loads(AWS.read_text())
    for n in data["items"]:
        for key in ("topology.kubernetes.io/zone", "topology.kubernetes.io/region"):
            n["metadata"]["labels"].pop(key)
    c, text = _import(tmp_path, "--nodes", _write(tmp_path, "old.json", data))
    assert {c.domains[n.datacenter].name for n in c.nodes} == {"us-west-1a", "us-west-1b"}
    assert "deprecated failure-domain.beta.kubernetes.io/zone" in text
    racks = {d.name for d in c.domains if d.kind == "rack"}
    assert len(racks) == 2  # one per zone, not one for the whole cluster: a rack is no longer "everything"
    for n in data["items"]:
        n["metadata"]["labels"]["example.com/room"] = n["metadata"]["labels"]["failure-domain.beta.kubernetes.io/zone"][-1]
    c, _ = _import(tmp_path, "--nodes", _write(tmp_path, "own.json", data), "--zone-label", "example.com/room",
                   out="own.yaml")
    assert {c.domains[n.datacenter].name for n in c.nodes} == {"a", "b"}


def test_a_compact_cluster_runs_its_workloads_on_the_control_plane(tmp_path):
    nodes = {"kind": "List", "items": [json.loads(f.read_text()) for f in sorted(GCP.iterdir()) if "master" in f.name]}
    manifest = tmp_path / "web.yaml"
    manifest.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 3\n"
                        "  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n"
                        "        - resources: {requests: {cpu: 500m, memory: 1Gi}}\n")
    c, text = _import(tmp_path, "--nodes", _write(tmp_path, "compact.json", compact(nodes)), "-f", str(manifest))
    assert "schedulable: true" in text and not c.workers == ()
    assert len(c.workers) == 3 and all(c.nodes[i].runs_etcd for i in c.workers)
    model = ClusterModel(c)
    assert all(n >= 0 for n in model.baseline.pod_node)  # web runs on the three masters
    assert "no-workers" not in text


def test_not_ready_cordoned_and_tainted_nodes_are_said_and_honoured(tmp_path):
    data = azure_nodes()
    workers = [n for n in data["items"] if "node-role.kubernetes.io/worker" in n["metadata"]["labels"]]
    workers[0]["status"]["conditions"] = [{"type": "Ready", "status": "Unknown"}]
    workers[1]["spec"]["unschedulable"] = True
    workers[2]["spec"]["taints"] = [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    manifest = tmp_path / "web.yaml"
    manifest.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 6\n"
                        "  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n"
                        "        - resources: {requests: {cpu: 100m, memory: 128Mi}}\n")
    c, text = _import(tmp_path, "--nodes", _write(tmp_path, "states.json", data), "-f", str(manifest))
    assert "NotReady when exported" in text and "cordoned (spec.unschedulable)" in text
    assert "tainted dedicated=gpu:NoSchedule" in text and "3 nodes are NotReady, cordoned or tainted" in text
    by_name = {n.name: n for n in c.nodes}
    names = [w["metadata"]["name"] for w in workers[:3]]
    assert not by_name[names[0]].ready and by_name[names[1]].cordoned and by_name[names[2]].cordoned
    model = ClusterModel(c)
    used = {model.baseline.pod_node[p] for p in range(model.n_pods)}
    assert not used & {by_name[n].index for n in names}  # the scheduler leaves all three out


def test_kind_and_bare_metal_import_and_name_their_machines_by_address(tmp_path):
    c, text = _import(tmp_path, "--nodes", _write(tmp_path, "kind.json", kind_nodes()))
    assert [n.name for n in c.nodes] == ["kind-control-plane", "kind-worker", "kind-worker2", "kind-worker3"]
    assert all(n.address.startswith("172.18.0.") for n in c.nodes)
    c, text = _import(tmp_path, "--nodes", str(BAREMETAL), out="metal.yaml")
    assert {n.address for n in c.nodes} == {"10.0.88.27", next(n.address for n in c.nodes if n.role == "worker")}
    assert "one datacenter per region" in text


LICENSED = """\
# Copyright 2018 Example Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
  labels: {app: frontend}
spec:
  replicas: 3
  selector: {matchLabels: {app: frontend}}
  template:
    metadata: {labels: {app: frontend}}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - topologyKey: kubernetes.io/hostname
              labelSelector: {matchExpressions: [{key: app, operator: In, values: [frontend]}]}
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 50
              podAffinityTerm:
                topologyKey: topology.kubernetes.io/zone
                labelSelector: {matchLabels: {app: cache}}
      containers:
        - name: server
          image: frontend:v1
---
apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: cache, namespace: default}
    spec:
      replicas: 2
      template:
        metadata: {labels: {app: cache}}
        spec:
          containers:
            - {name: redis, resources: {requests: {cpu: 250m, memory: 256Mi}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: {{ .Release.Name }}-worker}
spec:
  replicas: {{ .Values.replicas }}
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: k8s, namespace: monitoring}
spec: {replicas: 2}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: prometheus-k8s, namespace: monitoring}
spec:
  minAvailable: 1
  selector: {matchLabels: {app.kubernetes.io/name: prometheus}}
"""


def test_published_manifests_import_and_say_what_they_leave_out(tmp_path, capsys):
    manifest = tmp_path / "app.yaml"
    manifest.write_text(LICENSED)
    c, text = _import(tmp_path, "--nodes", str(GCP), "-f", str(manifest))
    err = capsys.readouterr().err
    wl = {w.name: w for w in c.workloads}
    assert set(wl) == {"frontend", "cache"}
    # required anti-affinity on hostname: one pod per node; the preferred term towards cache, with its weight
    assert [(t.over, t.workloads, t.weight) for t in wl["frontend"].anti_affinity] == [
        ("host", ("frontend",), None), ("datacenter", ("cache",), 50)]
    assert wl["frontend"].spread is None
    assert "TODO: no requests in the manifest" in text and wl["frontend"].cpu == 0
    assert "Deployment default/{{ .Release.Name }}-worker" in err and "app.yaml:45" in err
    assert "a Helm template not rendered" in err
    assert "Prometheus monitoring/k8s" in err and "custom resource" in err
    assert "PodDisruptionBudget monitoring/prometheus-k8s" in err and "selects no Deployment" in err


@pytest.mark.parametrize("nodes", [AWS, GCP])
def test_imported_clouds_run_as_written(tmp_path, nodes):
    c, _ = _import(tmp_path, "--nodes", str(nodes))
    assert main(["run", str(tmp_path / "cluster.yaml"), "-n", "200", "-q", "-o", str(tmp_path / "r")]) == 0
