"""Static advisories: traps visible in the layout itself, before any simulation.

Each advisory names the thing at fault and says why it matters; the report
shows them next to the simulated numbers that confirm them.
"""

from __future__ import annotations

import math
from collections import defaultdict

from kchaos.model.cluster import Advisory, Cluster, Node
from kchaos.topology.units import format_cpu, format_duration, format_memory

#: Commit latency above which a layout is called stretched (etcd's default heartbeat is 100 ms;
#: Kubernetes API p99 SLOs are about 1 s per call, with several etcd round trips each).
STRETCHED_COMMIT_SECONDS = 0.010
ETCD_TUNING_GUIDE = "https://etcd.io/docs/v3.5/tuning/"
SPREAD_ISSUE = "https://github.com/kubernetes/kubernetes/issues/123019"

_LEVELS = ("region", "datacenter", "rack", "server")


def advise(cluster: Cluster) -> tuple[Advisory, ...]:
    """Every static advisory for ``cluster``, control plane first."""
    out: list[Advisory] = []
    out += _etcd_size(cluster)
    out += _blast_radius(cluster)
    out += _workers_beside_members(cluster)
    out += _timing(cluster)
    out += _workloads(cluster)
    return tuple(out)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _level_domain(node: Node, level: str) -> int:
    return getattr(node, level)


def _etcd_size(cluster: Cluster) -> list[Advisory]:
    n = len(cluster.members)
    if n == 1:
        member = cluster.nodes[cluster.members[0]]
        return [Advisory(
            "single-member",
            f"1 etcd member tolerates no failure: losing {member.name}, or its server, rack, datacenter "
            "or region, stops every write until it is back",
            "info",
        )]
    if n % 2 == 0:
        tolerates = cluster.tolerates
        return [Advisory(
            "even-etcd-size",
            f"{n} members tolerate {_plural(tolerates, 'failure')}, like {n - 1}, but fail more often "
            f"(quorum is {cluster.quorum} of {n})",
        )]
    return []


def _blast_radius(cluster: Cluster) -> list[Advisory]:
    """Domains whose loss alone loses quorum (n >= 3), and members merely sharing a server."""
    n = len(cluster.members)
    if n < 3:
        return []
    losing = cluster.tolerates + 1
    members = [cluster.nodes[i] for i in cluster.members]
    counts: dict[tuple[str, int], list[Node]] = defaultdict(list)
    for node in members:
        for level in _LEVELS:
            counts[(level, _level_domain(node, level))].append(node)
    out: list[Advisory] = []
    for level_pos, level in enumerate(_LEVELS):
        for (lvl, domain), held in counts.items():
            if lvl != level:
                continue
            name = cluster.domains[domain].name
            if len(held) >= losing:
                child = _LEVELS[level_pos + 1] if level_pos + 1 < len(_LEVELS) else None
                if child and any(len(counts[(child, _level_domain(m, child))]) == len(held) for m in held):
                    continue  # a smaller domain holds the same members: report that one
                available = len(cluster.domains_of_kind(level))
                needed = math.ceil(n / cluster.tolerates)
                message = (f"{level} '{name}' holds {len(held)} of {n} etcd members "
                           f"({', '.join(m.name for m in held)}): its failure alone loses quorum "
                           f"({cluster.quorum} needed)")
                if available >= needed:
                    out.append(Advisory("shared-blast-radius", message + f"; spread them over {needed} or more "
                                                                         f"{level}s"))
                elif available > 1:  # with a single one, everything shares it: nothing to say
                    out.append(Advisory("shared-blast-radius", message + f"; with {_plural(available, level)} "
                                        f"this cannot be avoided ({needed} are needed)", "info"))
            elif level == "server" and len(held) >= 2:
                out.append(Advisory(
                    "shared-blast-radius",
                    f"etcd members {', '.join(m.name for m in held)} share server '{name}': "
                    f"one server failure takes {_plural(len(held), 'member')} down at once",
                    "info",
                ))
    return out


