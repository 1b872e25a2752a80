"""The topology format, declared once: keys, types, ranges, choices and defaults.

The validator (:mod:`.schema` and its section modules) reads every mapping's
keys, required keys and scalar fields from these declarations through
:meth:`~.checker.Checker.section` and :meth:`~.checker.Checker.field`, and
:mod:`.json_schema` turns the same declarations into the JSON Schema that
``kchaos schema`` prints, so the two cannot drift apart. What a schema cannot
say (names that must refer to declared sites, an election timeout of at least
five heartbeats, ...) stays in the validator's code.

A declaration is a :class:`Scalar` (read by the Checker reader it names), an
:class:`Obj` (a mapping with known keys), a :class:`Seq` (a list), a
:class:`Map` (free keys, one value type) or an :class:`AnyOf` (alternatives).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from kchaos.model.cluster import FAILURE_KINDS, Autoscale, EtcdTiming, KubernetesTiming, LeaderElectionTiming, Network
from kchaos.topology.schema_common import (
    API_VERSION,
    DEFAULT_FAILURES,
    DEFAULT_SLO,
    KIND,
    MAX_NODES,
    MAX_PODS,
    MAX_SERVERS,
    SPREAD_LEVELS,
    WORKLOAD_KINDS,
)

#: No default: the key is required, or its absence means something the code decides.
NO_DEFAULT: Any = object()


@dataclass(frozen=True)
class Scalar:
    """One value, read by ``Checker.<reader>`` with the keyword arguments below.

    ``switch_off`` names what turns the setting off: ``"none"`` (the string) or
    ``"null"`` (an explicit YAML null).
    """

    reader: str  # integer, number, duration, quantity, boolean, string, name, choice, percent_target, ...
    doc: str
    default: Any = NO_DEFAULT
    options: tuple[str, ...] = ()
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    allow_zero: bool = False
    kind: str | None = None  # quantity: cpu or memory
    switch_off: str | None = None

    def reader_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of the Checker reader (ranges, choices, units)."""
        if self.reader == "choice":
            return {"options": self.options}
        if self.reader in ("integer", "number"):
            kw: dict[str, Any] = {"lo": self.lo, "hi": self.hi}
            if self.reader == "number":
                kw["lo_open"] = self.lo_open
            return kw
        if self.reader in ("duration", "duration_range"):
            return {"allow_zero": self.allow_zero}
        if self.reader == "quantity":
            return {"kind": self.kind, "allow_zero": self.allow_zero}
        if self.reader == "count_or_percent":
            return {"hi": 1.0 if self.hi is None else self.hi}  # a percentage up to 100% unless declared
        return {}


@dataclass(frozen=True)
class Obj:
    """A mapping with known keys; ``exactly_one``: exactly one of the keys is given."""

    doc: str
    fields: dict[str, Node]
    required: tuple[str, ...] = ()
    exactly_one: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.fields)


@dataclass(frozen=True)
class Seq:
    doc: str
    items: Node
    min_items: int = 1
    max_items: int | None = None


@dataclass(frozen=True)
class Map:
    """Keys chosen by the user (workload names), each with a value of one type."""

    doc: str
    values: Node


@dataclass(frozen=True)
class AnyOf:
    doc: str
    options: tuple[Node, ...] = field(default_factory=tuple)


Node = Union[Scalar, Obj, Seq, Map, AnyOf]


def _name(doc: str) -> Scalar:
    return Scalar("name", doc)


def _duration(doc: str, default: Any = NO_DEFAULT, allow_zero: bool = False, switch_off: str | None = None) -> Scalar:
    return Scalar("duration", doc, default, allow_zero=allow_zero, switch_off=switch_off)


def _integer(doc: str, lo: int | None, hi: int | None, default: Any = NO_DEFAULT,
             switch_off: str | None = None) -> Scalar:
    return Scalar("integer", doc, default, lo=lo, hi=hi, switch_off=switch_off)


def _choice(doc: str, options: tuple[str, ...], default: Any = NO_DEFAULT) -> Scalar:
    return Scalar("choice", doc, default, options=options)


# -- sites -----------------------------------------------------------------------
RACK = Obj("A rack and its servers.", {
    "name": _name("Rack name, unique in the topology."),
    "servers": AnyOf("A number of servers (named <rack>-s1, ...) or a list of server names.", (
        _integer("Number of servers.", 1, MAX_SERVERS),
        Seq("Server names.", _name("Server name, unique in the topology.")),
    )),
}, required=("name", "servers"))

