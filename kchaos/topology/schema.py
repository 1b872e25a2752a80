"""Validate a parsed topology and turn it into a :class:`Spec`, filling defaults.

Every section is checked even after an error elsewhere, so one run reports
every problem. A :class:`Spec` is returned only when there are none; the
placement of nodes onto servers happens afterwards in :mod:`.build`.
Defaults are the values of the example in the topology spec (topology.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from kchaos.model.cluster import (
    FAILURE_KINDS,
    Capacity,
    Distribution,
    Domain,
    EtcdTiming,
    FailureSpec,
    KubernetesTiming,
    LeaderElectionTiming,
    Network,
    Slo,
    Spread,
    Workload,
)
from kchaos.topology import units
from kchaos.topology.checker import MISSING, Checker, describe, format_path, known_list, suggest
from kchaos.topology.units import format_duration
from kchaos.topology.yamlsafe import Path

API_VERSION = "kchaos/v1alpha1"
KIND = "Topology"

#: Hard limits: checked on the declared counts, before anything is allocated.
MAX_SERVERS = 100_000
MAX_NODES = 20_000
MAX_PODS = 1_000_000

#: Levels a workload can spread over or bind its volumes to.
SPREAD_LEVELS = ("server", "rack", "datacenter", "region")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")

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

_TOP_KEYS = ("apiVersion", "kind", "metadata", "regions", "network", "controlPlane", "workers",
             "workloads", "failures", "kubernetes", "slo")
_DOMAIN_KINDS = ("region", "datacenter", "rack", "server")


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


@dataclass
class Spec:
    """Everything in the file, validated, defaults filled; nodes not yet placed."""

    name: str
    description: str
    domains: list[Domain]  # regions, datacenters, racks, servers (in that order)
    servers: list[int]
    network: Network
    etcd_topology: str
    etcd: EtcdTiming
    leader_election: LeaderElectionTiming
    kubernetes: KubernetesTiming
    groups: list[Group]
    workloads: list[Workload]
    failures: dict[str, FailureSpec]
    slo: Slo


@dataclass
class _Site:
    kind: str
    name: str
    parent: int | None  # position in the parent kind's list
    line: int | None
    index: int = -1  # domain index, assigned once all sites are known


@dataclass
class _State:
    sites: dict[str, list[_Site]] = field(default_factory=lambda: {k: [] for k in _DOMAIN_KINDS})
    names: dict[str, _Site] = field(default_factory=dict)
    server_total: int = 0
    too_many_servers: bool = False
    names_ok: bool = True  # every declared name is valid (references can be checked)
    bad_kinds: set[str] = field(default_factory=set)  # kinds with an invalid or repeated name


def validate(data: Any, checker: Checker, default_name: str) -> Spec | None:
    """Check everything; return the Spec, or None when ``checker`` holds problems."""
    return _Validator(checker, default_name).run(data)


class _Validator:
    def __init__(self, checker: Checker, default_name: str):
        self.c = checker
        self.default_name = default_name
        self.s = _State()
        self.workload_names: dict[str, int | None] = {}  # valid names -> line

    # -- top level ---------------------------------------------------------
    def run(self, data: Any) -> Spec | None:
        c = self.c
        if not isinstance(data, dict):
            c.error((), f"the top level must be a mapping (apiVersion, kind, regions, ...), got {describe(data)}")
            return None
        top = c.mapping(data, (), _TOP_KEYS)
        assert top is not None
        api_ok = self.header(top)
        if not api_ok:
            return None
        name, description = self.metadata(top.get("metadata", MISSING))
        self.hierarchy(top)
        network = self.network(top.get("network", MISSING))
        etcd_topology, etcd, election, cp_groups = self.control_plane(top.get("controlPlane", MISSING))
        pools = self.workers(top.get("workers", MISSING), cp_groups)
        groups = cp_groups + pools
        if all(g.count is not None for g in groups):
            total = sum(g.count or 0 for g in groups)
            if total > MAX_NODES:
                c.error(("workers",) if "workers" in top else ("controlPlane",),
                        f"the topology declares {total} nodes; kchaos handles at most {MAX_NODES}")
        n_workers = sum(g.count or 0 for g in pools)
        workloads = self.workloads(top.get("workloads", MISSING), n_workers)
        failures = self.failures(top.get("failures", MISSING))
        kubernetes = self.kubernetes(top.get("kubernetes", MISSING))
        slo = self.slo(top.get("slo", MISSING))
        if c.problems:
            return None
        sites = self.s.sites
        return Spec(
            name=name, description=description,
            domains=[Domain(site.index, site.kind, site.name, self._parent_index(site), line=site.line)
                     for kind in _DOMAIN_KINDS for site in sites[kind]],
            servers=[site.index for site in sites["server"]],
            network=network, etcd_topology=etcd_topology, etcd=etcd, leader_election=election,
            kubernetes=kubernetes, groups=groups, workloads=workloads, failures=failures, slo=slo,
        )

    def header(self, top: dict[str, Any]) -> bool:
        """apiVersion and kind. An unknown apiVersion stops the checks: the rest may mean something else."""
        c = self.c
        api = top.get("apiVersion", MISSING)
        ok = True
        if api is MISSING:
            c.error(("apiVersion",), f"is required: apiVersion: {API_VERSION}")
        elif not isinstance(api, str):
            c.error(("apiVersion",), f"must be {API_VERSION}, got {describe(api)}")
            ok = False
        elif api != API_VERSION:
            c.error(("apiVersion",), f"unsupported apiVersion {describe(api)}; supported: {API_VERSION}")
            ok = False
        kind = top.get("kind", MISSING)
        if kind is MISSING:
            c.error(("kind",), f"is required: kind: {KIND}")
        elif not isinstance(kind, str):
            c.error(("kind",), f"must be {KIND}, got {describe(kind)}")
        elif kind != KIND:
            c.error(("kind",), f"unknown kind {describe(kind)}; expected {KIND}")
        return ok

    def metadata(self, value: Any) -> tuple[str, str]:
        c, path = self.c, ("metadata",)
        if value is MISSING or value is None:
            return self.default_name, ""
        meta = c.mapping(value, path, ("name", "description"))
        name = c.get(meta, path, "name", self.cluster_name, default=self.default_name)
        description = c.get(meta, path, "description", c.string, default="")
        return name or self.default_name, description or ""

    def cluster_name(self, value: Any, path: Path) -> str | None:
        name = self.c.name(value, path)
        if name is not None and (name in (".", "..") or ".." in name):
            self.c.error(path, f"must not contain '..' (it names the report directory), got {describe(name)}")
            return None
        return name

    # -- regions > datacenters > racks > servers ---------------------------
    def hierarchy(self, top: dict[str, Any]) -> None:
        c = self.c
        if "regions" not in top:
            c.error(("regions",), "is required: the regions, datacenters, racks and servers the cluster runs on")
            self.s.names_ok = False
            return
        regions = c.sequence(top["regions"], ("regions",), "regions")
        if regions is None:
            self.s.names_ok = False
        for i, region in enumerate(regions or []):
            path = ("regions", i)
            m = c.mapping(region, path, ("name", "datacenters"), required=("name", "datacenters"))
            pos = self.site("region", m, path, None)
            dcs = c.get(m, path, "datacenters", c.sequence, what="datacenters")
            if dcs is None:
                self.s.names_ok = False
            for j, dc in enumerate(dcs or []):
                if not self.datacenter(dc, path + ("datacenters", j), pos):
                    self.s.names_ok = False  # some servers are unknown: references cannot be checked
        offset = 0
        for kind in _DOMAIN_KINDS:
            for pos, site in enumerate(self.s.sites[kind]):
                site.index = offset + pos
            offset += len(self.s.sites[kind])

    def datacenter(self, value: Any, path: Path, region: int) -> bool:
        """Read one datacenter with its racks and servers; False if some servers could not be read."""
        c = self.c
        m = c.mapping(value, path, ("name", "racks", "serversPerRack"), required=("name", "racks"))
        pos = self.site("datacenter", m, path, region)
        if m is None or "racks" not in m:
            return False
        racks, rpath = m["racks"], path + ("racks",)
        if isinstance(racks, list):
            if "serversPerRack" in m:
                c.error(path + ("serversPerRack",),
                        "only applies when racks is a count; give each listed rack its servers")
            if not racks:
                c.error(rpath, "must list at least one rack")
            complete = True
            for k, rack in enumerate(racks):
                q = rpath + (k,)
                rm = c.mapping(rack, q, ("name", "servers"), required=("name", "servers"))
                rack_pos = self.site("rack", rm, q, pos)
                if rm is None or "servers" not in rm:
                    complete = False
                    continue
                complete &= self.servers(rm["servers"], q + ("servers",), rack_pos)
            return complete
        if isinstance(racks, (dict, str)) or racks is None:
            c.error(rpath, f"must be a number of racks or a list of racks, got {describe(racks)}")
            count = None
        else:
            count = c.integer(racks, rpath, lo=1, hi=MAX_SERVERS)
        if "serversPerRack" not in m:
            c.error(path + ("serversPerRack",), "is required when racks is a count (e.g. racks: 2, serversPerRack: 4)")
            return False
        per_rack = c.integer(m["serversPerRack"], path + ("serversPerRack",), lo=1, hi=MAX_SERVERS)
        if count is None or per_rack is None or not self.add_servers(count * per_rack, rpath):
            return False
        dc_name = self.s.sites["datacenter"][pos].name
        line = c.line(rpath)
        for k in range(1, count + 1):
            rack_name = f"{dc_name}-r{k}"
            rack_pos = self.add_site("rack", rack_name, pos, rpath, line)
            for n in range(1, per_rack + 1):
                self.add_site("server", f"{rack_name}-s{n}", rack_pos, rpath, line)
        return True

    def servers(self, value: Any, path: Path, rack: int) -> bool:
        """Read a rack's servers (a count or a list of names); False if they could not be read."""
        c = self.c
        if isinstance(value, list):
            if not value:
                c.error(path, "must list at least one server")
            if not self.add_servers(len(value), path):
                return False
            for k, item in enumerate(value):
                name = c.name(item, path + (k,))
                self.add_site("server", name, rack, path + (k,), c.line(path + (k,)))
            return True
        if isinstance(value, (dict, str)) or value is None:
            c.error(path, f"must be a number of servers or a list of server names, got {describe(value)}")
            return False
        count = c.integer(value, path, lo=1, hi=MAX_SERVERS)
        if count is None or not self.add_servers(count, path):
            return False
        rack_name = self.s.sites["rack"][rack].name
        line = c.line(path)
        for n in range(1, count + 1):
            self.add_site("server", f"{rack_name}-s{n}", rack, path, line)
        return True

    def add_servers(self, count: int, path: Path) -> bool:
        """Count servers before creating them; refuse absurd totals."""
        s = self.s
        if s.too_many_servers:
            return False
        s.server_total += count
        if s.server_total > MAX_SERVERS:
            s.too_many_servers = True
            self.c.error(path, f"the topology declares more than {MAX_SERVERS} servers; "
                               "kchaos handles at most that many")
            return False
        return True

    def site(self, kind: str, m: dict[str, Any] | None, path: Path, parent: int | None) -> int:
        """Register the region / datacenter / rack declared by mapping ``m``; return its position."""
        name = None
        if m is not None and "name" in m:
            name = self.c.name(m["name"], path + ("name",))
        return self.add_site(kind, name, parent, path + ("name",), self.c.line(path + ("name",)))

    def add_site(self, kind: str, name: str | None, parent: int | None, path: Path, line: int | None) -> int:
        s = self.s
        sites = s.sites[kind]
        site = _Site(kind, name or f"<{kind} {len(sites) + 1}>", parent, line)
        sites.append(site)
        if name is None:
            s.names_ok = False
            s.bad_kinds.add(kind)
        elif name in s.names:
            other = s.names[name]
            first, second = sorted([(other.line or 0, other.kind), (line or 0, kind)])
            where = f"lines {first[0]} and {second[0]}" if first[0] != second[0] else f"both on line {line}"
            kinds = f": a {first[1]} and a {second[1]}" if other.kind != kind else ""
            self.c.error(path, f"name '{name}' is used twice ({where}{kinds})", line=line)
            s.bad_kinds.update((kind, other.kind))
        else:
            s.names[name] = site
        return len(sites) - 1

    def _parent_index(self, site: _Site) -> int | None:
        if site.parent is None:
            return None
        up = _DOMAIN_KINDS[_DOMAIN_KINDS.index(site.kind) - 1]
        return self.s.sites[up][site.parent].index

    def resolve(self, value: Any, path: Path, kind: str) -> int | None:
        """The domain index of the ``kind`` named ``value``; an error naming what is known otherwise."""
        c = self.c
        if not isinstance(value, str):
            c.error(path, f"must be a {kind} name, got {describe(value)}")
            return None
        site = self.s.names.get(value)
        if site is not None and site.kind == kind:
            return site.index
        if site is not None:
            c.error(path, f"'{value}' is a {site.kind}, not a {kind}")
            return None
        if not self.s.names_ok:
            return None  # a declared name is invalid: the reference may be to it; already reported
        known = [site.name for site in self.s.sites[kind] if self.s.names.get(site.name) is site]
        hint = suggest(value, known) if len(known) <= 5000 else None
        c.error(path, f"unknown {kind} '{value}' (referenced in {format_path(path)}); "
                      + (f"did you mean '{hint}'? " if hint else "")
                      + f"known {kind}s: {known_list(known)}")
        return None

    # -- network -----------------------------------------------------------
    def network(self, value: Any) -> Network:
        c, path = self.c, ("network",)
        net = None if value is MISSING or value is None else c.mapping(value, path, ("rtt", "regions"))
        rtt_path = path + ("rtt",)
        rtt = c.get(net, path, "rtt", c.mapping,
                    keys=("sameServer", "sameRack", "sameDatacenter", "sameRegion"))
        default = Network()
        same = {key: c.get(rtt, rtt_path, key, c.duration, default=getattr(default, attr)) or getattr(default, attr)
                for key, attr in (("sameServer", "same_server"), ("sameRack", "same_rack"),
                                  ("sameDatacenter", "same_datacenter"), ("sameRegion", "same_region"))}
        region_rtt: dict[tuple[int, int], float] = {}
        pair_lines: dict[tuple[int, int], int | None] = {}
        entries = c.get(net, path, "regions", c.sequence, what="{between: [a, b], rtt: 8ms} entries",
                        allow_empty=True)
        for i, entry in enumerate(entries or []):
            q = path + ("regions", i)
            m = c.mapping(entry, q, ("between", "rtt"), required=("between", "rtt"))
            if m is None:
                continue
            rtt_value = c.get(m, q, "rtt", c.duration)
            between = m.get("between", MISSING)
            if between is MISSING:
                continue
            if not isinstance(between, list) or len(between) != 2:
                c.error(q + ("between",), f"must be a list of two region names, got {describe(between)}")
                continue
            a, b = (self.resolve(name, q + ("between", k), "region") for k, name in enumerate(between))
            if a is None or b is None:
                continue
            if a == b:
                c.error(q + ("between",), f"names region '{between[0]}' twice; an RTT is between two regions")
                continue
            key = (min(a, b), max(a, b))
            if key in pair_lines:
                c.error(q, f"the RTT between '{between[0]}' and '{between[1]}' is given twice "
                           f"(lines {pair_lines[key]} and {c.line(q)})")
                continue
            pair_lines[key] = c.line(q)
            if rtt_value is not None:
                region_rtt[key] = rtt_value
        self.missing_rtts(pair_lines, net)
        return Network(same["sameServer"], same["sameRack"], same["sameDatacenter"], same["sameRegion"], region_rtt)

    def missing_rtts(self, given: dict[tuple[int, int], int | None], net: dict[str, Any] | None) -> None:
        if "region" in self.s.bad_kinds or not self.s.sites["region"]:
            return
        regions = self.s.sites["region"]
        missing = [(a, b) for i, a in enumerate(regions) for b in regions[i + 1:] if (a.index, b.index) not in given]
        path = ("network", "regions") if net is not None and "regions" in net else ("network",)
        for a, b in missing[:10]:
            self.c.error(path, f"no RTT between regions '{a.name}' and '{b.name}'; "
                               f"add {{between: [{a.name}, {b.name}], rtt: 8ms}}")
        if len(missing) > 10:
            self.c.error(path, f"... and {len(missing) - 10} more region pairs without an RTT "
                               f"(every pair of regions must be listed)")

    # -- control plane -----------------------------------------------------
    def control_plane(self, value: Any) -> tuple[str, EtcdTiming, LeaderElectionTiming, list[Group]]:
        c, path = self.c, ("controlPlane",)
        keys = ("members", "etcdTopology", "placement", "etcdPlacement", "apiServers", "etcd",
                "leaderElection", "capacity")
        cp = {} if value is MISSING or value is None else c.mapping(value, path, keys)
        members = c.get(cp, path, "members", c.integer, default=3, lo=1, hi=7)
        topology = c.get(cp, path, "etcdTopology", c.choice, default="stacked", options=("stacked", "external"))
        capacity = c.get(cp, path, "capacity", self.capacity, default=CONTROL_PLANE_CAPACITY)
        etcd = self.etcd(cp.get("etcd", MISSING) if cp else MISSING)
        election = self.leader_election(cp.get("leaderElection", MISSING) if cp else MISSING)
        groups: list[Group] = []
        cp = cp or {}
        if topology == "external":
            if "placement" in cp:
                c.error(path + ("placement",), "with etcdTopology: external, use etcdPlacement for the etcd members "
                                               "and apiServers.placement for the apiservers")
            groups.append(self.group(
                "etcd", "etcd", members, capacity, cp.get("etcdPlacement", "spread"), path + ("etcdPlacement",),
                "members", runs_etcd=True))
            api, api_path = cp.get("apiServers", 3), path + ("apiServers",)
            if isinstance(api, dict):
                am = c.mapping(api, api_path, ("count", "placement")) or {}
                count = c.get(am, api_path, "count", c.integer, default=3, lo=1, hi=MAX_NODES)
                groups.append(self.group("apiserver", "apiserver", count, capacity, am.get("placement", "spread"),
                                         api_path + ("placement",), "count", runs_apiserver=True))
            else:
                count = c.integer(api, api_path, lo=1, hi=MAX_NODES) if not isinstance(api, str) else None
                if isinstance(api, str):
                    c.error(api_path, f"must be a count or {{count, placement}}, got {describe(api)}")
                groups.append(self.group("apiserver", "apiserver", count, capacity, "spread", api_path, "count",
                                         runs_apiserver=True))
        else:  # stacked, or invalid (already reported): still check the placement
            for key in ("etcdPlacement", "apiServers"):
                if key in cp and topology == "stacked":
                    c.error(path + (key,), "only applies with etcdTopology: external")
            groups.append(self.group(
                "cp", "control-plane", members, capacity, cp.get("placement", "spread"), path + ("placement",),
                "members", runs_etcd=True, runs_apiserver=True))
        return topology or "stacked", etcd, election, groups

    def etcd(self, value: Any) -> EtcdTiming:
        c, path = self.c, ("controlPlane", "etcd")
        if value is MISSING or value is None:
            return EtcdTiming()
        m = c.mapping(value, path, ("heartbeatInterval", "electionTimeout", "preVote", "fsync"))
        d = EtcdTiming()
        heartbeat = c.get(m, path, "heartbeatInterval", c.duration, default=d.heartbeat)
        election = c.get(m, path, "electionTimeout", c.duration, default=d.election_timeout)
        pre_vote = c.get(m, path, "preVote", c.boolean, default=d.pre_vote)
        fsync = c.get(m, path, "fsync", c.duration, default=d.fsync, allow_zero=True)
        if heartbeat is not None and election is not None:
            where = path + ("electionTimeout",) if m and "electionTimeout" in m else path + ("heartbeatInterval",)
            if election < 5 * heartbeat:
                c.error(where, f"electionTimeout ({format_duration(election)}) must be at least 5 x heartbeatInterval "
                               f"({format_duration(5 * heartbeat)}); etcd refuses to start otherwise")
            elif election > 50:
                c.error(where, f"must be at most 50s (etcd's limit), got {format_duration(election)}")
        return EtcdTiming(heartbeat or d.heartbeat, election or d.election_timeout,
                          d.pre_vote if pre_vote is None else pre_vote, d.fsync if fsync is None else fsync)

    def leader_election(self, value: Any) -> LeaderElectionTiming:
        c, path = self.c, ("controlPlane", "leaderElection")
        d = LeaderElectionTiming()
        if value is MISSING or value is None:
            return d
        m = c.mapping(value, path, ("leaseDuration", "renewDeadline", "retryPeriod"))
        lease = c.get(m, path, "leaseDuration", c.duration, default=d.lease_duration)
        renew = c.get(m, path, "renewDeadline", c.duration, default=d.renew_deadline)
        retry = c.get(m, path, "retryPeriod", c.duration, default=d.retry_period)
        if lease is not None and renew is not None and lease <= renew:
            c.error(path + ("leaseDuration",), f"must be longer than renewDeadline ({format_duration(renew)}); "
                                               "client-go's leader election refuses it otherwise")
        if renew is not None and retry is not None and renew <= 1.2 * retry:
            c.error(path + ("renewDeadline",),
                    f"must be longer than 1.2 x retryPeriod ({format_duration(1.2 * retry)}); "
                    "client-go's leader election refuses it otherwise")
        return LeaderElectionTiming(lease or d.lease_duration, renew or d.renew_deadline, retry or d.retry_period)

    def capacity(self, value: Any, path: Path) -> Capacity | None:
        c = self.c
        m = c.mapping(value, path, ("cpu", "memory", "pods"), required=("cpu", "memory"))
        if m is None:
            return None
        cpu = c.get(m, path, "cpu", c.quantity, kind="cpu", allow_zero=False)
        memory = c.get(m, path, "memory", c.quantity, kind="memory", allow_zero=False)
        pods = c.get(m, path, "pods", c.integer, default=110, lo=1, hi=MAX_PODS)
        if memory is not None and memory < 2**20:
            c.error(path + ("memory",), f"{describe(m['memory'])} is only {memory:g} bytes; "
                                        f"add a suffix, e.g. '{m['memory']}Gi'")
            return None
        if cpu is None or memory is None or pods is None:
            return None
        return Capacity(cpu, memory, pods)

    def group(self, prefix: str, role: str, count: int | None, capacity: Capacity | None, placement: Any,
              path: Path, count_name: str, pool: str | None = None, runs_etcd: bool = False,
              runs_apiserver: bool = False) -> Group:
        """A group of ``count`` nodes and its placement: spread, a server list, or {level: domain}."""
        c = self.c
        group = Group(prefix, role, count, capacity or CONTROL_PLANE_CAPACITY, pool=pool, runs_etcd=runs_etcd,
                      runs_apiserver=runs_apiserver, line=c.line(path[:-1]))
        if placement == "spread":
            return group
        if isinstance(placement, list):
            servers = [self.resolve(name, path + (k,), "server") for k, name in enumerate(placement)]
            if count is not None and len(placement) != count:
                count_path = path[:-1] + (count_name,)
                note = (f" (set by an override; override {format_path(path)} to 'spread' as well to compare sizes)"
                        if count_path in c.overridden else "")
                c.error(path, f"lists {len(placement)} server{'s' if len(placement) != 1 else ''} "
                              f"but {count_name} is {count}{note}")
            if all(s is not None for s in servers):
                group.servers = servers  # type: ignore[assignment]
            return group
        if isinstance(placement, dict):
            m = c.mapping(placement, path, ("region", "datacenter", "rack"), what="a placement")
            if m is not None and len(m) != 1:
                c.error(path, "must name exactly one of region, datacenter or rack, e.g. {datacenter: kc-1}")
            elif m:
                (level, name), = m.items()
                if level in ("region", "datacenter", "rack"):
                    group.within = self.resolve(name, path + (level,), level)
            return group
        hint = suggest(placement, ["spread"]) if isinstance(placement, str) else None
        c.error(path, "must be spread, a list of servers, or {region|datacenter|rack: name}; got "
                      f"{describe(placement)}" + (f" (did you mean '{hint}'?)" if hint else ""))
        return group

    # -- workers -----------------------------------------------------------
    def workers(self, value: Any, cp_groups: list[Group]) -> list[Group]:
        c, path = self.c, ("workers",)
        if value is MISSING or value is None:
            return []
        pools = c.sequence(value, path, "worker pools", allow_empty=True) or []
        groups: list[Group] = []
        seen: dict[str, int | None] = {}
        reserved = {g.prefix for g in cp_groups}
        for i, pool in enumerate(pools):
            q = path + (i,)
            m = c.mapping(pool, q, ("pool", "count", "placement", "capacity"), required=("pool", "count", "capacity"))
            if m is None:
                continue
            name = c.get(m, q, "pool", c.name)
            if name is not None:
                if name in seen:
                    c.error(q + ("pool",),
                            f"pool '{name}' is defined twice (lines {seen[name]} and {c.line(q + ('pool',))})")
                elif name in reserved:
                    c.error(q + ("pool",), f"pool '{name}' would name its nodes {name}-1, {name}-2, ... like the "
                                           "control plane's; choose another name")
                seen.setdefault(name, c.line(q + ("pool",)))
            count = c.get(m, q, "count", c.integer, lo=1, hi=MAX_NODES)
            capacity = c.get(m, q, "capacity", self.capacity)
            groups.append(self.group(name or f"pool{i}", "worker", count, capacity, m.get("placement", "spread"),
                                     q + ("placement",), "count", pool=name))
        return groups

    # -- workloads ---------------------------------------------------------
    def workloads(self, value: Any, n_workers: int) -> list[Workload]:
        c, path = self.c, ("workloads",)
        if value is MISSING or value is None:
            return []
        items = c.sequence(value, path, "workloads", allow_empty=True) or []
        keys = ("name", "kind", "replicas", "requests", "minAvailable", "spreadOver", "spread", "volumeScope")
        result: list[Workload] = []
        seen = self.workload_names
        pods = 0
        for i, item in enumerate(items):
            q = path + (i,)
            m = c.mapping(item, q, keys, required=("name", "kind"))
            if m is None:
                continue
            name = c.get(m, q, "name", c.name)
            if name is not None and name in seen:
                c.error(q + ("name",),
                        f"workload '{name}' is defined twice (lines {seen[name]} and {c.line(q + ('name',))})")
            elif name is not None:
                seen[name] = c.line(q + ("name",))
            kind = c.get(m, q, "kind", c.choice, options=WORKLOAD_KINDS)
            if kind == "DaemonSet":
                if "replicas" in m:
                    c.error(q + ("replicas",), "a DaemonSet runs one pod per worker node; remove replicas")
                replicas: int | None = n_workers
            else:
                replicas = c.get(m, q, "replicas", c.integer, default=1, lo=1, hi=MAX_PODS)
            pods += replicas or 0
            requests = c.get(m, q, "requests", c.mapping, default={}, keys=("cpu", "memory")) or {}
            cpu = c.get(requests, q + ("requests",), "cpu", c.quantity, default=0.0, kind="cpu")
            memory = c.get(requests, q + ("requests",), "memory", c.quantity, default=0.0, kind="memory")
            min_count, min_fraction = self.min_available(m, q, kind, replicas, n_workers)
            spread = self.spread(m, q, kind)
            scope = c.get(m, q, "volumeScope", c.choice, options=SPREAD_LEVELS)
            if "volumeScope" in m and kind not in (None, "StatefulSet"):
                c.error(q + ("volumeScope",), "only applies to a StatefulSet (pods bound to their volumes)")
            if name is None or kind is None or replicas is None or cpu is None or memory is None:
                continue
            result.append(Workload(name, kind, replicas, cpu, memory, min_count, min_fraction, spread, scope,
                                   line=c.line(q)))
        if pods > MAX_PODS:
            c.error(path, f"the workloads add up to {pods} pods; kchaos handles at most {MAX_PODS}")
        return result

    def min_available(self, m: dict[str, Any], q: Path, kind: str | None, replicas: int | None,
                      n_workers: int) -> tuple[int | None, float | None]:
        c, path = self.c, q + ("minAvailable",)
        if "minAvailable" not in m:
            return 1, None
        try:
            count, fraction = units.parse_count_or_percent(m["minAvailable"])
        except units.UnitError as err:
            c.error(path, str(err))
            return None, None
        if fraction is not None:
            if not 0 <= fraction <= 1:
                c.error(path, f"must be between 0% and 100%, got {describe(m['minAvailable'])}")
                return None, None
            if kind == "DaemonSet" or replicas is None:
                return None, fraction
            return math.ceil(fraction * replicas - 1e-9), fraction
        assert count is not None
        if count < 0:
            c.error(path, f"must be zero or more, got {count}")
        elif kind == "DaemonSet" and n_workers and count > n_workers:
            c.error(path, f"must be at most the number of worker nodes ({n_workers}), got {count}")
        elif kind != "DaemonSet" and replicas is not None and count > replicas:
            c.error(path, f"must be at most replicas ({replicas}), got {count}: the workload could never be available")
        return count, None

    def spread(self, m: dict[str, Any], q: Path, kind: str | None) -> Spread | None:
        c = self.c
        if "spreadOver" in m and "spread" in m:
            c.error(q + ("spread",), "give either spreadOver (shorthand) or spread, not both")
            return None
        key = "spreadOver" if "spreadOver" in m else "spread" if "spread" in m else None
        if key is None:
            return None
        if kind == "DaemonSet":
            c.error(q + (key,), "does not apply to a DaemonSet: it runs one pod per worker node")
            return None
        if key == "spreadOver":
            over = c.choice(m[key], q + (key,), SPREAD_LEVELS)
            return Spread(over) if over else None
        path = q + ("spread",)
        s = c.mapping(m[key], path, ("over", "maxSkew", "whenUnsatisfiable", "nodeTaintsPolicy"), required=("over",))
        if s is None or "over" not in s:
            return None
        over = c.choice(s["over"], path + ("over",), SPREAD_LEVELS)
        skew = c.get(s, path, "maxSkew", c.integer, default=1, lo=1, hi=MAX_PODS)
        when = c.get(s, path, "whenUnsatisfiable", c.choice, default="DoNotSchedule",
                     options=("DoNotSchedule", "ScheduleAnyway"))
        taints = c.get(s, path, "nodeTaintsPolicy", c.choice, default="Ignore", options=("Ignore", "Honor"))
        if over is None or skew is None or when is None or taints is None:
            return None
        return Spread(over, skew, when, taints)

    # -- failures, kubernetes, slo -----------------------------------------
    def failures(self, value: Any) -> dict[str, FailureSpec]:
        c, path = self.c, ("failures",)
        given = {} if value is MISSING or value is None else c.mapping(value, path, FAILURE_KINDS) or {}
        result: dict[str, FailureSpec] = {}
        for kind in FAILURE_KINDS:
            mtbf, mttr = DEFAULT_FAILURES[kind]
            default_ttr = Distribution("exponential", mttr)
            raw, q = given.get(kind, MISSING), path + (kind,)
            if raw is MISSING:
                result[kind] = FailureSpec(kind, Distribution("exponential", mtbf), default_ttr)
            elif isinstance(raw, str) and raw.lower() == "none":
                result[kind] = FailureSpec(kind, None, default_ttr)
            elif isinstance(raw, dict):
                m = c.mapping(raw, q, ("mtbf", "mttr", "ttf", "ttr"))
                mtbf = c.get(m, q, "mtbf", c.duration, default=mtbf)
                mttr = c.get(m, q, "mttr", c.duration, default=mttr)
                ttf = c.get(m, q, "ttf", self.distribution, default=("exponential", None))
                ttr = c.get(m, q, "ttr", self.distribution, default=("exponential", None))
                if None not in (mtbf, mttr, ttf, ttr):
                    result[kind] = FailureSpec(kind, Distribution(ttf[0], mtbf, ttf[1]),
                                               Distribution(ttr[0], mttr, ttr[1]))
            else:
                c.error(q, f"must be {{mtbf: ..., mttr: ...}} or none, got {describe(raw)}")
        return result

    def distribution(self, value: Any, path: Path) -> tuple[str, float | None] | None:
        """``exponential`` | ``fixed`` | ``{weibull: {shape: k}}`` | ``{lognormal: {sigma: s}}``."""
        c = self.c
        shaped = {"weibull": ("shape", 0.1, 20.0, "{weibull: {shape: 1.3}}"),
                  "lognormal": ("sigma", 0.0, 5.0, "{lognormal: {sigma: 1.0}}")}
        if isinstance(value, str) and value in shaped:
            c.error(path, f"{value} needs a parameter: {shaped[value][3]}")
            return None
        if isinstance(value, str) or not isinstance(value, dict):
            kind = c.choice(value, path, ("exponential", "fixed", "weibull", "lognormal"))
            return (kind, None) if kind else None
        m = c.mapping(value, path, tuple(shaped), what="a distribution")
        if m is None:
            return None
        if len(m) != 1:
            c.error(path, "must name exactly one distribution, e.g. {weibull: {shape: 1.3}}")
            return None
        (kind, params), = m.items()
        if kind not in shaped:
            return None
        param, lo, hi, example = shaped[kind]
        if not isinstance(params, dict):
            c.error(path + (kind,), f"must be {{{param}: ...}} as in {example}, got {describe(params)}")
            return None
        p = c.mapping(params, path + (kind,), (param,), required=(param,))
        if p is None or param not in p:
            return None
        x = c.number(p[param], path + (kind, param), lo=lo, hi=hi, lo_open=kind == "lognormal")
        return (kind, x) if x is not None else None

    def kubernetes(self, value: Any) -> KubernetesTiming:
        c, path = self.c, ("kubernetes",)
        d = KubernetesTiming()
        if value is MISSING or value is None:
            return d
        m = c.mapping(value, path, ("nodeMonitorGracePeriod", "notReadyToleration", "podStartup",
                                    "rolloutInterval"))
        grace = c.get(m, path, "nodeMonitorGracePeriod", c.duration, default=d.node_monitor_grace_period)
        toleration = c.get(m, path, "notReadyToleration", c.duration, default=d.not_ready_toleration,
                           allow_zero=True)
        startup = c.get(m, path, "podStartup", c.duration, default=d.pod_startup, allow_zero=True)
        rollout = m.get("rolloutInterval", MISSING) if isinstance(m, dict) else MISSING
        if isinstance(rollout, str) and rollout.strip().lower() == "none":
            rollout_interval = None
        else:
            rollout_interval = c.get(m, path, "rolloutInterval", c.duration, default=d.rollout_interval)
            rollout_interval = d.rollout_interval if rollout_interval is None else rollout_interval
        return KubernetesTiming(
            grace or d.node_monitor_grace_period,
            d.not_ready_toleration if toleration is None else toleration,
            d.pod_startup if startup is None else startup,
            rollout_interval,
        )

    def slo(self, value: Any) -> Slo:
        c, path = self.c, ("slo",)
        d = DEFAULT_SLO
        if value is MISSING or value is None:
            return Slo(d.control_plane, {}, d.max_node_utilization, d.max_pending_pods)  # a dict of its own
        m = c.mapping(value, path, ("controlPlane", "workloads", "maxNodeUtilization", "maxPendingPods"))
        if m is None:
            return d

        def optional(key: str, reader: Any, default: Any, **kw: Any) -> Any:
            if key in m and m[key] is None:
                return None  # an explicit null switches the target off
            return c.get(m, path, key, reader, default=default, **kw)

        control_plane = optional("controlPlane", c.percent_target, d.control_plane)
        utilization = optional("maxNodeUtilization", c.fraction, d.max_node_utilization)
        pending = optional("maxPendingPods", c.integer, None, lo=0, hi=MAX_PODS)
        targets: dict[str, float] = {}
        raw = m.get("workloads")
        if raw is not None:
            if not isinstance(raw, dict):
                c.error(path + ("workloads",), f"must be a mapping of workload name to percent, got {describe(raw)}")
            else:
                known = list(self.workload_names)
                for name, target in raw.items():
                    q = path + ("workloads", name)
                    if name not in known:
                        hint = suggest(name, known)
                        c.error(q, f"unknown workload '{name}' (referenced in {format_path(q)}); "
                                   + (f"did you mean '{hint}'? " if hint else "")
                                   + (f"known workloads: {known_list(known)}" if known else "no workloads are defined"))
                        continue
                    fraction = c.percent_target(target, q)
                    if fraction is not None:
                        targets[name] = fraction
        return Slo(control_plane, targets, utilization, pending)
