"""Command line: thin commands over the core.

``main()`` only maps outcomes to exit codes (0 ok, 1 a target missed, 2 bad usage
or input, 130 interrupted); the commands do the work and never exit themselves.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from . import __version__, interrupts
from .errors import KchaosUsageError, Problem, TopologyError
from .pipeline import progress_bar, simulate, usable_cores
from .console import plain, terminal

#: 1: `check` missed a target, or `validate` found a layout that cannot run as written.
EXIT_OK, EXIT_TARGET_MISSED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class Interrupted(Exception):
    """The run was interrupted; partial results were written."""


def _stdout(wide_when_piped: bool = False) -> Console:
    """Standard output; ``wide_when_piped``: a CI log (not a terminal) gets 160 columns, so a
    table of figures is never cut to the 80 columns rich assumes for pipes."""
    if wide_when_piped and not sys.stdout.isatty() and "COLUMNS" not in __import__("os").environ:
        return terminal(width=160)
    return terminal()


def default_out(name: str) -> Path:
    return Path("reports") / name


#: What `run` (and `check -o`) writes into its folder, as a set.
REPORT_FILES = ("results.json", "index.html")


#: Upper bounds of the numeric options: beyond them a run would not finish in a working day
#: (or a worker pool would be all overhead), so a typo gets a clear message instead.
MAX_FAILURES = 100_000_000
MAX_JOBS = 256
MAX_SEED = 2**32 - 1
#: Problems printed for one bad input; a last line counts the rest.
MAX_PROBLEMS_SHOWN = 100


class PositiveDuration(click.ParamType):
    """A duration with a unit (``30m``, ``1h30m``), longer than zero."""

    name = "DURATION"

    def convert(self, value, param, ctx):
        from .topology.units import UnitError, parse_duration

        if isinstance(value, float):
            return value
        try:
            seconds = parse_duration(value)
        except UnitError as exc:
            self.fail(str(exc), param, ctx)
        if seconds <= 0:
            self.fail(f"must be longer than zero, got {value!r}", param, ctx)
        return seconds


failures_option = click.option("--failures", "-n", type=click.IntRange(1, MAX_FAILURES), default=10_000,
                               show_default=True, metavar="N",
                               help="Failure events to inject, over as many simulated histories as that takes "
                                    f"(1 to {MAX_FAILURES:,}).")
seed_option = click.option("--seed", type=click.IntRange(0, MAX_SEED), default=1, show_default=True,
                           help="Random seed (0 to 2^32-1): the same seed gives the same results.")
jobs_option = click.option("--jobs", "-j", type=click.IntRange(1, MAX_JOBS), default=None,
                           help=f"Worker processes, 1 to {MAX_JOBS}; results do not depend on it "
                                "[default: the usable cores].")
dask_option = click.option("--dask", metavar="ADDRESS", default=None,
                           help="Run the histories on a dask.distributed cluster: a scheduler address "
                                "(tcp://host:8786) or `local` for a LocalCluster of --jobs workers. "
                                "Same results as a local run. Needs pip install 'kchaos[distributed]'.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")
manifests_option = click.option(
    "-f", "manifests", multiple=True, type=click.Path(), metavar="PATH",
    help="Kubernetes manifests (files or folders) whose Deployments, StatefulSets and DaemonSets join the "
         "topology's workloads (one of the same name is replaced).")
sampling_option = click.option(
    "--sampling", type=click.Choice(["plain", "importance", "auto"]), default="auto", show_default=True,
    help="How failure histories are drawn: plain Monte Carlo, importance sampling of overlapping failures "
         "(tighter intervals where outages need two failures at once; exponential failure times only), "
         "or auto (importance sampling where it applies).")
check_quiet_option = click.option("--quiet", "-q", is_flag=True,
                                  help="No progress bar and no table: only the missed targets, one line each.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kchaos")
def cli() -> None:
    """kchaos: how available is this Kubernetes layout, and what does each failure cost?"""


@cli.command()
@click.argument("topology", type=click.Path(dir_okay=False))
@failures_option
@seed_option
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="Output folder [default: reports/<name>/].")
@jobs_option
@dask_option
@sampling_option
@manifests_option
@quiet_option
def run(topology: str, failures: int, seed: int, out: str | None, jobs: int | None, dask: str | None,
        sampling: str, manifests: tuple[str, ...], quiet: bool) -> int:
    """Simulate failures and write results.json and index.html."""
    from .report.files import check_folder, write_report

    folder: list[Path] = []

    def outputs(cluster) -> None:  # checked before the histories, not after them
        folder.append(Path(out) if out else default_out(cluster.name))
        check_folder(folder[0], REPORT_FILES)

    results = simulate(topology, failures, seed, jobs, quiet, dask=dask, sampling=sampling, manifests=manifests,
                       report=True, before=outputs)
    from .report import print_summary, render_html  # imported while the histories ran (Ahead)

    _, html_path = write_report(folder[0], results, render_html(results))
    if not quiet:
        print_summary(results, _stdout(), str(html_path))
    if results["run"]["partial"]:
        raise Interrupted()
    return EXIT_OK


@cli.command("import")
@click.option("--nodes", "nodes_file", required=True, type=click.Path(dir_okay=False),
              help="The output of `kubectl get nodes -o json`.")
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
def import_(nodes_file: str, rack_label: str | None, host_label: str | None, manifests: tuple[str, ...],
            volume_scope: str, name: str | None, out: str | None) -> int:
    """Write a topology from a cluster's nodes: zones, racks, hosts, control plane, worker pools.

    The written file validates and runs as it is; `# TODO` comments say what kubectl cannot
    know (failure rates, round trips, workloads)."""
    from .kube.imported import import_topology
    from .report.files import check_file, write_atomic

    if out:
        check_file(Path(out))
    name = name or (Path(out).stem if out else "imported")
    text, count = import_topology(nodes_file, manifests, rack_label, host_label, volume_scope, name)
    if out:
        write_atomic(Path(out), text)
        terminal(stderr=True).print(plain(f"wrote {out}: {count} nodes; check the TODO comments"))
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
@failures_option
@seed_option
@jobs_option
@sampling_option
@quiet_option
def export(topology: str, target: str, out: str, top: int, failures: int, seed: int, jobs: int | None,
           sampling: str, quiet: bool) -> int:
    """Simulate, then write the costliest failures as live chaos experiments, each annotated
    with what kchaos predicts for it, so that a drill can confirm it."""
    import yaml

    from .kube.chaos_mesh import chaos_mesh
    from .report.files import check_folder, write_files
    from .topology import load_topology

    from .model.engine import ClusterModel
    from .model.scheduling.response import BlastRadius

    folder = Path(out)
    check_folder(folder)
    results = simulate(topology, failures, seed, jobs, quiet, sampling=sampling)
    cluster = load_topology(topology)
    manifests = chaos_mesh(cluster, results, top, BlastRadius(ClusterModel(cluster)))
    write_files({folder / f"{m['metadata']['name']}.yaml": yaml.safe_dump(m, sort_keys=False) for m in manifests})
    if not quiet:
        terminal().print(plain(f"wrote {len(manifests)} {target} manifests to {folder}: "
                               + ", ".join(m["metadata"]["name"] for m in manifests)))
    if results["run"]["partial"]:
        raise Interrupted()
    return EXIT_OK


@cli.command()
@click.option("--out", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the schema to this file instead of standard output.")
def schema(out: str | None) -> int:
    """Print the JSON Schema of the topology format, for editors and CI.

    \b
    VS Code (YAML extension): kchaos schema -o kchaos.schema.json, then start the topology with
      # yaml-language-server: $schema=./kchaos.schema.json"""
    import json

    from .report.files import check_file, write_atomic
    from .topology.json_schema import topology_schema

    text = json.dumps(topology_schema(), indent=2, ensure_ascii=False) + "\n"
    if out:
        check_file(Path(out))
        write_atomic(Path(out), text)
    else:
        click.echo(text, nl=False)
    return EXIT_OK


