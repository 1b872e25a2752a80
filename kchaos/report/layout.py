"""`kchaos validate`: the layout as a tree, the control plane facts and the advisories."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from ..model.cluster import Advisory, Cluster
from ..model.engine import ClusterModel

MAX_SERVERS_SHOWN = 12


def pods_by_node(model: ClusterModel) -> dict[int, str]:
    """Where the scheduler puts every pod with every node up, per node: ``web x2, db-0``
    (Deployment replicas by workload and count, StatefulSet pods by name, DaemonSets left out)."""
    names = model.initial_pod_names()
    out: dict[int, dict[str, int]] = {}
    for p, node in enumerate(model.baseline.pod_node):
        if node < 0 or model.is_daemon[p]:
            continue
        wl = model.cluster.workloads[model.pod_workload[p]]
        key = names[p] if wl.kind == "StatefulSet" else wl.name
        out.setdefault(node, {})[key] = out.get(node, {}).get(key, 0) + 1
    return {node: ", ".join(f"{k} x{n}" if n > 1 else k for k, n in pods.items()) for node, pods in out.items()}


def _node_label(cluster: Cluster, node_index: int, pods: str = "") -> str:
    n = cluster.nodes[node_index]
    state = "".join(f" [yellow]{s}[/]" for s, on in (("NotReady", not n.ready), ("cordoned", n.cordoned)) if on)
    tail = state + (f" {escape(pods)}" if pods else "")
    if n.runs_etcd:
        return (f"[bold magenta]{escape(n.name)}[/] (etcd member{', apiserver' if n.runs_apiserver else ''}"
                f"{', runs workloads' if n.runs_workloads else ''})" + tail)
    if n.runs_apiserver:
        return f"[bold blue]{escape(n.name)}[/] (apiserver)" + tail
    cap = n.capacity
    if n.standby:
        return f"[dim]{escape(n.name)} (the autoscaler may add it to {escape(n.pool or '')})[/]"
    return f"{escape(n.name)} [dim](worker {cap.cpu:g} cpu, {cap.memory / 2**30:.3g}Gi)[/]" + tail


SEVERITY_COLOURS = {"error": "bold red", "warning": "yellow", "info": "blue"}


def print_layout(cluster: Cluster, findings: list[Advisory], console: Console,
                 pods_on: dict[int, str] | None = None) -> None:
    """The tree (with the pods each worker gets when every node is up), the control-plane
    facts and the findings, errors first."""
    pods_on = pods_on or {}
    c = cluster
    nodes_on: dict[int, list[int]] = {}
    for n in c.nodes:
        nodes_on.setdefault(n.server, []).append(n.index)
    children: dict[int, list[int]] = {}
    for d in c.domains:
        if d.parent is not None and d.kind != "node":
            children.setdefault(d.parent, []).append(d.index)
    title = f"[bold]{escape(c.name)}[/]" + (f" — {escape(c.description)}" if c.description else "")
    tree = Tree(title)

    def add(branch: Tree, d: int) -> None:
        dom = c.domains[d]
        if dom.kind == "server":
            names = nodes_on.get(d, [])
            label = f"[cyan]server[/] {escape(dom.name)}"
            if not names:
                branch.add(label + " [dim](empty)[/]")
                return
            sub = branch.add(label)
            for n in names:
                sub.add(_node_label(c, n, pods_on.get(n, "")))
            return
        sub = branch.add(f"[cyan]{dom.kind}[/] {escape(dom.name)}")
        kids = children.get(d, [])
        servers = [k for k in kids if c.domains[k].kind == "server"]
        if len(servers) > MAX_SERVERS_SHOWN:
            used = [k for k in servers if nodes_on.get(k)]
            for k in used[:MAX_SERVERS_SHOWN]:
                add(sub, k)
            rest = len(servers) - min(len(used), MAX_SERVERS_SHOWN)
            sub.add(f"[dim]… {rest} more servers[/]")
            return
        for k in kids:
            add(sub, k)

    for region in c.domains_of_kind("region"):
        add(tree, region.index)
    console.print(tree)
    n = len(c.members)
    console.print(f"control plane: {n} etcd member{'s' if n != 1 else ''} ({c.etcd_topology}), quorum {c.quorum}, "
                  f"tolerates {c.tolerates} failure{'s' if c.tolerates != 1 else ''}; "
                  f"{len(c.apiservers)} apiserver{'s' if len(c.apiservers) != 1 else ''}")
    pods = sum(w.replicas for w in c.workloads)
    more = sum(a.max - sum(1 for i in c.workers if c.nodes[i].pool == a.pool) for a in c.autoscale)
    console.print(f"workers: {len(c.workers)}" + (f" (up to {more} more by the autoscaler)" if c.autoscale else "")
                  + f"; workloads: {len(c.workloads)} ({pods} pods)")
    links = c.domains_of_kind("regionLink")
    if links:
        console.print("region links: " + ", ".join(
            f"{escape(d.name)} {c.network.region_rtt[tuple(sorted(d.regions))] * 1000:g} ms" for d in links))
    if findings:
        console.print("[bold]findings:[/]")
        for a in findings:
            console.print(f"  [{SEVERITY_COLOURS.get(a.severity, 'blue')}]{a.severity}[/] {escape(a.code)}: "
                          f"{escape(a.message)}")
    else:
        console.print("[green]no advisories[/]")
    errors = sum(a.severity == "error" for a in findings)
    if errors:
        console.print(f"[bold red]cannot run as written: {errors} error{'s' if errors > 1 else ''}[/] "
                      "(the file is well-formed; `kchaos run` would report these workloads down)")
    else:
        console.print("[green]valid[/]")
