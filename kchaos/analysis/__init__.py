"""Statistics over simulated histories: from engine output to the results document."""

from __future__ import annotations

from ..model.sampling.montecarlo import SimulationOutput
from . import slo
from .summary import summarize


def analyze(output: SimulationOutput) -> dict:
    """The full results document (results.json) of one simulation."""
    results, intervals = summarize(output)
    if output.stopping is not None:
        from .precision import precision_report

        results["run"]["precision"] = precision_report(output.stopping, intervals)
    results["slo"] = slo.evaluate(output.cluster, results, intervals)
    return results


__all__ = ["analyze", "summarize"]
