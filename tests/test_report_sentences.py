"""Charts that would carry no information become one sentence (issue 10's report points)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from kchaos.analysis import analyze
from kchaos.model.sampling.montecarlo import run_monte_carlo
from kchaos.report import render_html
from kchaos.topology import load_topology

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def results():
    return analyze(run_monte_carlo(load_topology(ROOT / "topologies" / "korea-stretched.yaml"), failures=600, seed=2))


def test_a_constant_commit_latency_is_a_sentence_and_a_varying_one_a_chart(results):
    varying = copy.deepcopy(results)
    varying["control_plane"]["write_commit_ms"].update(p50=9.0, p99=27.0)
    assert "Share of the time writes commit at each latency" in render_html(varying)
    flat = copy.deepcopy(results)
    flat["control_plane"]["write_commit_ms"].update(p50=2.0, p99=2.0)
    page = render_html(flat)
    assert "Writes commit in 2 ms whenever the API accepts them" in page
    assert "Share of the time writes commit at each latency" not in page


def test_a_hottest_node_that_never_changes_is_a_sentence(results):
    flat = copy.deepcopy(results)
    flat["load"]["max_node_utilization"].update(p50=0.5, p95=0.5, max=0.5)
    assert "the hottest surviving worker sat at 50%" in render_html(flat)


def test_a_convergence_that_never_moves_is_a_sentence(results):
    flat = copy.deepcopy(results)
    n = len(flat["convergence"]["unavailability"])
    flat["convergence"]["unavailability"] = [1.4e-5] * n
    assert "The API estimate moved by less than 2% over the run" in render_html(flat)
    moving = copy.deepcopy(results)
    moving["convergence"]["unavailability"] = [1e-5 * (1 + i) for i in range(n)]
    assert "moved by less than" not in render_html(moving)
