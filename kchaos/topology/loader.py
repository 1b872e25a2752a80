"""Read a topology file or text: bytes -> text -> YAML -> overrides -> checks -> Cluster."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import os
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from kchaos.errors import KchaosUsageError, Problem, TopologyError
from kchaos.model.cluster import Cluster
from kchaos.topology.build import build_cluster, check_elections
from kchaos.topology.checker import Checker, format_path
from kchaos.topology.schema import validate
from kchaos.topology.files import MAX_TOPOLOGY_BYTES, decode, read_bytes
from kchaos.topology.yamlsafe import Path, YamlFatal, load_yaml

#: At most this many problems are listed; a last line counts the rest.
MAX_PROBLEMS = 100


class _Delete:
    """An override value that removes the key (``kchaos plan`` turns ``spreadOver`` into ``spread``)."""

    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()


def load_topology(path: str | os.PathLike[str], overrides: Mapping[str, Any] | None = None) -> Cluster:
    """Load, validate and build the topology in ``path``.

    ``overrides`` maps dotted key paths to values applied after parsing and
    before validation, e.g. ``{"controlPlane.members": 5}`` (list items by
    index: ``"workers.0.count"``; the value :data:`DELETE` removes the key). Raises :class:`TopologyError` listing every
    problem found.
    """
    filename = os.fsdecode(os.fspath(path))
    return _load(_read(filename), filename, overrides)


def load_topology_text(text: str, filename: str = "<string>",
                       overrides: Mapping[str, Any] | None = None) -> Cluster:
    """Like :func:`load_topology` for text already in memory; ``filename`` is used in messages."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise TopologyError([Problem(filename, None, "", f"is not valid text ({err.reason})")]) from None
    return _load(raw, filename, overrides)


def _fail(filename: str, message: str, line: int | None = None) -> TopologyError:
    return TopologyError([Problem(filename, line, "", message)])


def _read(filename: str) -> bytes:
    """The file's bytes, within :data:`.files.MAX_TOPOLOGY_BYTES`."""
    try:
        return read_bytes(filename, MAX_TOPOLOGY_BYTES)
    except KchaosUsageError as err:
        raise TopologyError(err.problems) from None


def _decode(raw: bytes, filename: str) -> str:
    try:
        return decode(raw, filename)
    except KchaosUsageError as err:
        raise TopologyError(err.problems) from None


def _default_name(filename: str) -> str:
    stem = PurePath(filename).stem
    return "topology" if filename.startswith("<") or not stem or stem.startswith(".") else stem


def _load(raw: bytes, filename: str, overrides: Mapping[str, Any] | None) -> Cluster:
    sha256 = hashlib.sha256(raw).hexdigest()
    text = _decode(raw, filename)
    if not text.strip():
        raise _fail(filename, "the file is empty; a topology starts with 'apiVersion: kchaos/v1alpha1'")
    try:
        doc = load_yaml(text)
    except YamlFatal as err:
        raise _fail(filename, err.message, err.line) from None
    if doc.data is None and not doc.problems:
        raise _fail(filename, "the file holds no topology (its only document is empty)", doc.lines.get(()))
    overridden = _apply_overrides(doc.data, overrides or {}, filename)
    checker = Checker(filename, doc.lines, doc.poisoned, overridden)
    checker.problems += [Problem(filename, line, format_path(path), message) for path, line, message in doc.problems]
    spec = validate(doc.data, checker, _default_name(filename))
    if spec is None or checker.problems:
        raise TopologyError(_tidy(checker.problems, filename))
    cluster = build_cluster(spec, source=filename, sha256=sha256)
    check_elections(cluster, checker)
    if checker.problems:
        raise TopologyError(_tidy(checker.problems, filename))
    keys = {".".join(path): line for path, line in doc.lines.items()  # sections and their keys
            if 1 <= len(path) <= 2 and all(isinstance(k, str) for k in path)}
    return dataclasses.replace(cluster, lines=keys)


def _tidy(problems: list[Problem], filename: str) -> list[Problem]:
    """Problems in file order, without repeats, capped at :data:`MAX_PROBLEMS`."""
    unique = list(dict.fromkeys(problems))
    unique.sort(key=lambda p: -1 if p.line is None else p.line)
    if len(unique) > MAX_PROBLEMS:
        rest = len(unique) - MAX_PROBLEMS
        unique = unique[:MAX_PROBLEMS] + [Problem(filename, None, "", f"... and {rest} more problems")]
    return unique


def _apply_overrides(data: Any, overrides: Mapping[str, Any], filename: str) -> set[Path]:
    """Set each dotted path in ``data`` (creating missing mappings); return the paths set."""
    done: set[Path] = set()
    problems: list[Problem] = []
    for key, value in overrides.items():
        parts: list[str] = str(key).split(".")
        target: Any = data
        path: Path = ()
        error = None if all(parts) else "is not a dotted key path"
        for i, part in enumerate(parts):
            if error:
                break
            last = i == len(parts) - 1
            if isinstance(target, list):
                if not part.isdigit() or int(part) >= len(target):
                    error = f"{format_path(path) or 'the top level'} is a list; '{part}' is not one of its indices"
                    break
                seg: str | int = int(part)
            elif isinstance(target, dict):
                seg = part
                if not last and not isinstance(target.get(seg), (dict, list)):
                    if target.get(seg) is not None:
                        error = f"{format_path(path + (seg,))} is not a mapping or list"
                        break
                    target[seg] = {}
            else:
                error = f"{format_path(path) or 'the top level'} is not a mapping"
                break
            path += (seg,)
            if last and value is DELETE:
                if isinstance(target, dict):
                    target.pop(seg, None)
            elif last:
                target[seg] = copy.deepcopy(value)
            else:
                target = target[seg]
        if error:
            problems.append(Problem(filename, None, str(key), f"cannot apply override: {error}"))
        else:
            done.add(path)
    if problems:
        raise TopologyError(problems)
    return done
