"""The run report's view model, second half: topology, blast radius and the sections built on figures.

Like :mod:`kchaos.report.views`, everything returned is plain data for
report.html; figures are registered in the page's :class:`FigureSet` and
appear here as their placeholders.
"""

from __future__ import annotations

from kchaos.report.figures import (
    EMPTY_SERVER,
    LEVEL_COLOURS,
    ORANGE,
    PURPLE,
    ROLE_COLOURS,
    ROLE_LABELS,
    TEAL,
    FigureSet,
    convergence_figure,
    histogram_figure,
    load_figure,
    topology_figure,
    topology_rows,
)
from kchaos.report.formatting import (
    format_count,
    format_duration,
    format_fraction_of_time,
    format_ms,
    format_percent,
    format_seconds,
    get,
    num,
    significant,
    simulated_years,
)
from kchaos.report.inline import Inline, small
from kchaos.report.reading import as_list

MAX_DOMAIN_ROWS = 50


def topology(r: dict, figs: FigureSet) -> dict | None:
    """The sunburst, its legend and where the etcd members sit; None without a tree."""
    rows = topology_rows(r)
    if not rows:
        return None
    fig, roles_seen = topology_figure(r, rows)
    legend = [{"colour": colour, "label": kind, "outline": False} for kind, colour in LEVEL_COLOURS.items()]
    legend.append({"colour": EMPTY_SERVER, "label": "server without nodes", "outline": True})
    for role in ROLE_LABELS:
        if role in roles_seen:
            legend.append({"colour": ROLE_COLOURS[role], "label": ROLE_LABELS[role], "outline": False})
    by_id: dict[str, dict] = {}
    for t in rows:
        by_id.setdefault(str(t["id"]), t)
    placements = []
    for tid, t in by_id.items():
        if get(t, "kind") == "node" and (num(get(t, "members")) or 0) > 0:
            path, cur, seen = [], get(t, "parent"), set()
            while cur and cur in by_id and cur not in seen:
                seen.add(cur)
                path.append(str(get(by_id[cur], "name", default=cur)))
                cur = get(by_id[cur], "parent")
            placements.append({"member": str(get(t, "name", default=tid)), "path": " › ".join(reversed(path))})
    return {"figure": figs.add(fig, 640), "legend": legend, "placements": placements}


def _domain_sort_key(d: dict) -> tuple:
    return (
        0 if get(d, "quorum_lost") else 1,
        -(num(get(d, "pods_displaced")) or 0),
        -len(as_list(get(d, "workloads_unavailable"))),
        -(num(get(d, "pods_pending")) or 0),
        -(num(get(d, "members_lost")) or 0),
        -(num(get(d, "nodes_lost")) or 0),
        str(get(d, "id", default="")),
    )


def _domain_row(d: dict, limit: float | None) -> dict:
    kind = str(get(d, "kind", default=""))
    did = str(get(d, "id", default=""))
    ql = get(d, "quorum_lost")
    util = num(get(d, "max_node_utilization"))

    def count(key: str) -> str:
        return format_count(get(d, key)) if get(d, key) is not None else "—"

    return {
        "name": did[len(kind) + 1:] if kind and did.startswith(kind + "/") else did,
        "kind": kind,
        "failures": num(get(d, "failures")),
        "every": _every(num(get(d, "failures_per_year"))),
        "quorum_lost": bool(ql),
        "quorum_text": "no" if ql is not None else "—",  # shown when quorum was not lost
        "members_lost": count("members_lost"),
        "nodes_lost": count("nodes_lost"),
        "pods_displaced": count("pods_displaced"),
        # Without the API no replacement is created: nothing is Pending, nothing moved.
        "pods_pending": "not replaced (no API)" if get(d, "api_down") and num(get(d, "pods_displaced")) else
        count("pods_pending"),
        "utilization": format_percent(util) if util is not None else "—",
        "hot": util is not None and limit is not None and util > limit,
        "workloads": ", ".join(str(w) for w in as_list(get(d, "workloads_unavailable"))),
        "names": "",  # the members of a group of domains that cost the same
    }


def _every(per_year: float | None) -> str:
    """A natural failure rate as how often: ``200 y``, ``3 y``, ``90 d``; ``—`` if unknown."""
    if not per_year:
        return "—"
    years = 1.0 / per_year
    if years >= 1.0:
        return f"{significant(years, 2)} y"
    days = years * 365.0
    return f"{significant(days, 2)} d" if days >= 1.0 else f"{significant(days * 24.0, 2)} h"


def _costs_nothing(d: dict) -> bool:
    """Losing this domain alone loses no member, node or pod and leaves every workload up."""
    return (not get(d, "quorum_lost") and not get(d, "api_down") and not as_list(get(d, "workloads_unavailable"))
            and not any(num(get(d, key)) for key in ("members_lost", "nodes_lost", "pods_displaced", "pods_pending")))


