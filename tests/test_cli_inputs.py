"""Bad command-line values get one clear message and exit 2; files are written readable."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from kchaos.cli import main

DATA = Path(__file__).parent / "data"
TOPOLOGY = str(Path(__file__).resolve().parent.parent / "topologies" / "three-workers.yaml")


@pytest.mark.parametrize("args, says", [
    (["run", TOPOLOGY, "-n", "99999999999999999999999"], "1<=x<=100000000"),
    (["run", TOPOLOGY, "-n", "0"], "1<=x<=100000000"),
    (["run", TOPOLOGY, "-j", "0"], "1<=x<=256"),
    (["run", TOPOLOGY, "-j", "100000"], "1<=x<=256"),
    (["run", TOPOLOGY, "--seed", "-1"], "0<=x<=4294967295"),
    (["whatif", TOPOLOGY, "--fail", "rack/dc-1-r1", "--repair-after", "-5m"], "must be longer than zero"),
    (["whatif", TOPOLOGY, "--fail", "rack/dc-1-r1", "--repair-after", "0s"], "must be longer than zero"),
    (["whatif", TOPOLOGY, "--fail", "rack/dc-1-r1", "--repair-after", "5"], "needs a unit"),
])
def test_out_of_range_options_exit_2_with_a_message(args, says, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert not (tmp_path / "reports").exists()  # nothing half-written


def test_region_link_ids_read_both_ways(capsys):
    topo = str(Path(__file__).resolve().parent.parent / "topologies" / "korea-stretched.yaml")
    assert main(["whatif", topo, "--fail", "regionLink/korea-south~korea-central", "--json"]) == 0
    assert main(["whatif", topo, "--fail", "regionLink/korea-central~korea-south", "--json"]) == 0


def test_whatif_help_lists_the_domain_kinds(capsys):
    assert main(["whatif", "--help"]) == 0
    out = capsys.readouterr().out
    for kind in ("region/NAME", "datacenter/NAME", "rack/NAME", "server/NAME", "node/NAME", "regionLink/A~B"):
        assert kind in out


def test_outputs_are_readable_under_umask_022(tmp_path):
    old = os.umask(0o022)
    try:
        out = tmp_path / "out"
        junit = tmp_path / "junit.xml"
        assert main(["check", TOPOLOGY, "-n", "200", "--out", str(out), "--junit", str(junit), "-q"]) in (0, 1)
        assert main(["compare", TOPOLOGY, "--etcd-sizes", "1,3", "-n", "200", "--out", str(tmp_path / "cmp"),
                     "-q"]) == 0
    finally:
        os.umask(old)
    for path in (out / "index.html", out / "results.json", junit, tmp_path / "cmp" / "comparison.json",
                 tmp_path / "cmp" / "index.html"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_check_quiet_prints_only_missed_targets(capsys):
    assert main(["check", str(DATA / "korea-unconfirmed.yaml"), "-n", "600", "-q"]) == 0
    assert capsys.readouterr().out == ""


def test_check_table_keeps_target_names_whole_at_80_columns(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["check", str(DATA / "korea-unconfirmed.yaml"), "-n", "3000", "--sampling", "plain"]) == 0
    out = capsys.readouterr().out
    assert "workloads.payments" in out and "maxNodeUtilization" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "* workloads.payments: not yet confirmed" in out and "failures would confirm it" in out


def test_check_with_a_baseline_keeps_every_figure_at_80_columns(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    base = tmp_path / "base"
    assert main(["run", str(DATA / "korea-unconfirmed.yaml"), "-n", "600", "--out", str(base), "-q"]) == 0
    capsys.readouterr()
    assert main(["check", str(DATA / "korea-unconfirmed.yaml"), "-n", "600", "--baseline",
                 str(base / "results.json")]) == 0
    out = capsys.readouterr().out
    assert "…" not in out and "against the baseline" in out and "workloads.log-agent" in out