@cli.command()
@click.argument("topology", type=click.Path(dir_okay=False))
def validate(topology: str) -> int:
    """Parse and check a topology; print its layout and findings.

    Exit 0 when it can run, 1 when a finding is an error (Pods that can never all be
    scheduled, workloads with nowhere to run), 2 when the file itself is invalid."""
    from .analysis.advisories import layout_findings
    from .model.engine import ClusterModel
    from .report.layout import pods_by_node, print_layout
    from .topology import load_topology

    cluster = load_topology(topology)
    model = ClusterModel(cluster)
    findings = layout_findings(model)
    print_layout(cluster, findings, _stdout(), pods_by_node(model))
    return EXIT_TARGET_MISSED if any(a.severity == "error" for a in findings) else EXIT_OK


@cli.command()
@click.argument("topologies", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--etcd-sizes", default=None, metavar="SIZES",
              help="Member counts to compare for one topology, e.g. 1-7 or 3,4,5.")
@failures_option
@seed_option
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="Output folder [default: reports/<name>-etcd-sizes-compare/ with --etcd-sizes, "
                   "reports/<a>-vs-<b>-compare/ for files].")
@jobs_option
@dask_option
@quiet_option
def compare(topologies: tuple[str, ...], etcd_sizes: str | None, failures: int, seed: int, out: str | None,
            jobs: int | None, dask: str | None, quiet: bool) -> int:
    """Compare etcd sizes of one topology, or several topologies, side by side."""
    from .analysis.compare import parse_sizes, run_variants
    from .report.compare import print_comparison, render_comparison_html
    from .report.files import check_folder, to_json, write_files
    from .topology import load_topology

    if etcd_sizes is not None:
        if len(topologies) != 1:
            raise click.UsageError("--etcd-sizes takes exactly one topology")
        base = load_topology(topologies[0])
        try:
            variants = [(f"{n} member{'s' if n > 1 else ''}",
                         load_topology(topologies[0], overrides={"controlPlane.members": n}))
                        for n in parse_sizes(etcd_sizes)]
        except TopologyError as exc:
            first = exc.problems[0]
            raise KchaosUsageError([Problem(first.file, first.line, first.path,
                                            "--etcd-sizes keeps the file's placement policy, and this file lists "
                                            "its servers one by one; use `placement: spread`, or write one file "
                                            "per layout and run `kchaos compare a.yaml b.yaml`")]) from None
        name = f"{base.name}-etcd-sizes"
    else:
        if len(topologies) < 2:
            raise click.UsageError("compare needs two or more topologies, or one with --etcd-sizes")
        clusters = [load_topology(t) for t in topologies]
        labels = [c.name for c in clusters]
        if len(set(labels)) < len(labels):
            labels = [f"{c.name} ({t})" for c, t in zip(clusters, topologies)]
        variants = list(zip(labels, clusters))
        name = "-vs-".join(c.name for c in clusters)[:80] if len(clusters) <= 3 \
            else f"{clusters[0].name}-and-{len(clusters) - 1}-more"
    out_dir = Path(out) if out else Path("reports") / f"{name}-compare"
    check_folder(out_dir, ("comparison.json", "index.html"))
    ctx, callback = progress_bar(failures * len(variants), quiet)
    with ctx:
        results = run_variants(variants, failures, seed, jobs or usable_cores(), callback, dask=dask)
    write_files({out_dir / "comparison.json": to_json(results), out_dir / "index.html": render_comparison_html(results)})
    if not quiet:
        print_comparison(results, _stdout(), str(out_dir / "index.html"))
    if any(r["run"]["partial"] for r in results) or len(results) < len(variants):
        raise Interrupted()
    return EXIT_OK


