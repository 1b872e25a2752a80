"""Inline text for the templates: lists of plain strings and tagged pieces, never HTML.

A line of text such as ``9.19 <small>min/year</small>`` is handed to a template
as ``["9.19 ", small("min/year")]``. A piece is a plain string or a dict with
``tag`` (one of b, small, code, span, br), ``text``, ``cls`` and ``title``;
the ``inline`` macro of templates/macros.html renders it and autoescapes
every text, so a name from the topology can never become markup.
"""

from __future__ import annotations

from typing import Any, Union

Piece = Union[str, dict]
Inline = list  # of Piece


def _piece(tag: str, text: Any = "", cls: str = "", title: Any = "") -> dict:
    return {"tag": tag, "text": "" if text is None else str(text), "cls": cls,
            "title": "" if title is None else str(title)}


def b(text: Any) -> dict:
    return _piece("b", text)


def small(text: Any, cls: str = "") -> dict:
    return _piece("small", text, cls)


def code(text: Any, cls: str = "", title: Any = "") -> dict:
    return _piece("code", text, cls, title)


def span(text: Any, cls: str, title: Any = "") -> dict:
    return _piece("span", text, cls, title)


def badge(text: Any, cls: str, title: Any = "") -> dict:
    """A coloured pill: ``cls`` is b-pass, b-fail, b-warn, b-info or b-common."""
    return span(text, f"badge {cls}", title)


BR = _piece("br")


def joined(lines: list[Inline]) -> Inline:
    """Lines one under the other (``<br>`` between them); empty lines are dropped."""
    out: Inline = []
    for line in [line for line in lines if line]:
        if out:
            out.append(BR)
        out.extend(line)
    return out
