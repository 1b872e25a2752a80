"""Immutable model of a cluster: the validated topology, ready for simulation.

The topology layer (``kchaos.topology``) parses and validates a YAML file and
builds one :class:`Cluster`. Everything downstream (engine, exact answers,
reports) reads only these frozen objects, never the YAML.

Conventions: times are seconds (float), cpu is cores, memory is bytes,
probabilities and utilisations are fractions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

DomainKind = Literal["region", "datacenter", "rack", "server", "node", "regionLink"]
#: Blast-radius hierarchy from the largest to the smallest physical domain.
HIERARCHY: tuple[str, ...] = ("region", "datacenter", "rack", "server", "node")
#: Every kind of failure instance, in the order used by the failure sampler.
FAILURE_KINDS: tuple[str, ...] = ("node", "server", "rack", "datacenter", "region", "regionLink")

NodeRole = Literal["control-plane", "etcd", "apiserver", "worker"]


@dataclass(frozen=True)
class Distribution:
    """A positive random duration with a given mean (seconds).

    kind: ``exponential`` | ``weibull`` (``shape`` = Weibull k) |
    ``lognormal`` (``shape`` = sigma of the underlying normal) | ``fixed``.
    """

    kind: Literal["exponential", "weibull", "lognormal", "fixed"]
    mean: float
    shape: float | None = None


@dataclass(frozen=True)
class FailureSpec:
    """How one kind of instance fails and is repaired. ``ttf is None`` = never fails."""

    kind: str
    ttf: Distribution | None
    ttr: Distribution

    @property
    def unavailability(self) -> float:
        """Stationary probability of being down: mttr / (mtbf + mttr) (any distribution)."""
        if self.ttf is None:
            return 0.0
        return self.ttr.mean / (self.ttf.mean + self.ttr.mean)


@dataclass(frozen=True)
class Domain:
    """One failure instance: a region, datacenter, rack, server, node or region link.

    ``parent`` is the index of the enclosing domain (node -> server -> rack ->
    datacenter -> region); region links have no parent and name their two
    regions in ``regions``.
    """

    index: int
    kind: str
    name: str
    parent: int | None = None
    regions: tuple[int, int] | None = None  # regionLink only: the two region domain indices
    line: int | None = None

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Capacity:
    cpu: float
    memory: float
    pods: int


@dataclass(frozen=True)
class Node:
    """A VM / kubelet. ``domain`` is its own failure instance; ``ancestors`` are the
    domain indices of its server, rack, datacenter and region (in that order)."""

    index: int
    name: str
    role: str  # NodeRole
    domain: int
    server: int
    rack: int
    datacenter: int
    region: int
    capacity: Capacity
    pool: str | None = None
    runs_etcd: bool = False
    runs_apiserver: bool = False  # also kube-controller-manager and kube-scheduler

    @property
    def ancestors(self) -> tuple[int, int, int, int]:
        return (self.server, self.rack, self.datacenter, self.region)

    @property
    def schedulable(self) -> bool:
        """Workloads land only on workers (control-plane nodes carry the NoSchedule taint)."""
        return self.role == "worker"


@dataclass(frozen=True)
class Spread:
    """A PodTopologySpread constraint over one level of the hierarchy."""

    over: str  # server | rack | datacenter | region
    max_skew: int = 1
    when_unsatisfiable: str = "DoNotSchedule"  # or ScheduleAnyway
    node_taints_policy: str = "Ignore"  # or Honor


@dataclass(frozen=True)
class Workload:
    name: str
    kind: str  # Deployment | StatefulSet | DaemonSet
    replicas: int  # DaemonSet: 0 here, one pod per worker at build time
    cpu: float
    memory: float
    min_available: int | None  # resolved count; None for DaemonSet with percent (resolved on workers)
    min_available_fraction: float | None = None  # set when given as a percentage
    spread: Spread | None = None
    volume_scope: str | None = None  # StatefulSet: server | rack | datacenter | region
    line: int | None = None
    #: Deployment RollingUpdate strategy, each (count, fraction): one of the two is None.
    #: Upstream defaults 25% and 25% (maxSurge rounds up, maxUnavailable down).
    max_surge: tuple[int | None, float | None] = (None, 0.25)
    max_unavailable: tuple[int | None, float | None] = (None, 0.25)

    def rolling_update(self) -> tuple[int, int]:
        """(maxSurge, maxUnavailable) as pod counts for ``replicas``, rounded as the Deployment
        controller rounds them (``deployment/util``: ResolveFenceposts), never both 0."""
        def resolve(value: tuple[int | None, float | None], up: bool) -> int:
            count, fraction = value
            if count is not None:
                return count
            x = (fraction or 0.0) * self.replicas
            return int(math.ceil(x - 1e-9)) if up else int(math.floor(x + 1e-9))
        surge, unavailable = resolve(self.max_surge, True), resolve(self.max_unavailable, False)
        if surge == 0 and unavailable == 0:
            unavailable = 1  # both resolved to 0 (rounding): upstream makes maxUnavailable 1
        return surge, unavailable

    def required(self, desired: int) -> int:
        """Ready replicas needed for the workload to count as available."""
        if self.min_available_fraction is not None:
            return max(0, math.ceil(self.min_available_fraction * desired - 1e-9))
        return int(self.min_available if self.min_available is not None else 1)


@dataclass(frozen=True)
class Maintenance:
    """Rolling upgrades (topology ``maintenance:``): every ``every`` seconds, the control-plane
    nodes one at a time (the etcd leader's last) when ``control_plane``, then the workers in
    batches: ``batch_count`` nodes, ``batch_fraction`` of the workers, or every node of one
    ``batch_level`` domain (server, rack, datacenter) at a time. A batch is cordoned and
    drained, then each node is down for ``per_node`` seconds and uncordoned."""

    every: float
    per_node: float = 600.0
    control_plane: bool = True
    batch_count: int | None = 1
    batch_fraction: float | None = None
    batch_level: str | None = None


@dataclass(frozen=True)
class EtcdTiming:
    heartbeat: float = 0.1
    election_timeout: float = 1.0
    pre_vote: bool = True
    fsync: float = 0.001


@dataclass(frozen=True)
class LeaderElectionTiming:
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0


@dataclass(frozen=True)
class KubernetesTiming:
    node_monitor_grace_period: float = 50.0
    not_ready_toleration: float = 300.0
    pod_startup: float = 30.0
    #: Deployments are rolled out this often (None: never). A rollout places every pod
    #: afresh, the only thing that undoes load concentrated by earlier failures.
    rollout_interval: float | None = 7 * 86400.0
    #: Zone-aware, rate-limited eviction (kube-controller-manager flags, upstream defaults):
    #: the level whose domains are `topology.kubernetes.io/zone` ("none": one zone),
    #: --node-eviction-rate, --secondary-node-eviction-rate, --unhealthy-zone-threshold,
    #: --large-cluster-size-threshold.
    zone_level: str = "datacenter"
    node_eviction_rate: float = 0.1
    secondary_node_eviction_rate: float = 0.01
    unhealthy_zone_threshold: float = 0.55
    large_cluster_size_threshold: int = 50
    #: An operator (or automation) applies node.kubernetes.io/out-of-service this long after
    #: a dead node went NotReady (None: never): its pods, StatefulSet ones included, go at once.
    out_of_service_after: float | None = None
    #: controlPlane.excludeFromDisruption: control-plane nodes carry
    #: node.kubernetes.io/exclude-disruption and do not count in their zone's state.
    exclude_control_plane: bool = False


@dataclass(frozen=True)
class Network:
    """Round-trip times in seconds. ``region_rtt`` maps a sorted pair of region
    domain indices to the RTT between them."""

    same_server: float = 50e-6
    same_rack: float = 100e-6
    same_datacenter: float = 500e-6
    same_region: float = 2e-3
    region_rtt: dict[tuple[int, int], float] = field(default_factory=dict)


@dataclass(frozen=True)
class Slo:
    control_plane: float | None = None  # fraction, e.g. 0.9999
    workloads: dict[str, float] = field(default_factory=dict)
    max_node_utilization: float | None = None  # fraction, e.g. 0.9
    max_pending_pods: int | None = None


@dataclass(frozen=True)
class Advisory:
    code: str
    message: str
    severity: str = "warning"  # info | warning | error (the layout cannot run as written)
    subject: str = ""  # the workload it is about, when one: a later check skips what is already said


@dataclass(frozen=True)
class Cluster:
    """The whole validated topology."""

    name: str
    description: str
    source: str  # file path as given
    sha256: str
    domains: tuple[Domain, ...]
    nodes: tuple[Node, ...]
    members: tuple[int, ...]  # node indices running an etcd member, in member order
    apiservers: tuple[int, ...]  # node indices running apiserver + controller-manager + scheduler
    etcd_topology: str  # stacked | external
    etcd: EtcdTiming
    leader_election: LeaderElectionTiming
    kubernetes: KubernetesTiming
    network: Network
    failures: dict[str, FailureSpec]  # keyed by FAILURE_KINDS
    workloads: tuple[Workload, ...]
    slo: Slo
    advisories: tuple[Advisory, ...] = ()  # found while validating (static)
    maintenance: Maintenance | None = None
    #: Line of each section and key of a section in the file (``failures``, ``kubernetes.rolloutInterval``
    #: -> 40), for messages at run time.
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    # -- derived helpers ---------------------------------------------------
    @property
    def quorum(self) -> int:
        return len(self.members) // 2 + 1

    @property
    def tolerates(self) -> int:
        return len(self.members) - self.quorum

    @property
    def workers(self) -> tuple[int, ...]:
        return tuple(n.index for n in self.nodes if n.schedulable)

    def domains_of_kind(self, kind: str) -> tuple[Domain, ...]:
        return tuple(d for d in self.domains if d.kind == kind)

    def rtt(self, a: int, b: int) -> float:
        """Round-trip time between nodes ``a`` and ``b`` (0 for the same node)."""
        if a == b:
            return 0.0
        na, nb = self.nodes[a], self.nodes[b]
        if na.server == nb.server:
            return self.network.same_server
        if na.rack == nb.rack:
            return self.network.same_rack
        if na.datacenter == nb.datacenter:
            return self.network.same_datacenter
        if na.region == nb.region:
            return self.network.same_region
        key = (min(na.region, nb.region), max(na.region, nb.region))
        return self.network.region_rtt[key]
