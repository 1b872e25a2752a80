"""`kchaos plan` in the terminal: the moves as a short ranked list, the targets before and
after, what is still missed and why, and where the files went. Read from plan.json's
document (:func:`kchaos.plan.write.plan_document`)."""

from __future__ import annotations

import textwrap

from rich.console import Console
from rich.markup import escape

from ..topology.units import format_setting
from .formatting import format_availability, format_availability_interval_distinct, get

#: Moves listed in the terminal; plan.json and the page have them all.
MAX_MOVES = 10


def ranked(moves: list[dict]) -> list[dict]:
    """Free moves first, then by minutes a year saved per unit of cost, then by cost."""
    def key(m: dict):
        saved = m.get("saved_minutes_per_year") or 0.0
        return (m["cost"] > 0, -(saved / m["cost"]) if m["cost"] > 0 else -saved, m["cost"])
    return sorted(moves, key=key)


def _headline(fig: dict | None) -> str:
    if not fig:
        return "n/a"
    a = fig["api_availability"]
    return f"API {format_availability(a['estimate'])} {format_availability_interval_distinct(a['ci95'])}"


def _say(console: Console, indent: str, text: str, style: str = "", lead: str = "") -> None:
    """``lead`` (styled) then ``text``, wrapped to the console with the continuation indented."""
    width = max(40, console.width)
    lines = textwrap.wrap(lead + text, width=width, initial_indent=indent, subsequent_indent=indent + "  ",
                          break_on_hyphens=False, break_long_words=False) or [indent]
    first = lines[0]
    if lead and style:
        first = first.replace(lead, f"[{style}]{escape(lead)}[/]", 1)
        first = first[:first.index("[/]") + 3] + escape(first[first.index("[/]") + 3:])
        console.print(first, soft_wrap=True)
    else:
        console.print(escape(first), soft_wrap=True)
    for line in lines[1:]:
        console.print(escape(line), soft_wrap=True)


def print_plan(doc: dict, console: Console, out_dir: str) -> None:
    name = get(doc, "topology", "name", default="?")
    search = doc.get("search") or {}
    before = doc.get("before") or {}
    console.print(f"[bold]kchaos plan {escape(name)}[/]  ({before.get('failures', 0):,} failures per simulation, "
                  f"seed {before.get('seed')}; {search.get('layouts_built', 0)} layouts screened, "
                  f"{search.get('simulations', 0)} simulated)")
    missed_before = [t for t in doc["targets"]["before"] if not t["met"]]
    if not missed_before:
        console.print("[green]every target is met already: nothing to change[/]")
    else:
        console.print("missed today:")
        for t in missed_before:
            _say(console, "  ", f" ({t['how']}): {t['detail']}", "red", t["target"])
    moves = ranked(doc["moves"])
    if moves:
        console.print(f"moves, ranked (total cost {doc['cost']:g}):")
        for i, m in enumerate(moves[:MAX_MOVES], 1):
            cost = "free" if m["cost"] == 0 else f"cost {m['cost']:g}"
            saved = m.get("saved_minutes_per_year")
            saving = f", saves {saved:.3g} min/year" if saved is not None and saved > 0 else ""
            console.print(f"  {i}. [bold]{escape(m['path'])}[/]: {escape(format_setting(m['from']))} -> "
                          f"{escape(format_setting(m['to']))}  ({cost}{saving}) for {escape(m['why'] or 'the targets')}")
            if m.get("gain"):
                _say(console, "     ", m["gain"])
            if m.get("one_fewer"):
                _say(console, "     ", f"minimal: {m['one_fewer']}")
        if len(moves) > MAX_MOVES:
            console.print(f"  ... and {len(moves) - MAX_MOVES} more in plan.json")
    if doc["moves"]:
        console.print(f"before: {_headline(doc.get('before'))}; after: {_headline(doc.get('after'))}")
    if doc["still_missed"]:
        console.print("[bold red]still missed[/] (no move in reach meets it):")
        for t in doc["still_missed"]:
            _say(console, "  ", f": {t.get('detail', '')}", "red", t["target"])
    elif doc["moves"]:
        console.print("[green]with these moves every target is met[/] (verified by simulation as kchaos check runs it)")
    console.print(f"wrote {escape(out_dir)}/topology.yaml, plan.json, index.html")
