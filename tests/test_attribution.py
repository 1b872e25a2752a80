"""Downtime by cause and the importance of each failure domain (issue 9, items 3 and 4)."""

from __future__ import annotations

import pytest

from kchaos.analysis import analyze
from kchaos.analysis.importance import importance
from kchaos.model.sampling.montecarlo import run_monte_carlo

from .conftest import TWO_REGIONS, topology
from .test_accuracy import P, three_on_servers
from .test_load import SPREAD_DC


def _total(rows) -> float:
    return sum(r["minutes_per_year"] for r in rows)


@pytest.fixture(scope="module")
def trap():
    """The zone-spread trap: DoNotSchedule over datacenters with nodeTaintsPolicy Ignore."""
    return analyze(run_monte_carlo(topology(SPREAD_DC % "Ignore"), failures=3000, seed=1))


def test_causes_add_up_to_each_quantity_downtime(trap):
    api = trap["control_plane"]["downtime_minutes_per_year"]["estimate"]
    assert _total(trap["attribution"]["api"]) == pytest.approx(api, rel=0.02, abs=1e-3)
    for w in trap["workloads"]:
        assert _total(trap["attribution"]["workloads"][w["name"]]) == pytest.approx(
            w["downtime_minutes_per_year"]["estimate"], rel=0.02)
    for row in trap["attribution"]["api"] + trap["attribution"]["workloads"]["web"]:
        low, high = row["ci95"]
        assert low <= row["minutes_per_year"] <= high


def test_spread_trap_downtime_is_blamed_on_datacenter_outages_and_the_spread_constraint(trap):
    top = trap["attribution"]["workloads"]["web"][0]
    assert top["cause"] == "datacenter outage: replacements Pending (spread)"
    ranking = [r for r in trap["importance"] if r["workload_minutes_per_year_saved"]["web"] > 0]
    ranking.sort(key=lambda r: -r["workload_minutes_per_year_saved"]["web"])
    assert ranking[0]["kind"] == "datacenter"


def test_importance_matches_the_exact_saving_of_a_member_that_never_fails():
    """Three members on three servers, server failures only (P down each): quorum is lost with
    two or three down, 3P^2(1-P) + P^3; with one server hardened, only with both others down,
    P^2. The API saving of hardening it (quorum loss dominates the API's down time): from the
    histories alone (cycles reweighted as if it never failed), the interval covers the exact
    saving; with the control variate (exact quorum part recomputed) it is within 1%."""
    out = run_monte_carlo(topology(three_on_servers(3)), failures=20_000, seed=1)
    exact = (3 * P * P * (1 - P) + P ** 3 - P * P) * 525_600
    for rows, check in ((importance(out), "interval"), (analyze(out)["importance"], "exact")):
        servers = [r for r in rows if r["kind"] == "server"]
        assert len(servers) == 3
        for row in servers:
            low, high = row["ci95"]["api"]
            if check == "interval":
                assert low <= exact <= high, (row, exact)
                assert high - low < 0.25 * exact
            else:
                assert row["api_minutes_per_year_saved"] == pytest.approx(exact, rel=0.01)


def test_report_shows_downtime_by_cause_and_fix_first(trap):
    from kchaos.report import render_html

    page = render_html(trap)
    assert "Where the downtime comes from" in page and "Fix first" in page
    assert "datacenter outage: replacements Pending (spread)" in page
    top = trap["importance"][0]
    assert top["domain"] in page
    advice = [a for a in trap["advisories"] if a["code"] == "fix-first"]
    assert advice and top["domain"].split("/", 1)[1] in advice[0]["message"]


def test_a_region_link_partition_is_named_as_the_exact_part_knows_it():
    """Two regions, one member each: a cut link alone loses quorum; its exact share keeps the
    simulated cause's name (it once fell out, named differently on the two sides)."""
    r = analyze(run_monte_carlo(topology(TWO_REGIONS), failures=1500, seed=1, sampling="auto"))
    rows = {x["cause"]: x["minutes_per_year"] for x in r["attribution"]["api"]}
    link = rows.get("quorum loss: region-link partition", 0.0)
    assert link > 0 and not any("regionLink outage" in c for c in rows)
    # a link is down 1 h every 5 y: 12 min/year of quorum loss (exact), less its overlaps
    assert link == pytest.approx(60 / 5 * 0.9999, rel=0.05)


def test_importance_leaves_planned_downtime_out():
    """Hardening a domain removes no rollout: rollout waves (planned down time) stay out of the
    saving. Counted in, a rollout that waits out a failure moves to a later cycle, and on the
    benchmark topology (weekly rollouts taking its Deployments below minAvailable) eight node
    intervals at this seed lay wholly below zero: hardening a node 'added' minutes."""
    from pathlib import Path
    from kchaos.topology import load_topology
    path = Path(__file__).resolve().parent.parent / "topologies" / "benchmark-5-members.yaml"
    results = analyze(run_monte_carlo(load_topology(path), failures=3000, seed=3, jobs=2))
    assert any(c["cause"].startswith("planned:") for c in results["attribution"]["workloads"]["frontend"])
    below = [(row["domain"], name, ci) for row in results["importance"]
             for name, ci in row["ci95"]["workloads"].items() if ci[1] < 0]
    assert below == []


def test_the_spread_trap_advice_is_the_same_when_a_pool_settles_the_honor_variant(monkeypatch):
    """Large clusters settle the single domains, and the trap's Honor variant, on the local
    pool (forced here on a small one): the results, advisories included, equal one process's."""
    from kchaos.model.sampling import pools
    monkeypatch.setattr(pools, "PARALLEL_SETTLE_NODES", 0)
    cluster = topology(SPREAD_DC % "Ignore")
    one, two = (analyze(run_monte_carlo(cluster, failures=400, seed=2, jobs=jobs)) for jobs in (1, 2))
    for r in (one, two):
        r["run"].pop("wall_seconds")
        r["run"].pop("jobs")
    assert any(a["code"] == "spread-blocks-rescheduling" for a in one["advisories"])
    assert one == two
