"""Shared helpers: small topologies written inline, loaded through the real loader."""

from __future__ import annotations

import textwrap

import pytest

from kchaos.topology import load_topology_text

#: Two regions, one etcd member each, four workers: a cut region link alone loses quorum.
TWO_REGIONS = """
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: tworeg}
regions:
  - name: ra
    datacenters:
      - {name: a1, racks: 2, serversPerRack: 3}
  - name: rb
    datacenters:
      - {name: b1, racks: 2, serversPerRack: 3}
network:
  regions:
    - {between: [ra, rb], rtt: 5ms}
controlPlane: {members: 2, placement: spread}
workers:
  - {pool: p, count: 4, placement: spread, capacity: {cpu: 16, memory: 64Gi, pods: 110}}
workloads:
  - {name: web, kind: Deployment, replicas: 4, requests: {cpu: 1, memory: 1Gi}, minAvailable: 2}
"""


def topology(text: str, name: str = "test.yaml"):
    return load_topology_text(textwrap.dedent(text), filename=name)


@pytest.fixture
def make_topology():
    return topology
