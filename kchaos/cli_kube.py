"""The commands that speak Kubernetes' own formats: ``import`` (nodes and manifests in),
``export`` (drills out) and ``observe`` (a drill's events read back); registered on the
command group of :mod:`kchaos.cli`, thin over :mod:`kchaos.kube`."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from .cli import EXIT_OK, _stdout, cli
from .cli_options import failures_option, jobs_option, quiet_option, sampling_option, seed_option
from .errors import KchaosUsageError, Problem
from .pipeline import DEFAULT_FAILURES, simulate


@cli.command("import")
@click.option("--nodes", "nodes_files", required=True, multiple=True, type=click.Path(),
              help="The output of `kubectl get nodes -o json` (or -o yaml; a List or single Node objects): "
                   "a file or a folder of them; repeatable.")
@click.option("--zone-label", default=None, metavar="KEY",
              help="The node label naming its zone [default: topology.kubernetes.io/zone, else "
                   "failure-domain.beta.kubernetes.io/zone].")
@click.option("--region-label", default=None, metavar="KEY",
              help="The node label naming its region [default: topology.kubernetes.io/region, else the "
                   "failure-domain.beta one].")
@click.option("--rack-label", default=None, metavar="KEY", help="The node label naming its rack.")
@click.option("--host-label", default=None, metavar="KEY",
              help="The node label naming its physical host (several VMs on one host share a server).")
@click.option("-f", "manifests", multiple=True, type=click.Path(), metavar="PATH",
              help="Manifests (files or folders, YAML or `kubectl get deploy,sts,ds,pdb -A -o json`) "
                   "whose Deployments, StatefulSets and DaemonSets become the workloads.")
@click.option("--volume-scope", type=click.Choice(["server", "rack", "datacenter", "region"]), default="datacenter",
              show_default=True, help="Where a StatefulSet's volumeClaimTemplates keep its pods.")
@click.option("--name", default=None, help="metadata.name of the topology [default: the output file's name].")
@click.option("--out", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the topology here [default: print it].")
def import_(nodes_files: tuple[str, ...], zone_label: str | None, region_label: str | None, rack_label: str | None,
            host_label: str | None, manifests: tuple[str, ...], volume_scope: str, name: str | None,
            out: str | None) -> int:
    """Write a topology from a cluster's nodes: zones, racks, hosts, control plane, worker pools.

    The written file validates and runs as it is; `# TODO` comments say what kubectl cannot
    know (failure rates, round trips, workloads)."""
    from .kube.imported import import_topology
    from .report.files import write_atomic

    name = name or (Path(out).stem if out else "imported")
    text, count, warnings = import_topology(list(nodes_files), manifests, rack_label, host_label, volume_scope, name,
                                            zone_label, region_label)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    for warning in warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    if out:
        write_atomic(Path(out), text)
        Console(stderr=True, highlight=False).print(f"wrote {escape(out)}: {count} nodes; check the TODO comments")
    else:
        click.echo(text, nl=False)
    return EXIT_OK


@cli.command()
@click.argument("topology", type=click.Path(dir_okay=False))
@click.option("--to", "target", type=click.Choice(["chaos-mesh"]), default="chaos-mesh", show_default=True,
              help="The live chaos tool to write experiments for.")
@click.option("--out", "-o", type=click.Path(file_okay=False), required=True, help="Folder for the manifests.")
@click.option("--top", type=click.IntRange(1, 100), default=5, show_default=True,
              help="How many of the costliest failures to export.")
@click.option("--namespace", default="default", show_default=True,
              help="Namespace of the experiments (the cloud chaos reads its credentials secret there).")
@failures_option
@seed_option
@jobs_option
@sampling_option
@quiet_option
def export(topology: str, target: str, out: str, top: int, namespace: str, failures: int, seed: int,
           jobs: int | None, sampling: str, quiet: bool) -> int:
    """Simulate, then write the costliest failures as drills on the cluster's own machines, each
    annotated with the timeline kchaos predicts for it, so that a drill can confirm it."""
    from .kube.chaos_mesh import chaos_mesh
    from .report.files import write_atomic
    from .topology import load_topology

    cluster = load_topology(topology)
    results = simulate(topology, failures or DEFAULT_FAILURES, seed, jobs, quiet, sampling=sampling)
    drills = chaos_mesh(cluster, results, top, namespace)
    err = Console(stderr=True, highlight=False)
    for drill in drills:
        for reason in drill.skipped:
            err.print(f"[yellow]warning:[/yellow] {escape(drill.domain)}: {escape(reason)}")
    written = [d for d in drills if d.manifests]
    if not written:
        raise KchaosUsageError([Problem(topology, None, "", "no drill names a machine of the cluster" + (
            "" if drills else ": no failure's cost is told apart from zero; run with more --failures"))])
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for drill in written:
        write_atomic(folder / drill.filename, drill.text())
    if not quiet:
        Console(highlight=False).print(
            f"wrote {len(written)} {target} drills ({sum(len(d.manifests) for d in written)} manifests) to "
            f"{escape(str(folder))}: " + ", ".join(escape(d.filename) for d in written))
    return EXIT_OK


@cli.command()
@click.argument("topology", type=click.Path(dir_okay=False))
@click.option("--fail", "fail", required=True, metavar="KIND/NAME",
              help="The failure domain the drill failed, as `kchaos whatif --fail` names it.")
@click.option("--start", required=True, metavar="TIME", help="When the drill started (RFC 3339, e.g. 2024-05-01T10:00:03Z).")
@click.option("--events", "events_file", required=True, type=click.Path(dir_okay=False),
              help="`kubectl get events -A -o json` captured after the drill.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="Also write observe.json and index.html (both timelines) here.")
@seed_option
def observe(topology: str, fail: str, start: str, events_file: str, as_json: bool, out: str | None, seed: int) -> int:
    """Set a drill's events against kchaos's prediction, phase by phase, and say which topology
    setting would make the model match the cluster."""
    from .analysis.whatif import resolve
    from .kube.events import parse_time, read_events
    from .kube.observe import observe as compare_drill
    from .report.files import to_json, write_atomic
    from .report.observe import print_observation, render_observation
    from .topology import load_topology

    cluster = load_topology(topology)
    domain = cluster.domains[resolve(cluster, fail)].id
    events, skipped = read_events(events_file, parse_time(start))
    if skipped:
        Console(stderr=True, highlight=False).print(f"note: {skipped} items of {escape(events_file)} are not events "
                                                    "with a reason and a time; left out")
    doc = compare_drill(cluster, domain, events, seed)
    if out:
        write_atomic(Path(out) / "observe.json", to_json(doc))
        write_atomic(Path(out) / "index.html", render_observation(doc))
    if as_json:
        click.echo(to_json(doc), nl=False)
    else:
        print_observation(doc, _stdout())
    return EXIT_OK
