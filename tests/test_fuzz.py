"""The hostile-input campaign as property tests: each runs a fast slice in every test run (a
few seconds) and a long one under ``pytest -m fuzz`` (`.ci/run`). What each case asserts:
tests/fuzz_cases.py; the campaign's processes and faults: tests/test_fuzz_campaign.py.

Both slices are derandomised, so that a CI run judges the change and not the draw. To explore
new cases, set ``KCHAOS_FUZZ_RANDOM=1``: the long slice then
draws new random cases; a failure found so becomes a fixed case of the wrong-shape tests."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import fuzz_cases as fz
from .kube_fixtures import three_zone_nodes

SMALL = [p for p in fz.EXAMPLES if p.stem in ("three-workers", "two-workers", "single-member", "four-members")]
MARKER = Path(tempfile.gettempdir()) / "kchaos-fuzz-tag-ran"


def budgets(fast: int, long: int) -> pytest.MarkDecorator:
    """Examples per run: ``fast`` in every run, ``long`` under the fuzz marker (both the same
    cases each time, unless KCHAOS_FUZZ_RANDOM is set: then the long slice draws new ones)."""
    explore = os.environ.get("KCHAOS_FUZZ_RANDOM", "") not in ("", "0")
    return pytest.mark.parametrize("examples,fixed", [
        pytest.param(fast, True, id="fast"), pytest.param(long, not explore, id="long", marks=pytest.mark.fuzz)])


def run(examples: int, fixed: bool, strategy: st.SearchStrategy, check) -> None:
    """``check`` on ``examples`` cases drawn from ``strategy``."""
    @settings(max_examples=examples, deadline=None, derandomize=fixed, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(strategy)
    def case(drawn):
        check(*drawn)
    case()


def _example_data(pool: list[Path]) -> st.SearchStrategy:
    return st.sampled_from(pool).flatmap(lambda p: fz.mutated(yaml.safe_load(p.read_text())))


@budgets(12, 300)
def test_topology_mutants_validate(examples, fixed):
    run(examples, fixed, st.tuples(_example_data(fz.EXAMPLES)), lambda data: fz.check_topology(data, "validate"))


@budgets(4, 60)
def test_topology_mutants_run(examples, fixed):
    run(examples, fixed, st.tuples(_example_data(SMALL)), lambda data: fz.check_topology(data, "run"))


@budgets(12, 300)
def test_topology_text_mutants(examples, fixed):
    texts = st.sampled_from(fz.EXAMPLES).flatmap(lambda p: fz.mutated_text(p.read_text(), MARKER))
    run(examples, fixed, st.tuples(texts), lambda raw: fz.check_topology_text(raw, MARKER))


@budgets(8, 300)
def test_nodes_mutants_import(examples, fixed):
    nodes = fz.mutated(fz.fuzz_nodes(), fz.NODE_KEYS)
    run(examples, fixed, st.tuples(nodes, st.booleans(), st.booleans()), fz.check_nodes)


@budgets(12, 300)
def test_manifest_mutants_import(examples, fixed):
    run(examples, fixed, st.tuples(fz.mutated_manifests()),
        lambda files: fz.check_manifests(files, three_zone_nodes(), "import"))


@budgets(2, 40)
def test_manifest_mutants_run(examples, fixed):
    run(examples, fixed, st.tuples(fz.mutated_manifests()),
        lambda files: fz.check_manifests(files, three_zone_nodes(), "run"))


@budgets(6, 300)
def test_events_mutants_observe(examples, fixed):
    run(examples, fixed, st.tuples(fz.mutated(fz.drill_events(), fz.EVENT_KEYS), st.booleans(), st.booleans()),
        fz.check_events)


@budgets(4, 150)
def test_baseline_mutants_check(examples, fixed):
    run(examples, fixed, st.tuples(fz.mutated(fz.baseline(), fz.BASELINE_KEYS)), fz.check_baseline)
