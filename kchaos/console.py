"""The one printer of the terminal: every line kchaos shows goes through :func:`terminal`.

User text (file names, descriptions, names, values quoted in messages) reaches the terminal
as text only: no rich markup, no emoji codes (``file.yaml:100:`` stays ``:100:``), and no
control character of it gets through: an escape sequence in a topology's description cannot
set the window title, clear the screen or write the clipboard (OSC 52). Control characters
are shown as ``\\x1b``-style escapes; line breaks and tabs stay. rich's own styling and cursor
moves (the progress bar) are untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.console import Console
from rich.segment import Segment
from rich.text import Text

#: C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides and
#: isolates that reorder what a reader sees ("Trojan Source", CVE-2021-42574).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """``text`` with every control character written as a visible escape."""
    return _UNSAFE.sub(_escape, text)


def safe_json(text: str) -> str:
    """JSON text for the terminal: a control character the encoder writes raw (DEL, C1, the
    bidirectional ones: JSON escapes only C0) written as its ``\\uXXXX`` escape, which a JSON
    reader reads back as the same character."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def plain(text: str, style: str = "") -> Text:
    """User text as a rich ``Text``: printed as it is, never read as markup."""
    return Text(safe_text(str(text)), style=style)


class _SafeConsole(Console):
    """A rich Console whose text segments cannot carry a control character to the terminal."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            Segment(safe_text(seg.text), seg.style, seg.control) if seg.control is None and _UNSAFE.search(seg.text)
            else seg for seg in buffer)


def terminal(stderr: bool = False, **options) -> Console:
    """A console on standard output (or error): no emoji codes, no highlighting, control
    characters escaped. ``options`` as rich's Console takes them (width, soft_wrap, ...)."""
    return _SafeConsole(stderr=stderr, highlight=False, emoji=False, **options)