DATACENTER = Obj("A datacenter (a Kubernetes zone by default).", {
    "name": _name("Datacenter name, unique in the topology."),
    "racks": AnyOf("A number of racks (named <dc>-r1, ... with serversPerRack servers each) or a list of racks.", (
        _integer("Number of racks.", 1, MAX_SERVERS),
        Seq("The racks.", RACK),
    )),
    "serversPerRack": _integer("Servers in each rack when racks is a count.", 1, MAX_SERVERS),
}, required=("name", "racks"))

REGION = Obj("A region and its datacenters.", {
    "name": _name("Region name, unique in the topology."),
    "datacenters": Seq("The region's datacenters.", DATACENTER),
}, required=("name", "datacenters"))

_NET = Network()
RTT = Obj("Round-trip times inside a region.", {
    "sameServer": _duration("RTT between nodes on one server.", _NET.same_server),
    "sameRack": _duration("RTT between servers in one rack.", _NET.same_rack),
    "sameDatacenter": _duration("RTT between racks in one datacenter.", _NET.same_datacenter),
    "sameRegion": _duration("RTT between datacenters in one region.", _NET.same_region),
})
REGION_RTT = Obj("The RTT between two regions.", {
    "between": Seq("Two region names.", _name("Region name."), min_items=2, max_items=2),
    "rtt": _duration("Round-trip time between the two regions."),
}, required=("between", "rtt"))
NETWORK = Obj("Round-trip times; every pair of regions needs an entry.", {
    "rtt": RTT,
    "regions": Seq("RTTs between regions.", REGION_RTT, min_items=0),
})

# -- nodes -----------------------------------------------------------------------
CAPACITY = Obj("Allocatable capacity of each node.", {
    "cpu": Scalar("quantity", "CPU cores (500m, 2, 0.5).", kind="cpu"),
    "memory": Scalar("quantity", "Memory (512Mi, 64Gi, 1G).", kind="memory"),
    "pods": _integer("Pods per node (kubelet --max-pods).", 1, MAX_PODS, 110),
}, required=("cpu", "memory"))

PLACEMENT_LEVELS = ("region", "datacenter", "rack")
PLACEMENT = AnyOf("spread (over every server), a list of server names, or {region|datacenter|rack: name}.", (
    _choice("Spread over every server.", ("spread",)),
    Seq("One server name per node.", _name("Server name.")),
    Obj("Spread inside one site.", {level: _name(f"A {level} name.") for level in PLACEMENT_LEVELS},
        exactly_one=True),
))

# -- real nodes: names, machines, states; autoscaled pools (kchaos import writes these) ------
NODE_ENTRY = AnyOf("A node's name, or {name, providerID, address, ready, schedulable}.", (
    _name("The node's name (metadata.name)."),
    Obj("One real node.", {
        "name": _name("The node's name (metadata.name)."),
        "providerID": Scalar("string", "spec.providerID: the cloud machine a drill stops (aws:///..., azure:///..., "
                                       "gce://...)."),
        "address": Scalar("string", "The node's InternalIP: where chaosd listens on bare metal."),
        "ready": Scalar("boolean", "false: NotReady; the scheduler never uses it and its pods do not run.", True),
        "schedulable": Scalar("boolean", "false: cordoned or tainted NoSchedule; no pod is placed there.", True),
    }, required=("name",)),
))
NODES = Seq("One entry per node, in placement order: names shown in every output instead of <pool>-N.",
            NODE_ENTRY)

ETCD_DEFAULTS = EtcdTiming()
ETCD = Obj("etcd's Raft timing.", {
    "heartbeatInterval": _duration("--heartbeat-interval.", ETCD_DEFAULTS.heartbeat),
    "electionTimeout": _duration("--election-timeout (at least 5 heartbeats, at most 50s).",
                                 ETCD_DEFAULTS.election_timeout),
    "preVote": Scalar("boolean", "--pre-vote.", ETCD_DEFAULTS.pre_vote),
    "fsync": _duration("WAL fsync time added to each commit.", ETCD_DEFAULTS.fsync, allow_zero=True),
})

LEASE_DEFAULTS = LeaderElectionTiming()
LEADER_ELECTION = Obj("kube-controller-manager and kube-scheduler leader election.", {
    "leaseDuration": _duration("--leader-elect-lease-duration.", LEASE_DEFAULTS.lease_duration),
    "renewDeadline": _duration("--leader-elect-renew-deadline.", LEASE_DEFAULTS.renew_deadline),
    "retryPeriod": _duration("--leader-elect-retry-period.", LEASE_DEFAULTS.retry_period),
})