def _workers_beside_members(cluster: Cluster) -> list[Advisory]:
    """Workers placed on a control-plane node's server (spread does this once a small site
    runs out of empty servers): one server failure costs a member and workload pods."""
    on_server: dict[int, list[Node]] = defaultdict(list)
    members = set(cluster.members)
    for node in cluster.nodes:  # not the members themselves (compact), nor machines an autoscaler may add
        if node.schedulable and not node.standby and node.index not in members:
            on_server[node.server].append(node)
    pairs = [f"{', '.join(w.name for w in on_server[cluster.nodes[m].server])} with "
             f"{cluster.nodes[m].name} on {cluster.domains[cluster.nodes[m].server].name}"
             for m in cluster.members if on_server.get(cluster.nodes[m].server)]
    if not pairs:
        return []
    shown = "; ".join(pairs[:5]) + (f"; and {len(pairs) - 5} more" if len(pairs) > 5 else "")
    return [Advisory(
        "workers-beside-members",
        f"workers share a server with an etcd member ({shown}): one server failure costs a member and the "
        "workers' pods at once; add servers, or place the pool explicitly",
        "info",
    )]


def _timing(cluster: Cluster) -> list[Advisory]:
    members = cluster.members
    if len(members) < 2:
        return []
    worst, a, b = max((cluster.rtt(x, y), x, y) for x in members for y in members if x < y)
    names = f"{cluster.nodes[a].name} to {cluster.nodes[b].name}"
    etcd = cluster.etcd
    out: list[Advisory] = []
    if etcd.heartbeat < worst:
        out.append(Advisory(
            "heartbeat-too-small",
            f"etcd heartbeatInterval {format_duration(etcd.heartbeat)} is below the largest round trip between "
            f"members ({format_duration(worst)}, {names}): followers miss heartbeats and start needless elections; "
            f"the etcd tuning guide sets it to about the RTT ({ETCD_TUNING_GUIDE})",
        ))
    if etcd.election_timeout < 10 * worst:
        out.append(Advisory(
            "election-timeout-too-small",
            f"etcd electionTimeout {format_duration(etcd.election_timeout)} is below 10 x the largest round trip "
            f"between members ({format_duration(10 * worst)}, {names}); the etcd tuning guide asks for at least "
            f"10 x RTT to absorb network variance ({ETCD_TUNING_GUIDE})",
        ))
    best = min((_commit_latency(cluster, leader), leader) for leader in members)
    if best[0] > STRETCHED_COMMIT_SECONDS:
        leader = cluster.nodes[best[1]].name
        rtt = best[0] - etcd.fsync
        out.append(Advisory(
            "stretched-commit-latency",
            f"even the best placed etcd leader ({leader}) needs {format_duration(best[0])} per commit "
            f"({format_duration(rtt)} round trip to a quorum + {format_duration(etcd.fsync)} fsync): every write "
            "pays the distance between members; one control plane per region commits locally",
        ))
    return out


def _commit_latency(cluster: Cluster, leader: int) -> float:
    """RTT from ``leader`` to its (quorum-1)-th nearest member, plus fsync."""
    rtts = sorted(cluster.rtt(leader, m) for m in cluster.members if m != leader)
    need = cluster.quorum - 1
    return (rtts[need - 1] if need > 0 else 0.0) + cluster.etcd.fsync


