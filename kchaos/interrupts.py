"""Ctrl-C during a command: what is finished is kept.

Until the first history is finished, Ctrl-C stops at once (there is nothing to keep). From
then on (:func:`keep`), Ctrl-C stops only what can be dropped without loss, the histories
being played or waited for (:func:`abortable`); anything else (the analysis of the histories
done, the report, writing the files) runs to its end, and the command then exits 130 with
what it wrote. A further Ctrl-C, a second or more later, stops at once, writing nothing more
(the files of an earlier run stay whole: they are replaced as a set).

The CLI opens a :class:`Gate` around each command; without one (a library call, a test),
Python's own behaviour applies: KeyboardInterrupt wherever the signal lands.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: A further Ctrl-C stops at once only this long after the first (a double tap is one).
FORCE_AFTER_SECONDS = 1.0

_gate: Gate | None = None


class Gate:
    """The SIGINT handler of one command."""

    def __init__(self):
        self.keeping = False  # a history is finished: stop only at abortable points
        self.nothing_kept = False  # inside all_or_nothing(): keep() does not apply
        self.depth = 0  # inside abortable regions
        self.requested_at: float | None = None
        self.previous = None

    @property
    def requested(self) -> bool:
        return self.requested_at is not None

    def handle(self, signum, frame) -> None:
        now = time.monotonic()
        if not self.keeping:  # nothing to keep yet
            self.requested_at = now
            raise KeyboardInterrupt
        if self.requested_at is None:
            self.requested_at = now
            sys.stderr.write("\ninterrupted: writing the results of the histories done "
                             "(Ctrl-C again to stop without writing them)\n")
            if self.depth > 0:  # stop the histories being played or waited for
                raise KeyboardInterrupt
        elif now - self.requested_at >= FORCE_AFTER_SECONDS:
            raise KeyboardInterrupt


@contextmanager
def gate() -> Iterator[Gate | None]:
    """Handle SIGINT as this module describes for the duration of a command (main thread only)."""
    global _gate
    if threading.current_thread() is not threading.main_thread() or _gate is not None:
        yield _gate
        return
    g = Gate()
    g.previous = signal.signal(signal.SIGINT, g.handle)
    _gate = g
    try:
        yield g
    finally:
        _gate = None
        signal.signal(signal.SIGINT, g.previous)


def keep() -> None:
    """Something worth keeping exists (a finished history): from now on Ctrl-C waits for it."""
    if _gate is not None and not _gate.nothing_kept:
        _gate.keeping = True


@contextmanager
def all_or_nothing() -> Iterator[None]:
    """Work whose part is worth nothing (`kchaos plan`: a plan from interrupted simulations
    would be wrong): Ctrl-C stops it at once, whatever histories are finished."""
    g = _gate
    if g is None:
        yield
        return
    g.nothing_kept, kept = True, g.keeping
    g.keeping = False
    try:
        yield
    finally:
        g.nothing_kept, g.keeping = False, kept


@contextmanager
def abortable() -> Iterator[None]:
    """A region that Ctrl-C may stop at once (KeyboardInterrupt), even once something is kept;
    an interrupt that came just before it stops it as it starts."""
    g = _gate
    if g is None:
        yield
        return
    if g.requested and g.keeping:
        raise KeyboardInterrupt
    g.depth += 1
    try:
        yield
    finally:
        g.depth -= 1


def requested() -> bool:
    """Ctrl-C was pressed during the command (and deferred)."""
    return _gate is not None and _gate.requested
