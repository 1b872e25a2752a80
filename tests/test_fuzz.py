"""The hostile-input campaign's fast slice (a few seconds, every test run); the long campaign
runs the same cases with many more examples under ``pytest -m fuzz`` (tests/test_fuzz_campaign.py).
What each case asserts: tests/fuzz_cases.py."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import fuzz_cases as fz
from .kube_fixtures import three_zone_nodes

FAST = settings(max_examples=12, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SMALL = [p for p in fz.EXAMPLES if p.stem in ("three-workers", "two-workers", "single-member", "four-members")]
MARKER = Path(tempfile.gettempdir()) / "kchaos-fuzz-tag-ran"


@FAST
@given(st.data())
def test_topology_mutants_validate(data):
    example = data.draw(st.sampled_from(fz.EXAMPLES))
    fz.check_topology(data.draw(fz.mutated(yaml.safe_load(example.read_text()))), "validate")


@settings(FAST, max_examples=4)
@given(st.data())
def test_topology_mutants_run(data):
    example = data.draw(st.sampled_from(SMALL))
    fz.check_topology(data.draw(fz.mutated(yaml.safe_load(example.read_text()))), "run")


@FAST
@given(st.data())
def test_topology_text_mutants(data):
    example = data.draw(st.sampled_from(fz.EXAMPLES))
    fz.check_topology_text(data.draw(fz.mutated_text(example.read_text(), MARKER)), MARKER)


@FAST
@given(st.data(), st.booleans(), st.booleans())
def test_nodes_mutants_import(data, as_json, ascii_only):
    fz.check_nodes(data.draw(fz.mutated(three_zone_nodes(), fz.NODE_KEYS)), as_json, ascii_only)


@FAST
@given(fz.mutated_manifests())
def test_manifest_mutants_import(files):
    fz.check_manifests(files, three_zone_nodes(), "import")
