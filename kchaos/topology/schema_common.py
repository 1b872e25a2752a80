"""Constants and the node :class:`Group` shared by the schema modules.

The validation itself is split by what it checks:

* :mod:`.schema` -- the top level, header and metadata; assembles the :class:`~.schema.Spec`,
* :mod:`.schema_sites` -- regions > datacenters > racks > servers, name references, network,
* :mod:`.schema_nodes` -- control plane (etcd, leader election, apiservers) and worker pools,
* :mod:`.schema_workloads` -- workloads, failures, kubernetes timings and SLOs.
"""

from __future__ import annotations

from dataclasses import dataclass

from kchaos.model.cluster import Autoscale, Capacity, Slo

API_VERSION = "kchaos/v1alpha1"
KIND = "Topology"

#: Hard limits: checked on the declared counts, before anything is allocated.
MAX_SERVERS = 100_000
MAX_NODES = 20_000
MAX_PODS = 1_000_000
#: A cpu or memory quantity (a node's capacity, a pod's request): millicores and bytes stay
#: exact in the scheduler's 64-bit integers, with room for its scores (x 100) and sums.
MAX_CPU = 1_000_000  # cores
MAX_MEMORY = 2**50  # bytes: 1Pi

#: Levels a workload can spread over or bind its volumes to.
SPREAD_LEVELS = ("server", "rack", "datacenter", "region")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
#: Kinds of site, outermost first.
DOMAIN_KINDS = ("region", "datacenter", "rack", "server")

_YEAR, _DAY, _HOUR, _MINUTE = 365 * 86400.0, 86400.0, 3600.0, 60.0
#: Per-kind (mtbf, mttr) in seconds, exponential unless the file says otherwise.
DEFAULT_FAILURES: dict[str, tuple[float, float]] = {
    "node": (90 * _DAY, 10 * _MINUTE),
    "server": (3 * _YEAR, 4 * _HOUR),
    "rack": (20 * _YEAR, 3 * _HOUR),
    "datacenter": (50 * _YEAR, 8 * _HOUR),
    "region": (200 * _YEAR, 24 * _HOUR),
    "regionLink": (5 * _YEAR, 1 * _HOUR),
}
#: Capacity of a control-plane (or etcd / apiserver) node; they carry the NoSchedule taint.
CONTROL_PLANE_CAPACITY = Capacity(cpu=4.0, memory=16.0 * 2**30, pods=110)
DEFAULT_SLO = Slo(control_plane=0.9999, max_node_utilization=0.9)


@dataclass(frozen=True)
class NodeEntry:
    """One entry of a group's ``nodes:`` list: a real node's name and what it says of itself."""

    name: str
    provider_id: str | None = None
    address: str | None = None
    ready: bool = True
    schedulable: bool = True


@dataclass
class Group:
    """Nodes placed together: the control plane, etcd, apiservers, or one worker pool.

    ``servers`` is an explicit placement (server domain indices); otherwise
    the group is spread, over every server or only those inside ``within``.
    """

    prefix: str
    role: str
    count: int | None  # None only while invalid (already reported)
    capacity: Capacity
    servers: list[int] | None = None
    within: int | None = None
    pool: str | None = None
    runs_etcd: bool = False
    runs_apiserver: bool = False
    line: int | None = None
    cost: float = 1.0  # a worker pool's cost per node (kchaos plan)
    entries: list[NodeEntry] | None = None  # ``nodes:``: one per node, in placement order
    runs_workloads: bool = False  # a control plane without the NoSchedule taint
    autoscale: Autoscale | None = None
