"""Outputs are checked before the simulation and written as a set; Ctrl-C once a history is
finished keeps what is finished (a results.json that parses, partial or whole)."""

from __future__ import annotations

import errno
import json
import os
import signal
from pathlib import Path

import pytest

import kchaos.model.sampling.montecarlo as montecarlo
from kchaos import interrupts
from kchaos.cli import main
from kchaos.report import files

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = str(ROOT / "topologies" / "three-workers.yaml")


@pytest.fixture
def no_simulation(monkeypatch):
    """The simulation must not start: an output problem is found before it."""
    def refuse(*args, **kwargs):
        raise AssertionError("the simulation ran before the outputs were checked")
    monkeypatch.setattr(montecarlo, "simulate_history", refuse)


@pytest.mark.parametrize("make,args,message", [
    (lambda d: (d / "f").write_text("x"), ["run", EXAMPLE, "-o", "{d}/f/sub"], "f is a file, not a folder"),
    (lambda d: None, ["run", EXAMPLE, "-o", "/dev/null"], "is not a folder"),
    (lambda d: (d / "o" / "results.json").mkdir(parents=True), ["run", EXAMPLE, "-o", "{d}/o"], "is a folder"),
    (lambda d: (d / "o" / "index.html").mkdir(parents=True), ["check", EXAMPLE, "-o", "{d}/o"], "is a folder"),
    (lambda d: (d / "j").mkdir(), ["check", EXAMPLE, "--junit", "{d}/j"], "is a directory"),
    (lambda d: (d / "f").write_text("x"), ["check", EXAMPLE, "--junit", "{d}/f/j.xml"], "is a file, not a folder"),
    (lambda d: (d / "f").write_text("x"), ["compare", EXAMPLE, "--etcd-sizes", "3,5", "-o", "{d}/f/c"], "not a folder"),
    (lambda d: (d / "f").write_text("x"), ["export", EXAMPLE, "-o", "{d}/f/x"], "not a folder"),
    (lambda d: (d / "f").write_text("x"), ["schema", "-o", "{d}/f/s.json"], "not a folder"),
])
def test_bad_outputs_exit_2_before_the_simulation(tmp_path, capsys, no_simulation, make, args, message):
    make(tmp_path)
    assert main([a.format(d=tmp_path) for a in args] + (["-n", "50"] if args[0] != "schema" else [])) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_import_output_is_checked_before_reading(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["import", "--nodes", "/dev/zero", "-o", str(tmp_path / "f" / "x.yaml")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err  # /dev/zero was not read


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_exits_2(tmp_path, capsys, no_simulation):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert main(["run", EXAMPLE, "-n", "50", "-o", str(ro)]) == 2
        assert "cannot be written" in capsys.readouterr().err
    finally:
        ro.chmod(0o755)


def _seed_of(folder: Path) -> tuple[int, str]:
    results = json.loads((folder / "results.json").read_text())
    return results["run"]["seed"], (folder / "index.html").read_text()


@pytest.mark.parametrize("failing", ["write", "rename"])
def test_a_failed_write_keeps_the_old_pair(tmp_path, capsys, monkeypatch, failing):
    out = tmp_path / "r"
    assert main(["run", EXAMPLE, "-n", "60", "-q", "-o", str(out), "--seed", "1"]) == 0
    before = _seed_of(out)
    if failing == "write":  # the disk fills up while the report is written
        real = files._temporary

        def full(path, text):
            if path.name == "index.html":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(path, text)
        monkeypatch.setattr(files, "_temporary", full)
    else:  # the second rename fails after the first took place
        real_replace = os.replace

        def replace(src, dst):
            if str(dst).endswith("index.html"):
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            return real_replace(src, dst)
        monkeypatch.setattr(files.os, "replace", replace)
    assert main(["run", EXAMPLE, "-n", "60", "-q", "-o", str(out), "--seed", "2"]) == 2
    assert "nothing was written, the files there before are unchanged" in capsys.readouterr().err
    monkeypatch.undo()
    assert _seed_of(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "results.json"]  # no temporary left


def test_the_gate_defers_ctrl_c_once_a_history_is_kept():
    with interrupts.gate():
        with pytest.raises(KeyboardInterrupt):  # nothing kept yet: at once
            signal.raise_signal(signal.SIGINT)
    with interrupts.gate() as gate:
        interrupts.keep()
        signal.raise_signal(signal.SIGINT)  # deferred
        assert interrupts.requested()
        with pytest.raises(KeyboardInterrupt):  # the histories after it do not start
            with interrupts.abortable():
                pass
        gate.requested_at -= interrupts.FORCE_AFTER_SECONDS
        with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C, a second later: at once
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def _interrupt_at(monkeypatch, module, name, after: int = 1):
    """Send this process SIGINT when ``module.name`` is called for the ``after``-th time."""
    real = getattr(module, name)
    calls = [0]

    def wrapped(*args, **kwargs):
        calls[0] += 1
        if calls[0] == after:
            signal.raise_signal(signal.SIGINT)
        return real(*args, **kwargs)
    monkeypatch.setattr(module, name, wrapped)


@pytest.mark.parametrize("where", ["second history", "fifth history", "analysis", "report", "writing"])
def test_ctrl_c_after_the_first_history_keeps_a_results_json(tmp_path, capsys, monkeypatch, where):
    import kchaos.analysis as analysis
    import kchaos.report as report

    if where.endswith("history"):
        _interrupt_at(monkeypatch, montecarlo, "simulate_history", 2 if where.startswith("second") else 5)
    elif where == "analysis":
        _interrupt_at(monkeypatch, analysis, "analyze")
    elif where == "report":
        _interrupt_at(monkeypatch, report, "render_html")
    else:
        _interrupt_at(monkeypatch, files, "to_json")
    out = tmp_path / "r"
    assert main(["run", EXAMPLE, "-n", "400", "-j", "1", "-q", "-o", str(out)]) == 130
    err = capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert (out / "index.html").exists() and "Traceback" not in err
    if where.endswith("history"):
        assert results["run"]["partial"] and "partial" in err
        assert results["run"]["histories"] == (1 if where.startswith("second") else 4)
    else:
        assert not results["run"]["partial"] and "written in full" in err


# -- a local pool stopped while its workers send large results -------------------------------------

def _large_result(size: int) -> bytes:
    """A unit of work whose result takes several writes to the pool's result pipe (a
    history's result is 15-100 KB; the pipe holds 64 KB)."""
    from kchaos.model.sampling import pools

    with pools._playing_in_worker():
        pass
    return b"x" * size


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1") or os.name != "posix", reason="fork and SIGUSR1")
def test_a_pool_stopped_mid_send_ends_without_waiting_forever():
    """Ctrl-C ends the workers as they send results larger than the pipe: each sends its
    result whole before it exits. (Killing them then left the pool's result pipe half-written:
    the pool's own thread waited for the rest of the message for ever, and the run with it;
    seen as a 180 s timeout in CI.)"""
    import multiprocessing
    import threading
    import time
    from concurrent.futures import ProcessPoolExecutor

    from kchaos.model.sampling import pools

    for attempt in range(5):
        executor = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"),
                                       initializer=pools._init_worker, initargs=(None,))
        pool = pools.LocalPool(executor, 2)
        futures = [executor.submit(_large_result, 4 << 20) for _ in range(40)]
        futures[0].result()
        time.sleep(0.005 * attempt)
        started = time.monotonic()
        pool.abandon(seconds=20)
        waited = time.monotonic() - started
        manager = executor._executor_manager_thread
        assert waited < 15, f"the workers took {waited:.1f} s to stop"
        assert manager is None or not manager.is_alive()
        assert all(p.exitcode is not None for p in list((executor._processes or {}).values()))
    assert threading.active_count() < 20
