"""The nodes: control plane (etcd, leader election, apiservers), worker pools, their capacity and placement."""

from __future__ import annotations

from typing import Any

from kchaos.model.cluster import Autoscale, Capacity, EtcdTiming, LeaderElectionTiming
from kchaos.topology import definitions as D
from kchaos.topology.checker import MISSING, Checker, describe, format_path, is_none_word, suggest
from kchaos.topology.schema_common import CONTROL_PLANE_CAPACITY, Group, NodeEntry
from kchaos.topology.schema_sites import Sites
from kchaos.topology.units import format_duration
from kchaos.topology.yamlsafe import Path

_API_SERVER_COUNT = D.CONTROL_PLANE.fields["apiServers"].options[0]  # type: ignore[union-attr]
_WITHIN = D.PLACEMENT.options[2]  # {region|datacenter|rack: name}
_NAME_ONLY, _NODE_OBJ = D.NODE_ENTRY.options  # a node's name, or {name, providerID, ...}


class Nodes:
    """Reads the groups of nodes; placements name servers and domains known to ``sites``."""

    def __init__(self, checker: Checker, sites: Sites):
        self.c = checker
        self.sites = sites
        self.exclude_from_disruption = False
        self.node_names: dict[str, Path] = {}  # names given in ``nodes:`` lists -> where

    # -- control plane -----------------------------------------------------
    def control_plane(self, value: Any) -> tuple[str, EtcdTiming, LeaderElectionTiming, list[Group]]:
        c, path = self.c, ("controlPlane",)
        cp = {} if value is MISSING or value is None else c.section(value, path, D.CONTROL_PLANE)
        members = c.field(cp, path, D.CONTROL_PLANE, "members")
        if c.already_reported(path):
            members = None  # the section is misspelt or was dropped (already reported): its size is unknown
        topology = c.field(cp, path, D.CONTROL_PLANE, "etcdTopology")
        capacity = c.get(cp, path, "capacity", self.capacity, default=CONTROL_PLANE_CAPACITY)
        #: node.kubernetes.io/exclude-disruption on control-plane nodes (read by the caller)
        self.exclude_from_disruption = c.field(cp, path, D.CONTROL_PLANE, "excludeFromDisruption") or False
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
                am = c.section(api, api_path, D.API_SERVERS) or {}
                count = c.field(am, api_path, D.API_SERVERS, "count")
                groups.append(self.group("apiserver", "apiserver", count, capacity, am.get("placement", "spread"),
                                         api_path + ("placement",), "count", runs_apiserver=True))
            else:
                count = c.scalar(api, api_path, _API_SERVER_COUNT) if not isinstance(api, str) else None
                if isinstance(api, str):
                    c.error(api_path, f"must be a count or {{count, placement}}, got {describe(api)}")
                if "apiServers" not in cp and c.already_reported(api_path):
                    count = None
                groups.append(self.group("apiserver", "apiserver", count, capacity, "spread", api_path, "count",
                                         runs_apiserver=True))
            for key in ("nodes", "schedulable"):
                if key in cp:
                    c.error(path + (key,), "only applies with etcdTopology: stacked (the control-plane nodes)")
        else:  # stacked, or invalid or misspelt (already reported): still check the placement
            for key in ("etcdPlacement", "apiServers"):
                if key in cp and topology == "stacked":
                    c.error(path + (key,), "only applies with etcdTopology: external")
            group = self.group(
                "cp", "control-plane", members, capacity, cp.get("placement", "spread"), path + ("placement",),
                "members", runs_etcd=True, runs_apiserver=True)
            group.runs_workloads = bool(c.field(cp, path, D.CONTROL_PLANE, "schedulable"))
            group.entries = c.get(cp, path, "nodes", self.node_entries, count=members, count_name="members")
            groups.append(group)
        return topology or "stacked", etcd, election, groups

    def etcd(self, value: Any) -> EtcdTiming:
        c, path = self.c, ("controlPlane", "etcd")
        if value is MISSING or value is None:
            return EtcdTiming()
        m = c.section(value, path, D.ETCD)
        d = EtcdTiming()
        heartbeat, election, pre_vote, fsync = (c.field(m, path, D.ETCD, key) for key in D.ETCD.keys)
        if heartbeat is not None and heartbeat < 0.001:
            c.error(path + ("heartbeatInterval",), f"must be at least 1ms (etcd takes it in whole milliseconds), "
                                                   f"got {format_duration(heartbeat)}")
            heartbeat = None
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
        m = c.section(value, path, D.LEADER_ELECTION)
        lease, renew, retry = (c.field(m, path, D.LEADER_ELECTION, key) for key in D.LEADER_ELECTION.keys)
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
        m = c.section(value, path, D.CAPACITY)
        if m is None:
            return None
        cpu, memory, pods = (c.field(m, path, D.CAPACITY, key) for key in D.CAPACITY.keys)
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
            servers = [self.sites.resolve(name, path + (k,), "server") for k, name in enumerate(placement)]
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
            m = c.section(placement, path, _WITHIN, what="a placement")
            if m is not None and len(m) != 1:
                c.error(path, "must name exactly one of region, datacenter or rack, e.g. {datacenter: kc-1}")
            elif m:
                (level, name), = m.items()
                if level in D.PLACEMENT_LEVELS:
                    group.within = self.sites.resolve(name, path + (level,), level)
            return group
        hint = suggest(placement, ["spread"]) if isinstance(placement, str) else None
        c.error(path, "must be spread, a list of servers, or {region|datacenter|rack: name}; got "
                      f"{describe(placement)}" + (f" (did you mean '{hint}'?)" if hint else ""))
        return group

    # -- workers -----------------------------------------------------------
    def workers(self, value: Any, cp_groups: list[Group]) -> tuple[list[Group], bool]:
        """The worker pools, and whether all of them could be read (else the worker count is unknown)."""
        c, path = self.c, ("workers",)
        if value is MISSING or value is None:
            return [], not c.already_reported(path)
        pools = c.sequence(value, path, "worker pools", allow_empty=True)
        complete = pools is not None
        groups: list[Group] = []
        seen: dict[str, int | None] = {}
        reserved = {g.prefix for g in cp_groups}
        for i, pool in enumerate(pools or []):
            q = path + (i,)
            m = c.section(pool, q, D.POOL)
            if m is None:
                complete = False
                continue
            name = c.field(m, q, D.POOL, "pool")
            if name is not None:
                if name in seen:
                    c.error(q + ("pool",),
                            f"pool '{name}' is defined twice (lines {seen[name]} and {c.line(q + ('pool',))})")
                elif name in reserved:
                    c.error(q + ("pool",), f"pool '{name}' would name its nodes {name}-1, {name}-2, ... like the "
                                           "control plane's; choose another name")
                seen.setdefault(name, c.line(q + ("pool",)))
            count = c.field(m, q, D.POOL, "count")
            complete &= count is not None
            capacity = c.get(m, q, "capacity", self.capacity)
            group = self.group(name or f"pool{i}", "worker", count, capacity, m.get("placement", "spread"),
                               q + ("placement",), "count", pool=name)
            group.cost = c.field(m, q, D.POOL, "cost") or 1.0
            group.entries = c.get(m, q, "nodes", self.node_entries, count=count, count_name="count")
            group.autoscale = c.get(m, q, "autoscale", self.autoscale, count=count, pool=name or f"pool{i}")
            groups.append(group)
        self.generated_names(cp_groups + groups)
        return groups, complete

    # -- real nodes and autoscaling ------------------------------------------------
    def node_entries(self, value: Any, path: Path, count: int | None, count_name: str) -> list[NodeEntry] | None:
        """``nodes:``: one entry per node (a name, or {name, providerID, address, ready,
        schedulable}); names unique in the topology."""
        c = self.c
        items = c.sequence(value, path, "nodes")
        if items is None:
            return None
        if count is not None and len(items) != count:
            c.error(path, f"lists {len(items)} node{'s' if len(items) != 1 else ''} but {count_name} is {count}")
        entries: list[NodeEntry] | None = []
        for k, item in enumerate(items):
            q = path + (k,)
            if isinstance(item, dict):
                m = c.section(item, q, _NODE_OBJ)
                name = c.field(m, q, _NODE_OBJ, "name") if m is not None else None
                fields = {key: c.field(m, q, _NODE_OBJ, key) for key in ("providerID", "address", "ready",
                                                                          "schedulable")} if m else {}
                entry = None if name is None else NodeEntry(
                    name, fields.get("providerID"), fields.get("address"),
                    fields.get("ready") is not False, fields.get("schedulable") is not False)
            else:
                name = c.scalar(item, q, _NAME_ONLY)
                entry = NodeEntry(name) if name is not None else None
            if entry is None:
                entries = None
                continue
            if entry.name in self.node_names:
                c.error(q, f"node '{entry.name}' is listed twice (at {format_path(self.node_names[entry.name])} too)")
            self.node_names.setdefault(entry.name, q)
            if entries is not None:
                entries.append(entry)
        return entries if entries is not None and (count is None or len(entries) == count) else None

    def generated_names(self, groups: list[Group]) -> None:
        """A generated name (<pool>-N) may not be the name a ``nodes:`` list gives another node."""
        for g in groups:
            if g.entries is not None or g.count is None:
                continue
            for k in range(1, g.count + 1):
                clash = self.node_names.get(f"{g.prefix}-{k}")
                if clash is not None:
                    self.c.error(clash, f"'{g.prefix}-{k}' is the generated name of a node of '{g.prefix}'; "
                                        "rename one of them")

    def autoscale(self, value: Any, path: Path, count: int | None, pool: str) -> Autoscale | None:
        """``autoscale: {min, max, provisionDelay, scaleDownAfter}``: min <= count <= max."""
        c = self.c
        m = c.section(value, path, D.AUTOSCALE)
        if m is None:
            return None
        low = c.field(m, path, D.AUTOSCALE, "min", default=count if count is not None else 0)
        high = c.field(m, path, D.AUTOSCALE, "max")
        delay = c.field(m, path, D.AUTOSCALE, "provisionDelay")
        raw = m.get("scaleDownAfter")
        after = None if is_none_word(raw) else c.field(m, path, D.AUTOSCALE, "scaleDownAfter")
        if low is None or high is None or delay is None or (after is None and not is_none_word(raw)):
            return None
        if count is not None and not low <= count <= high:
            c.error(path, f"the pool's count ({count}) must lie between min ({low}) and max ({high})")
            return None
        if low > high:
            c.error(path + ("min",), f"must be at most max ({high}), got {low}")
            return None
        return Autoscale(pool, low, high, delay, after)
