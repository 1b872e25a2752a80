"""`kchaos check` output: the verdict table, JUnit XML and a GitHub step summary."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import KchaosUsageError, Problem
from ..analysis.gate import ALPHA
from .formatting import format_availability, format_availability_interval_distinct, precision_text


#: Targets that are upper bounds (the estimate must stay at or below them); the rest are
#: availabilities that must reach the target.
UPPER_BOUNDS = ("maxNodeUtilization", "maxPendingPods")


def is_upper_bound(check: dict) -> bool:
    return check.get("name") in UPPER_BOUNDS or str(check.get("name", "")).startswith("survive.")


def check_value(check: dict, value) -> str:
    """A target or estimate in the check's own unit (the terminal, JUnit and the HTML agree)."""
    if value is None:
        return "n/a"
    name = check.get("name")
    if name == "maxNodeUtilization":
        return f"{100 * value:.0f}%"
    if name == "maxPendingPods":
        return f"{int(value)} pods"
    if str(name).startswith("survive."):  # domains whose single loss breaks N-1
        return f"{int(value)} of {check.get('domains', '?')} fail" if value else "all survive"
    return format_availability(value)


def _interval(check: dict) -> str:
    ci = check.get("ci95")
    if not ci:
        return ""
    if is_upper_bound(check):
        return f"[{check_value(check, ci[0])}, {check_value(check, ci[1])}]"
    return format_availability_interval_distinct(ci)


def _target_and_estimate(check: dict) -> tuple[str, str]:
    """Both shown with enough digits to differ when they do (a regression test compares them)."""
    target, estimate = check.get("target"), check.get("estimate")
    if is_upper_bound(check) or target is None or estimate is None or target == estimate:
        return check_value(check, target), check_value(check, estimate)
    lo, hi = sorted((target, estimate))
    a, b = format_availability_interval_distinct([lo, hi]).strip("[]").split(" – ")
    return (a, b) if target == lo else (b, a)


def _goal(check: dict) -> str:
    if check["name"].startswith("regression."):
        return "no drop from " + _target_and_estimate(check)[0]
    if check["name"].startswith("survive."):
        return "lose any " + check["name"].removeprefix("survive.")
    return ("<= " if is_upper_bound(check) else ">= ") + _target_and_estimate(check)[0]


def verdict(check: dict) -> str:
    word = "PASS" if check["passed"] else "FAIL"
    if not check.get("confirmed", True):
        word += " (not yet confirmed" + (f": {confirm_advice(check)}" if check.get("failures_to_confirm") else "") + ")"
    return word


def short_verdict(check: dict) -> str:
    """PASS / FAIL, with a star when not yet confirmed (the footnote says why)."""
    return ("PASS" if check["passed"] else "FAIL") + ("" if check.get("confirmed", True) else "*")


def confirm_advice(check: dict) -> str:
    return f"~{check['failures_to_confirm']:,} failures would confirm it"


def message(check: dict) -> str:
    """One line naming the target, the estimate and its interval."""
    target, estimate = _target_and_estimate(check)
    text = (f"{check['name']}: target {target}, estimate {estimate}"
            + (f" {_interval(check)}" if check.get("ci95") else "") + f" -> {verdict(check)}")
    if check.get("detail"):
        text += f" ({check['detail']})"
    return text


def missed_line(check: dict) -> str:
    """A missed target for the run summary: ``controlPlane 99.9949% [99.99492% – 99.99493%],
    target >= 99.99%``, and whether the interval confirms the miss."""
    text = f"{check['name']} {_target_and_estimate(check)[1]}"
    if check.get("ci95"):
        text += f" {_interval(check)}"
    text += f", target {_goal(check)}"
    if not check.get("confirmed", True):
        text += " (not yet confirmed)"
    return text


def _table(title: str, heads: tuple[str, str], rows: list[tuple[str, str, dict]], last: str = "95% interval") -> Table:
    """Target, goal (or baseline), estimate, interval (or the change in downtime), verdict:
    names and figures never wrap."""
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", show_edge=False, pad_edge=False)
    for head in (*heads, "estimate", last, "verdict"):
        table.add_column(head, no_wrap=True)
    for name, goal, ch in rows:
        style = "green" if ch["passed"] else "bold red"
        extra = _interval(ch) if last == "95% interval" else _change(ch)
        table.add_row(escape(name), goal, _target_and_estimate(ch)[1], extra, f"[{style}]{short_verdict(ch)}[/]")
    return table


