"""CI gate extras: regression against a previous results.json (``check --baseline``).

Each availability present in both documents (the control plane, each workload by name) is
compared on its unavailability, U = exact part + simulated down seconds / simulated seconds,
from the per-history ``samples`` both documents carry:

- **paired** when both runs used the same seed, number of histories and sampling: history i
  of one run and history i of the other draw from the same random streams (common random
  numbers), so the variance is that of the per-history differences, and a run compared with
  itself differs by exactly nothing ("no change");
- **unpaired** otherwise (Welch), each run's variance the larger of its per-history estimate
  and the one its 95% interval implies (which allows for an outage it did not draw).

The variance is the delta method's for a ratio estimator over independent histories (batch
means); the statistic is Student's t. A drop is flagged when the increase in unavailability
is significant at ``ALPHA`` one-sided, Bonferroni-split over the availabilities compared (so
when nothing changed, the whole comparison raises a false alarm in at most 1% of runs), and
larger than ``FLOOR`` of the baseline's unavailability (rounding-level changes of the exactly
known part never fail a build). Each verdict also states the smallest drop that this
comparison would flag nine times in ten.
"""

from __future__ import annotations

from math import sqrt

import numpy as np
from scipy.special import stdtrit  # Student's t quantiles without scipy.stats' import cost

from ..errors import KchaosUsageError
from ..topology.checker import Checker
from ..topology.fields import Fields
from .statistics import MINUTES_PER_YEAR, Z95

#: The whole comparison's false-alarm rate when nothing changed (one-sided, Bonferroni-split).
ALPHA = 0.01
#: Power the stated detectable drop is computed for.
POWER = 0.90
#: A drop smaller than this share of the baseline's unavailability is never flagged.
FLOOR = 0.01


def load_baseline(path: str) -> dict:
    """A previous results.json, read within the export limit (:mod:`kchaos.topology.files`)."""
    from ..topology.files import MAX_EXPORT_BYTES, decode, fail, load_json, read_bytes

    data, lines = load_json(decode(read_bytes(path, MAX_EXPORT_BYTES, f"is larger than {MAX_EXPORT_BYTES // 2**20} MB; "
                                                                 "not a results.json kchaos wrote"), path), path)
    if not isinstance(data, dict) or data.get("schema") != "kchaos.results/v1":
        raise fail(path, "not a kchaos results.json (schema kchaos.results/v1 expected)",
                   lines.get(("schema",)) if isinstance(data, dict) and "schema" in data else None)
    check = Checker(path, lines)
    _check_shape(Fields(data, check))
    if check.problems:
        raise KchaosUsageError(check.problems)
    return data


def _check_shape(f: Fields) -> None:
    """Every value the comparison reads is of its type (each problem reported with its line)."""
    for key in ("seed", "failures_requested", "histories"):
        f.get(("run", key), int)
    f.get(("run", "sampling", "method"), str)
    f.get(("topology", "name"), str)
    blocks = [("control_plane", "availability")]
    for i, _ in f.items(("workloads",)):
        f.get(("workloads", i, "name"), str)
        blocks.append(("workloads", i, "availability"))
    for at in blocks:
        f.get(at + ("estimate",), float)
        ci = f.numbers(at + ("ci95",))
        if ci is not None and len(ci) != 2:
            f.error(at + ("ci95",), f"must be a list of two numbers (low, high), got {len(ci)}")
    f.numbers(("samples", "seconds"))
    for name in f.get(("samples",), dict, {}):
        if name != "seconds":
            f.numbers(("samples", name, "down"))
            f.get(("samples", name, "exact"), float)


def paired_run(baseline: dict, seed: int, failures: int, given: set[str]) -> tuple[int, int]:
    """The seed and failures to run with for a paired comparison: the baseline's, unless the
    user gave them (``given``: ``seed``, ``failures``)."""
    run = baseline.get("run") if isinstance(baseline.get("run"), dict) else {}
    if "seed" not in given and isinstance(run.get("seed"), int) and run["seed"] >= 0:
        seed = run["seed"]
    if "failures" not in given and isinstance(run.get("failures_requested"), int) and run["failures_requested"] >= 1:
        failures = min(run["failures_requested"], 100_000_000)
    return seed, failures


def _sample(doc: dict, name: str) -> tuple[float, np.ndarray, np.ndarray] | None:
    """(exact part, per-history simulated down seconds, per-history seconds) of one figure."""
    samples = doc.get("samples")
    if not isinstance(samples, dict) or not isinstance(samples.get(name), dict):
        return None
    try:
        seconds = np.asarray(samples["seconds"], dtype=float)
        down = np.asarray(samples[name]["down"], dtype=float)
        exact = float(samples[name]["exact"])
    except (KeyError, TypeError, ValueError):
        return None
    if seconds.size < 2 or down.size != seconds.size or seconds.sum() <= 0:
        return None
    return exact, down, seconds


def _influence(exact: float, down: np.ndarray, seconds: np.ndarray) -> tuple[float, np.ndarray]:
    """The unavailability and each history's influence on it (delta method for a ratio)."""
    simulated = float(down.sum() / seconds.sum())
    return exact + simulated, (down - simulated * seconds) / float(seconds.mean())