@cli.command()
@click.argument("topology", type=click.Path(dir_okay=False))
@failures_option
@seed_option
@click.option("--junit", type=click.Path(dir_okay=False), default=None, help="Write a JUnit XML file, one testcase per target.")
@click.option("--baseline", type=click.Path(dir_okay=False, exists=True), default=None,
              help="A previous results.json: also fail when availability dropped significantly.")
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="Also write results.json and index.html here.")
@jobs_option
@dask_option
@sampling_option
@manifests_option
@check_quiet_option
def check(topology: str, failures: int, seed: int, junit: str | None, baseline: str | None, out: str | None,
          jobs: int | None, dask: str | None, sampling: str, manifests: tuple[str, ...], quiet: bool) -> int:
    """Gate CI on the topology's slo targets: exit 0 if met, 1 if one is missed."""
    import os

    from .analysis.gate import baseline_mismatch, compare_baseline, load_baseline
    from .report.gate import append_step_summary, junit_xml, print_checks
    from .report.files import check_file, check_folder, write_atomic

    base = load_baseline(baseline) if baseline else None
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    for path in filter(None, (junit, summary_file)):
        check_file(Path(path))
    if out:
        check_folder(Path(out), REPORT_FILES)
    results = simulate(topology, failures, seed, jobs, quiet, dask=dask, sampling=sampling, manifests=manifests,
                       report=out is not None)
    checks = list(results["slo"]["checks"])
    if base is not None:
        checks += compare_baseline(results, base)
        mismatch = baseline_mismatch(results, base)
        if mismatch:
            terminal(stderr=True).print(Text.assemble(("warning:", "yellow"), " ", plain(mismatch)))
    if not checks:
        raise KchaosUsageError(f"{topology}: no slo targets to check (add an `slo:` section) and no --baseline")
    passed = all(ch["passed"] for ch in checks)
    if out:
        from .report import render_html
        from .report.files import write_report

        write_report(Path(out), results, render_html(results))
    if junit:
        write_atomic(Path(junit), junit_xml(results, checks))
    if summary_file:
        append_step_summary(Path(summary_file), results, checks)
    print_checks(results, checks, _stdout(wide_when_piped=True), quiet=quiet)
    if results["run"]["partial"]:
        raise Interrupted()
    return EXIT_OK if passed else EXIT_TARGET_MISSED