API_SERVERS = Obj("External-etcd apiservers.", {
    "count": _integer("Number of apiservers.", 1, MAX_NODES, 3),
    "placement": PLACEMENT,
})

CONTROL_PLANE = Obj("The control plane: etcd members, apiservers, controller-manager and scheduler.", {
    "members": _integer("etcd members (1 to 7).", 1, 7, 3),
    "etcdTopology": _choice("stacked: etcd on the control-plane nodes; external: separate etcd nodes.",
                            ("stacked", "external"), "stacked"),
    "placement": PLACEMENT,
    "etcdPlacement": PLACEMENT,
    "apiServers": AnyOf("External topology: a count of apiservers, or {count, placement}.", (
        _integer("Number of apiservers.", 1, MAX_NODES), API_SERVERS)),
    "etcd": ETCD,
    "leaderElection": LEADER_ELECTION,
    "capacity": CAPACITY,
    "excludeFromDisruption": Scalar("boolean", "Control-plane nodes carry node.kubernetes.io/exclude-disruption.",
                                    False),
    "schedulable": Scalar("boolean", "No NoSchedule taint on the control-plane nodes: workloads run on them too "
                                     "(compact clusters).", False),
    "nodes": NODES,
})

AUTOSCALE_DEFAULTS = Autoscale("", 0, 0)
AUTOSCALE = Obj("cluster-autoscaler on this pool (scale-up for unschedulable pods, every 10s scan).", {
    "min": _integer("--nodes min of the node group.", 0, MAX_NODES),
    "max": _integer("--nodes max of the node group: never more nodes than this.", 1, MAX_NODES),
    "provisionDelay": _duration("From the scale-up request to the new node Ready.",
                                AUTOSCALE_DEFAULTS.provision_delay),
    "scaleDownAfter": _duration("--scale-down-unneeded-time for empty nodes (none: no scale-down).",
                                AUTOSCALE_DEFAULTS.scale_down_after, switch_off="none"),
}, required=("max",))

POOL = Obj("A pool of identical worker nodes.", {
    "pool": _name("Pool name; its nodes are <pool>-1, <pool>-2, ..."),
    "count": _integer("Number of nodes.", 1, MAX_NODES),
    "placement": PLACEMENT,
    "capacity": CAPACITY,
    "cost": Scalar("number", "What one node of the pool costs, in your unit (kchaos plan weighs moves by it).", 1.0,
                   lo=0, hi=1e9, lo_open=True),
    "nodes": NODES,
    "autoscale": AUTOSCALE,
}, required=("pool", "count", "capacity"))

# -- workloads -------------------------------------------------------------------
REQUESTS = Obj("Resource requests of one pod.", {
    "cpu": Scalar("quantity", "CPU request.", 0.0, kind="cpu", allow_zero=True),
    "memory": Scalar("quantity", "Memory request.", 0.0, kind="memory", allow_zero=True),
})

SPREAD = Obj("A topologySpreadConstraint.", {
    "over": _choice("Topology level (topologyKey).", SPREAD_LEVELS),
    "maxSkew": _integer("maxSkew.", 1, MAX_PODS, 1),
    "whenUnsatisfiable": _choice("whenUnsatisfiable.", ("DoNotSchedule", "ScheduleAnyway"), "DoNotSchedule"),
    "nodeTaintsPolicy": _choice("nodeTaintsPolicy.", ("Ignore", "Honor"), "Ignore"),
}, required=("over",))

STRATEGY = Obj("Deployment RollingUpdate strategy (rollouts: kubernetes.rolloutInterval).", {
    "maxSurge": Scalar("count_or_percent", "Extra pods during a rollout (a number or '25%', rounded up, over 100% "
                                           "allowed); default 25%.", hi=float("inf")),
    "maxUnavailable": Scalar("count_or_percent", "Pods that may be unavailable during a rollout (a number or "
                                                 "'25%', rounded down); default 25%."),
})

#: Levels of a pod (anti-)affinity term: host is kubernetes.io/hostname (the node itself).
AFFINITY_LEVELS = ("host",) + SPREAD_LEVELS
AFFINITY_TERM = Obj("A pod (anti-)affinity term.", {
    "over": _choice("Topology level (topologyKey); host: kubernetes.io/hostname.", AFFINITY_LEVELS),
    "workloads": Seq("The workloads whose pods the term selects (default: this one).", _name("A workload name.")),
    "required": Scalar("boolean", "requiredDuringSchedulingIgnoredDuringExecution (default unless weight is given).",
                       True),
    "weight": _integer("preferredDuringSchedulingIgnoredDuringExecution with this weight.", 1, 100),
}, required=("over",))

