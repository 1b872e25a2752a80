"""What a plan writes: the recommended topology.yaml and plan.json.

The topology is the user's file edited in place with a round-trip YAML library
(ruamel.yaml), so their comments, key order and layout stay; every changed line gets a
comment saying what it was and which target it serves. What is written is loaded again
before it is returned: a plan never hands over a file ``kchaos run`` would refuse.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ..topology.loader import DELETE, load_topology_text
from .moves import Move, show
from .search import Plan
from .targets import Verdict

SCHEMA = "kchaos.plan/v1"


def _yaml() -> YAML:
    y = YAML()  # round trip
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def _styled(value: Any) -> Any:
    """New values written in flow style, as a person would type them."""
    if isinstance(value, dict):
        m = CommentedMap(value)
        m.fa.set_flow_style()
        return m
    if isinstance(value, list):
        seq = CommentedSeq(value)
        seq.fa.set_flow_style()
        return seq
    return value


def _comment(parent: Any, key: Any, text: str, carried: Any = None) -> None:
    """An end-of-line comment on ``parent[key]``, replacing one already there (or ``carried``
    from a key it replaces), kept in the text as 'was: ...'; comment lines (and blank lines)
    that followed it stay."""
    old = carried or (parent.ca.items.get(key) if hasattr(parent, "ca") else None)
    if carried is not None and key in parent.ca.items:
        del parent.ca.items[key]
    rest = ""
    if old and len(old) > 2 and old[2] is not None:
        lines = old[2].value.split("\n")
        first = lines[0].strip().lstrip("#").strip()
        rest = "\n".join(lines[1:])
        if first:
            text += f" (was: {first})"
        parent.ca.items.pop(key, None)
    if isinstance(parent, CommentedMap):
        parent.yaml_add_eol_comment(text, key)
        if rest:
            token = parent.ca.items[key][2]
            token.value = token.value.rstrip("\n") + "\n" + rest
    elif isinstance(parent, CommentedSeq):
        parent.yaml_add_eol_comment(text, key)


def _is_flow(node: Any) -> bool:
    return hasattr(node, "fa") and bool(node.fa.flow_style())


def apply_edits(doc: Any, move: Move) -> None:
    """Apply ``move``'s edits to the round-trip document and comment each changed line (a
    value inside a flow mapping such as ``{cpu: 16, memory: 64Gi}``: the line of its key)."""
    note = f"kchaos plan: {show(move.before)} -> {show(move.after)}" + (f" for {move.why}" if move.why else "")
    freed: dict[int, tuple[int, Any]] = {}  # parent -> (position, comment) of a key just deleted
    commented: set[tuple[int, Any]] = set()
    for path, value in move.edits:
        parts = path.split(".")
        target = doc
        chain: list[tuple[Any, Any]] = []
        for part in parts[:-1]:
            key: Any = int(part) if isinstance(target, list) else part
            if isinstance(target, dict) and key not in target:
                target[key] = CommentedMap()
            chain.append((target, key))
            target = target[key]
        last: Any = int(parts[-1]) if isinstance(target, list) else parts[-1]
        if value is DELETE:
            if last in target:
                freed[id(target)] = (list(target).index(last), target.ca.items.pop(last, None))
                del target[last]
            continue
        carried = None
        if isinstance(target, CommentedMap) and last not in target and id(target) in freed:
            position, carried = freed.pop(id(target))
            target.insert(position, last, _styled(value))
        else:
            target[last] = _styled(value)
        chain.append((target, last))
        while len(chain) > 1 and _is_flow(chain[-1][0]):
            chain.pop()
        parent, key = chain[-1]
        if (id(parent), key) not in commented:
            commented.add((id(parent), key))
            _comment(parent, key, note, carried if parent is target else None)


def topology_text(original: str, filename: str, moves: list[Move], survive: tuple[str, ...] = ()) -> str:
    """The user's file with the moves applied and commented, and the ``--survive`` levels the
    plan was made for added to ``slo.survive`` (so that ``kchaos check`` gates on them);
    validated by loading it."""
    y = _yaml()
    doc = y.load(original)
    for move in moves:
        apply_edits(doc, move)
    slo = doc.get("slo") if isinstance(doc.get("slo"), dict) else None
    have = slo.get("survive") if slo is not None else None
    have = [have] if isinstance(have, str) else list(have or [])
    added = [level for level in survive if level not in have]
    if added:
        levels = [lv for lv in ("region", "datacenter", "rack", "server") if lv in have or lv in added]
        apply_edits(doc, Move("survive", "slo", "slo.survive", have or None, levels, 0.0,
                              (("slo.survive", levels),), why="--survive " + " ".join(added)))
    out = io.StringIO()
    y.dump(doc, out)
    text = out.getvalue()
    load_topology_text(text, filename=filename)  # must load as written (a bug otherwise)
    return text


def _figures(results: dict | None) -> dict | None:
    if results is None:
        return None
    cp = results["control_plane"]
    return {
        "api_availability": cp["availability"],
        "api_downtime_minutes_per_year": cp["downtime_minutes_per_year"],
        "quorum_exact": cp["quorum_availability"].get("exact"),
        "workloads": {w["name"]: {"availability": {"estimate": w["availability"]["estimate"],
                                                   "ci95": w["availability"]["ci95"]},
                                  "downtime_minutes_per_year": w["downtime_minutes_per_year"]}
                      for w in results["workloads"]},
        "hottest_p95": results["load"]["max_node_utilization"]["p95"],
        "pending_max": results["load"]["pending_pods"]["max"],
        "survive": results.get("survive"),
        "slo": results["slo"],
        "failures": results["run"]["failures_injected"], "seed": results["run"]["seed"],
    }


def plan_document(plan: Plan, topology: dict) -> dict:
    """plan.json: every move, the figures before and after with intervals, targets still missed."""
    def verdicts(vs: list[Verdict]) -> list[dict]:
        return [v.as_dict() for v in vs]
    return {
        "schema": SCHEMA,
        "topology": topology,
        "met": plan.met,
        "cost": round(sum(m.cost for m in plan.moves), 4),
        "moves": [m.as_dict() for m in plan.moves],
        "targets": {"before": verdicts(plan.before_verdicts), "after": verdicts(plan.after_verdicts)},
        "still_missed": [{**v.as_dict(), **next((b for b in plan.bounds if b["target"] == v.target), {})}
                         for v in plan.after_verdicts if not v.met],
        "bounds": plan.bounds,
        "before": _figures(plan.before),
        "after": _figures(plan.after) if plan.after is not None else _figures(plan.before),
        "domain_losses": plan.domain_losses,
        "search": plan.stats,
    }
