"""Topology files: parse, fill defaults, validate and build the immutable Cluster.

    >>> cluster = load_topology("topologies/three-datacenters.yaml")
    >>> cluster = load_topology(path, overrides={"controlPlane.members": 5})

Every problem in a file is reported at once, as a :class:`TopologyError`
whose ``problems`` render like ``korea.yaml:41: controlPlane.members: must be
between 1 and 7, got 9``. The format is described in docs/topology.md.
"""

from kchaos.errors import Problem, TopologyError
from kchaos.topology.loader import load_topology, load_topology_text
from kchaos.topology.schema import API_VERSION, MAX_NODES, MAX_PODS, MAX_SERVERS
from kchaos.topology.yamlsafe import MAX_BYTES, MAX_DEPTH, MAX_VALUES

__all__ = [
    "load_topology",
    "load_topology_text",
    "Problem",
    "TopologyError",
    "API_VERSION",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_VALUES",
    "MAX_SERVERS",
    "MAX_NODES",
    "MAX_PODS",
]
