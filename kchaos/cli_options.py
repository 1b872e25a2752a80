"""The options the commands share (:mod:`kchaos.cli`): their types, ranges, defaults and help."""

from __future__ import annotations

import click

#: Upper bounds of the numeric options: beyond them a run would not finish in a working day
#: (or a worker pool would be all overhead), so a typo gets a clear message instead.
MAX_FAILURES = 100_000_000
MAX_JOBS = 256
MAX_SEED = 2**32 - 1


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


failures_option = click.option("--failures", "-n", type=click.IntRange(1, MAX_FAILURES), default=None, metavar="N",
                               help="Failure events to inject, over as many simulated histories as that takes "
                                    f"(1 to {MAX_FAILURES:,}) [default: 10,000].")
precision_option = click.option("--precision", default=None, metavar="P",
                                help="Instead of a set number of failures, run until every headline figure's 95% "
                                     "half-width is within P of its estimate (e.g. 10%), or the time budget is spent.")
time_budget_option = click.option("--time-budget", type=PositiveDuration(), default=None, metavar="DURATION",
                                  help="With --precision: stop once this much time is spent [default: 60s].")
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
survive_option = click.option(
    "--survive", multiple=True, type=click.Choice(["server", "rack", "datacenter", "region"]), metavar="LEVEL",
    help="Add an N-1 target (repeatable): losing any one domain of this level (server, rack, datacenter, region) "
         "must keep quorum, leave no pod Pending, keep nodes under maxNodeUtilization and workloads at "
         "minAvailable, once settled; like slo.survive in the topology.")
check_quiet_option = click.option("--quiet", "-q", is_flag=True,
                                  help="No progress bar and no table: only the missed targets, one line each.")
