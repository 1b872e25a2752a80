"""Immutable model of a cluster: the validated topology, ready for simulation.

The topology layer (``kchaos.topology``) parses and validates a YAML file and
builds one :class:`Cluster`. Everything downstream (engine, exact answers,
reports) reads only these frozen objects, never the YAML.

Conventions: times are seconds (float), cpu is cores, memory is bytes,
probabilities and utilisations are fractions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
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

    @property
    def squared_cv(self) -> float:
        """Variance over squared mean: 1 exponential, 0 fixed, exp(sigma^2) - 1 lognormal,
        Gamma(1 + 2/k) / Gamma(1 + 1/k)^2 - 1 Weibull."""
        if self.kind == "exponential":
            return 1.0
        if self.kind == "lognormal":
            return math.expm1((self.shape or 0.0) ** 2)
        if self.kind == "weibull":
            k = self.shape or 1.0
            return math.exp(math.lgamma(1 + 2 / k) - 2 * math.lgamma(1 + 1 / k)) - 1.0
        return 0.0


#: The two ends of the uncertain inputs: every range at its worse end (failures more often,
#: repairs longer), or at its better end.
INPUT_ENDS = ("pessimistic", "optimistic")


@dataclass(frozen=True)
class FailureSpec:
    """How one kind of instance fails and is repaired. ``ttf is None`` = never fails.

    ``mtbf_range`` / ``mttr_range``: an uncertain mean given as a range (``100y..400y``); the
    distribution's mean is then the range's geometric middle (200y), the nominal value."""

    kind: str
    ttf: Distribution | None
    ttr: Distribution
    mtbf_range: tuple[float, float] | None = None
    mttr_range: tuple[float, float] | None = None

    @property
    def unavailability(self) -> float:
        """Stationary probability of being down: mttr / (mtbf + mttr) (any distribution)."""
        if self.ttf is None:
            return 0.0
        return self.ttr.mean / (self.ttf.mean + self.ttr.mean)

    @property
    def uncertain(self) -> bool:
        return self.ttf is not None and (self.mtbf_range is not None or self.mttr_range is not None)

    def at(self, end: str) -> "FailureSpec":
        """This spec with each range at one of :data:`INPUT_ENDS` (the worse end of a time
        between failures is the short one, of a repair the long one); no ranges left."""
        worse = end == "pessimistic"
        ttf, ttr = self.ttf, self.ttr
        if ttf is not None and self.mtbf_range is not None:
            ttf = Distribution(ttf.kind, self.mtbf_range[0 if worse else 1], ttf.shape)
        if self.mttr_range is not None:
            ttr = Distribution(ttr.kind, self.mttr_range[1 if worse else 0], ttr.shape)
        return FailureSpec(self.kind, ttf, ttr)


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
    # -- what a real node says of itself (topology ``nodes:``; ``kchaos import`` fills them) --
    #: ``spec.providerID`` (``aws:///zone/i-...``, ``azure:///subscriptions/...``, ``gce://...``):
    #: which cloud machine to stop in a drill; None on bare metal or when unknown.
    provider_id: str | None = None
    address: str | None = None  # InternalIP: where chaosd listens on bare metal
    #: False: NotReady when imported. The scheduler never uses it and its pods do not run
    #: (its etcd member, static pods being independent of the kubelet, is taken to run).
    ready: bool = True
    #: Cordoned (``spec.unschedulable``) or with a NoSchedule/NoExecute taint no workload
    #: tolerates: the scheduler never places a pod there.
    cordoned: bool = False
    #: A control-plane node without the NoSchedule taint (compact clusters): workloads run on it.
    runs_workloads: bool = False
    #: A machine the cluster autoscaler may add to the pool (``autoscale.max``): absent until
    #: it is provisioned; no failure instance of its own (see ``model/nodes/autoscaler.py``).
    standby: bool = False

    @property
    def ancestors(self) -> tuple[int, int, int, int]:
        return (self.server, self.rack, self.datacenter, self.region)

    @property
    def schedulable(self) -> bool:
        """Workloads land on workers, and on control-plane nodes that carry no NoSchedule taint."""
        return self.role == "worker" or self.runs_workloads


@dataclass(frozen=True)
class Spread:
    """A PodTopologySpread constraint over one level of the hierarchy."""

    over: str  # server | rack | datacenter | region
    max_skew: int = 1
    when_unsatisfiable: str = "DoNotSchedule"  # or ScheduleAnyway
    node_taints_policy: str = "Ignore"  # or Honor


# -- what a workload needs beyond its pods (issue 25: volumes, releases, dependencies) ------------
@dataclass(frozen=True)
class Volume:
    """A workload's persistent volume (one per pod for a StatefulSet, shared by a Deployment's
    pods): ``access_mode`` ReadWriteOnce (one node at a time: the attach/detach controller's
    Multi-Attach rule) or ReadWriteMany; ``attach``: seconds to attach it to a new node."""

    access_mode: str
    attach: float


@dataclass(frozen=True)
class BadRelease:
    """A share of a workload's releases is bad: caught by the readiness probe (the rollout stalls
    after its first wave) or by users (the workload is down), then rolled back."""

    probability: float
    detected_by: str  # readiness | users
    detect: float  # seconds from the rollout's start until someone acts
    rollback: float | None  # seconds the rollback takes (None: kubernetes.podStartup)


@dataclass(frozen=True)
class Releases:
    """The workload's own release cadence (``every``: None = ``kubernetes.rolloutInterval``)."""

    every: float | None = None
    bad: BadRelease | None = None