def _interval_se(block: dict) -> float:
    lo, hi = block["ci95"]
    return (hi - lo) / (2 * Z95)


def paired_with(results: dict, baseline: dict) -> bool:
    """Whether two runs drew the same histories from the same streams."""
    a, b = results.get("run", {}), baseline.get("run", {}) if isinstance(baseline.get("run"), dict) else {}
    method = (lambda run: (run.get("sampling") or {}).get("method"))
    return a.get("seed") == b.get("seed") and a.get("histories") == b.get("histories") and method(a) == method(b)


def difference(new_doc: dict, old_doc: dict, name: str, new: dict, old: dict) -> tuple[float, float, float, bool]:
    """The increase in unavailability of figure ``name`` (SLO naming: ``controlPlane``,
    ``workloads.NAME``; ``new``/``old`` its availability blocks) from ``old_doc`` to
    ``new_doc``: (increase, standard error, degrees of freedom, paired)."""
    s1, s0 = _sample(new_doc, name), _sample(old_doc, name)
    paired = s1 is not None and s0 is not None and paired_with(new_doc, old_doc) and s1[2].size == s0[2].size
    if s1 is None or s0 is None:  # a document without per-history samples: errors from the two intervals
        var = _interval_se(new) ** 2 + _interval_se(old) ** 2
        return (1.0 - float(new["estimate"])) - (1.0 - float(old["estimate"])), sqrt(var), 30.0, False
    (u1, f1), (u0, f0) = _influence(*s1), _influence(*s0)
    n1, n0 = f1.size, f0.size
    if paired:
        return u1 - u0, sqrt(float(np.var(f1 - f0, ddof=1)) / n1), n1 - 1.0, True
    v1 = max(float(np.var(f1, ddof=1)) / n1, _interval_se(new) ** 2)
    v0 = max(float(np.var(f0, ddof=1)) / n0, _interval_se(old) ** 2)
    df = (v1 + v0) ** 2 / (v1 ** 2 / (n1 - 1) + v0 ** 2 / (n0 - 1)) if v1 + v0 > 0 else n1 + n0 - 2.0
    return u1 - u0, sqrt(v1 + v0), df, False


def critical(df: float, tests: int = 1) -> float:
    """The one-sided critical t of ``ALPHA`` Bonferroni-split over ``tests``."""
    return float(stdtrit(df, 1.0 - ALPHA / max(1, tests)))


def _test(name: str, new: dict, old: dict, results: dict, baseline: dict, tests: int) -> dict | None:
    """One regression check: the increase in unavailability, its standard error and verdict."""
    try:
        a0 = float(old["estimate"])
        a1 = float(new["estimate"])
        ci = [float(x) for x in new["ci95"]]
        increase, se, df, paired = difference(results, baseline, name, new, old)
    except (KeyError, TypeError, ValueError):
        return None
    u0 = 1.0 - a0
    threshold = critical(df, tests)
    floor = FLOOR * max(u0, 0.0)
    if increase == 0.0 and se == 0.0:
        regressed, word = False, "no change"
    else:
        regressed = increase > floor and increase > threshold * se
        word = "significant drop" if regressed else ("no significant drop" if increase > 0 else "no drop")
    detectable = max(floor, (threshold + float(stdtrit(df, POWER))) * se)
    how = "paired, same seed" if paired else "unpaired"
    minutes = increase * MINUTES_PER_YEAR
    detail = (f"{word}: {'+' if minutes >= 0 else ''}{minutes:.3g} min/year of downtime against the baseline's "
              f"{u0 * MINUTES_PER_YEAR:.3g} ({how}; drops from {detectable * MINUTES_PER_YEAR:.2g} min/year "
              f"are flagged {POWER:.0%} of the time)")
    return {"name": f"regression.{name}", "target": a0, "estimate": a1, "ci95": ci, "passed": not regressed,
            "confirmed": True, "failures_to_confirm": None, "paired": paired,
            "downtime_change_minutes_per_year": float(f"{minutes:.6g}"),
            "se_minutes_per_year": float(f"{se * MINUTES_PER_YEAR:.6g}"),
            "detectable_minutes_per_year": float(f"{detectable * MINUTES_PER_YEAR:.6g}"), "detail": detail}


def baseline_mismatch(results: dict, baseline: dict) -> str | None:
    """A warning when the baseline was computed for another topology."""
    old = baseline.get("topology", {}) if isinstance(baseline.get("topology"), dict) else {}
    new = results["topology"]
    if old.get("name") != new["name"]:
        return f"the baseline is for topology {old.get('name')!r}, not {new['name']!r}"
    return None


def compare_baseline(results: dict, baseline: dict) -> list[dict]:
    """One regression check per availability in both documents (see the module's text)."""
    pairs = [("controlPlane", results["control_plane"]["availability"],
              (baseline.get("control_plane") or {}).get("availability") or {})]
    old = {w.get("name"): w for w in baseline.get("workloads") or [] if isinstance(w, dict)}  # null: none
    pairs += [(f"workloads.{w['name']}", w["availability"], old[w["name"]].get("availability") or {})
              for w in results["workloads"] if w["name"] in old]
    checks = [_test(name, new, base, results, baseline, len(pairs)) for name, new, base in pairs]
    return [ch for ch in checks if ch is not None]
