"""The terminal summary as a stranger reads it: rates per year, and where the minutes come from."""

from __future__ import annotations

import json
from pathlib import Path

from kchaos.cli import main

DATA = Path(__file__).parent / "data"


def test_summary_gives_rates_per_year_and_the_parts_of_the_downtime(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")
    # Plain sampling draws no quorum loss in 1,000 failures here: the exact part stands anyway.
    assert main(["run", str(DATA / "korea-unconfirmed.yaml"), "-n", "1000", "--out", str(tmp_path),
                 "--sampling", "plain"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    r = json.loads((tmp_path / "results.json").read_text())
    cp = r["control_plane"]
    elections = cp["leader_elections"]
    assert f"per year ({elections['count']:,} in the run)" in out  # plain: the count seen is the natural one
    assert "pod-hours per year, at most " in out and "biased" not in out
    down = cp["downtime_minutes_per_year"]
    # The headline minutes are the exact quorum-loss term plus the simulated rest ...
    assert abs(down["exact_quorum_loss"] + down["simulated_rest"] - down["estimate"]) < 2e-3
    # ... counted whether or not this run drew a quorum loss, and the summary says what the interval covers.
    assert cp["outages"]["quorum_losses"] == 0 and "min quorum loss (exact) + " in out
    assert "95% intervals cover the Monte Carlo noise of the simulated part only" in out
    assert cp["outages"]["quorum_losses_per_year"] == 0.0


def test_importance_sampled_counts_are_natural_rates_not_the_draws(tmp_path, capsys, monkeypatch):
    """Issue 20: under importance sampling the summary once set the drawn counts ("1,215 quorum
    losses in this run", "2,225 in the run") beside natural rates. Rates per year are weighted
    cycle by cycle; a drawn figure that helps (the most Pending at once) says it was drawn so."""
    monkeypatch.setenv("COLUMNS", "160")
    root = Path(__file__).resolve().parent.parent
    assert main(["run", str(root / "topologies" / "three-datacenters.yaml"), "-n", "2000", "--out", str(tmp_path),
                 "--sampling", "importance"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    r = json.loads((tmp_path / "results.json").read_text())
    assert "in the run" not in out and "in this run" not in out
    assert "at once (as drawn under biased sampling)" in out
    cp = r["control_plane"]
    years = r["run"]["simulated_years"]
    # drawn far more often than they happen: the natural rate is what is shown
    assert cp["outages"]["quorum_losses"] > 10 * cp["outages"]["quorum_losses_per_year"] * years
    assert f"{cp['leader_elections']['per_year']:.2f} per year" in out


def test_the_summary_fits_80_columns_with_every_interval_whole():
    """Issue 10: at 80 columns the value column wrapped into the interval, splitting '[a –' / 'b]'."""
    import io

    from rich.console import Console

    from kchaos.report.terminal import print_summary

    results = json.loads((DATA / "sample_results.json").read_text())
    for width in (80, 100, 160):
        console = Console(file=io.StringIO(), record=True, width=width, color_system=None)
        print_summary(results, console, "reports/x/index.html")
        text = console.export_text()
        assert max(len(line) for line in text.splitlines()) <= width
        for line in text.splitlines():
            assert line.count("[") == line.count("]"), (width, line)
        assert "API availability" in text and "Report: reports/x/index.html" in text


def test_many_advisories_of_one_code_are_counted_not_listed():
    import io

    from rich.console import Console

    from kchaos.report.terminal import ADVISORIES_PER_CODE, print_summary

    results = json.loads((DATA / "sample_results.json").read_text())
    results["advisories"] = [{"code": "spread-blocks-rescheduling", "severity": "warning",
                              "message": f"workload w{i} stays Pending"} for i in range(10)]
    console = Console(file=io.StringIO(), record=True, width=120, color_system=None)
    print_summary(results, console, None)
    text = console.export_text()
    assert text.count("stays Pending") == ADVISORIES_PER_CODE == 3
    assert "and 7 more [spread-blocks-rescheduling] (all in the report and results.json)" in text
