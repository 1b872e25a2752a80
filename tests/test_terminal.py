"""The terminal summary as a stranger reads it: rates per year, and where the minutes come from."""

from __future__ import annotations

import json
from pathlib import Path

from kchaos.cli import main

DATA = Path(__file__).parent / "data"


def test_summary_gives_rates_per_year_and_the_parts_of_the_downtime(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    # Plain sampling draws no quorum loss in 1,000 failures here: the wording for that case is tested.
    assert main(["run", str(DATA / "korea-unconfirmed.yaml"), "-n", "1000", "--out", str(tmp_path),
                 "--sampling", "plain"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    r = json.loads((tmp_path / "results.json").read_text())
    cp = r["control_plane"]
    elections = cp["leader_elections"]
    assert f"per year ({elections['count']:,} in the run)" in out
    assert "pod-hours per year (" in out and "in the run, max" in out
    down = cp["downtime_minutes_per_year"]
    # The headline minutes are the exact quorum-loss term plus the simulated rest ...
    assert abs(down["exact_quorum_loss"] + down["simulated_rest"] - down["estimate"]) < 2e-3
    # ... and the summary says how many quorum losses this run really drew.
    assert cp["outages"]["quorum_losses"] == 0 and "quorum loss (exact; no quorum loss in this run)" in out
