"""Command line: thin commands over the core.

``main()`` only maps outcomes to exit codes (0 ok, 1 a target missed, 2 bad usage
or input, 130 interrupted); the commands do the work and never exit themselves.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from . import __version__
from .errors import KchaosUsageError

EXIT_OK, EXIT_TARGET_MISSED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class Interrupted(Exception):
    """The run was interrupted; partial results were written."""


def _stdout() -> Console:
    return Console(highlight=False)


def _progress(total: int, quiet: bool):
    """A rich progress bar on a terminal, nothing otherwise. Returns (context, callback)."""
    if quiet or not sys.stderr.isatty():
        from contextlib import nullcontext

        return nullcontext(), None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(TextColumn("simulating failures"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), console=Console(stderr=True), transient=True)
    task = progress.add_task("run", total=total)
    return progress, lambda done: progress.update(task, completed=done)


def simulate(path: str, failures: int, seed: int, jobs: int, quiet: bool, overrides: dict | None = None) -> dict:
    """Load, simulate and analyse one topology: the results document."""
    from .analysis import analyze
    from .model.montecarlo import run_monte_carlo
    from .topology import load_topology

    cluster = load_topology(path, overrides=overrides) if overrides else load_topology(path)
    ctx, callback = _progress(failures, quiet)
    with ctx:
        output = run_monte_carlo(cluster, failures=failures, seed=seed, jobs=jobs, progress=callback)
    return analyze(output)


def default_out(results: dict) -> Path:
    return Path("reports") / results["topology"]["name"]


failures_option = click.option("--failures", "-n", type=click.IntRange(min=1), default=10_000, show_default=True,
                               help="Failure events to inject, over as many simulated histories as that takes.")
seed_option = click.option("--seed", type=int, default=1, show_default=True,
                           help="Random seed: the same seed gives the same results.")
jobs_option = click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
                           help="Worker processes (results do not depend on it).")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")


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
@quiet_option
def run(topology: str, failures: int, seed: int, out: str | None, jobs: int, quiet: bool) -> int:
    """Simulate failures and write results.json and index.html."""
    from .report import print_summary, render_html
    from .report.files import write_report

    results = simulate(topology, failures, seed, jobs, quiet)
    out_dir = Path(out) if out else default_out(results)
    _, html_path = write_report(out_dir, results, render_html(results))
    if not quiet:
        print_summary(results, _stdout(), str(html_path))
    if results["run"]["partial"]:
        raise Interrupted()
    return EXIT_OK


@cli.command()
@click.argument("topology", type=click.Path(dir_okay=False))
def validate(topology: str) -> int:
    """Parse and check a topology; print its layout and advisories."""
    from .topology import load_topology
    from .report.layout import print_layout

    cluster = load_topology(topology)
    print_layout(cluster, _stdout())
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the command, map the outcome to an exit code."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        code = cli.main(args=argv, prog_name="kchaos", standalone_mode=False)
    except KchaosUsageError as exc:
        for problem in exc.problems:
            err.print(f"[red]error:[/red] {problem}", markup=True, highlight=False)
        return EXIT_USAGE
    except click.exceptions.NoArgsIsHelp as exc:  # pragma: no cover - click version dependent
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        return EXIT_USAGE
    except click.UsageError as exc:
        exc.show()
        return EXIT_USAGE
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        err.print("interrupted")
        return EXIT_INTERRUPTED
    except Interrupted:
        err.print("interrupted: the results written are partial")
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    if isinstance(code, int):
        return code
    return EXIT_OK
