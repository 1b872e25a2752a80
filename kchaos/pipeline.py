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
from .errors import TopologyError

if TYPE_CHECKING:
    from .model.cluster import Cluster


def progress_bar(total: int, quiet: bool):
    """A rich progress bar on a terminal, nothing otherwise. Returns (context, callback)."""
    if quiet or not sys.stderr.isatty():
        from contextlib import nullcontext

        return nullcontext(), None
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    # The spinner and the elapsed time move from the first second, before the first history is done.
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
    from .kube.manifests import read_manifests, workloads_from
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
             report: bool = False, survive: tuple[str, ...] = (),
             before: Callable[[Cluster], None] | None = None) -> dict:
    """Load, simulate and analyse one topology: the results document. ``report``: an HTML
    report follows, so it is readied while the histories run. ``before`` gets the loaded
    topology ahead of the histories (the CLI checks its outputs there)."""
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
    ctx, callback = progress_bar(failures * runs, quiet)
    ahead = Ahead(report)

    def one(c, model, part: int):
        tick = (lambda done: callback(part * failures + done)) if callback else None
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
