"""One simulation as the commands run it: load the topology (with any manifests), simulate
with a progress bar on a terminal, analyse; the report's one-off work done meanwhile.

Shared by `run`, `check`, `export` and `compare` (:mod:`kchaos.cli`); the core below it
(topology, model, analysis, report) never imports this module or the CLI.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from .console import plain, terminal
from .errors import KchaosUsageError, TopologyError

#: Failures of a run when neither --failures nor --precision says otherwise.
DEFAULT_FAILURES = 10_000

if TYPE_CHECKING:
    from .model.cluster import Cluster


def stopping_rule(failures: int | None, precision: str | None, time_budget: float | None,
                  default: float | None = None):
    """(failures, Precision or None) from the options: ``--failures`` is a set count;
    ``--precision`` (or the command's ``default``) runs until the figures are tight."""
    from .analysis.precision import DEFAULT_TIME_BUDGET, Precision, parse_precision

    if failures is not None and (precision is not None or time_budget is not None):
        raise KchaosUsageError("--failures runs a set number of failures; --precision and --time-budget run until "
                               "the figures are tight: give one or the other")
    if failures is not None:
        return failures, None
    relative = parse_precision(precision) if precision is not None else default
    if relative is None:
        if time_budget is not None:
            raise KchaosUsageError("--time-budget goes with --precision (it bounds a run that stops when its "
                                   "figures are tight)")
        return failures or DEFAULT_FAILURES, None
    return DEFAULT_FAILURES, Precision(relative, time_budget if time_budget is not None else DEFAULT_TIME_BUDGET)


def progress_bar(total: int | None, quiet: bool, goal: str = ""):
    """A rich progress bar on a terminal, nothing otherwise. Returns (context, callback).
    ``total`` None: a run that stops when its figures are tight (``goal`` says how tight):
    the failures so far and the time, no bar."""
    if quiet or not sys.stderr.isatty():
        from contextlib import nullcontext

        return nullcontext(), None
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    # The spinner and the elapsed time move from the first second, before the first history is done.
    if total is None:
        progress = Progress(SpinnerColumn(), TextColumn(f"simulating until {goal}"),
                            TextColumn("{task.completed:,} failures"), TimeElapsedColumn(),
                            console=terminal(stderr=True), transient=True)
    else:
        progress = Progress(SpinnerColumn(), TextColumn("simulating failures"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                            console=terminal(stderr=True), transient=True)
    task = progress.add_task("run", total=total)
    return progress, lambda done: progress.update(task, completed=done)


def usable_cores() -> int:
    """The cores this process may run on (cgroup/affinity aware where the OS tells)."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def with_manifests(path: str, manifests: tuple[str, ...]) -> tuple[dict, dict]:
    """Overrides that add the manifests' workloads to the topology's (a manifest's workload
    replaces one of the same name, and a note says so), and the origin of each added value
    (written key path -> origin in the manifests)."""
    from .kube.manifest_files import read_manifests
    from .kube.manifests import workloads_from
    from .topology import load_topology
    from .topology.files import decode, read_bytes
    from .topology.yamlsafe import load_yaml

    base = load_topology(path)  # the file must be valid on its own; its worker count sizes DaemonSets
    workers = len(base.workers)
    imported = workloads_from(read_manifests(list(manifests)), daemon_nodes=workers)
    extra = imported.as_data()
    existing = (load_yaml(decode(read_bytes(path), path)).data or {}).get("workloads") or []
    by_name = {w["name"]: (w, origins) for w, origins in zip(extra, imported.origins)}
    note = terminal(stderr=True, soft_wrap=True)
    for warning in imported.warnings:
        note.print(plain(f"warning: {warning}"))
    merged, origins = [], {}
    for w in existing:  # a replacement keeps the replaced workload's place (pod numbering, report order)
        name = w.get("name") if isinstance(w, dict) else None
        if name in by_name:
            note.print(plain(f"note: workload {str(name)!r} from the manifests replaces the one in {path}"))
            w, of = by_name.pop(name)
            origins.update({("workloads", len(merged)) + key: origin for key, origin in of.items()})
        merged.append(w)
    for w, of in by_name.values():
        origins.update({("workloads", len(merged)) + key: origin for key, origin in of.items()})
        merged.append(w)
    return {"workloads": merged}, origins


def simulate(path: str, failures: int, seed: int, jobs: int | None, quiet: bool, overrides: dict | None = None,
             dask: str | None = None, sampling: str = "plain", manifests: tuple[str, ...] = (),
             report: bool = False, survive: tuple[str, ...] = (), precision=None, targets_only: bool = False,
             before: Callable[[Cluster], None] | None = None) -> dict:
    """Load, simulate and analyse one topology: the results document. ``report``: an HTML
    report follows, so it is readied while the histories run. ``precision``
    (:class:`~.analysis.precision.Precision`): run until the headline figures are tight instead
    of ``failures``; ``targets_only``: until the slo targets are decided (or tight). ``before``
    gets the loaded topology ahead of the histories (the CLI checks its outputs there)."""
    from .model.sampling.montecarlo import run_monte_carlo
    from .topology import load_topology

    origins: dict = {}
    if manifests:
        added, origins = with_manifests(path, manifests)
        overrides = {**(overrides or {}), **added}
    try:
        cluster = load_topology(path, overrides=overrides) if overrides else load_topology(path)
    except TopologyError as err:
        if not origins:
            raise
        from .kube.origin import blame

        raise TopologyError(blame(err.problems, origins, path, keep_unmatched=True)) from None
    if before is not None:
        before(cluster)
    from .analysis.survive import with_survive

    cluster = with_survive(cluster, survive)
    runs = 3 if cluster.uncertain_inputs else 1  # the nominal inputs, then each end of their ranges
    goal = f"{100 * precision.relative:g}% precision" if precision is not None else ""
    ctx, callback = progress_bar(None if precision is not None else failures * runs, quiet, goal)
    ahead = Ahead(report)

    def one(c, model, part: int):
        nonlocal failures
        tick = (lambda done: callback(part * failures + done)) if callback else None
        if precision is not None and part == 0:  # to the precision; the input ranges' ends as many failures
            from .analysis.precision import availability_targets, simulate_to_precision

            output = simulate_to_precision(c, precision, seed=seed, jobs=jobs or usable_cores(), model=model,
                                           dask=dask, sampling=sampling, progress=tick, on_started=ahead.start,
                                           targets=availability_targets(c) if targets_only else None)
            failures = max(1, sum(h.failures for h in output.histories))
        else:
            output = run_monte_carlo(c, failures=failures, seed=seed, jobs=jobs or usable_cores(), progress=tick,
                                     dask=dask, sampling=sampling, model=model,
                                     on_started=ahead.start if part == 0 else None)
        ahead.wait()
        return output

    with ctx:
        output = one(cluster, None, 0)
        from .analysis import analyze
        from .plan.fixes import with_fix_first

        results = with_fix_first(output.model, analyze(output))
        if cluster.uncertain_inputs and not output.partial:  # the ends need their figures, not fixes
            from .analysis.inputs import simulate_ends

            simulate_ends(results, output, one, analyze)
    return results


class Ahead:
    """What follows a simulation, done while its histories run on other processes: importing
    the analysis (pandas, scipy) and, with ``report``, the report's one-off work (Jinja2
    compiles its templates, plotly imports its figure classes). That is about 0.6 s that would
    otherwise run alone after the histories, or before them."""

    def __init__(self, report: bool):
        self.report = report
        self.thread = None

    def start(self) -> None:
        import threading

        self.thread = threading.Thread(target=self._work, name="kchaos-ahead", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        try:
            import kchaos.analysis  # noqa: F401

            if self.report:
                from .report.page import prepare_page  # the report package with it

                prepare_page()
        except Exception:  # the main thread meets the same error where it has a message for it
            pass

    def wait(self) -> None:
        if self.thread is not None:
            self.thread.join()
