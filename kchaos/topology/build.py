"""Place every node on a server and assemble the immutable :class:`Cluster`."""

from __future__ import annotations

import dataclasses

from kchaos.model.cluster import Cluster, Domain, Node
from kchaos.topology.advisories import advise
from kchaos.topology.checker import Checker
from kchaos.topology.placement import Spreader
from kchaos.topology.schema import Spec
from kchaos.topology.units import format_duration
from kchaos.topology.schema_common import NodeEntry


def build_cluster(spec: Spec, source: str, sha256: str) -> Cluster:
    """Place the groups in order (control plane first, then worker pools) and build the Cluster.

    Domains are ordered regions, datacenters, racks, servers, nodes, region
    links; a node's domain parent is its server.
    """
    domains = list(spec.domains)
    spreader = Spreader(spec.servers, {d.index: d.parent for d in domains})
    nodes: list[Node] = []
    node_lines: list[int | None] = []
    base = len(domains)
    for group in spec.groups:
        assert group.count is not None
        if group.servers is not None:
            chosen = group.servers
            spreader.occupy(chosen)
        else:
            chosen = spreader.place(group.count, group.within)
        entries = group.entries or [NodeEntry(f"{group.prefix}-{k}") for k in range(1, group.count + 1)]
        for server, entry in zip(chosen, entries):
            _, rack, datacenter, region = spreader.chain[server]
            nodes.append(Node(
                index=len(nodes), name=entry.name, role=group.role, domain=base + len(nodes),
                server=server, rack=rack, datacenter=datacenter, region=region,
                capacity=group.capacity, pool=group.pool, runs_etcd=group.runs_etcd,
                runs_apiserver=group.runs_apiserver, provider_id=entry.provider_id, address=entry.address,
                ready=entry.ready, cordoned=not entry.schedulable, runs_workloads=group.runs_workloads,
            ))
            node_lines.append(group.line)
    # Machines the cluster autoscaler may add: ``max`` per autoscaled pool, spread like the
    # pool (over the servers its nodes use when it lists them, else as its placement says).
    for group in spec.groups:
        if group.autoscale is None:
            continue
        pool_nodes = [n for n in nodes if n.pool == group.pool and not n.standby]
        if group.servers is not None:
            own = sorted({n.server for n in pool_nodes})
            chosen = [own[k % len(own)] for k in range(group.autoscale.max)]
        else:
            chosen = spreader.place(group.autoscale.max, group.within)
        for k, server in enumerate(chosen, 1):
            _, rack, datacenter, region = spreader.chain[server]
            nodes.append(Node(
                index=len(nodes), name=f"{group.prefix}-new-{k}", role="worker", domain=base + len(nodes),
                server=server, rack=rack, datacenter=datacenter, region=region, capacity=group.capacity,
                pool=group.pool, standby=True))
            node_lines.append(group.line)
    domains += [Domain(n.domain, "node", n.name, parent=n.server, line=line) for n, line in zip(nodes, node_lines)]
    used = sorted({n.region for n in nodes})
    for i, a in enumerate(used):
        for b in used[i + 1:]:
            domains.append(Domain(len(domains), "regionLink", f"{domains[a].name}~{domains[b].name}", regions=(a, b)))
    cluster = Cluster(
        name=spec.name,
        description=spec.description,
        source=source,
        sha256=sha256,
        domains=tuple(domains),
        nodes=tuple(nodes),
        members=tuple(n.index for n in nodes if n.runs_etcd),
        apiservers=tuple(n.index for n in nodes if n.runs_apiserver),
        etcd_topology=spec.etcd_topology,
        etcd=spec.etcd,
        leader_election=spec.leader_election,
        kubernetes=spec.kubernetes,
        network=spec.network,
        failures=spec.failures,
        workloads=tuple(spec.workloads),
        slo=spec.slo,
        maintenance=spec.maintenance,
        pool_cost={g.pool: g.cost for g in spec.groups if g.pool is not None},
        autoscale=tuple(g.autoscale for g in spec.groups if g.autoscale is not None),
    )
    return dataclasses.replace(cluster, advisories=advise(cluster))



def check_elections(cluster: Cluster, c: Checker) -> None:
    """An election timeout no longer than the largest round trip between etcd members is an
    error (on ``c``), though each value is valid alone: a candidate's votes cannot come back
    before the other members time out and campaign in turn, so no election ever ends (etcd
    would elect no leader; its simulation would not finish). Above it, the etcd tuning guide
    still asks for 10 x that round trip (the ``election-timeout-too-small`` advisory)."""
    members = cluster.members
    if len(members) < 2:
        return
    worst, a, b = max((cluster.rtt(x, y), x, y) for x in members for y in members if x < y)
    if cluster.etcd.election_timeout <= worst:
        c.error(("controlPlane", "etcd", "electionTimeout"),
                f"{format_duration(cluster.etcd.election_timeout)} is not longer than the round trip between etcd "
                f"members {cluster.nodes[a].name} and {cluster.nodes[b].name} ({format_duration(worst)}): votes "
                "cannot return before the other members campaign, so no election ever ends; give at least "
                f"10 x that round trip ({format_duration(10 * worst)})")
