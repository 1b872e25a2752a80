"""The commands that speak Kubernetes' own formats: ``import`` (nodes and manifests in),
``export`` (drills out) and ``observe`` (a drill's events read back); registered on the
command group of :mod:`kchaos.cli`, thin over :mod:`kchaos.kube`."""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from .cli import EXIT_OK, Interrupted, _stdout, cli
from .cli_options import failures_option, jobs_option, quiet_option, sampling_option, seed_option
from .console import plain, safe_json, terminal
from .errors import KchaosUsageError, Problem
from .pipeline import DEFAULT_FAILURES, simulate


def _warning(console, text: str) -> None:
    console.print(Text.assemble(("warning:", "yellow"), " ", plain(text)))


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
    from .report.files import check_file, write_atomic

    if out:
        check_file(Path(out))  # before the inputs are read
    name = name or (Path(out).stem if out else "imported")
    text, count, warnings = import_topology(list(nodes_files), manifests, rack_label, host_label, volume_scope, name,
                                            zone_label, region_label)
    err = terminal(stderr=True, soft_wrap=True)
    for warning in warnings:
        _warning(err, warning)
    if out:
        write_atomic(Path(out), text)
        err.print(plain(f"wrote {out}: {count} nodes; check the TODO comments"))
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
    from .report.files import check_folder, write_files
    from .topology import load_topology

    cluster = load_topology(topology)
    folder = Path(out)
    check_folder(folder)  # before the simulation
    results = simulate(topology, failures or DEFAULT_FAILURES, seed, jobs, quiet, sampling=sampling)
    drills = chaos_mesh(cluster, results, top, namespace)
    err = terminal(stderr=True)
    for drill in drills:
        for reason in drill.skipped:
            _warning(err, f"{drill.domain}: {reason}")
    written = [d for d in drills if d.manifests]
    if not written:
        raise KchaosUsageError([Problem(topology, None, "", "no drill names a machine of the cluster" + (
            "" if drills else ": no failure's cost is told apart from zero; run with more --failures"))])
    write_files({folder / drill.filename: drill.text() for drill in written})
    if not quiet:
        terminal().print(plain(
            f"wrote {len(written)} {target} drills ({sum(len(d.manifests) for d in written)} manifests) to "
            f"{folder}: " + ", ".join(d.filename for d in written)))
    if results["run"]["partial"]:
        raise Interrupted()
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
    from .report.files import check_folder, to_json, write_files
    from .report.observe import print_observation, render_observation
    from .topology import load_topology

    if out:
        check_folder(Path(out), ("observe.json", "index.html"))
    cluster = load_topology(topology)
    domain = cluster.domains[resolve(cluster, fail)].id
    events, skipped = read_events(events_file, parse_time(start))
    if skipped:
        terminal(stderr=True).print(plain(f"note: {skipped} items of {events_file} are not events with a reason "
                                          "and a time; left out"))
    doc = compare_drill(cluster, domain, events, seed)
    if out:
        write_files({Path(out) / "observe.json": to_json(doc), Path(out) / "index.html": render_observation(doc)})
    if as_json:
        click.echo(safe_json(to_json(doc)), nl=False)
    else:
        print_observation(doc, _stdout())
    return EXIT_OK