@cli.command()
@click.argument("topology", type=click.Path(dir_okay=False))
@click.option("--fail", "fail", multiple=True, metavar="KIND/NAME",
              help="A failure domain to fail at t=0 (repeatable): region/NAME, datacenter/NAME, rack/NAME, "
                   "server/NAME, node/NAME, or regionLink/A~B for a cut between regions A and B. "
                   "`kchaos validate` lists the names.")
@click.option("--drain", "drain", multiple=True, metavar="node/NAME",
              help="A node to drain like kubectl drain --ignore-daemonsets (repeatable).")
@click.option("--upgrade", is_flag=True,
              help="Walk one rolling upgrade from t=0 (the topology's maintenance:, or one node at a time).")
@click.option("--repair-after", type=PositiveDuration(), default=None,
              help="Repair the failed domains after this long (e.g. 30m); by default they stay down.")
@seed_option
@click.option("--json", "as_json", is_flag=True, help="Print the scenario as JSON.")
def whatif(topology: str, fail: tuple[str, ...], drain: tuple[str, ...], upgrade: bool, repair_after: float | None,
           seed: int, as_json: bool) -> int:
    """Play one deterministic failure scenario and show Kubernetes' reaction as events.

    \b
    Examples:
      kchaos whatif topo.yaml --fail datacenter/dc-a
      kchaos whatif topo.yaml --fail regionLink/eu-west~eu-central --repair-after 30m
      kchaos whatif topo.yaml --drain node/w3
      kchaos whatif topo.yaml --upgrade
    """
    from .analysis.whatif import run_scenario
    from .report.files import to_json
    from .report.whatif import print_scenario
    from .topology import load_topology

    cluster = load_topology(topology)
    scenario = run_scenario(cluster, list(fail), list(drain), repair_after, seed, upgrade=upgrade)
    if as_json:
        click.echo(to_json(scenario), nl=False)
    else:
        print_scenario(scenario, _stdout())
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the command, map the outcome to an exit code."""
    err = terminal(stderr=True, soft_wrap=True)
    try:
        with interrupts.gate():
            code = cli.main(args=argv, prog_name="kchaos", standalone_mode=False)
            if interrupts.requested():  # Ctrl-C once the histories were done: their results are written
                raise Interrupted("interrupted: the run had finished; its results are written in full")
    except KchaosUsageError as exc:
        for problem in exc.problems[:MAX_PROBLEMS_SHOWN]:
            err.print(Text.assemble(("error:", "red"), " ", plain(str(problem))))
        if len(exc.problems) > MAX_PROBLEMS_SHOWN:
            err.print(Text.assemble(("error:", "red"), f" ... and {len(exc.problems) - MAX_PROBLEMS_SHOWN} more problems"))
        return EXIT_USAGE
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        err.print("interrupted")
        return EXIT_INTERRUPTED
    except Interrupted as exc:
        err.print(plain(str(exc) or "interrupted: the results written are partial"))
        return EXIT_INTERRUPTED
    except click.ClickException as exc:  # usage errors included: click's own text, through the one printer
        shown = io.StringIO()
        exc.show(file=shown)
        err.print(plain(shown.getvalue().rstrip("\n")))
        return EXIT_USAGE
    if isinstance(code, int):
        return code
    return EXIT_OK


def entry() -> None:
    """The ``kchaos`` command: :func:`main`, then a hard exit once the output is flushed.

    Every file is written and closed by then; tearing down pandas, scipy and plotly's modules
    would only add about 0.3 s to each run (as mypy's ``hard_exit`` avoids the same cost)."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:  # None when the process started with that descriptor closed
                stream.flush()
        except (OSError, ValueError):  # a closed pipe, a closed file: nothing more to deliver
            pass
    import os

    os._exit(code)