WORKLOAD = Obj("A Deployment, StatefulSet or DaemonSet.", {
    "name": _name("Workload name."),
    "kind": _choice("Workload kind.", WORKLOAD_KINDS),
    "replicas": _integer("Replicas (not for a DaemonSet).", 1, MAX_PODS, 1),
    "requests": REQUESTS,
    "minAvailable": Scalar("count_or_percent", "Pods that must be ready for the workload to count as up "
                                               "(a number or '66%'); default 1."),
    "spreadOver": _choice("Shorthand for spread: {over: level}.", SPREAD_LEVELS),
    "spread": SPREAD,
    "volumeScope": _choice("StatefulSet: where each pod's volume lives (it can only run there).", SPREAD_LEVELS),
    "strategy": STRATEGY,
    "namespace": _name("The workload's namespace (drills and observe name its pods namespace/name)."),
    "antiAffinity": Seq("Required or preferred pod anti-affinity terms.", AFFINITY_TERM),
    "affinity": Seq("Required or preferred pod affinity terms.", AFFINITY_TERM),
}, required=("name", "kind"))

# -- failures ----------------------------------------------------------------------
#: Shaped distributions: parameter, its range (lower bound open for lognormal) and an example.
SHAPED = {"weibull": ("shape", 0.1, 20.0, "{weibull: {shape: 1.3}}"),
          "lognormal": ("sigma", 0.0, 5.0, "{lognormal: {sigma: 1.0}}")}
DISTRIBUTION = AnyOf("exponential, fixed, {weibull: {shape: k}} or {lognormal: {sigma: s}}; mean from mtbf/mttr.", (
    _choice("A distribution without a shape parameter.", ("exponential", "fixed")),
    *(Obj(f"A {kind} distribution.", {kind: Obj(f"{kind} parameters.", {
        param: Scalar("number", f"{kind} {param}.", lo=lo, hi=hi, lo_open=kind == "lognormal")},
        required=(param,))}, required=(kind,)) for kind, (param, lo, hi, _) in SHAPED.items()),
))


NO_FAILURES = Scalar("none_word", "none: this kind never fails.")


def _failure(kind: str) -> AnyOf:
    mtbf, mttr = DEFAULT_FAILURES[kind]
    return AnyOf(f"{kind} failures: {{mtbf, mttr, ttf, ttr}} or none.", (
        NO_FAILURES,
        Obj(f"How often a {kind} fails and how long it stays down.", {
            "mtbf": Scalar("duration_range", "Mean time between failures; uncertain: a range low..high "
                                             "(100y..400y), its geometric middle the nominal value.", mtbf),
            "mttr": Scalar("duration_range", "Mean time to repair; uncertain: a range low..high (2h..8h).", mttr),
            "ttf": DISTRIBUTION,
            "ttr": DISTRIBUTION,
        }),
    ))


FAILURES = Obj("Failure and repair rates per kind of failure domain.", {kind: _failure(kind) for kind in FAILURE_KINDS})

# -- kubernetes, slo -----------------------------------------------------------------
#: Levels whose domains can be the `topology.kubernetes.io/zone` of the node lifecycle controller.
ZONE_LEVELS = ("region", "datacenter", "rack", "none")
K8S_DEFAULTS = KubernetesTiming()
KUBERNETES = Obj("Kubernetes timings and kube-controller-manager flags.", {
    "nodeMonitorGracePeriod": _duration("--node-monitor-grace-period.", K8S_DEFAULTS.node_monitor_grace_period),
    "notReadyToleration": _duration("tolerationSeconds for node.kubernetes.io/not-ready and unreachable.",
                                    K8S_DEFAULTS.not_ready_toleration, allow_zero=True),
    "podStartup": _duration("Time from scheduling to Ready.", K8S_DEFAULTS.pod_startup, allow_zero=True),
    "rolloutInterval": _duration("How often Deployments roll out (none: never).", K8S_DEFAULTS.rollout_interval,
                                 switch_off="none"),
    "zoneLevel": _choice("Level of topology.kubernetes.io/zone (none: one zone).", ZONE_LEVELS,
                         K8S_DEFAULTS.zone_level),
    "nodeEvictionRate": Scalar("number", "--node-eviction-rate (nodes per second per zone).",
                               K8S_DEFAULTS.node_eviction_rate, lo=0, hi=1000, lo_open=True),
    "secondaryNodeEvictionRate": Scalar("number", "--secondary-node-eviction-rate.",
                                        K8S_DEFAULTS.secondary_node_eviction_rate, lo=0, hi=1000),
    "unhealthyZoneThreshold": Scalar("number", "--unhealthy-zone-threshold.",
                                     K8S_DEFAULTS.unhealthy_zone_threshold, lo=0, hi=1),
    "largeClusterSizeThreshold": _integer("--large-cluster-size-threshold.", 0, 1_000_000,
                                          K8S_DEFAULTS.large_cluster_size_threshold),
    "outOfServiceAfter": _duration("Time after which an operator taints a dead node out-of-service (none: never).",
                                   K8S_DEFAULTS.out_of_service_after, allow_zero=True, switch_off="none"),
})

