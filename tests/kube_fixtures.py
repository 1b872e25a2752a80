"""Realistic `kubectl get nodes -o json` output, built by the tests (no cluster is reachable here).

Three zones of eu-west-1; per zone two racks, each with one physical host; the control-plane
node of each zone (tainted, labelled control-plane) on the first host; nine workers on the six
hosts (the first host of each zone carries two, the second one: the six hosts of the issue).
"""

from __future__ import annotations

import json

RACK_LABEL = "topology.example.com/rack"
HOST_LABEL = "topology.example.com/host"
ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")


def _node(name: str, zone: str, rack: str, host: str, control_plane: bool, cpu: str, memory: str) -> dict:
    labels = {
        "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
        "topology.kubernetes.io/region": "eu-west-1", "topology.kubernetes.io/zone": zone,
        "node.kubernetes.io/instance-type": "m6i.2xlarge" if not control_plane else "m6i.xlarge",
        RACK_LABEL: rack, HOST_LABEL: host,
    }
    spec: dict = {"podCIDR": "10.244.0.0/24"}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
        spec["taints"] = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels, "uid": f"uid-{name}"},
            "spec": spec,
            "status": {"capacity": {"cpu": cpu, "memory": memory, "pods": "110"},
                       "allocatable": {"cpu": "7910m" if not control_plane else "3920m",
                                       "memory": "31792132Ki" if not control_plane else "15574876Ki",
                                       "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def three_zone_nodes() -> dict:
    items = []
    worker = 0
    for z, zone in enumerate(ZONES):
        racks = [f"{zone}-rack-{k}" for k in (1, 2)]
        hosts = [f"host-{zone[-1]}{k}" for k in (1, 2)]
        items.append(_node(f"ip-10-0-{z}-10.eu-west-1.compute.internal", zone, racks[0], hosts[0], True, "4", "16Gi"))
        for host, rack, vms in ((hosts[0], racks[0], 2), (hosts[1], racks[1], 1)):
            for _ in range(vms):
                worker += 1
                items.append(_node(f"ip-10-0-{z}-{100 + worker}.eu-west-1.compute.internal", zone, rack, host,
                                   False, "8", "32Gi"))
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


def write_nodes(path) -> None:
    path.write_text(json.dumps(three_zone_nodes(), indent=2))


MANIFESTS = {
    "web.yaml": """\
# The storefront: two containers, an init container, spread over zones.
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 6
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      initContainers:
        - name: migrate
          resources: {requests: {cpu: "2", memory: 256Mi}}
      containers:
        - name: app
          resources: {requests: {cpu: 500m, memory: 1Gi}}
        - name: sidecar
          resources: {requests: {cpu: 100m, memory: 128Mi}}
      topologySpreadConstraints:
        - {maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule,
           labelSelector: {matchLabels: {app: web}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web-pdb, namespace: shop}
spec:
  minAvailable: 4
  selector: {matchLabels: {app: web}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80}]}
""",
    "worker.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: queue-worker, namespace: shop}
spec:
  selector: {matchLabels: {app: queue-worker}}
  template:
    metadata: {labels: {app: queue-worker}}
    spec:
      containers:
        - name: worker
          resources: {requests: {cpu: 250m, memory: 512Mi}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {mode: production}
""",
    "data/db.yaml": """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
        - name: postgres
          resources: {requests: {cpu: "2", memory: 8Gi}}
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - {topologyKey: topology.kubernetes.io/zone, labelSelector: {matchLabels: {app: db}}}
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 100Gi}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: db-pdb, namespace: shop}
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: db}}
""",
    "data/agent.yaml": """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: log-agent, namespace: kube-system}
spec:
  selector: {matchLabels: {app: log-agent}}
  template:
    metadata: {labels: {app: log-agent}}
    spec:
      containers:
        - name: agent
          resources: {requests: {cpu: 50m, memory: 64Mi}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: agent-pdb, namespace: kube-system}
spec:
  maxUnavailable: 34%
  selector: {matchLabels: {app: log-agent}}
