"""CI gate extras: regression against a previous results.json."""

from __future__ import annotations

import json
from math import sqrt
from pathlib import Path

from ..errors import KchaosUsageError
from .statistics import Z95


def load_baseline(path: str) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KchaosUsageError(f"{path}: not a readable results.json ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != "kchaos.results/v1":
        raise KchaosUsageError(f"{path}: not a kchaos results.json (schema kchaos.results/v1 expected)")
    return data


def _regression(name: str, new: dict, old: dict) -> dict | None:
    """Availability dropped significantly: a one-sided z test on the difference of
    unavailabilities, standard errors taken from the two 95% intervals."""
    try:
        a1, (l1, h1) = new["estimate"], new["ci95"]
        a0, (l0, h0) = old["estimate"], old["ci95"]
    except (KeyError, TypeError, ValueError):
        return None
    se = sqrt(((h1 - l1) / (2 * Z95)) ** 2 + ((h0 - l0) / (2 * Z95)) ** 2)
    drop = a0 - a1
    z = drop / se if se > 0 else (float("inf") if drop > 0 else 0.0)
    regressed = z > Z95
    return {"name": f"regression.{name}", "target": a0, "estimate": a1, "ci95": [l1, h1], "passed": not regressed,
            "confirmed": True, "failures_to_confirm": None, "z": round(z, 2) if z != float("inf") else None,
            "detail": f"baseline {a0:.6%} [{l0:.6%}, {h0:.6%}]; " +
                      ("significant drop" if regressed else "no significant drop") + f" (z = {z:.2f})"}


def baseline_mismatch(results: dict, baseline: dict) -> str | None:
    """A warning when the baseline was computed for another topology."""
    old = baseline.get("topology", {}) if isinstance(baseline.get("topology"), dict) else {}
    new = results["topology"]
    if old.get("name") != new["name"]:
        return f"the baseline is for topology {old.get('name')!r}, not {new['name']!r}"
    return None


def compare_baseline(results: dict, baseline: dict) -> list[dict]:
    checks = []
    ch = _regression("controlPlane", results["control_plane"]["availability"],
                     baseline.get("control_plane", {}).get("availability", {}))
    if ch:
        checks.append(ch)
    old = {w.get("name"): w for w in baseline.get("workloads", []) if isinstance(w, dict)}
    for w in results["workloads"]:
        if w["name"] in old:
            ch = _regression(f"workloads.{w['name']}", w["availability"], old[w["name"]].get("availability", {}))
            if ch:
                checks.append(ch)
    return checks