def _change(check: dict) -> str:
    """``+12.3 ± 0.4``: minutes a year of downtime against the baseline, ± one standard error
    (to a ten-thousandth of a minute); ``0 (no change)`` when the runs drew the same histories."""
    change, se = check.get("downtime_change_minutes_per_year"), check.get("se_minutes_per_year")
    if change is None:
        return ""
    if change == 0 and not se:
        return "0 (no change)"

    def short(x: float) -> str:
        return "0" if abs(x) < 5e-5 else f"{x:.2g}" if abs(x) < 0.01 else f"{x:.3g}"

    text = short(change)
    text = text if text == "0" or text.startswith("-") else "+" + text
    return text + (f" ± {short(se)}" if se else "")


def print_checks(results: dict, checks: list[dict], console: Console, quiet: bool = False) -> None:
    """The verdict table, a footnote per target not yet confirmed, then one line per missed
    target. ``quiet``: only the missed targets (the exit code says the rest). Names and
    intervals never wrap: the table fits 80 columns with the details below it."""
    failed = [ch for ch in checks if not ch["passed"]]
    if not quiet:
        targets = [ch for ch in checks if not ch["name"].startswith("regression.")]
        regressions = [ch for ch in checks if ch["name"].startswith("regression.")]
        title = (f"kchaos check: {escape(results['topology']['name'])} "
                 f"({results['run']['failures_injected']:,} failures, seed {results['run']['seed']})")
        if targets:
            console.print(_table(title, ("target", "goal"), [(ch["name"], _goal(ch), ch) for ch in targets]))
        if regressions:
            paired = all(ch.get("paired") for ch in regressions)
            head = (f"against the baseline ({'paired: same seed and histories' if paired else 'unpaired'}; "
                    f"a false alarm in at most {ALPHA:.0%} of runs when nothing changed)")
            console.print(_table(head if targets else title + "\n" + head, ("availability", "baseline"),
                                 [(ch["name"].removeprefix("regression."), _target_and_estimate(ch)[0], ch)
                                  for ch in regressions], last="min/year ± se"))
        stop = precision_text(results.get("run"))
        if stop:
            console.print(f"precision {escape(stop)}", soft_wrap=False)
        for ch in checks:
            if not ch.get("confirmed", True):
                advice = f"; {confirm_advice(ch)}" if ch.get("failures_to_confirm") else \
                    "; the estimate sits on the target, no practical run would settle it"
                console.print(f"* {escape(ch['name'])}: not yet confirmed, the target lies inside the 95% "
                              f"interval{advice}", soft_wrap=False)
    for ch in failed:
        console.print(f"[bold red]missed[/] {escape(message(ch))}")
    if not failed and not quiet:
        console.print("[green]all targets met[/]")


def junit_xml(results: dict, checks: list[dict]) -> str:
    suite = ET.Element("testsuite", name=f"kchaos {results['topology']['name']}", tests=str(len(checks)),
                       failures=str(sum(not ch["passed"] for ch in checks)), errors="0",
                       time=str(results["run"].get("wall_seconds", 0)))
    for ch in checks:
        case = ET.SubElement(suite, "testcase", classname=f"kchaos.{results['topology']['name']}", name=ch["name"])
        if not ch["passed"]:
            fail = ET.SubElement(case, "failure", message=message(ch), type="TargetMissed")
            fail.text = message(ch)
        else:
            ET.SubElement(case, "system-out").text = message(ch)
    return ET.tostring(ET.ElementTree(suite).getroot(), encoding="unicode", xml_declaration=True) + "\n"


def append_step_summary(path: Path, results: dict, checks: list[dict]) -> None:
    """GitHub Actions: a Markdown table appended to $GITHUB_STEP_SUMMARY."""
    lines = [f"### kchaos check: {results['topology']['name']}", "",
             f"{results['run']['failures_injected']:,} failures, seed {results['run']['seed']}", "",
             "| target | goal | estimate | 95% interval | verdict |", "|---|---|---|---|---|"]
    for ch in checks:
        goal = _goal(ch).replace("<=", "≤").replace(">=", "≥")
        icon = "✅" if ch["passed"] else "❌"
        lines.append(f"| {ch['name']} | {goal} | {_target_and_estimate(ch)[1]} | {_interval(ch)} | {icon} {verdict(ch)} |")
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n\n")
    except OSError as err:
        raise KchaosUsageError([Problem(str(path), None, "", f"$GITHUB_STEP_SUMMARY cannot be written: "
                                                              f"{err.strerror or err}")]) from None
