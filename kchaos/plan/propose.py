"""Moves proposed from causes, each screened with settled and exact figures only.

* quorum (a domain whose loss loses quorum, or an exact quorum availability below the API
  target) -> the member placements over sites whose every single loss keeps a majority: a
  small exact search over sites x members (odd sizes unless asked), ranked by members added,
  then members moved, then exact quorum availability;
* Pending replacements held by a spread rule (``DoNotSchedule`` with ``nodeTaintsPolicy:
  Ignore`` counts a dead domain as empty) -> ``Honor``;
* rollouts that take a workload below its budget -> ``maxUnavailable`` at the budget's slack;
* capacity (pods Pending, nodes over the limit) -> more workers in a pool, or bigger nodes:
  each count scanned upward from today's (placement is not monotone in the count), the
  cheapest that passes kept;
* a workload left below ``minAvailable`` by a domain's loss -> more replicas, its budget kept.
"""

from __future__ import annotations

from typing import Callable

from ..analysis.exact import quorum_availability
from ..model.cluster import Cluster
from .layout import Layout, Layouts
from .moves import Move, add_workers, combine, place_members, place_pool, resize_nodes, set_replicas, set_spread
from .targets import Verdict, missed, screen

#: Bounds of the search (docs/plan.md): workers added per pool, node sizes tried,
#: replicas tried per workload (multiples of today's), member placements enumerated.
MAX_WORKERS_ADDED = 64
SIZE_FACTORS = (2.0, 4.0)  # the next sizes of a cloud instance family double
MAX_REPLICA_FACTOR = 3
MAX_MEMBER_VECTORS = 20_000
LEVELS = ("region", "datacenter", "rack", "server")


def _screen_misses(layout: Layout) -> list[Verdict]:
    return missed(screen(layout))


# -- quorum ---------------------------------------------------------------------------------
def quorum_level(layout: Layout) -> str | None:
    """The outermost level at which one domain's loss loses quorum (None: none does)."""
    c = layout.cluster
    for level in LEVELS:
        for d in c.domains_of_kind(level):
            held = sum(1 for m in c.members if d.index in c.nodes[m].ancestors)
            if held and len(c.members) - held < c.quorum:
                return level
    return None


def _compositions(n: int, k: int, cap: int):
    """Count vectors of ``k`` sites summing to ``n``, each at most ``cap``."""
    if k == 0:
        if n == 0:
            yield ()
        return
    for first in range(min(n, cap), -1, -1):
        for rest in _compositions(n - first, k - 1, cap):
            yield (first, *rest)


def member_placements(layout: Layout, doc: dict, sizes: list[int], level: str,
                      needed: float | None) -> tuple[list[Move], float | None]:
    """Member placements over the ``level`` domains, best first, that keep quorum through the
    loss of any one domain of every survive level and of ``level`` (and reach ``needed`` exact
    quorum availability); with none, the best exact availability found (the bound)."""
    c = layout.cluster
    sites = [d.index for d in c.domains_of_kind(level)]
    servers_in = {s: [sv.index for sv in c.domains_of_kind("server") if s in _chain(c, sv.index)] for s in sites}
    sites = [s for s in sites if servers_in[s]]
    current = [c.nodes[m].server for m in c.members]
    levels = set(c.slo.survive) | {level}
    found, best = [], None
    for n in sizes:
        q = n // 2 + 1
        tried = 0
        for vector in _compositions(n, len(sites), n - q if level in levels else n):
            tried += 1
            if tried > MAX_MEMBER_VECTORS:
                break
            chosen, moved = _servers_for(c, sites, servers_in, vector, current)
            chains = [(("new", i), sv, *_chain(c, sv)[1:]) for i, sv in enumerate(chosen)]
            if not _keeps_quorum(c, chosen, levels, n - q):
                continue
            qa = quorum_availability(c, chains=chains)
            best = qa if best is None or qa > best else best
            if needed is not None and qa < needed:
                continue
            names = [c.domains[s].name for s in chosen]
            move = place_members(doc, c, names, moved)
            found.append((max(0, n - len(current)), moved, -qa, move))
        if found:
            break
    found.sort(key=lambda x: x[:3])
    return [m for *_, m in found[:5]], best


