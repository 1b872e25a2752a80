"""Safe YAML reading with line numbers.

PyYAML's composer is bypassed on purpose: libyaml's C composer recurses without
a limit (deep nesting crashes the interpreter) and its scanner is quadratic in
flow nesting depth. Instead the parser's event stream is composed here, and
every limit is enforced *while streaming*, so hostile input stops early:

* only the standard tags (str, int, float, bool, null, seq, map) are accepted;
  nothing is ever constructed from another tag,
* nesting is limited to :data:`MAX_DEPTH` levels (also after alias expansion),
* the expanded document is limited to :data:`MAX_VALUES` values, counted from
  each anchor's size, so a billion-laughs document fails after a few events,
* one document per file, no recursive or undefined aliases, no duplicate keys.

The result is plain Python data (dict / list / str / int / float / bool /
None) plus a map from key path to 1-based line number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import Resolver

Path = tuple[str | int, ...]

MAX_BYTES = 5 * 1024 * 1024
MAX_VALUES = 200_000
MAX_DEPTH = 64

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG_PREFIX = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG_PREFIX + t for t in ("str", "int", "float", "bool", "null")}
_SEQ_TAG = _TAG_PREFIX + "seq"
_MAP_TAG = _TAG_PREFIX + "map"
_ALLOWED_TAGS = "!!str, !!int, !!float, !!bool, !!null, !!seq, !!map"


class YamlFatal(Exception):
    """A problem that makes the whole document unusable (syntax, limits, aliases)."""

    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


class YamlTooLarge(YamlFatal):
    """The document holds more than :data:`MAX_VALUES` values (written out, not through aliases)."""


class YamlEmpty(YamlFatal):
    """The text holds no document at all (nothing, or comments only)."""


@dataclass
class YamlDocument:
    """The converted document: data, key-path -> line, and non-fatal problems.

    ``problems`` are (path, line, message) found while converting (bad tags,
    duplicate keys); ``poisoned`` holds the paths whose value was dropped
    because of them, so that schema checks do not pile follow-up errors on top.
    """

    data: Any
    lines: dict[Path, int]
    problems: list[tuple[Path, int, str]] = field(default_factory=list)
    poisoned: set[Path] = field(default_factory=set)


class _Node:
    """One composed YAML node; aliases share the anchored node object."""

    __slots__ = ("kind", "tag", "value", "line", "plain", "size", "depth")

    def __init__(self, kind: str, tag: str | None, line: int, value: Any = None, plain: bool = False):
        self.kind = kind  # scalar | seq | map | bad
        self.tag = tag
        self.line = line
        self.value = value  # str for scalars, list[_Node] for seq and map (key, value, key, ...)
        self.plain = plain
        self.size = 1
        self.depth = 1


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG_PREFIX):] if tag.startswith(_TAG_PREFIX) else tag


def _line(event: Any) -> int:
    mark = getattr(event, "start_mark", None)
    return mark.line + 1 if mark is not None else 1


def _syntax_message(err: yaml.MarkedYAMLError, text: str) -> str:
    message = f"YAML syntax error: {err.problem or err}"
    if err.context and err.context_mark is not None:
        message += f" ({err.context} that starts at line {err.context_mark.line + 1})"
    mark = err.problem_mark
    lines = text.splitlines()
    if mark is not None and mark.line < len(lines) and "\t" in lines[mark.line]:
        message += "; this line holds a tab: indent with spaces, YAML does not allow tabs"
    return message


def load_yaml(text: str) -> YamlDocument:
    """Parse one YAML document safely. Raises :class:`YamlFatal` for unusable input."""
    try:
        return _load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise YamlFatal(mark.line + 1 if mark else None, _syntax_message(err, text)) from None
    except yaml.reader.ReaderError as err:
        # The C reader reports a byte offset, the Python one a character index.
        if _LOADER is yaml.SafeLoader:
            line = text[: err.position].count("\n") + 1
        else:
            line = text.encode("utf-8")[: err.position].count(b"\n") + 1
        char = err.character if isinstance(err.character, int) else ord(err.character or "\0")
        raise YamlFatal(line, f"character U+{char:04X} is not allowed in a YAML file") from None
    except yaml.YAMLError as err:  # anything else the parser may raise
        raise YamlFatal(None, f"YAML error: {err}") from None


def _load(text: str) -> YamlDocument:
    root = _compose(text)
    doc = YamlDocument(data=None, lines={})
    if root is None:
        raise YamlEmpty(None, "the file is empty; a topology starts with 'apiVersion: kchaos/v1alpha1'")
    doc.lines[()] = root.line
    doc.data = _Converter(doc).convert(root, ())
    return doc


def _compose(text: str) -> _Node | None:
    """Compose the single document from the event stream, enforcing all limits."""
    anchors: dict[str, _Node] = {}
    anchor_lines: dict[str, int] = {}
    open_anchors: set[str] = set()
    stack: list[tuple[_Node, str | None]] = []
    total = 0
    used_alias = False
    documents = 0
    root: _Node | None = None

    def add(node: _Node) -> None:
        nonlocal total, root
        total += node.size
        if total > MAX_VALUES:
            if used_alias:
                raise YamlFatal(node.line, f"the document expands to more than {MAX_VALUES} values (alias bomb?)")
            raise YamlTooLarge(node.line, f"the document holds more than {MAX_VALUES} values")
        if stack:
            parent = stack[-1][0]
            parent.value.append(node)
            parent.size += node.size
            parent.depth = max(parent.depth, node.depth + 1)
            if parent.depth > MAX_DEPTH:
                raise YamlFatal(node.line, f"the document is nested more than {MAX_DEPTH} levels deep")
        else:
            root = node

    def anchor(name: str | None, node: _Node) -> None:
        if name is None:
            return
        if name in anchor_lines:
            raise YamlFatal(node.line, f"anchor &{name} is defined twice (lines {anchor_lines[name]} and {node.line})")
        anchor_lines[name] = node.line
        anchors[name] = node

    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise YamlFatal(
                    _line(event),
                    "the file holds more than one YAML document (a second one starts here); "
                    "kchaos reads one topology per file",
                )
        elif isinstance(event, yaml.ScalarEvent):
            node = _Node("scalar", event.tag, _line(event), event.value, plain=bool(event.implicit[0]))
            if node.tag not in (None, "!") and node.tag not in _SCALAR_TAGS:
                node.kind = "bad"
            anchor(event.anchor, node)
            add(node)
        elif isinstance(event, yaml.CollectionStartEvent):
            kind = "seq" if isinstance(event, yaml.SequenceStartEvent) else "map"
            node = _Node(kind, event.tag, _line(event), [])
            if node.tag not in (None, "!", _SEQ_TAG if kind == "seq" else _MAP_TAG):
                node.kind = "bad"
            if len(stack) >= MAX_DEPTH:
                raise YamlFatal(node.line, f"the document is nested more than {MAX_DEPTH} levels deep")
            if event.anchor is not None:
                open_anchors.add(event.anchor)
            stack.append((node, event.anchor))
        elif isinstance(event, yaml.CollectionEndEvent):
            node, name = stack.pop()
            if name is not None:
                open_anchors.discard(name)
                anchor(name, node)
            add(node)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor in open_anchors:
                raise YamlFatal(_line(event), f"alias *{event.anchor} refers to a mapping or list that contains it")
            if event.anchor not in anchors:
                raise YamlFatal(_line(event), f"alias *{event.anchor} refers to no anchor defined before it")
            used_alias = True
            add(anchors[event.anchor])
    return root


class _Converter:
    """Turn composed nodes into plain Python values, recording lines and problems."""

    def __init__(self, doc: YamlDocument):
        self.doc = doc
        self.constructor = SafeConstructor()
        self.resolver = Resolver()

    def problem(self, path: Path, line: int, message: str, poison: bool = True) -> None:
        self.doc.problems.append((path, line, message))
        if poison:
            self.doc.poisoned.add(path)

    def convert(self, node: _Node, path: Path) -> Any:
        if node.kind == "bad":
            tag = _short_tag(node.tag or "")
            if node.tag in _SCALAR_TAGS | {_SEQ_TAG, _MAP_TAG}:
                shape = "a list or mapping" if isinstance(node.value, list) else "a single value"
                self.problem(path, node.line, f"the tag '{tag}' cannot be used on {shape}")
            else:
                self.problem(path, node.line, f"tags are not allowed: '{tag}' (only plain values; "
                                              f"standard tags {_ALLOWED_TAGS})")
            return None
        if node.kind == "scalar":
            return self.scalar(node, path)
        if node.kind == "seq":
            items = []
            for i, child in enumerate(node.value):
                self.doc.lines[path + (i,)] = child.line
                items.append(self.convert(child, path + (i,)))
            return items
        return self.mapping(node, path)

    def scalar(self, node: _Node, path: Path) -> Any:
        tag = node.tag
        if tag in (None, "!"):
            if tag == "!" or not node.plain:
                return node.value
            tag = self.resolver.resolve(yaml.ScalarNode, node.value, (True, False))
        name = tag[len(_TAG_PREFIX):] if tag.startswith(_TAG_PREFIX) else ""
        if name not in ("int", "float", "bool", "null"):
            return node.value  # str, and implicit timestamps kept as written
        try:
            method = getattr(self.constructor, f"construct_yaml_{name}")
            return method(yaml.ScalarNode(tag, node.value))
        except (ValueError, KeyError, ConstructorError):
            self.problem(path, node.line, f"cannot read {node.value!r} as !!{name}")
            return None

    def mapping(self, node: _Node, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        self._fill(result, node, path, explicit=True)
        return result

    def _fill(self, result: dict[str, Any], node: _Node, path: Path, explicit: bool) -> None:
        """Add ``node``'s keys missing from ``result``, then those of its merge keys ('<<').

        ``explicit`` is False for merged sources: their own problems were
        reported where they were defined, and earlier keys take precedence.
        """
        key_lines: dict[str, int] = {}
        merges: list[tuple[_Node, int]] = []
        children = node.value
        for key, value in zip(children[0::2], children[1::2]):
            if key.kind == "scalar" and key.plain and key.tag is None and key.value == "<<":
                merges.append((value, key.line))
                continue
            if key.kind != "scalar":
                if explicit:
                    self.problem(path, key.line,
                                 "mapping keys must be plain strings, not lists, mappings or tagged values")
                continue
            name = key.value
            if name in key_lines:
                if explicit:
                    self.problem(
                        path + (name,), key.line,
                        f"duplicate key '{name}' (lines {key_lines[name]} and {key.line}); remove one of them",
                        poison=False,
                    )
                continue
            key_lines[name] = key.line
            if name in result:
                continue
            self.doc.lines[path + (name,)] = key.line
            result[name] = self.convert(value, path + (name,))
        for source, line in merges:
            sources = source.value if source.kind == "seq" else [source]
            if not all(s.kind == "map" for s in sources):
                if explicit:
                    self.problem(path, line, "the merge key '<<' needs a mapping or a list of mappings")
                continue
            for src in sources:
                self._fill(result, src, path, explicit=False)