SLO = Obj("Availability targets checked by kchaos check (null switches a target off).", {
    "controlPlane": Scalar("percent_target", "API availability target in percent.", DEFAULT_SLO.control_plane,
                           switch_off="null"),
    "workloads": Map("Availability target per workload, in percent.",
                     Scalar("percent_target", "Target in percent.")),
    "maxNodeUtilization": Scalar("fraction", "Highest acceptable node utilisation after a failure.",
                                 DEFAULT_SLO.max_node_utilization, switch_off="null"),
    "maxPendingPods": _integer("Most Pending pods acceptable at any time.", 0, MAX_PODS, None, switch_off="null"),
    "survive": AnyOf("Levels whose every single domain loss the cluster must survive (N-1): a level or a list.", (
        _choice("One level.", SPREAD_LEVELS),
        Seq("Levels.", _choice("A level.", SPREAD_LEVELS), min_items=0),
    )),
})

#: Levels a rolling upgrade can take as one batch (every node of one such domain at a time).
BATCH_LEVELS = ("server", "rack", "datacenter")
MAINTENANCE = Obj("Rolling upgrades: cordon, drain, reboot and uncordon every node once per period.", {
    "every": _duration("One full rolling upgrade per period (e.g. 30d)."),
    "batch": AnyOf("Nodes at a time: a number, a percentage of the workers ('10%'), or a level "
                   "(every node of one server, rack or datacenter).", (
                       _integer("Nodes per batch.", 1, MAX_NODES),
                       Scalar("percent_share", "Share of the workers per batch ('10%', rounded up)."),
                       _choice("Every node of one domain of this level per batch.", BATCH_LEVELS),
                   )),
    "perNode": _duration("From drain done to the node back Ready (reboot and upgrade).", 600.0),
    "controlPlane": Scalar("boolean", "Upgrade the control-plane nodes first, one at a time, the etcd leader last.",
                           True),
}, required=("every",))

METADATA = Obj("Name and description.", {
    "name": _name("Cluster name (names the report folder); default: the file name."),
    "description": Scalar("string", "Free text."),
})

TOPOLOGY = Obj("A kchaos topology: the sites, nodes and workloads of one Kubernetes cluster.", {
    "apiVersion": _choice("Format version.", (API_VERSION,)),
    "kind": _choice("Document kind.", (KIND,)),
    "metadata": METADATA,
    "regions": Seq("Regions > datacenters > racks > servers.", REGION),
    "network": NETWORK,
    "controlPlane": CONTROL_PLANE,
    "workers": Seq("Worker pools.", POOL, min_items=0),
    "workloads": Seq("What runs on the workers.", WORKLOAD, min_items=0),
    "failures": FAILURES,
    "kubernetes": KUBERNETES,
    "slo": SLO,
    "maintenance": MAINTENANCE,
}, required=("apiVersion", "kind", "regions"))


def walk(node: Node, path: str = "") -> list[tuple[str, Node]]:
    """Every declaration under ``node`` with its dotted path (``[]`` for list items, ``|`` alternatives)."""
    found: list[tuple[str, Node]] = [(path, node)]
    if isinstance(node, Obj):
        for key, child in node.fields.items():
            found += walk(child, f"{path}.{key}" if path else key)
    elif isinstance(node, Seq):
        found += walk(node.items, f"{path}[]")
    elif isinstance(node, Map):
        found += walk(node.values, f"{path}.*")
    elif isinstance(node, AnyOf):
        for option in node.options:
            found += walk(option, path)
    return found
