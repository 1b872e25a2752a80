"""`kchaos observe`: a drill's `kubectl get events -A -o json` (core v1 and events.k8s.io forms)
set against the prediction phase by phase, and the setting that would make the model match.

The captures are what a cluster that behaves like the model with other settings prints (a
kube-controller-manager with a 20 s grace period, images that take 65 s to start, nodes that take
6 min to join): kchaos must find each difference and name the setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kchaos.analysis.whatif import run_scenario
from kchaos.cli import main
from kchaos.kube.events import parse_time, read_events
from kchaos.topology import load_topology_text

from .kube_fixtures import drill_capture
from .test_autoscaler import AUTOSCALED

TOPOLOGY = """\
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: shop}
regions:
  - name: r
    datacenters:
      - {name: a, racks: 1, serversPerRack: 2}
      - {name: b, racks: 1, serversPerRack: 2}
      - {name: c, racks: 1, serversPerRack: 2}
controlPlane: {members: 3}
workers:
  - {pool: w, count: 3, capacity: {cpu: 8, memory: 32Gi}}
workloads:
  - {name: web, kind: Deployment, namespace: shop, replicas: 3, requests: {cpu: 1, memory: 1Gi}, minAvailable: 2}
"""
START = "2024-05-01T10:00:00Z"


def _capture(tmp_path, text: str, domain: str, extra: str = "", name: str = "events.json") -> str:
    """Events of a cluster like ``text`` with ``extra`` settings, after ``domain`` failed."""
    real = load_topology_text(text + extra, "real.yaml")
    path = tmp_path / name
    path.write_text(json.dumps(drill_capture(run_scenario(real, [domain], seed=7), START)))
    return str(path)


def _observe(tmp_path, capsys, text: str, domain: str, events: str) -> dict:
    topo = tmp_path / "topology.yaml"
    topo.write_text(text)
    assert main(["observe", str(topo), "--fail", domain, "--start", START, "--events", events, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_cluster_that_behaves_as_modelled_agrees_phase_by_phase(tmp_path, capsys):
    doc = _observe(tmp_path, capsys, TOPOLOGY, "node/w-1", _capture(tmp_path, TOPOLOGY, "node/w-1"))
    assert {"phases", "suggestions"} <= set(doc)
    assert all(set(r) == {"phase", "predicted_seconds", "observed_seconds", "agrees"} for r in doc["phases"])
    phases = {r["phase"]: r for r in doc["phases"]}
    assert {"node_not_ready", "eviction", "scheduling", "pod_start", "recovery", "unavailable:web"} <= set(phases)
    assert all(r["agrees"] for r in doc["phases"]) and doc["suggestions"] == []


def test_slower_pod_starts_and_a_shorter_grace_period_are_found_and_named(tmp_path, capsys):
    events = _capture(tmp_path, TOPOLOGY, "node/w-1", "kubernetes: {podStartup: 65s, nodeMonitorGracePeriod: 20s}\n")
    doc = _observe(tmp_path, capsys, TOPOLOGY, "node/w-1", events)
    phases = {r["phase"]: r for r in doc["phases"]}
    # core v1 events carry whole seconds: 65 s within one
    assert abs(phases["pod_start"]["observed_seconds"] - 65) <= 1 and not phases["pod_start"]["agrees"]
    assert not phases["node_not_ready"]["agrees"]
    keys = {s["key"]: s["value"] for s in doc["suggestions"]}
    assert keys["kubernetes.podStartup"] == "65s"
    grace = int(keys["kubernetes.nodeMonitorGracePeriod"].rstrip("s"))
    assert 15 <= grace <= 28  # NotReady came 10-25 s after the failure


def test_a_slower_autoscaler_asks_for_a_longer_provision_delay(tmp_path, capsys):
    real = AUTOSCALED.replace("provisionDelay: 3m", "provisionDelay: 6m")
    events = _capture(tmp_path, real, "datacenter/a", name="as.json")
    doc = _observe(tmp_path, capsys, AUTOSCALED, "datacenter/a", events)
    phases = {r["phase"]: r for r in doc["phases"]}
    assert not phases["scheduling"]["agrees"]
    (s,) = [s for s in doc["suggestions"] if s["key"] == "workers[w].autoscale.provisionDelay"]
    assert abs(int(s["value"].rstrip("s")) - 360) <= 10


def test_both_event_forms_are_read_and_timed_from_the_start(tmp_path):
    events = _capture(tmp_path, TOPOLOGY, "node/w-1")
    read, skipped = read_events(events, parse_time(START))
    assert skipped == 0 and read
    raw = json.loads(Path(events).read_text())["items"]
    assert {i["apiVersion"] for i in raw} == {"v1", "events.k8s.io/v1"}
    not_ready = next(e for e in read if e.reason == "NodeNotReady")
    assert not_ready.kind == "Node" and not_ready.name == "w-1" and 30 <= not_ready.t <= 60


def test_the_terminal_table_and_the_report(tmp_path, capsys):
    topo = tmp_path / "topology.yaml"
    topo.write_text(TOPOLOGY)
    events = _capture(tmp_path, TOPOLOGY, "node/w-1", "kubernetes: {podStartup: 65s}\n")
    out = tmp_path / "obs"
    assert main(["observe", str(topo), "--fail", "node/w-1", "--start", START, "--events", events, "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "pod start" in text and "NO" in text and "kubernetes.podStartup: 65s" in text
    page = (out / "index.html").read_text()
    assert "Timeline: predicted and observed" in page and "kubernetes.podStartup" in page
    assert json.loads((out / "observe.json").read_text())["domain"] == "node/w-1"


def test_bad_inputs_exit_2(tmp_path, capsys):
    topo = tmp_path / "topology.yaml"
    topo.write_text(TOPOLOGY)
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "List", "items": [')
    assert main(["observe", str(topo), "--fail", "node/w-1", "--start", START, "--events", str(bad)]) == 2
    assert "bad.json:1: not valid JSON" in capsys.readouterr().err
    good = _capture(tmp_path, TOPOLOGY, "node/w-1")
    assert main(["observe", str(topo), "--fail", "node/w-1", "--start", "yesterday", "--events", good]) == 2
    assert "not an RFC 3339 time" in capsys.readouterr().err
    assert main(["observe", str(topo), "--fail", "node/w-9", "--start", START, "--events", good]) == 2


@pytest.mark.parametrize("edit,at", [
    (lambda e: e.update(reason=["NodeNotReady"]), "items[0].reason"),
    (lambda e: e.update(message={"text": "x"}), "items[0].message"),
    (lambda e: e["involvedObject"].update(name=["w-1"]), "items[0].involvedObject.name"),
    (lambda e: e.update(involvedObject=5), "items[0].involvedObject"),
    (lambda e: e.update(firstTimestamp=20240501), "items[0].firstTimestamp"),
    (lambda e: e.update(metadata=5), "items[0].metadata"),
])
def test_events_of_the_wrong_shape_exit_2_with_file_and_line(tmp_path, capsys, edit, at):
    """A field of an event of the wrong type is told at its line (it was read as text, or the
    event silently left out)."""
    topo = tmp_path / "topology.yaml"
    topo.write_text(TOPOLOGY)
    data = json.loads(Path(_capture(tmp_path, TOPOLOGY, "node/w-1")).read_text())
    edit(data["items"][0])
    path = tmp_path / "events.json"
    path.write_text(json.dumps(data, indent=2))
    assert main(["observe", str(topo), "--fail", "node/w-1", "--start", START, "--events", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:") and f": {at}: must be " in err and len(err.splitlines()) == 1, err


def test_json_on_the_terminal_carries_no_control_character(tmp_path, capsys):
    """JSON escapes only C0 controls: an event's message with a C1 CSI, DEL or a bidi override
    reached the terminal raw through --json (found by the fuzz campaign, seed 120). They are
    written as \\u escapes, which read back as the same text."""
    topo = tmp_path / "topology.yaml"
    topo.write_text(TOPOLOGY)
    data = json.loads(Path(_capture(tmp_path, TOPOLOGY, "node/w-1")).read_text())
    nasty = "ok\x9b31m\u202e\x7f\x1b]0;title\x07"
    data["items"][0]["message"] = nasty
    path = tmp_path / "events.json"
    path.write_text(json.dumps(data))
    assert main(["observe", str(topo), "--fail", "node/w-1", "--start", START, "--events", str(path), "--json"]) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in "\x9b\u202e\x7f\x1b\x07")
    assert nasty in [e["message"] for e in json.loads(out)["events"]["observed"]]