def _chain(c: Cluster, server: int) -> tuple[int, ...]:
    """(server, rack, datacenter, region) of a server domain."""
    out, d = [], server
    while d is not None:
        out.append(d)
        d = c.domains[d].parent
    return tuple(out)


def _servers_for(c: Cluster, sites: list[int], servers_in: dict, vector: tuple[int, ...],
                 current: list[int]) -> tuple[list[int], int]:
    """Servers for ``vector[i]`` members in ``sites[i]``: today's members stay where they are
    while their site keeps room; the others go to the emptiest servers (fewest members in
    their datacenter and rack, then fewest nodes, then file order)."""
    load = {}
    for n in c.nodes:
        load[n.server] = load.get(n.server, 0) + 1
    chosen: list[int] = []
    kept = 0
    for site, count in zip(sites, vector):
        here = [s for s in current if site in _chain(c, s)][:count]
        kept += len(here)
        chosen += here
    for site, count in zip(sites, vector):
        need = count - sum(1 for s in chosen if site in _chain(c, s))
        for _ in range(need):
            def key(sv: int):
                ch = _chain(c, sv)
                return (sum(1 for s in chosen if s == sv), sum(1 for s in chosen if ch[1] in _chain(c, s)),
                        sum(1 for s in chosen if len(ch) > 2 and ch[2] in _chain(c, s)), load.get(sv, 0), sv)
            chosen.append(min(servers_in[site], key=key))
    return chosen, len(current) - kept


def _keeps_quorum(c: Cluster, servers: list[int], levels: set[str], tolerates: int) -> bool:
    for level in levels:
        held: dict[int, int] = {}
        for sv in servers:
            for d in _chain(c, sv):
                if c.domains[d].kind == level:
                    held[d] = held.get(d, 0) + 1
        if held and max(held.values()) > tolerates:
            return False
    return True


def member_sizes(current: int, asked: tuple[int, ...] | None) -> list[int]:
    """Member counts to try, smallest first: the sizes asked, or the odd ones from today's."""
    if asked:
        return sorted(set(asked))
    start = current if current % 2 else current - 1
    return [n for n in range(max(1, start), 8) if n % 2]


# -- rules ------------------------------------------------------------------------------------
def pending_by_workload(layout: Layout, domains: list[int]) -> dict[str, int]:
    """Pods Pending once each of ``domains`` (alone) has settled, summed, by workload."""
    out: dict[str, int] = {}
    for d in domains:
        for name, k in layout.blast.respond([d]).pending_by_workload.items():
            out[name] = out.get(name, 0) + k
    return out


def failing_domains(layout: Layout) -> list[int]:
    """The domains a run can lose alone (a failure rate) or the N-1 levels name."""
    c = layout.cluster
    return [d.index for d in c.domains if d.kind in LEVELS
            and (c.failures.get(d.kind) is not None or d.kind in c.slo.survive)]


def spread_moves(layouts: Layouts, layout: Layout, doc: dict, base_moves: list[Move]) -> list[Move]:
    """``nodeTaintsPolicy: Honor`` for each workload whose replacements a dead domain's empty
    count keeps Pending, kept when it leaves fewer of its pods Pending after single losses."""
    c = layout.cluster
    domains = failing_domains(layout)
    before = pending_by_workload(layout, domains)
    out = []
    for i, wl in enumerate(c.workloads):
        sp = wl.spread
        if sp is None or sp.when_unsatisfiable != "DoNotSchedule" or sp.node_taints_policy != "Ignore" \
                or not before.get(wl.name):
            continue
        for key, value in (("nodeTaintsPolicy", "Honor"), ("whenUnsatisfiable", "ScheduleAnyway")):
            move = set_spread(doc, c, i, key, value)
            trial = layouts.build(combine([*base_moves, *out, move]))
            after = pending_by_workload(trial, domains).get(wl.name, 0)
            if after < before[wl.name]:
                out.append(_with(move, gain=f"{wl.name}: Pending after single-domain losses {before[wl.name]} -> "
                                            f"{after}"))
                break
    return out


def placement_moves(layouts: Layouts, doc: dict, base_moves: list[Move],
                    passes: Callable[[Layout], bool]) -> list[Move]:
    """A pool kept inside one region, datacenter or rack, spread over every server instead,
    when that alone lets the layout pass (free: the same nodes, elsewhere)."""
    out = []
    for i, entry in enumerate(doc.get("workers") or []):
        if isinstance(entry.get("placement"), dict):
            move = place_pool(doc, i, "spread")
            if passes(layouts.build(combine([*base_moves, move]))):
                out.append(_with(move, gain=f"pool {entry['pool']} no longer shares one "
                                            f"{next(iter(entry['placement']))}'s fate"))
                break
    return out