""",
}


def write_manifests(folder) -> None:
    for name, text in MANIFESTS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# -- a drill's `kubectl get events -A -o json`, built from a scenario ---------------------------
KIND_OF = {"pod": "Pod", "node": "Node", "replicaset": "ReplicaSet", "statefulset": "StatefulSet",
           "lease": "Lease", "nodegroup": "ConfigMap"}
SOURCE_OF = {"NodeNotReady": "node-controller", "TaintManagerEviction": "taint-eviction-controller",
             "SuccessfulCreate": "replicaset-controller", "Scheduled": "default-scheduler",
             "FailedScheduling": "default-scheduler", "Started": "kubelet", "LeaderElection": "kube-controller-manager",
             "TriggeredScaleUp": "cluster-autoscaler", "NodeReady": "kubelet"}


def drill_capture(scenario: dict, start: str = "2024-05-01T10:00:00Z", namespace: str = "shop") -> dict:
    """What `kubectl get events -A -o json` shows after a drill that played ``scenario`` (a
    `kchaos whatif --json` document, perhaps of a topology with other timings): Deployment pods
    get real-looking names, every other event is in the core v1 form and every third in the
    events.k8s.io/v1 form (as kubectl returns whichever the API stored); events kchaos's
    scenario writes that the cluster would not (etcd elections, domain up/down) are left out."""
    from datetime import datetime, timedelta

    t0 = datetime.fromisoformat(start.replace("Z", "+00:00"))
    rename: dict[str, str] = {}

    def real(name: str) -> str:
        base, _, k = name.rpartition("-")
        if base and k.isdigit():
            return rename.setdefault(name, f"{base}-5d8f7c9b4-{int(k):05x}"[:63])
        return name

    items = []
    for i, e in enumerate(scenario["events"]):
        if e["reason"] not in SOURCE_OF:
            continue
        kind, _, name = e["object"].partition("/")
        kind = KIND_OF.get(kind, kind)
        message = e["message"]
        if kind == "Pod":
            name = real(name)
            message = message.replace(e["object"].split("/", 1)[1], name)
        if e["reason"] == "SuccessfulCreate":
            new = message.split("Created pod: ", 1)[1]
            message = f"Created pod: {real(new)}"
        when = (t0 + timedelta(seconds=e["t"])).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        ns = "" if kind == "Node" else ("kube-system" if kind == "Lease" else namespace)
        if i % 3 == 2:
            items.append({"apiVersion": "events.k8s.io/v1", "kind": "Event",
                          "metadata": {"name": f"{name}.{i:x}", "namespace": ns or "default"},
                          "eventTime": when, "reason": e["reason"], "note": message, "type": e["type"],
                          "regarding": {"kind": kind, "name": name, "namespace": ns},
                          "reportingController": SOURCE_OF[e["reason"]], "action": e["reason"]})
        else:
            items.append({"apiVersion": "v1", "kind": "Event",
                          "metadata": {"name": f"{name}.{i:x}", "namespace": ns or "default",
                                       "creationTimestamp": when[:19] + "Z"},
                          "involvedObject": {"kind": kind, "name": name, "namespace": ns},
                          "reason": e["reason"], "message": message, "type": e["type"],
                          "source": {"component": SOURCE_OF[e["reason"]]},
                          "firstTimestamp": when[:19] + "Z", "lastTimestamp": when[:19] + "Z", "count": 1})
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


# -- clouds and states kubectl shows -------------------------------------------------------------
DATA = __import__("pathlib").Path(__file__).parent / "data" / "kube"


def azure_nodes() -> dict:
    """`kubectl get nodes -o json` of an OpenShift cluster on Azure (installer-provisioned:
    standalone VMs, one machine set per zone), built in the shape the cloud provider and the
    machine API give: providerID azure:///subscriptions/<sub>/resourceGroups/<rg>/providers/
    Microsoft.Compute/virtualMachines/<vm>, zones centralus-1..3, the machine annotation."""
    sub, rg = "5f1d7b0a-1c3e-4b6a-9d2e-8a7c6b5d4e3f", "ocp-prod-7x2kq-rg"
    items = []
    for role, count, vm in (("master", 3, "Standard_D8s_v3"), ("worker", 6, "Standard_D4s_v3")):
        for i in range(count):
            zone = i % 3 + 1
            name = f"ocp-prod-7x2kq-{role}-{i}" if role == "master" else \
                f"ocp-prod-7x2kq-worker-centralus{zone}-{'abcdef'[i]}{'ghijkl'[i]}x{i}q"
            machine = name
            labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                      "topology.kubernetes.io/region": "centralus", "topology.kubernetes.io/zone": f"centralus-{zone}",
                      "node.kubernetes.io/instance-type": vm, f"node-role.kubernetes.io/{role}": ""}
            spec: dict = {"providerID": f"azure:///subscriptions/{sub}/resourceGroups/{rg}/providers/"
                                        f"Microsoft.Compute/virtualMachines/{name}"}
            if role == "master":
                spec["taints"] = [{"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}]
            items.append({"apiVersion": "v1", "kind": "Node",
                          "metadata": {"name": name, "labels": labels,
                                       "annotations": {"machine.openshift.io/machine": f"openshift-machine-api/{machine}"}},
                          "spec": spec,
                          "status": {"allocatable": {"cpu": "7500m" if role == "master" else "3500m",
                                                     "memory": "31687856Ki" if role == "master" else f"{15215756 - i}Ki",
                                                     "pods": "250"},
                                     "conditions": [{"type": "Ready", "status": "True"}],
                                     "addresses": [{"type": "InternalIP", "address": f"10.0.{zone}.{10 + i}"}]}})
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


def kind_nodes() -> dict:
    """A kind cluster (one control-plane node, three workers): no zones, providerID kind://."""
    items = []
    for name, cp in (("kind-control-plane", True), ("kind-worker", False), ("kind-worker2", False),
                     ("kind-worker3", False)):
        labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
        spec: dict = {"providerID": f"kind://docker/kind/{name}", "podCIDR": "10.244.0.0/24"}
        if cp:
            labels["node-role.kubernetes.io/control-plane"] = ""
            spec["taints"] = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
        items.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}, "spec": spec,
                      "status": {"allocatable": {"cpu": "8", "memory": "32816552Ki", "pods": "110"},
                                 "conditions": [{"type": "Ready", "status": "True"}],
                                 "addresses": [{"type": "InternalIP", "address": f"172.18.0.{len(items) + 2}"}]}})
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


def compact(data: dict) -> dict:
    """The same nodes with schedulable masters (OpenShift compact: masters also labelled worker, no taint)."""
    import copy

    out = copy.deepcopy(data)
    for n in out["items"]:
        if "node-role.kubernetes.io/master" in n["metadata"]["labels"]:
            n["metadata"]["labels"]["node-role.kubernetes.io/worker"] = ""
            n["spec"].pop("taints", None)
    return out
