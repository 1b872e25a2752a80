"""`kchaos whatif` output: the event chain in the shape of `kubectl get events -w`, then the outcome."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape


def since(seconds: float) -> str:
    """Time since the scenario started, kubectl style: 0s, 50s, 5m50s, 1h2m."""
    s = float(seconds)
    if s < 10 and s != int(s):
        return f"{s:.1f}s" if s >= 0.1 else f"{s * 1000:.0f}ms"
    s = int(round(s))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        m, r = divmod(s, 60)
        return f"{m}m{r}s" if r else f"{m}m"
    h, r = divmod(s, 3600)
    return f"{h}h{r // 60}m" if r // 60 else f"{h}h"


def print_scenario(scenario: dict, console: Console) -> None:
    events = scenario["events"]
    widths = [max([len("LAST SEEN")] + [len("+" + since(e["t"])) for e in events]),
              max([len("TYPE")] + [len(e["type"]) for e in events]),
              max([len("REASON")] + [len(e["reason"]) for e in events]),
              max([len("OBJECT")] + [len(e["object"]) for e in events])]

    def row(cols, style=""):
        text = "   ".join(c.ljust(w) for c, w in zip(cols[:4], widths)) + "   " + cols[4]
        console.print(f"[{style}]{escape(text)}[/]" if style else escape(text), soft_wrap=True)

    row(["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], "bold")
    for e in events:
        row(["+" + since(e["t"]), e["type"], e["reason"], e["object"], e["message"]],
            "yellow" if e["type"] == "Warning" else "")
    o = scenario["outcome"]
    console.print()
    failures = scenario.get("failures") or [{"domain": d, "at_seconds": 0.0, "repair_at_seconds": None}
                                            for d in scenario["failed"]]
    what = ", ".join([_failure(f) for f in failures] + [f"drain {n}" for n in scenario["drained"]]
                     + (["one rolling upgrade"] if "upgrade" in o else []))
    console.print(f"[bold]outcome of {escape(what)}[/]")
    down = ", ".join(o["members_down"]) or "none"
    cut = ", ".join(o.get("members_cut_off", []))
    lost = f"members down: {escape(down)}" + (f"; cut off from the quorum: {escape(cut)}" if cut else "")
    if o["quorum"] == "lost":
        console.print(f"  quorum: [bold red]LOST[/] ({o['members']} members, quorum {o['quorum_size']}; {lost})")
    else:
        console.print(f"  quorum: [green]kept[/] ({o['members']} members, quorum {o['quorum_size']}; {lost})")
    gap = o["control_plane_gap_seconds"]
    elections = ", ".join(f"{ms:.0f} ms" for ms in o["elections_ms"]) or "none"
    end = scenario["horizon_seconds"]
    if not o.get("api_available_at_end", True):
        gap_text = (f"[bold red]writes still refused when the scenario ends[/] (+{since(end)}); "
                    "add --repair-after to see the return")
    else:
        gap_text = since(gap) if gap else "none"
    console.print(f"  control-plane write gap: {gap_text}; elections: {elections}")
    console.print(f"  pods displaced: {o['pods_displaced']}")
    if o["pending_pods"]:
        console.print(f"  [bold red]Pending pods: {len(o['pending_pods'])}[/]")
        for name, why in o["pending_pods"].items():
            console.print(f"    {escape(name)}: {escape(why)}")
    else:
        console.print("  Pending pods: none")
    if o["hottest_node"]:
        console.print(f"  hottest node: {escape(o['hottest_node'])} at {100 * o['hottest_utilization']:.0f}% "
                      f"(before: {100 * o['baseline_hottest_utilization']:.0f}%)")
    for w in o["workloads"]:
        if w["available_at_end"]:
            mark = "[green]available[/]"
            extra = f" (was below minAvailable for {since(w['unavailable_seconds'])})" if w["unavailable_seconds"] else ""
        else:
            mark = "[bold red]UNAVAILABLE[/]"
            extra = " (still, when the scenario ends)"
        lost = w.get("failed_request_seconds", 0.0) - w["unavailable_seconds"]
        if lost > 0.0005:  # requests sent to dead endpoints while it was up
            extra += f"; requests to dead endpoints: {lost:.1f} s of traffic failed"
        console.print(f"  {escape(w['kind'])} {escape(w['name'])}: {w['ready']}/{w['desired']} ready "
                      f"(minAvailable {w['min_available']}) {mark}{extra}")
    for d in o["drains"]:
        if d["completed"]:
            console.print(f"  drain {escape(d['node'])}: [green]completed[/]")
        else:
            console.print(f"  drain {escape(d['node'])}: [bold red]would block[/] on "
                          f"{escape(', '.join(d['blocked_pods']) or 'pods that cannot be evicted')}")
    if "upgrade" in o:
        print_upgrade(o["upgrade"], console)
    if o["recovered"]:
        console.print(f"  full recovery after {since(o['time_to_full_recovery_seconds'])}")
    elif any(f["repair_at_seconds"] is None for f in scenario.get("failures", ())):
        console.print("  [bold red]not fully recovered[/] while the failed domains stay down")
    else:
        console.print("  [bold red]not fully recovered[/] when the scenario ends")


def _failure(f: dict) -> str:
    """``server/s1`` failed at +0s (down for 4h), at +2m, and so on."""
    at, until = f["at_seconds"], f["repair_at_seconds"]
    start = f" at +{since(at)}" if at else ""
    end = f" (down {since(until - at)})" if until is not None else ""
    return f"{f['domain']}{start}{end}"


def print_upgrade(u: dict, console: Console) -> None:
    """The rolling upgrade's outcome: finished or stalled, and on which budget."""
    if u["completed"]:
        console.print(f"  upgrade: [green]completed[/] in {since(u['seconds'])}: {u['drains']} drains, "
                      f"{u['leader_transfers']} etcd leader transfer(s)")
    else:
        console.print(f"  upgrade: [bold red]STALLED[/] after {u['drains']} drains")
    if u["blocked_drains"]:
        by = ", ".join(f"{escape(name)} ({n})" for name, n in u["blocked_by"].items())
        console.print(f"  drains held up by a disruption budget: {u['blocked_drains']}, the longest "
                      f"{since(u['blocked_max_seconds'])}; budgets: {by}")
    for b in u["blocked_now"]:
        budgets = "; ".join(f"{escape(x['workload'])} minAvailable {x['min_available']} with {x['ready']} ready"
                            for x in b["budgets"])
        console.print(f"  [bold red]drain of {escape(b['node'])} blocked[/] on "
                      f"{escape(', '.join(b['pods']))}: {budgets}")
    if u["hottest_utilization_in_window"] is not None:
        console.print(f"  hottest node while a batch was out: {100 * u['hottest_utilization_in_window']:.0f}%")
