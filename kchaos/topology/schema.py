"""Validate a parsed topology and turn it into a :class:`Spec`, filling defaults.

Every section is checked even after an error elsewhere, so one run reports
every problem; but a check that depends on a value that is invalid, or
missing because of an earlier problem (a misspelt key, an unreadable
section), stays silent, so that one mistake gives one message. A
:class:`Spec` is returned only when there are no problems; the placement of
nodes onto servers happens afterwards in :mod:`.build`. Defaults are the
values of the example in the topology spec (topology.md).

This module reads the top level; the sections are read by
:mod:`.schema_sites` (regions, datacenters, racks, servers, network),
:mod:`.schema_nodes` (control plane, workers) and :mod:`.schema_workloads`
(workloads, failures, kubernetes, slo). Constants live in :mod:`.schema_common`
and are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from kchaos.model.cluster import (
    Domain,
    EtcdTiming,
    FailureSpec,
    KubernetesTiming,
    LeaderElectionTiming,
    Maintenance,
    Network,
    Slo,
    Workload,
)
from kchaos.topology import definitions as D
from kchaos.topology.addons import with_addons
from kchaos.topology.checker import MISSING, Checker, describe
from kchaos.topology.schema_common import (
    API_VERSION,
    CONTROL_PLANE_CAPACITY,
    DEFAULT_FAILURES,
    DEFAULT_SLO,
    DOMAIN_KINDS,
    KIND,
    MAX_NODES,
    MAX_PODS,
    MAX_SERVERS,
    SPREAD_LEVELS,
    WORKLOAD_KINDS,
    Group,
)
from kchaos.topology.schema_nodes import Nodes
from kchaos.topology.schema_sites import Sites
from kchaos.topology.schema_settings import failures, kubernetes, maintenance, slo
from kchaos.topology.schema_workloads import Workloads

__all__ = [
    "API_VERSION", "KIND", "MAX_SERVERS", "MAX_NODES", "MAX_PODS", "SPREAD_LEVELS", "WORKLOAD_KINDS",
    "DOMAIN_KINDS", "DEFAULT_FAILURES", "CONTROL_PLANE_CAPACITY", "DEFAULT_SLO", "Group", "Spec", "validate",
]


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
    maintenance: Maintenance | None = None


def validate(data: Any, checker: Checker, default_name: str) -> Spec | None:
    """Check everything; return the Spec, or None when ``checker`` holds problems."""
    return _Validator(checker, default_name).run(data)


class _Validator:
    def __init__(self, checker: Checker, default_name: str):
        self.c = checker
        self.default_name = default_name

    def run(self, data: Any) -> Spec | None:
        c = self.c
        if not isinstance(data, dict):
            c.error((), f"the top level must be a mapping (apiVersion, kind, regions, ...), got {describe(data)}")
            return None
        top = c.mapping(data, (), D.TOPOLOGY.keys)  # required keys get messages of their own
        assert top is not None
        api_ok = self.header(top)
        if not api_ok:
            return None
        name, description = self.metadata(top.get("metadata", MISSING))
        sites = Sites(c)
        sites.read(top)
        network = sites.network(top.get("network", MISSING))
        nodes = Nodes(c, sites)
        etcd_topology, etcd, election, cp_groups = nodes.control_plane(top.get("controlPlane", MISSING))
        pools, pools_complete = nodes.workers(top.get("workers", MISSING), cp_groups)
        sites.finish()
        groups = cp_groups + pools
        if all(g.count is not None for g in groups):
            total = sum(g.count or 0 for g in groups)
            if total > MAX_NODES:
                c.error(("workers",) if "workers" in top else ("controlPlane",),
                        f"the topology declares {total} nodes; kchaos handles at most {MAX_NODES}")
        n_workers = sum(g.count or 0 for g in pools + [g for g in cp_groups if g.runs_workloads]) \
            if pools_complete else None
        workload_reader = Workloads(c)
        workloads = workload_reader.read(top.get("workloads", MISSING), n_workers)
        failure_specs = failures(c, top.get("failures", MISSING))
        timings = replace(kubernetes(c, top.get("kubernetes", MISSING)),
                          exclude_control_plane=nodes.exclude_from_disruption)
        targets = slo(c, top.get("slo", MISSING), workload_reader)
        plan = maintenance(c, top.get("maintenance", MISSING))
        addons = c.field(top, (), D.TOPOLOGY, "addons")
        if c.problems:
            return None
        return Spec(
            name=name, description=description, domains=sites.domains(), servers=sites.server_indices(),
            network=network, etcd_topology=etcd_topology, etcd=etcd, leader_election=election,
            kubernetes=timings, groups=groups, workloads=with_addons(workloads, addons), failures=failure_specs,
            slo=targets,
            maintenance=plan,
        )

    def header(self, top: dict[str, Any]) -> bool:
        """apiVersion and kind. An unknown apiVersion stops the checks: the rest may mean something else."""
        c = self.c
        api = top.get("apiVersion", MISSING)
        ok = True
        if api is MISSING:
            if not c.already_reported(("apiVersion",)):
                c.error(("apiVersion",), f"is required: apiVersion: {API_VERSION}")
        elif not isinstance(api, str):
            c.error(("apiVersion",), f"must be {API_VERSION}, got {describe(api)}")
            ok = False
        elif api != API_VERSION:
            c.error(("apiVersion",), f"unsupported apiVersion {describe(api)}; supported: {API_VERSION}")
            ok = False
        kind = top.get("kind", MISSING)
        if kind is MISSING:
            if not c.already_reported(("kind",)):
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
        meta = c.section(value, path, D.METADATA)
        name = c.field(meta, path, D.METADATA, "name", default=self.default_name)
        if name is not None and (name in (".", "..") or ".." in name):
            c.error(path + ("name",), f"must not contain '..' (it names the report directory), got {describe(name)}")
            name = None
        description = c.field(meta, path, D.METADATA, "description", default="")
        return name or self.default_name, description or ""
