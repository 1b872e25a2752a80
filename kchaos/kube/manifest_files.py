"""Reading Kubernetes manifests: files or folders of YAML (several documents per file) or
JSON (``kubectl get ... -o json``, a ``List``), every object with the file and line it came from,
within one read budget. A document that cannot be read is the user's to fix (file:line), except
an unrendered Helm template or a large non-workload object, which stand in as left out.
:mod:`.manifests` turns the objects into workloads."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from ..errors import KchaosUsageError
from ..topology.checker import Checker
from ..topology.files import Budget, fail, load_json, looks_like_json
from ..topology.yamlsafe import YamlEmpty, YamlFatal, YamlTooLarge, load_yaml
from .origin import Origin

#: The kinds read as workloads (:mod:`.manifests`).
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_DOC_SPLIT = re.compile(r"^---\s*(#.*)?$")


@dataclass
class Manifest:
    """One object with where it came from (file, line of its first key) and its key path -> line."""

    file: str
    line: int
    data: dict
    lines: Any
    prefix: tuple = ()
    #: a stand-in for a document that could not be read: why it is left out ("": counted as skipped)
    unread: str | None = None

    @property
    def origin(self) -> Origin:
        return Origin(self.file, self.lines, self.prefix)


def parse_documents(path: str, text: str) -> list[Manifest]:
    """The objects of one file: JSON, or YAML of one or more documents (``---``)."""
    if looks_like_json(text):
        data, lines = load_json(text, path)
        return _objects(path, data, lines, 1)
    chunks, start, current = [], 1, []
    for i, line in enumerate(text.splitlines(keepends=True), 1):
        if _DOC_SPLIT.match(line.rstrip("\r\n")):
            chunks.append((start, "".join(current)))
            start, current = i + 1, []
        else:
            current.append(line)
    chunks.append((start, "".join(current)))
    out = []
    for first, chunk in chunks:
        if not chunk.strip():
            continue
        try:
            doc = load_yaml(chunk)
        except YamlEmpty:
            continue
        except YamlFatal as err:
            stub = _unread(path, chunk, first, isinstance(err, YamlTooLarge))
            if stub is None:
                raise fail(path, err.message, None if err.line is None else err.line + first - 1) from None
            out.append(stub)
            continue
        lines = {k: v + first - 1 for k, v in doc.lines.items()}
        if doc.problems:  # a tag or a duplicate key: the value read would not be the one meant
            stub = _unread(path, chunk, first, False)  # `replicas: {{ .Values.n }}`: a mapping as a key
            if stub is None:
                check = Checker(path, lines)
                for key, line, message in doc.problems:
                    check.error(key, message, line + first - 1)
                raise KchaosUsageError(check.problems)
            out.append(stub)
            continue
        out += _objects(path, doc.data, lines, first)
    return out


_KIND = re.compile(r"^kind:\s*['\"]?([A-Za-z0-9]+)", re.MULTILINE)
_NAME = re.compile(r"\bname:\s*(.+?)\s*$", re.MULTILINE)


def _unread(path: str, chunk: str, first: int, too_large: bool) -> Manifest | None:
    """A stand-in for a document left out and said, or None when the error is the user's to fix:
    a Helm template not rendered (``{{ ... }}`` breaks the YAML), or a document too large for
    the reader that is no workload (a CustomResourceDefinition's schema)."""
    kind = _KIND.search(chunk)
    name = _NAME.search(chunk)
    shown = name.group(1) if name else "?"
    while shown.endswith("}") and shown.count("}") > shown.count("{"):  # the closing brace of {name: x}
        shown = shown[:-1].rstrip()
    data = {"kind": kind.group(1) if kind else "?", "metadata": {"name": shown.strip("'\"")}}
    if "{{" in chunk and "}}" in chunk:
        why = "a Helm template not rendered ({{ ... }} in it): left out; give the output of `helm template`"
        return Manifest(path, first, data, {}, unread=why)
    if too_large and data["kind"] not in WORKLOAD_KINDS + ("PodDisruptionBudget",):
        return Manifest(path, first, data, {}, unread="")  # counted as skipped, as any other kind
    return None


def _objects(path: str, data: Any, lines: Any, first: int) -> list[Manifest]:
    """The objects of one document: itself, or the items of a ``List``."""
    if isinstance(data, dict) and isinstance(data.get("items"), list) and str(data.get("kind", "List")).endswith("List"):
        return [Manifest(path, lines.get(("items", i), first), item, lines, ("items", i))
                for i, item in enumerate(data["items"]) if isinstance(item, dict)]
    if isinstance(data, dict):
        return [Manifest(path, lines.get((), first), data, lines)]
    return []


def manifest_files(p: str) -> list[str]:
    """The manifest files of a folder (``*.yaml``, ``*.yml``, ``*.json``, sorted; symbolic links
    to folders are not followed), or the path itself."""
    if not os.path.isdir(p):
        if not os.path.exists(p):
            raise fail(p, "no such file or folder")
        return [p]  # a file, or a device or pipe (`-f <(kubectl get ... -o json)`): read within the limit
    found = []
    for folder, dirs, names in os.walk(p):
        dirs.sort()
        found += [os.path.join(folder, n) for n in sorted(names) if n.endswith(MANIFEST_SUFFIXES)
                  and os.path.isfile(os.path.join(folder, n))]
    return sorted(found)


def read_manifests(paths: list[str]) -> list[Manifest]:
    """Every object in the files and folders, read within one :class:`~kchaos.topology.files.Budget`."""
    budget = Budget()
    out = []
    for p in paths:
        for f in manifest_files(p):
            out += parse_documents(f, budget.read_text(f))
    return out
