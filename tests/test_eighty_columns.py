"""`run` and `compare` read at 80 columns when the output is not a terminal (a CI log, a pipe):
nothing cut, every interval whole with its unit (issue 20: `3 (q 2, tol 1`, `[7.41 – 7.43] mi`,
`pod-h/y ear`), and compare ends with workload rows and a verdict."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kchaos.cli import main

ROOT = Path(__file__).resolve().parent.parent
THREE_DC = ROOT / "topologies" / "three-datacenters.yaml"


@pytest.fixture
def piped(monkeypatch):
    """Standard output as a pipe sees it: not a terminal, COLUMNS unset (rich assumes 80)."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)


def _whole(text: str) -> None:
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in text
    for line in lines:
        assert line.count("[") == line.count("]"), line
        assert line.count("(") == line.count(")") or not re.search(r"\(q \d", line), line


def test_run_fits_80_columns(piped, tmp_path, capsys):
    assert main(["run", str(THREE_DC), "-n", "1500", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    _whole(text)
    assert "API availability" in text and "Report:" in text


def test_compare_fits_80_columns_with_workloads_and_a_verdict(piped, tmp_path, capsys):
    four = ROOT / "topologies" / "four-members.yaml"
    assert main(["compare", str(THREE_DC), str(four), "-n", "1500", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    _whole(text)
    flat = " ".join(text.split())
    for needle in ("3 (quorum 2)", "tolerates 1", "pod-h/year", "Workloads", "web", "db", "Verdict",
                   "API: most available with three-datacenters", "a real difference", "SLO targets"):
        assert needle in flat, needle
    assert re.search(r"\[\d+\.\d+ – \d+\.\d+\] min", text)
    assert "Even sizes" not in text  # no etcd-sizes comparison


def test_the_even_size_note_needs_an_even_size(piped, tmp_path, capsys):
    assert main(["compare", str(THREE_DC), "--etcd-sizes", "3,5", "-n", "800", "--out", str(tmp_path / "a")]) == 0
    text = capsys.readouterr().out
    _whole(text)
    assert "Even sizes" not in text
    assert main(["compare", str(THREE_DC), "--etcd-sizes", "3,4", "-n", "800", "--out", str(tmp_path / "b")]) == 0
    assert "Even sizes tolerate no more failures" in " ".join(capsys.readouterr().out.split())
