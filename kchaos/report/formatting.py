"""Number formatting shared by the terminal summary and the HTML report.

Availabilities are fractions in results.json; people read them as percent
with enough digits to tell 99.999% from 99.9999%, and as "nines".
"""

from __future__ import annotations

import math
from typing import Any

MINUTES_PER_YEAR = 365 * 24 * 60
HOURS_PER_YEAR = 365 * 24


def num(value: Any) -> float | None:
    """``value`` as a finite-or-infinite float, or None when missing or not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def get(d: Any, *path: Any, default: Any = None) -> Any:
    """Walk nested dicts/lists; ``default`` when any step is missing or None."""
    cur = d
    for key in path:
        if isinstance(cur, dict):
            cur = cur.get(key)
        elif isinstance(cur, list) and isinstance(key, int) and -len(cur) <= key < len(cur):
            cur = cur[key]
        else:
            return default
        if cur is None:
            return default
    return cur


def nines(a: float) -> float:
    """-log10(1 - a); ``inf`` when ``a >= 1``, 0 when ``a <= 0``."""
    a = float(a)
    if a >= 1.0:
        return math.inf
    if a <= 0.0:
        return 0.0
    return -math.log10(1.0 - a)


def availability_decimals(*values: Any) -> int:
    """Decimals of a percent that keep two significant digits of every unavailability."""
    decimals = 1
    for v in values:
        a = num(v)
        if a is None or a >= 1.0 or a <= 0.0:
            continue
        u_pct = (1.0 - a) * 100.0
        decimals = max(decimals, math.floor(-math.log10(u_pct) + 1e-9) + 2)
    return min(decimals, 10)


def format_availability(a: Any, decimals: int | None = None) -> str:
    """An availability fraction as percent, e.g. 0.999994 -> ``99.9994%``; ``n/a`` if missing.

    By default two significant digits of the unavailability are kept (trailing
    zeros dropped), so 99.999% and 99.9999% never print alike. With explicit
    ``decimals`` (interval ends) the digits are kept as asked.
    """
    a = num(a)
    if a is None:
        return "n/a"
    if a >= 1.0:
        return "100%"
    auto = decimals is None
    if decimals is None:
        decimals = availability_decimals(a)
    decimals = max(decimals, 0)  # an interval wider than 10% supports no decimal at all
    text = f"{a * 100:.{decimals}f}"
    if text.startswith("100"):  # rounding must never claim a perfect record
        return f">{100 - 10 ** -decimals:.{decimals}f}%"
    if auto and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + "%"


def format_nines(a: Any) -> str:
    """``5.2 nines``; ``no downtime observed`` for a == 1; ``n/a`` if missing."""
    a = num(a)
    if a is None:
        return "n/a"
    if a >= 1.0:
        return "no downtime observed"
    # From the unavailability as the percent shows it (two significant digits), so two
    # figures printed as the same percent never get different nines.
    n = nines(1.0 - float(f"{1.0 - a:.2g}"))
    return f"{n:.1f} nines"


def format_availability_nines(a: Any) -> str:
    """``99.9994% · 5.2 nines`` or ``100% · no downtime observed``."""
    if num(a) is None:
        return "n/a"
    return f"{format_availability(a)} · {format_nines(a)}"


def format_interval(ci: Any, fmt=None) -> str:
    """``[lo – hi]`` with ``fmt`` applied to both ends; empty string if missing."""
    if not isinstance(ci, (list, tuple)) or len(ci) != 2:
        return ""
    lo, hi = num(ci[0]), num(ci[1])
    if lo is None or hi is None:
        return ""
    fmt = fmt or (lambda x: f"{x:g}")
    return f"[{fmt(lo)} – {fmt(hi)}]"


def format_availability_interval(ci: Any) -> str:
    """An availability interval, each end with the digits it needs: ``[99.977% – 99.9999994%]``."""
    return format_interval(ci, format_availability)


def format_number(x: Any, unit: str = "") -> str:
    """A plain quantity with a sensible number of digits."""
    v = num(x)
    if v is None:
        return "n/a"
    if math.isinf(v):
        return "∞"
    av = abs(v)
    if av == 0:
        text = "0"
    elif av < 0.01:
        text = f"{v:.2g}"
    elif av < 10:
        text = f"{v:.2f}".rstrip("0").rstrip(".")
    elif av < 100:
        text = f"{v:.1f}".rstrip("0").rstrip(".")
    else:
        text = f"{v:,.0f}"
    return f"{text} {unit}".rstrip() if unit else text


def significant(x: float, digits: int = 2) -> str:
    """``x`` with ``digits`` significant digits, never in scientific notation: 0.021, 1.8, 240."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    return f"{x:,.{decimals}f}"


