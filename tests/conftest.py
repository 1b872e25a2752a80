"""Shared helpers: small topologies written inline, loaded through the real loader."""

from __future__ import annotations

import textwrap

import pytest

from kchaos.topology import load_topology_text

def topology(text: str, name: str = "test.yaml"):
    return load_topology_text(textwrap.dedent(text), filename=name)


@pytest.fixture
def make_topology():
    return topology