_SAME_COST = ("kind", "quorum_lost", "quorum_text", "members_lost", "nodes_lost", "pods_displaced", "pods_pending",
              "utilization", "hot", "workloads")
_NAMES_SHOWN = 4


def _plural(kind: str, n: int) -> str:
    return kind if n == 1 else kind + ("es" if kind.endswith("s") else "s")


def blast_radius(r: dict) -> dict:
    """Each failure domain's cost on its own, worst first.

    Domains whose failure costs exactly the same (identical servers, racks) share one row, and
    those that cost nothing (servers without nodes) are collapsed into one sentence; at most
    MAX_DOMAIN_ROWS rows.
    """
    domains = sorted((d for d in as_list(get(r, "domains")) if isinstance(d, dict)), key=_domain_sort_key)
    limit = num(get(r, "load", "limit"))
    groups: dict[tuple, list[dict]] = {}
    harmless: dict[str, int] = {}
    for d in domains:
        if _costs_nothing(d):
            kind = str(get(d, "kind", default="domain"))
            harmless[kind] = harmless.get(kind, 0) + 1
            continue
        row = _domain_row(d, limit)
        groups.setdefault(tuple(row[k] for k in _SAME_COST), []).append(row)
    rows = []
    biased = get(r, "run", "sampling", "method") == "importance"
    for members in groups.values():
        row = dict(members[0])
        failures = [m["failures"] for m in members if m["failures"] is not None]
        # Drawn counts are shown only when they are natural ones (plain sampling).
        row["failures"] = f"{format_count(sum(failures))} in the run" if failures and not biased else ""
        if len(members) > 1:
            names = [m["name"] for m in members]
            row["name"] = f"{len(names)} {_plural(row['kind'], len(names))}"
            row["names"] = ", ".join(names[:_NAMES_SHOWN]) + (
                f", … ({len(names) - _NAMES_SHOWN} more)" if len(names) > _NAMES_SHOWN else "")
        rows.append(row)
    shown = rows[:MAX_DOMAIN_ROWS]
    hidden = sum(len(g) for g in list(groups.values())[MAX_DOMAIN_ROWS:])
    return {"rows": shown, "total": format_count(len(domains)),
            "more": format_count(hidden) if hidden else "",
            "harmless": ", ".join(f"{format_count(n)} {_plural(kind, n)}" for kind, n in harmless.items())}


def distributions(r: dict, figs: FigureSet) -> list[dict]:
    """Leader election gaps, then each workload's recovery times: {figure, title, empty} each."""
    le = get(r, "control_plane", "leader_elections", default={})
    years = simulated_years(get(r, "run", default={}))
    out = []
    fig = histogram_figure(get(le, "histogram"), x_title="writes unavailable during the election (ms)",
                           fmt=format_ms, colour=ORANGE, years=years)
    title: Inline = ["Leader elections: write gap"]
    if fig is not None:
        if get(le, "p50_ms") is not None or get(le, "p99_ms") is not None:
            text = f"p50 {format_ms(get(le, 'p50_ms'))} · p99 {format_ms(get(le, 'p99_ms'))}"
            if num(get(le, "per_year")) is not None:  # the natural rate, as the bars
                text += f" · {significant(le['per_year'], 3)} elections a year"
            title += [" ", small(text)]
        out.append({"figure": figs.add(fig, 300, title), "title": title, "empty": ""})
    else:
        note = ("No leader elections happened in the run." if num(get(le, "count")) == 0
                else "No election gap histogram in the results.")
        out.append({"figure": None, "title": title, "empty": note})
    for w in as_list(get(r, "workloads")):
        if not isinstance(w, dict):
            continue
        rec = get(w, "recovery_seconds", default={})
        title = [f"Recovery: {get(w, 'name', default='?')}"]
        if get(w, "kind"):
            title += [" ", small(f"({w['kind']})")]
        if get(rec, "p50") is not None or get(rec, "p99") is not None:
            title += [" ", small(f"p50 {format_seconds(get(rec, 'p50'))} · p99 {format_seconds(get(rec, 'p99'))}")]
        fig = histogram_figure(get(rec, "histogram"), x_title="time until the lost replicas are ready again",
                               fmt=format_duration, colour=TEAL, years=years)
        out.append({"figure": figs.add(fig, 300, title) if fig is not None else None, "title": title,
                    "empty": "" if fig is not None else "No recoveries recorded."})
    return out


