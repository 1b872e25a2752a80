"""Writing a topology file: data and comments -> YAML text, the only way kchaos writes YAML
that a person reads and edits (``kchaos import``).

Every key and value goes through PyYAML's emitter, which quotes whatever would read as
something else; a string that spans lines or holds a control character is written
double-quoted with escapes, so each value stays on its line. Comments are text after ``#``
with every character that is not printable (line breaks, escapes, tabs) written as an
escape. The written text is read back and must give exactly the data it was written from:
a value that would add a key, an entry or a document cannot get through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from kchaos.topology.yamlsafe import YamlFatal, load_yaml

__all__ = ["Note", "plain", "to_yaml", "comment_text", "YamlWriteError"]


@dataclass(frozen=True)
class Note:
    """A value of a mapping or a list with the comments written around it: ``above``, whole
    lines before its key or item (an empty string is a blank line), and ``after``, at the end
    of its line."""

    value: Any
    above: tuple[str, ...] = ()
    after: str = ""


class YamlWriteError(RuntimeError):
    """The text written does not read back as the data (a bug in the writer, never an input's fault)."""


class _Dumper(yaml.SafeDumper):
    """The safe dumper, with strings over several lines double-quoted (escapes, one line)."""

    def analyze_scalar(self, scalar):
        analysis = super().analyze_scalar(scalar)
        if analysis.multiline:
            analysis.allow_single_quoted = analysis.allow_block = False
        return analysis


def plain(value: Any) -> Any:
    """``value`` without its :class:`Note` wrappers: the data the text must read back as."""
    if isinstance(value, Note):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def comment_text(text: str) -> str:
    """``text`` fit for one comment line: what is not printable becomes an escape."""
    out = []
    for ch in str(text):
        if ch.isprintable():
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
    return "".join(out)


def _flow(value: Any) -> str:
    """A scalar, or a list or mapping of scalars, as one line of flow YAML."""
    text = yaml.dump(value, Dumper=_Dumper, default_flow_style=True, width=10**9, allow_unicode=True,
                     sort_keys=False)
    if text.endswith("\n...\n"):
        text = text[: -len("\n...\n")]
    text = text.rstrip("\n")
    if "\n" in text:  # unreachable with the dumper above; a guard for what follows
        raise YamlWriteError(f"a value was written over several lines: {text!r}")
    return text


def _is_leaf(value: Any) -> bool:
    if isinstance(value, Note):
        return False
    if isinstance(value, dict):
        return all(_is_scalar(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_is_scalar(v) for v in value)
    return True


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list, tuple, Note))


def _comments(lines: Sequence[str], indent: int) -> list[str]:
    return ["" if not text else " " * indent + "# " + comment_text(text) for text in lines]


def _tail(after: str) -> str:
    return f"  # {comment_text(after)}" if after else ""


def _mapping(data: dict, indent: int, out: list[str]) -> None:
    """``data`` as a block mapping at ``indent``, its entries' comments with them."""
    pad = " " * indent
    for key, value in data.items():
        note = value if isinstance(value, Note) else Note(value)
        out += _comments(note.above, indent)
        head = f"{pad}{_flow(key)}:"
        if (_is_leaf(note.value) and not (indent == 0 and isinstance(note.value, dict))) or not note.value:
            out.append(f"{head} {_flow(plain(note.value))}{_tail(note.after)}")
        elif isinstance(note.value, dict):  # a top-level section is a block even when it holds scalars only
            out.append(head + _tail(note.after))
            _mapping(note.value, indent + 2, out)
        else:
            out.append(head + _tail(note.after))
            _sequence(note.value, indent + 2, out)


def _sequence(items: Sequence, indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in items:
        note = item if isinstance(item, Note) else Note(item)
        out += _comments(note.above, indent)
        value = note.value
        if _is_leaf(value) or not value:
            out.append(f"{pad}- {_flow(plain(value))}{_tail(note.after)}")
        elif isinstance(value, dict):
            inner: list[str] = []
            _mapping(value, indent + 2, inner)
            first = next(i for i, line in enumerate(inner) if line.strip() and not line.lstrip().startswith("#"))
            out += inner[:first]
            out.append(f"{pad}- {inner[first][indent + 2:]}{_tail(note.after)}")
            out += inner[first + 1:]
        else:
            out.append(f"{pad}-{_tail(note.after)}")
            _sequence(value, indent + 2, out)


def to_yaml(data: dict, header: Sequence[str] = (), footer: Sequence[str] = ()) -> str:
    """The YAML text of ``data`` (block style; a list or mapping of scalars on one line), with
    ``header`` and ``footer`` comment lines; checked by reading it back."""
    out = _comments(header, 0)
    _mapping(data, 0, out)
    out += _comments(footer, 0)
    text = "\n".join(out) + "\n"
    try:
        back = load_yaml(text)
    except YamlFatal as err:
        raise YamlWriteError(f"the text written does not read back (line {err.line}: {err.message})") from None
    if back.problems or back.data != plain(data):
        raise YamlWriteError("the text written does not read back as the data it was written from")
    return text
