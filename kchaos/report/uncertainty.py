"""What the figures' uncertainty means, in the words the terminal and the report share.

A 95% interval covers the Monte Carlo noise of the simulated part of a figure only; the
part computed exactly (quorum loss, the domains that alone take a workload down) has none,
and holds only if the failure rates are right. The rates' own uncertainty is the inputs
range: the figure recomputed at both ends of the rates the topology gives as ranges.
"""

from __future__ import annotations

from typing import Any

from kchaos.report.formatting import (format_availability_interval_distinct, format_interval_distinct, format_minutes,
                                      format_number_supported,
                                      get, num)


def importance_sampled(r: Any) -> bool:
    return get(r, "run", "sampling", "method") == "importance"


def input_ranges(r: Any) -> str:
    """``region mtbf 100y..400y, node mttr 5m..20m``, or empty without ranges."""
    given = get(r, "run", "uncertain_inputs", "ranges", default=[]) or []
    return ", ".join(f"{get(x, 'kind')} {get(x, 'key')} {get(x, 'range')}" for x in given if isinstance(x, dict))


def availability_inputs(block: Any) -> str:
    """``[99.9972% – 99.99927%]``: an availability over the inputs range, or empty."""
    return format_availability_interval_distinct(get(block, "inputs_range"))


def minutes_inputs(block: Any) -> str:
    """``[3.8 – 14.6]``: minutes per year over the inputs range, or empty."""
    return format_interval_distinct(get(block, "inputs_range"))


def interval_covers(r: Any) -> str:
    """One sentence: what the 95% intervals cover and what the exactly computed part assumes."""
    down = get(r, "control_plane", "downtime_minutes_per_year", default={})
    exact, total = num(get(down, "exact_quorum_loss")), num(get(down, "estimate"))
    text = "95% intervals cover the Monte Carlo noise of the simulated part only"
    if exact and total:
        total_text = format_number_supported(total, get(down, "ci95"), "min")[0]
        text += (f"; {format_minutes(exact)} of the API's {total_text} a year are computed exactly "
                 "(quorum loss) and, like the other exact parts, assume the failure rates are right")
    else:
        text += "; they assume the failure rates are right"
    ranges = input_ranges(r)
    if ranges:
        text += (f". Inputs ranges: each figure again at both ends of {ranges} (same seed; exact parts "
                 "recomputed)")
    else:
        text += ". Give an uncertain rate as a range (mtbf: 100y..400y) to see how far it moves each figure"
    return text + "."
