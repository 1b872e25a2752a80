"""``kchaos schema``: the JSON Schema accepts every valid topology and rejects what the validator rejects.

The schema and the validator read the same declarations (kchaos/topology/definitions.py).
These tests hold them to it three ways: every shipped and documented example passes the
schema; an unknown key or a value of the wrong type anywhere in a file that reaches every
section is rejected by both; and for every declared value, a list of probe values is
accepted by the schema exactly when the validator's reader accepts it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from kchaos.cli import main
from kchaos.errors import KchaosUsageError
from kchaos.topology import definitions as D
from kchaos.topology import load_topology_text
from kchaos.topology.checker import Checker
from kchaos.topology.json_schema import node_schema, topology_schema
from tests.test_docs import EXERCISE, TOPOLOGY_DOC, fenced_blocks

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "topologies").glob("*.yaml"))
VALIDATOR = jsonschema.Draft202012Validator(topology_schema())


def schema_errors(document) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(document)]


def validator_accepts(document) -> bool:
    try:
        load_topology_text(yaml.safe_dump(document, sort_keys=False), filename="probe.yaml")
    except KchaosUsageError:
        return False
    return True


def test_the_schema_is_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(topology_schema())


def test_kchaos_schema_prints_it(capsys, tmp_path):
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == topology_schema()
    out = tmp_path / "kchaos.schema.json"
    assert main(["schema", "-o", str(out)]) == 0
    assert json.loads(out.read_text()) == topology_schema()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_shipped_example_passes(path):
    assert schema_errors(yaml.safe_load(path.read_text())) == []


def test_the_documented_examples_and_the_exercise_pass():
    texts = EXERCISE + [t for t in fenced_blocks(TOPOLOGY_DOC.read_text(), "yaml") if "apiVersion:" in t]
    assert len(texts) >= 3
    for text in texts:
        load_topology_text(text, filename="doc.yaml")  # valid for the validator...
        assert schema_errors(yaml.safe_load(text)) == []  # ...and for the schema


def _locations(node, path=()):
    """Every (path, value) in a parsed document."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _locations(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _locations(value, path + (i,))


def _replaced(document, path, value):
    out = copy.deepcopy(document)
    target = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return out


BASE = yaml.safe_load(EXERCISE[0])
# slo.workloads has free keys (workload names): an unknown name there is the validator's to find.
MAPPINGS = [p for p, v in _locations(BASE) if isinstance(v, dict) and p != ("slo", "workloads")]
SCALARS = [p for p, v in _locations(BASE) if not isinstance(v, (dict, list))]


@pytest.mark.parametrize("path", MAPPINGS, ids=lambda p: ".".join(map(str, p)) or "top")
def test_an_unknown_key_is_rejected_by_both(path):
    target = BASE
    for part in path:
        target = target[part]
    broken = _replaced(BASE, path, {**target, "bogusKey": 1}) if path else {**BASE, "bogusKey": 1}
    assert schema_errors(broken), f"the schema accepts an unknown key under {path}"
    assert not validator_accepts(broken)


@pytest.mark.parametrize("path", SCALARS, ids=lambda p: ".".join(map(str, p)))
def test_a_value_of_the_wrong_type_is_rejected_by_both(path):
    broken = _replaced(BASE, path, {"not": "a scalar"})
    assert schema_errors(broken), f"the schema accepts a mapping at {path}"
    assert not validator_accepts(broken)


PROBES = [True, False, None, 0, 1, 2, 3, 7, 8, 50, 99.5, 100, 101, 1e9, -1, 0.0, 0.5, 1.5, 3.0,
          "", "x", "a b", "a/b", "1", "0", "-1", "0s", "10s", "1h30m", "-5s", "5", "10 s", "1.5h", "250us",
          "500m", "2", "0.5", "64Gi", "1G", "1e9", "512MB", "0Mi", "-2", "99.9", "99.9%", "85%", "0%", "150%",
          "50%", "none", "None", " none", "spread", "stacked", "external", "DaemonSet", "rack", "Honor",
          "exponential", "fixed", "weibull", [], {}, ["a"]]

#: Percentages written as strings ('150%', '1e9') are checked for their range by the validator
#: only: a pattern cannot compare numbers. The schema may accept those; nothing else may differ.
STRING_RANGES = ("percent_target", "fraction", "count_or_percent", "percent_share", "quantity")


def _scalars():
    seen = {}
    for path, node in D.walk(D.TOPOLOGY):
        if isinstance(node, D.Scalar):
            seen.setdefault(repr(node), (path, node))
    return list(seen.values())


@pytest.mark.parametrize("path,spec", _scalars(), ids=lambda x: x if isinstance(x, str) else "")
def test_the_schema_accepts_a_value_exactly_when_the_reader_does(path, spec):
    schema = jsonschema.Draft202012Validator(
        {**node_schema(spec), "$defs": topology_schema()["$defs"]})
    disagree = []
    for value in PROBES:
        if spec.switch_off == "none" and isinstance(value, str) and value.strip().lower() == "none":
            reader_ok = True
        elif spec.switch_off == "null" and value is None:
            reader_ok = True
        else:
            checker = Checker("probe.yaml", {})
            checker.scalar(value, ("probe",), spec)
            reader_ok = not checker.problems
        schema_ok = schema.is_valid(value)
        if schema_ok and not reader_ok and spec.reader in STRING_RANGES and isinstance(value, str):
            continue
        if reader_ok != schema_ok:
            disagree.append(f"{value!r}: reader {'accepts' if reader_ok else 'rejects'}, schema does not")
    assert not disagree, f"{path} ({spec.reader}):\n" + "\n".join(disagree)