@dataclass(frozen=True)
class AffinityTerm:
    """One pod (anti-)affinity term: the pods of ``workloads`` in the same ``over`` domain
    (``host``: the node itself) count. ``weight`` None: requiredDuringScheduling...; 1-100:
    preferredDuringScheduling... with that weight (``interpodaffinity`` plugin)."""

    over: str  # host | server | rack | datacenter | region
    workloads: tuple[str, ...]
    weight: int | None = None

    @property
    def required(self) -> bool:
        return self.weight is None


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
    # -- pod (anti-)affinity and where the pods live (topology keys antiAffinity, affinity, namespace) --
    anti_affinity: tuple[AffinityTerm, ...] = ()
    affinity: tuple[AffinityTerm, ...] = ()
    namespace: str = "default"
    # -- issue 25 --------------------------------------------------------------------------------
    #: StatefulSet spec.podManagementPolicy: OrderedReady (upstream default) or Parallel.
    pod_management: str = "OrderedReady"
    volume: Volume | None = None
    #: Workloads this one needs: it is up only while each of them is up.
    depends_on: tuple[str, ...] = ()
    releases: Releases | None = None
    #: Tolerates node-role.kubernetes.io/control-plane:NoSchedule (kubeadm's CoreDNS does).
    tolerates_control_plane: bool = False
    #: Added by kchaos as the cluster's installer deploys it (kubeadm's CoreDNS), not by the file.
    addon: bool = False

    @property
    def exclusive_volume(self) -> bool:
        """A Deployment whose pods share one ReadWriteOnce volume: a replacement can attach it
        only once the old pod is gone (Multi-Attach)."""
        return self.kind == "Deployment" and self.volume is not None and self.volume.access_mode == "ReadWriteOnce"

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
class Autoscale:
    """cluster-autoscaler on one worker pool (topology ``autoscale``): between ``min`` and
    ``max`` nodes; a node it asks for is Ready ``provision_delay`` later; with
    ``scale_down_after`` set, a node of the pool that holds no pod but DaemonSet ones for that
    long is removed while the pool has more than ``min``. Defaults and sources:
    ``model/nodes/autoscaler.py``."""

    pool: str
    min: int
    max: int
    provision_delay: float = 240.0
    scale_down_after: float | None = 600.0


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
    #: From a pod marked NotReady to every kube-proxy's rules without it (EndpointSlice
    #: controller, then kube-proxy's --iptables-min-sync-period, 1 s).
    endpoint_propagation: float = 1.0


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
    #: Levels (server, rack, datacenter, region) at which losing any one domain, from the healthy
    #: placement, must keep quorum, leave no pod Pending, keep every node at or under
    #: ``max_node_utilization`` and every workload at or above minAvailable once settled (N-1).
    survive: tuple[str, ...] = ()


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
    #: Pool name -> what one of its nodes costs (``workers[].cost``, default 1), for ``kchaos plan``.
    pool_cost: dict[str, float] = field(default_factory=dict)
    autoscale: tuple[Autoscale, ...] = ()  # the autoscaled worker pools

    # -- derived helpers ---------------------------------------------------
    @property
    def uncertain_inputs(self) -> tuple[FailureSpec, ...]:
        """The failure specs given with a range (``mtbf: 100y..400y``)."""
        return tuple(spec for spec in self.failures.values() if spec.uncertain)

    def at_inputs(self, end: str) -> "Cluster":
        """The same cluster with every uncertain input at one end (:data:`INPUT_ENDS`)."""
        return replace(self, failures={kind: spec.at(end) for kind, spec in self.failures.items()})

    @property
    def quorum(self) -> int:
        return len(self.members) // 2 + 1

    @property
    def tolerates(self) -> int:
        return len(self.members) - self.quorum

    @property
    def workers(self) -> tuple[int, ...]:
        """The nodes workloads run on (compact control-plane nodes included), not the machines an
        autoscaler may add."""
        return tuple(n.index for n in self.nodes if n.schedulable and not n.standby)

    def failure_spec(self, d: Domain) -> FailureSpec | None:
        """How failure instance ``d`` fails, None when it never does: its kind is switched off,
        or it is the node of a machine an autoscaler may add (only while it is in the cluster
        could it fail on its own, and a history is sampled ahead: its server, rack, ... fail it)."""
        spec = self.failures.get(d.kind)
        if spec is None or spec.ttf is None:
            return None
        if d.kind == "node" and self.nodes[d.index - self.nodes[0].domain].standby:
            return None
        return spec

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
