"""Closed-form answers the Monte Carlo must agree with.

Quorum availability: every failure instance is down with its stationary
probability mttr/(mtbf+mttr), independently (true for any ttf/ttr
distribution of an alternating renewal process). The number of live members
under each region is a polynomial built bottom-up over the hierarchy
(node -> server -> rack -> datacenter -> region); region links are enumerated,
and a quorum exists iff some connected group of regions holds >= quorum live
members (at most one can, since quorum > n/2). Same partition rule as the
engine: regions joined by uncut links form one partition.
"""

from __future__ import annotations

from itertools import product

import numpy as np

from ..model.cluster import Cluster

MAX_LINK_STATES = 1 << 16


def _unavailability(cluster: Cluster, kind: str) -> float:
    spec = cluster.failures.get(kind)
    return spec.unavailability if spec is not None else 0.0


def _up_count_by_region(cluster: Cluster, hardened: int | None = None,
                        chains: list[tuple] | None = None) -> dict[int, np.ndarray]:
    """Region -> probability of 0..n live members under it (region's own state included).
    ``chains``: the members' (node, server, rack, datacenter, region) domain indices, when
    they sit elsewhere than the cluster's (a node of a member to be added: ``("new", i)``)."""
    if chains is None:
        chains = [(nd.domain, nd.server, nd.rack, nd.datacenter, nd.region)
                  for nd in (cluster.nodes[m] for m in cluster.members)]
    n = len(chains)
    domains = cluster.domains
    children: dict = {}
    member_leaves: dict = {}
    for chain in chains:
        member_leaves[chain[0]] = member_leaves.get(chain[0], 0) + 1
        for child, parent in zip(chain, chain[1:]):
            kids = children.setdefault(parent, [])
            if child not in kids:
                kids.append(child)

    def dist(d: int) -> np.ndarray:
        poly = np.zeros(n + 1)
        poly[0] = 1.0
        if d in member_leaves:
            poly = np.zeros(n + 1)
            poly[member_leaves[d]] = 1.0
        for kid in children.get(d, []):
            poly = np.convolve(poly, dist(kid))[: n + 1]
        kind = "node" if isinstance(d, tuple) else domains[d].kind
        p = 0.0 if d == hardened else _unavailability(cluster, kind)
        out = (1.0 - p) * poly
        out[0] += p
        return out

    return {r: dist(r) for r in sorted({chain[-1] for chain in chains})}


def quorum_availability(cluster: Cluster, hardened: int | None = None,
                        chains: list[tuple] | None = None) -> float | None:
    """Exact stationary probability that some partition holds a quorum of live members
    (with failure instance ``hardened``, a domain index, never failing; ``chains``: the
    members placed elsewhere, see :func:`_up_count_by_region`)."""
    n = len(cluster.members) if chains is None else len(chains)
    q = n // 2 + 1
    if n == 0:
        return None
    by_region = _up_count_by_region(cluster, hardened, chains)
    regions = [d.index for d in cluster.domains_of_kind("region")]
    links = [(d.regions, 0.0 if d.index == hardened else _unavailability(cluster, "regionLink"))
             for d in cluster.domains_of_kind("regionLink")]
    if len(links) and 2 ** len(links) > MAX_LINK_STATES:
        return None
    total = 0.0
    for state in product((False, True), repeat=len(links)):
        prob = 1.0
        parent = {r: r for r in regions}

        def find(r):
            while parent[r] != r:
                r = parent[r]
            return r

        for cut, ((a, b), p) in zip(state, links):
            prob *= p if cut else 1.0 - p
            if not cut:
                parent[find(a)] = find(b)
        if prob == 0.0:
            continue
        groups: dict[int, np.ndarray] = {}
        for r, poly in by_region.items():
            root = find(r)
            groups[root] = poly if root not in groups else np.convolve(groups[root], poly)[: n + 1]
        total += prob * sum(float(poly[q:].sum()) for poly in groups.values())
    return min(1.0, total)


def member_failure_rate(cluster: Cluster, member_node: int) -> float:
    """Rate (per second) of failures that take this member down or cut its region off."""
    node = cluster.nodes[member_node]
    rate = 0.0
    for d in (node.domain, *node.ancestors):
        spec = cluster.failures.get(cluster.domains[d].kind)
        if spec is not None and spec.ttf is not None:
            rate += 1.0 / (spec.ttf.mean + spec.ttr.mean)
    link = cluster.failures.get("regionLink")
    if link is not None and link.ttf is not None:
        regions_with_members = {cluster.nodes[m].region for m in cluster.members}
        for d in cluster.domains_of_kind("regionLink"):
            if node.region in d.regions and set(d.regions) <= regions_with_members:
                rate += 1.0 / (link.ttf.mean + link.ttr.mean)
    return rate


def api_availability_estimate(cluster: Cluster, mean_election_gap: float) -> float | None:
    """First-order analytic API availability: quorum availability minus the time spent
    electing after the leader is lost (rate of leader loss x mean write gap).

    The leader is taken as a uniformly random member; quorum-restoring elections and
    external apiservers are left out, so this is a cross-check, not an exact answer."""
    qa = quorum_availability(cluster)
    if qa is None:
        return None
    rates = [member_failure_rate(cluster, m) for m in cluster.members]
    leader_loss_rate = float(np.mean(rates)) if len(cluster.members) > 1 else 0.0
    return max(0.0, qa - leader_loss_rate * mean_election_gap)