def eviction(r: dict) -> str:
    """One sentence: the node lifecycle controller's zone rules in force, and when they bit."""
    e = get(r, "eviction", default={})
    if not e:
        return ""
    zone = "the whole cluster" if e.get("zone_level") == "none" else f"each {e.get('zone_level')}"
    text = (f"Evictions follow kube-controller-manager's zone rules: {zone} is a zone, nodes are tainted "
            f"{e.get('node_eviction_rate'):g} per second per zone, and pods leave "
            f"{format_duration(num(e.get('toleration_seconds')) or 300.0)} after the taint"
            if e.get("node_eviction_rate") is not None else "")
    bits = []
    if num(e.get("partial_disruption_stalls_per_year")):
        bits.append(f"a small zone in partial disruption stopped evicting {e['partial_disruption_stalls_per_year']:.2g} "
                    f"times a year ({e['stalled_zone_hours_per_year']:.2g} zone-hours)")
    if num(e.get("halts_per_year")):
        bits.append(f"every zone was down and evictions halted {e['halts_per_year']:.2g} times a year "
                    f"({e['halted_hours_per_year']:.2g} h)")
    if num(e.get("kept_evicting_per_year")):
        bits.append(f"every worker zone was down while the control-plane zone kept eviction going "
                    f"{e['kept_evicting_per_year']:.2g} times a year")
    if bits:
        text += "; in this run " + "; ".join(bits)
    return text + "." if text else ""


def load(r: dict, figs: FigureSet) -> dict:
    """The hottest node's utilisation histogram; ``above`` says how long any node sat above the limit."""
    block = get(r, "load", default={})
    fig = load_figure(block, simulated_years(get(r, "run", default={})))
    if fig is None:
        return {"figure": None, "above": "", "single": ""}
    limit = num(get(block, "limit"))
    above = ""
    if get(block, "time_above_limit") is not None and limit is not None:
        share = num(block["time_above_limit"])
        above = (f"Some node sits above {limit:.0%} for {format_fraction_of_time(share)}." if share
                 else f"No node went above {limit:.0%}.")
    mu = get(block, "max_node_utilization", default={})
    low, high = num(get(mu, "p50")), num(get(mu, "max"))
    if low is not None and high is not None and high - low <= 0.005:  # one value: a spike says nothing more
        return {"figure": None, "above": above,
                "single": f"After every failure that took workers down, the hottest surviving worker sat at "
                          f"{format_percent(high)} of its cpu or memory."}
    title: Inline = ["Hottest node's utilisation after each change of state ",
                     small(f"p50 {format_percent(get(mu, 'p50'))} · p95 {format_percent(get(mu, 'p95'))}"
                           f" · max {format_percent(get(mu, 'max'))}")]
    return {"figure": figs.add(fig, 320, title), "above": above, "single": ""}


def commit(r: dict, figs: FigureSet) -> dict:
    """The share of time writes commit at each latency; one sentence when it never changes."""
    wc = get(r, "control_plane", "write_commit_ms", default={})
    p50, p99 = num(get(wc, "p50")), num(get(wc, "p99"))
    base = {"figure": None, "p50": format_ms(p50), "p99": format_ms(p99), "single": ""}
    if p50 is not None and p99 is not None and abs(p99 - p50) <= 0.01 * max(p50, 1e-9):
        return {**base, "single": f"Writes commit in {format_ms(p50)} whenever the API accepts them (the same "
                                  "at p50 and p99): round trip from the leader to the member that completes "
                                  "its quorum, plus fsync."}
    fig = histogram_figure(get(wc, "histogram"), x_title="commit latency (ms)", fmt=format_ms, colour=PURPLE)
    if fig is None:
        return base
    title: Inline = ["Share of the time writes commit at each latency"]
    if get(wc, "mean") is not None:
        title += [" ", small(f"mean {format_ms(wc['mean'])}")]
    return {**base, "figure": figs.add(fig, 300, title)}


#: An estimate that never moves more than this share over the run is said in a sentence, not drawn.
FLAT = 0.02


def convergence(r: dict, figs: FigureSet) -> dict:
    """The estimate as histories accumulate; a sentence instead when it never moved (the exact
    part of the control variate dominates from the first history on)."""
    values = [num(x) for x in get(r, "convergence", "unavailability", default=[]) or []]
    values = [v for v in values if v is not None]
    if len(values) > 1 and max(values) - min(values) <= FLAT * max(max(values), 1e-300):
        return {"figure": None, "empty": f"The API estimate moved by less than {FLAT:.0%} over the run "
                                         f"({min(values):.3g} to {max(values):.3g} unavailability): its exactly "
                                         "known part dominates, so a longer run would hardly move it."}
    fig, why = convergence_figure(r)
    if fig is None:
        return {"figure": None, "empty": why}
    return {"figure": figs.add(fig, 380, ["API unavailability (1 − availability) as failures accumulate"]),
            "empty": ""}


def footer(r: dict) -> dict:
    schema = get(r, "schema")
    return {"version": str(get(r, "kchaos_version", default="unknown")), "schema": str(schema) if schema else ""}