def format_duration(s: Any) -> str:
    """A compact duration for axis labels: ``45 s``, ``5 min``, ``1.5 h``, ``2 d``."""
    v = num(s)
    if v is None:
        return "n/a"
    if v == 0:
        return "0"
    if v < 120:
        return f"{v:.3g} s"
    if v < 2 * 3600:
        return f"{v / 60:.3g} min"
    if v < 2 * 86400:
        return f"{v / 3600:.3g} h"
    return f"{v / 86400:.3g} d"


def format_count(x: Any) -> str:
    """An integer count with thousands separators."""
    v = num(x)
    if v is None:
        return "n/a"
    return f"{v:,.0f}"


def minutes_figure(x: Any) -> str:
    """Minutes per year in a table cell: three significant digits, ``—`` when unknown."""
    v = num(x)
    return "—" if v is None else significant(v + 0.0, 3)  # + 0.0: no "-0" for a rounded-away negative


def format_minutes(m: Any) -> str:
    """Downtime minutes, with hours added when it is long: ``15.8 min``, ``250 min (4.2 h)``."""
    v = num(m)
    if v is None:
        return "n/a"
    text = format_number(v, "min")
    if v >= 120:
        text += f" ({format_number(v / 60, 'h')})"
    return text


def downtime_composition(control_plane: Any) -> str | None:
    """Where the API's minutes per year come from, when part is computed exactly: the exact
    quorum-loss term counts outages whether or not the run drew them, and the reader must know.
    ``7.31 min quorum loss (exact) + 0.09 min simulated``."""
    down = get(control_plane, "downtime_minutes_per_year", default={})
    exact, rest = num(get(down, "exact_quorum_loss")), num(get(down, "simulated_rest"))
    if exact is None or rest is None or exact <= 0:
        return None
    return f"{format_minutes(exact)} quorum loss (exact) + {format_minutes(rest)} simulated"


def format_ms(ms: Any) -> str:
    """Milliseconds, switching to seconds from 10 s: ``9.1 ms``, ``1,310 ms``, ``12.4 s``."""
    v = num(ms)
    if v is None:
        return "n/a"
    if v >= 10_000:
        return format_number(v / 1000, "s")
    return format_number(v, "ms")


def format_seconds(s: Any) -> str:
    """Seconds, with minutes or hours when long: ``45 s``, ``352 s (5.9 min)``."""
    v = num(s)
    if v is None:
        return "n/a"
    text = format_number(v, "s")
    if v >= 3 * 3600:
        text += f" ({format_number(v / 3600, 'h')})"
    elif v >= 120:
        text += f" ({format_number(v / 60, 'min')})"
    return text


def format_percent(x: Any, decimals: int = 0) -> str:
    """A fraction as percent with fixed decimals: 0.93 -> ``93%``."""
    v = num(x)
    if v is None:
        return "n/a"
    return f"{v * 100:.{decimals}f}%"


def format_fraction_of_time(x: Any) -> str:
    """A share of time as percent plus hours a year: ``0.12% (10.5 h/year)``."""
    v = num(x)
    if v is None:
        return "n/a"
    if v == 0:
        return "never"
    pct = f"{significant(v * 100)}%"
    hours = v * HOURS_PER_YEAR
    per_year = format_number(hours, "h/year") if hours >= 1 else format_number(hours * 60, "min/year")
    return f"{pct} of the time ({per_year})"


def simulated_years(run: dict) -> float | None:
    """Simulated years from ``run``, derived from hours when only those are given."""
    years = num(get(run, "simulated_years"))
    if years is None:
        hours = num(get(run, "simulated_hours"))
        years = hours / HOURS_PER_YEAR if hours is not None else None
    return years


def format_availability_interval_distinct(ci: Any) -> str:
    """Like :func:`format_availability_interval`, with digits added when both ends would print alike.

    Tight intervals (control-variate estimates) otherwise read ``[99.972% – 99.972%]``.
    """
    text = format_availability_interval(ci)
    if not text:
        return text
    lo, hi = num(ci[0]), num(ci[1])
    if format_availability(lo) != format_availability(hi) or lo == hi or lo >= 1.0:  # type: ignore[operator]
        return text
    decimals = availability_decimals(lo, hi)
    while decimals < 10 and format_availability(lo, decimals) == format_availability(hi, decimals):
        decimals += 1
    return f"[{format_availability(lo, decimals)} – {format_availability(hi, decimals)}]"


def format_interval_distinct(ci: Any) -> str:
    """``[lo – hi]`` of plain quantities (:func:`format_number`), with digits added when the ends would print alike."""
    text = format_interval(ci, format_number)
    if not text:
        return text
    lo, hi = num(ci[0]), num(ci[1])
    if format_number(lo) != format_number(hi) or lo == hi or not (math.isfinite(lo) and math.isfinite(hi)):  # type: ignore[arg-type]
        return text
    digits = 3
    while digits < 10 and significant(lo, digits) == significant(hi, digits):  # type: ignore[arg-type]
        digits += 1
    return f"[{significant(lo, digits)} – {significant(hi, digits)}]"  # type: ignore[arg-type]


