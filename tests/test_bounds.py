"""Values valid alone that a simulation could not play: told with file:line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from kchaos.cli import main

ROOT = Path(__file__).resolve().parent.parent
THREE_WORKERS = (ROOT / "topologies" / "three-workers.yaml").read_text()
KOREA = (ROOT / "topologies" / "korea-stretched.yaml").read_text()


def _write(tmp_path, text: str) -> str:
    path = tmp_path / "t.yaml"
    path.write_text(text)
    return str(path)


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("command", [["validate"], ["run", "-n", "50", "-q"], ["whatif", "--fail", "node/cp-1"]])
def test_etcd_timings_an_election_cannot_finish_with(tmp_path, capsys, command):
    tiny = THREE_WORKERS.replace("controlPlane:\n  members: 3",
                                 "controlPlane:\n  members: 3\n  etcd: {heartbeatInterval: 1us, electionTimeout: 5us}")
    path = _write(tmp_path, tiny)
    assert main([command[0], path, *command[1:]]) == 2
    err = capsys.readouterr().err
    assert f"t.yaml:{_line(tiny, 'etcd:')}: controlPlane.etcd.heartbeatInterval: must be at least 1ms" in err
    # 5 ms against the 8 ms between Korea Central and Korea South
    short = KOREA.replace("heartbeatInterval: 100ms", "heartbeatInterval: 1ms").replace(
        "electionTimeout: 1000ms", "electionTimeout: 5ms")
    path = _write(tmp_path, short)
    assert main([command[0], path, *command[1:]]) == 2
    err = capsys.readouterr().err
    assert f"t.yaml:{_line(short, 'electionTimeout')}: controlPlane.etcd.electionTimeout: 5ms is not longer" in err
    assert "(8ms)" in err and "Traceback" not in err


def test_an_election_timeout_just_above_the_round_trip_runs(tmp_path):
    text = KOREA.replace("heartbeatInterval: 100ms", "heartbeatInterval: 2ms").replace(
        "electionTimeout: 1000ms", "electionTimeout: 10ms")
    assert main(["run", _write(tmp_path, text), "-n", "100", "-q", "-o", str(tmp_path / "r")]) == 0


@pytest.mark.parametrize("interval,ok", [("10ms", False), ("1m", False), ("1h", False), ("6h", True)])
def test_rollouts_cannot_outnumber_failures_a_hundredfold(tmp_path, capsys, interval, ok):
    text = THREE_WORKERS + f"\nkubernetes:\n  rolloutInterval: {interval}\n"
    path = _write(tmp_path, text)
    assert main(["validate", path]) == 0  # valid as a file: only a simulation cannot play it
    capsys.readouterr()
    code = main(["run", path, "-n", "30", "-q", "-o", str(tmp_path / "r")])
    err = capsys.readouterr().err
    if ok:
        assert code == 0
    else:
        assert code == 2 and f"t.yaml:{_line(text, 'rolloutInterval')}: kubernetes.rolloutInterval:" in err
        assert "rollouts per failure event" in err and "at most 100" in err


def test_the_default_interval_with_only_region_failures_is_refused_with_a_way_out(tmp_path, capsys):
    text = THREE_WORKERS + "\nfailures: {node: none, server: none, rack: none, datacenter: none}\n"
    assert main(["run", _write(tmp_path, text), "-n", "30", "-q", "-o", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "7d (the default)" in err and "or none" in err
    text += "kubernetes: {rolloutInterval: none}\n"
    assert main(["run", _write(tmp_path, text), "-n", "30", "-q", "-o", str(tmp_path / "r")]) == 0


def test_every_failure_kind_off_names_the_file_and_line(tmp_path, capsys):
    text = THREE_WORKERS + ("\nfailures:\n  node: none\n  server: none\n  rack: none\n  datacenter: none\n"
                            "  region: none\n  regionLink: none\n")
    path = _write(tmp_path, text)
    assert main(["run", path, "-n", "30", "-q", "-o", str(tmp_path / "r")]) == 2
    assert f"t.yaml:{_line(text, 'failures:')}: failures: every failure kind is switched off" in \
        capsys.readouterr().err


@pytest.mark.parametrize("value", ["18446744073709551616", "1e24", '"1e308"'])
@pytest.mark.parametrize("key", ["capacity: {cpu: 10", "memory: 40Gi", "requests: {cpu: 1"])
@pytest.mark.parametrize("command", [["validate"], ["whatif", "--fail", "node/general-1"]])
def test_huge_quantities_are_refused_not_overflowed(tmp_path, capsys, value, key, command):
    old = key.split(": ")[-1]
    text = THREE_WORKERS.replace(key, key.replace(old, value), 1)
    assert main([command[0], _write(tmp_path, text), *command[1:]]) == 2
    err = capsys.readouterr().err
    assert "must be at most" in err and "Traceback" not in err


def test_pod_names_follow_each_workload_order():
    from kchaos.model.engine import ClusterModel
    from kchaos.topology import load_topology

    model = ClusterModel(load_topology(ROOT / "topologies" / "three-datacenters.yaml"))
    names = model.initial_pod_names()
    for w, pods in enumerate(model.workload_pods):
        wl = model.cluster.workloads[w]
        if wl.kind != "DaemonSet":
            assert [names[p] for p in pods] == [f"{wl.name}-{i}" for i in range(len(pods))]
