"""The JSON Schema (draft 2020-12) of the topology format, built from :mod:`.definitions`.

Editors (VS Code's YAML extension, JetBrains) use it to complete keys, show
each key's meaning and default, and flag unknown keys and wrong types while
one types. It checks what a schema can check: keys, types, units (by pattern),
ranges and choices. What needs the whole file (names that refer to declared
sites, an election timeout of at least five heartbeats) stays with
``kchaos check``, which reads the same declarations.
"""

from __future__ import annotations

from typing import Any

from kchaos.topology import definitions as D
from kchaos.topology.schema_common import MAX_CPU, MAX_MEMORY
from kchaos.topology.units import format_cpu, format_duration, format_memory

SCHEMA_ID = "urn:kchaos:topology:v1alpha1"
#: Declarations used in several places are written once, under $defs.
_SHARED = {"placement": D.PLACEMENT, "capacity": D.CAPACITY, "distribution": D.DISTRIBUTION}

_NUMBER = r"(\d+(\.\d*)?|\.\d+)"
_DURATION_UNIT = "(us|µs|ms|s|m|h|d|y)"
#: A positive sum of parts like '1h30m' (no bare numbers: their unit would be ambiguous).
DURATION = rf"^\s*\+?\s*({_NUMBER}\s*{_DURATION_UNIT} *)+\s*$"
_DURATION_BODY = rf"({_NUMBER}\s*{_DURATION_UNIT} *)+"
#: A duration, or a range of two (the low end's unit may be left out: '2..8h').
DURATION_RANGE = rf"^\s*\+?\s*({_DURATION_BODY}|({_DURATION_BODY}|{_NUMBER})\s*\.\.\s*{_DURATION_BODY})\s*$"
_ZERO = r"(0+(\.0*)?|\.0+)"
ZERO_DURATION = rf"^\s*\+?\s*({_ZERO}\s*{_DURATION_UNIT} *)+\s*$"
#: Kubernetes resource.Quantity, non-negative.
QUANTITY = rf"^\s*\+?{_NUMBER}([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?\s*$"
ZERO_QUANTITY = rf"^\s*\+?{_ZERO}([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?\s*$"
_PLAIN = rf"[+-]?{_NUMBER}([eE][+-]?\d+)?"
PERCENT = rf"^\s*{_PLAIN}\s*%\s*$"
PERCENT_OR_NUMBER = rf"^\s*{_PLAIN}\s*%?\s*$"
NONE_WORD = r"^\s*[Nn][Oo][Nn][Ee]\s*$"


def topology_schema() -> dict[str, Any]:
    """The whole schema, ready for ``json.dumps``."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
              "title": "kchaos topology"}
    schema.update(node_schema(D.TOPOLOGY))
    schema["$defs"] = {name: node_schema(node, top=True) for name, node in _SHARED.items()}
    return schema


def node_schema(node: D.Node, top: bool = False) -> dict[str, Any]:
    """The schema of one declaration; a shared one (not at its own $defs entry) as a reference."""
    if not top:
        for name, shared in _SHARED.items():
            if node is shared:
                return {"$ref": f"#/$defs/{name}"}
    if isinstance(node, D.Scalar):
        return _scalar(node)
    if isinstance(node, D.Obj):
        out: dict[str, Any] = {"type": "object", "description": node.doc,
                               "properties": {k: node_schema(v) for k, v in node.fields.items()},
                               "additionalProperties": False}
        if node.required:
            out["required"] = list(node.required)
        if node.exactly_one:
            out["minProperties"] = out["maxProperties"] = 1
        return out
    if isinstance(node, D.Seq):
        out = {"type": "array", "description": node.doc, "items": node_schema(node.items)}
        if node.min_items:
            out["minItems"] = node.min_items
        if node.max_items is not None:
            out["maxItems"] = node.max_items
        return out
    if isinstance(node, D.Map):
        return {"type": "object", "description": node.doc, "additionalProperties": node_schema(node.values)}
    return {"description": node.doc, "anyOf": [node_schema(option) for option in node.options]}


def _range(spec: D.Scalar) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if spec.lo is not None:
        out["exclusiveMinimum" if spec.lo_open else "minimum"] = spec.lo
    if spec.hi is not None:
        out["maximum"] = spec.hi
    return out


def _scalar(spec: D.Scalar) -> dict[str, Any]:
    reader = spec.reader
    if reader == "integer":
        out: dict[str, Any] = {"type": "integer", **_range(spec)}
    elif reader == "number":
        out = {"type": "number", **_range(spec)}
    elif reader in ("boolean", "string"):
        out = {"type": reader}
    elif reader == "name":
        out = {"type": "string", "minLength": 1, "maxLength": 253, "pattern": r"^[^\s/\\]+$"}
    elif reader == "none_word":
        out = {"type": "string", "pattern": NONE_WORD}
    elif reader == "choice":
        out = {"enum": list(spec.options)}
    elif reader == "duration":
        out = {"type": "string", "pattern": DURATION}
        if not spec.allow_zero:
            out["not"] = {"pattern": ZERO_DURATION}
    elif reader == "duration_range":
        out = {"type": "string", "pattern": DURATION_RANGE}
        if not spec.allow_zero:
            out["not"] = {"pattern": ZERO_DURATION}
    elif reader == "quantity":
        number: dict[str, Any] = {"type": "number", "minimum": 0} if spec.allow_zero else \
            {"type": "number", "exclusiveMinimum": 0}
        number["maximum"] = MAX_CPU if spec.kind == "cpu" else MAX_MEMORY
        text: dict[str, Any] = {"type": "string", "pattern": QUANTITY}
        if not spec.allow_zero:
            text["not"] = {"pattern": ZERO_QUANTITY}
        out = {"anyOf": [number, text]}
    elif reader == "percent_target":
        out = {"anyOf": [{"type": "number", "minimum": 1, "maximum": 100},
                         {"type": "string", "pattern": PERCENT_OR_NUMBER}]}
    elif reader == "fraction":
        out = {"anyOf": [{"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                         {"type": "string", "pattern": PERCENT_OR_NUMBER}]}
    elif reader == "percent_share":
        out = {"type": "string", "pattern": PERCENT}
    elif reader == "count_or_percent":
        out = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": PERCENT}]}
    else:
        raise ValueError(f"no JSON Schema for reader {reader!r}")
    if spec.switch_off == "none":
        out = {"anyOf": [out, {"type": "string", "pattern": NONE_WORD}]}
    elif spec.switch_off == "null":
        out = {"anyOf": [out, {"type": "null"}]}
    out["description"] = spec.doc
    if spec.default is not D.NO_DEFAULT and spec.default is not None:
        out["default"] = _shown_default(spec)
    return out


def _shown_default(spec: D.Scalar) -> Any:
    """The default as a user would write it in the YAML ('100ms', '4Gi', '99.99%')."""
    value = spec.default
    if spec.reader in ("duration", "duration_range"):
        return format_duration(value)
    if spec.reader == "quantity":
        return format_cpu(value) if spec.kind == "cpu" else format_memory(value)
    if spec.reader == "percent_target":
        return f"{value * 100:g}%"
    if spec.reader == "fraction":
        return f"{value * 100:g}%"
    return value
