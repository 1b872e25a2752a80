"""Figures a new user compared side by side, and found disagreeing: now they agree."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

from kchaos.cli import main
from kchaos.report import render_html
from kchaos.report.formatting import format_availability, format_nines
from kchaos.report.gate import message

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = Path(__file__).parent / "data" / "sample_results.json"


def _text(html: str) -> str:
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_same_percent_same_nines():
    a, b = 0.99998585, 0.9999863  # both print as 99.9986%
    assert format_availability(a) == format_availability(b) == "99.9986%"
    assert format_nines(a) == format_nines(b)


def test_html_slo_table_shows_each_target_in_its_unit():
    r = json.loads(SAMPLE.read_text())
    r = copy.deepcopy(r)
    r["slo"]["checks"].append({"name": "maxPendingPods", "target": 2, "estimate": 2, "ci95": None,
                               "passed": True, "confirmed": True, "failures_to_confirm": None})
    page = _text(render_html(r))
    assert "maxPendingPods ≤ 2 pods 2 pods" in page
    assert "≥ 100%" not in page


def test_regression_message_shows_the_digits_that_differ():
    check = {"name": "regression.controlPlane", "target": 0.999986, "estimate": 0.9999857, "ci95": [0.9999855, 0.9999859],
             "passed": False, "confirmed": True, "detail": "significant drop (z = 9.91)"}
    text = message(check)
    target, estimate = re.search(r"target (\S+), estimate (\S+)", text).groups()
    assert target != estimate


def test_a_workload_that_never_fits_is_down_all_the_time(tmp_path):
    topo = tmp_path / "never.yaml"
    topo.write_text("""\
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: never}
regions:
  - name: r1
    datacenters:
      - {name: dc1, racks: 1, serversPerRack: 4}
      - {name: dc2, racks: 1, serversPerRack: 4}
controlPlane: {members: 3}
workers:
  - {pool: general, count: 3, capacity: {cpu: 8, memory: 32Gi}}
workloads:
  - {name: web, kind: Deployment, replicas: 3, requests: {cpu: 2000, memory: 1Gi}}
""")
    assert main(["run", str(topo), "-n", "400", "--out", str(tmp_path / "o"), "-q"]) == 0
    web = json.loads((tmp_path / "o" / "results.json").read_text())["workloads"][0]
    assert web["availability"]["estimate"] == 0.0 and web["availability"]["ci95"] == [0.0, 0.0]


def test_validate_shows_where_pods_run_and_workers_beside_members(capsys):
    assert main(["validate", str(ROOT / "topologies" / "three-datacenters.yaml")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"general-\d+ \(worker 16 cpu, 64Gi\) web, db-0", out)
    assert main(["validate", str(ROOT / "topologies" / "one-rack.yaml")]) == 0
    assert "workers-beside-members" in capsys.readouterr().out