def rollout_moves(layout: Layout, doc: dict, names: set[str]) -> list[Move]:
    """``strategy.maxUnavailable`` at the budget's slack for workloads (``names``) whose rollouts
    take them below ``minAvailable`` (planned downtime at every rollout)."""
    c, m = layout.cluster, layout.model
    if c.kubernetes.rollout_interval is None:
        return []
    out = []
    for i, wl in enumerate(c.workloads):
        if wl.name not in names or wl.kind != "Deployment":
            continue
        surge, unavailable = wl.rolling_update()
        slack = m.workload_desired[i] - m.workload_required[i]
        if m.workload_desired[i] - unavailable >= m.workload_required[i]:
            continue
        entry = doc["workloads"][i]
        edits: list = [(f"workloads.{i}.strategy.maxUnavailable", slack)]
        if slack == 0 and surge == 0:
            edits.append((f"workloads.{i}.strategy.maxSurge", 1))
        before = (entry.get("strategy") or {}).get("maxUnavailable", "25%")
        out.append(Move("rollout", wl.name, f"workloads[{i}].strategy.maxUnavailable", before, slack, 0.0,
                        tuple(edits), gain=f"rollouts keep {m.workload_required[i]} of {wl.name}'s pods ready "
                                           f"(today {m.workload_desired[i] - unavailable})"))
    return out


def _with(move: Move, **changes) -> Move:
    from dataclasses import replace

    return replace(move, **changes)


# -- capacity -----------------------------------------------------------------------------------
def capacity_moves(layouts: Layouts, doc: dict, base_moves: list[Move],
                   passes: Callable[[Layout], bool]) -> list[tuple[Move, str]]:
    """For every pool: the fewest workers added, and the smallest node growth, with which the
    layout ``passes`` the screen; each with what one unit fewer misses. Cheapest first."""
    base = layouts.build(combine(base_moves))
    c = base.cluster
    found = []
    for i, entry in enumerate(doc.get("workers") or []):
        if isinstance(entry.get("placement"), list):
            continue  # servers listed one by one: which servers to add is the user's call
        count = int(entry["count"])
        last_miss = ""
        for n in range(count + 1, count + MAX_WORKERS_ADDED + 1):
            move = add_workers(doc, c, i, n)
            trial = layouts.build(combine([*base_moves, move]))
            if passes(trial):
                found.append((move, last_miss))
                break
            last_miss = _first(trial)
        for factor in SIZE_FACTORS:
            move = resize_nodes(doc, c, i, factor)
            trial = layouts.build(combine([*base_moves, move]))
            if passes(trial):
                found.append((move, ""))
                break
    found.sort(key=lambda x: (x[0].cost, x[0].units))
    return found


def replica_moves(layouts: Layouts, doc: dict, base_moves: list[Move], names: set[str],
                  passes: Callable[[Layout], bool]) -> list[tuple[Move, str]]:
    """Replicas (budget kept) for workloads left below ``minAvailable`` by a domain's loss."""
    c = layouts.build(combine(base_moves)).cluster
    model = layouts.build(combine(base_moves)).model
    out, moves = [], list(base_moves)
    for i, wl in enumerate(c.workloads):
        if wl.name not in names or wl.kind == "DaemonSet":
            continue
        keep = model.workload_required[i]
        last_miss = ""
        for r in range(wl.replicas + 1, wl.replicas * MAX_REPLICA_FACTOR + 2):
            move = set_replicas(doc, c, i, r, keep)
            trial = layouts.build(combine([*moves, move]))
            if passes(trial) or not _below_min(trial, wl.name):
                out.append((move, last_miss))
                moves.append(move)
                break
            last_miss = _first(trial)
    return out


def _below_min(layout: Layout, name: str) -> bool:
    return any(name in v.response.workloads_unavailable
               for level in layout.cluster.slo.survive for v in layout.verdicts(level))


def _first(layout: Layout) -> str:
    bad = _screen_misses(layout)
    return f"{bad[0].target}: {bad[0].detail}" if bad else ""