def _workloads(cluster: Cluster) -> list[Advisory]:
    if not cluster.workloads:
        return []
    workers = [cluster.nodes[i] for i in cluster.workers]
    if not workers:
        return [Advisory(
            "no-workers",
            f"{_plural(len(cluster.workloads), 'workload')} but no worker pool: nothing can be scheduled "
            "(control-plane nodes carry the NoSchedule taint); add a workers section",
            "error",
        )]
    out: list[Advisory] = []
    for w in cluster.workloads:
        if not any(w.cpu <= n.capacity.cpu and w.memory <= n.capacity.memory for n in workers):
            big = max(workers, key=lambda n: (n.capacity.cpu, n.capacity.memory))
            hint = ""
            if w.cpu > big.capacity.cpu and w.cpu >= 100 and any(
                    w.cpu / 1000 <= n.capacity.cpu and w.memory <= n.capacity.memory for n in workers):
                hint = f" (cpu {format_cpu(w.cpu)} is {w.cpu:g} whole cores: did you mean '{w.cpu:g}m'?)"
            out.append(Advisory(
                "pod-too-large",
                f"workload '{w.name}' requests {format_cpu(w.cpu)} cpu and {format_memory(w.memory)} memory per pod, "
                f"more than any worker offers (largest: {format_cpu(big.capacity.cpu)} cpu, "
                f"{format_memory(big.capacity.memory)}): its pods can never be scheduled{hint}",
                "error", w.name,
            ))
    out += _spread_traps(cluster, workers)
    too_large = {a.subject for a in out if a.code == "pod-too-large"}
    out += _capacity(cluster, workers, [w for w in cluster.workloads if w.name not in too_large])
    return out


def _spread_traps(cluster: Cluster, workers: list[Node]) -> list[Advisory]:
    """PodTopologySpread with nodeTaintsPolicy: Ignore counts control-plane-only domains as empty."""
    out: list[Advisory] = []
    for w in cluster.workloads:
        s = w.spread
        if s is None or s.node_taints_policy != "Ignore" or s.when_unsatisfiable != "DoNotSchedule":
            continue
        with_nodes = {_level_domain(n, s.over) for n in cluster.nodes}
        with_workers = {_level_domain(n, s.over) for n in workers}
        empty = sorted(with_nodes - with_workers)
        if not empty:
            continue
        names = ", ".join(f"'{cluster.domains[d].name}'" for d in empty[:5]) + (" ..." if len(empty) > 5 else "")
        most = len(with_workers) * s.max_skew
        consequence = (f"at most {most} of its {w.replicas} replicas can be scheduled and the rest stay Pending"
                       if w.replicas > most else
                       f"each {s.over} with workers may hold at most {s.max_skew} of its pods, so replacements for a "
                       "failed domain stay Pending")
        out.append(Advisory(
            "spread-domain-without-workers",
            f"workload '{w.name}' spreads over {s.over} with nodeTaintsPolicy: Ignore, but {s.over} {names} "
            f"{'holds' if len(empty) == 1 else 'hold'} only control-plane nodes: Kubernetes counts "
            f"{'it' if len(empty) == 1 else 'them'} as empty, so {consequence}; set nodeTaintsPolicy: Honor "
            f"({SPREAD_ISSUE})",
            "error" if w.replicas > most else "warning", w.name,
        ))
    return out


def _capacity(cluster: Cluster, workers: list[Node], workloads: list) -> list[Advisory]:
    """Requests beyond the total worker capacity: pods are Pending even with everything up
    (``workloads``: those whose pods fit some worker; the others are reported already)."""
    cpu = sum(w.cpu * w.replicas for w in workloads)
    memory = sum(w.memory * w.replicas for w in workloads)
    pods = sum(w.replicas for w in workloads)
    have_cpu = sum(n.capacity.cpu for n in workers)
    have_memory = sum(n.capacity.memory for n in workers)
    have_pods = sum(n.capacity.pods for n in workers)
    short = []
    if cpu > have_cpu:
        short.append(f"{format_cpu(cpu)} cpu of {format_cpu(have_cpu)}")
    if memory > have_memory:
        short.append(f"{format_memory(memory)} memory of {format_memory(have_memory)}")
    if pods > have_pods:
        short.append(f"{pods} pods of {have_pods} pod slots")
    if not short:
        return []
    return [Advisory(
        "insufficient-capacity",
        f"with every node up the workloads request {' and '.join(short)}: some pods stay Pending even "
        "before any failure",
        "error",
    )]