def _supported_decimals(half_width: float) -> int:
    """Decimals down to the first significant digit of an interval's half-width."""
    return -math.floor(math.log10(half_width) + 1e-12)


def availability_supported(a: Any, ci: Any) -> tuple[str, str]:
    """An availability and its interval with the digits the interval supports: the estimate
    down to the first significant digit of the interval's half-width (never less than one
    significant digit of its unavailability), each end with two significant digits of its own
    unavailability or the estimate's digits when the interval is narrower than that:
    ``99.998591% [99.998589% – 99.998593%]``, ``99.99998% [99.987% – 99.999979%]``. Without
    an interval, the usual two significant digits."""
    v = num(a)
    lo, hi = (num(ci[0]), num(ci[1])) if isinstance(ci, (list, tuple)) and len(ci) == 2 else (None, None)
    if v is None or v >= 1.0 or lo is None or hi is None or hi <= lo:
        return format_availability(a), format_availability_interval_distinct(ci)
    width = _supported_decimals((hi - lo) * 50.0)  # the half-width, in percent
    at_least = math.floor(-math.log10((1.0 - v) * 100.0) + 1e-9) + 1  # one significant digit
    ends = [format_availability(x, min(10, width)) if x < 1.0 and width > availability_decimals(x)
            else format_availability(x) for x in (lo, hi)]
    if ends[0] == ends[1]:
        return format_availability(v, min(10, max(width, at_least))), format_availability_interval_distinct(ci)
    return format_availability(v, min(10, max(width, at_least))), f"[{ends[0]} – {ends[1]}]"


def format_number_supported(x: Any, ci: Any, unit: str = "") -> tuple[str, str]:
    """A plain quantity and its interval ``[lo – hi]`` with the decimals the interval supports
    (down to the first significant digit of its half-width: ``7.40 [7.39 – 7.42]``,
    ``41 [40 – 42]``), more when the ends would print alike; the usual digits without one."""
    v = num(x)
    lo, hi = (num(ci[0]), num(ci[1])) if isinstance(ci, (list, tuple)) and len(ci) == 2 else (None, None)
    if v is None or lo is None or hi is None or hi <= lo or not all(map(math.isfinite, (v, lo, hi))):
        return format_number(v, unit) if v is not None else "n/a", format_interval_distinct(ci)
    decimals = max(0, _supported_decimals((hi - lo) / 2.0))
    while decimals < 10 and f"{lo:,.{decimals}f}" == f"{hi:,.{decimals}f}":
        decimals += 1
    text = f"{v:,.{decimals}f}"
    return (f"{text} {unit}" if unit else text), f"[{lo:,.{decimals}f} – {hi:,.{decimals}f}]"


def figure_label(name: str) -> str:
    """A headline figure's name as people say it: ``controlPlane`` -> API, ``workloads.web`` -> web."""
    return "API" if name == "controlPlane" else name.removeprefix("workloads.")


def precision_text(run: Any) -> str | None:
    """How a run that stops when its figures are tight ended, in one sentence (None: a run of a
    set number of failures)."""
    p = get(run, "precision")
    if not isinstance(p, dict):
        return None
    target = format_percent(num(get(p, "relative")))
    figures, batches = get(p, "figures"), get(p, "batches")
    rows = [r for r in figures if isinstance(r, dict)] if isinstance(figures, list) else []
    n = len(batches) if isinstance(batches, list) else 0
    done = f"{n} batch{'es' if n != 1 else ''}"
    stopped = get(p, "stopped_by")
    if stopped == "precision" and get(p, "watched") == "targets":
        return f"every target decided by its interval or within {target} ({done})"
    wide = [f"{figure_label(str(get(r, 'figure')))} (±{format_percent(num(get(r, 'relative_half_width')))})"
            if num(get(r, "relative_half_width")) is not None else figure_label(str(get(r, "figure")))
            for r in rows if get(r, "status") == "not reached"]
    unseen = [figure_label(str(get(r, "figure"))) for r in rows if get(r, "status") == "no downtime observed"]
    text = f"{target} not reached by " + ", ".join(wide) if wide else f"{target} reached by every figure"
    if unseen:
        text += (" but" if not wide else ";") + f" {', '.join(unseen)} (no downtime observed: only an upper bound)"
    if stopped == "time budget":
        text += f"; the time budget ({format_duration(num(get(p, 'time_budget_seconds')))}) ran out"
    elif stopped == "interrupted":
        text += "; interrupted"
    return text + f" ({done})"
