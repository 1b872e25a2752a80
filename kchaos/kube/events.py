"""Events captured after a drill: ``kubectl get events -A -o json`` (or ``-o yaml``).

Both forms of a Kubernetes event are read: core ``v1`` (``involvedObject``, ``message``,
``firstTimestamp`` / ``eventTime``) and ``events.k8s.io/v1`` (``regarding``, ``note``,
``eventTime`` / ``deprecatedFirstTimestamp``), alone or in a ``List`` / ``EventList``. Each
becomes a :class:`~.timeline.Event` timed in seconds from the failure (its first occurrence:
a repeated event's ``count`` or ``series`` does not move it).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..errors import KchaosUsageError, Problem
from ..topology.checker import Checker
from ..topology.fields import Fields
from ..topology.files import decode, fail, load_structured, read_bytes
from .timeline import Event

#: Largest events file read (a day of events of a large cluster is a few hundred MiB).
MAX_BYTES = 512 * 1024 * 1024
EXPECTED = "the output of `kubectl get events -A -o json`"


def parse_time(text: str, where: str = "--start") -> datetime:
    """An RFC 3339 time (``2024-05-01T10:00:03Z``, with fraction and offset); naive is UTC."""
    try:
        t = datetime.fromisoformat(str(text).strip().replace("z", "Z"))
    except ValueError:
        raise KchaosUsageError(f"{where}: {text!r} is not an RFC 3339 time, e.g. 2024-05-01T10:00:03Z") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)


def _load(path: str) -> tuple[Any, Any]:
    """The events file's data and its key path -> line, read within :data:`MAX_BYTES`
    (:mod:`kchaos.topology.files`)."""
    raw = read_bytes(path, MAX_BYTES, f"is larger than {MAX_BYTES // 2**20} MiB; kchaos reads events files up to "
                                      "that (filter with --field-selector)")
    text = decode(raw, path)
    if not text.strip():
        raise fail(path, f"is empty; expected {EXPECTED}")
    return load_structured(text, path, EXPECTED)


def _time(f: Fields) -> str | None:
    """When the event first happened: the first time field set, else when it was created (each
    one a string, all checked)."""
    stamps = [f.get((key,), str) for key in ("eventTime", "firstTimestamp", "deprecatedFirstTimestamp",
                                              "lastTimestamp")] + [f.get(("metadata", "creationTimestamp"), str)]
    return next((stamp for stamp in stamps if stamp), None)


def read_events(path: str, start: datetime) -> tuple[list[Event], int]:
    """The events of ``path`` timed from ``start``, and how many items were not events (or had
    no reason or time). A field of an event of the wrong type is a problem with its file:line."""
    data, lines = _load(path)
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        items = [(("items", i), item) for i, item in enumerate(data["items"])]
    elif isinstance(data, dict) and data.get("kind") == "Event":
        items = [((), data)]
    elif isinstance(data, list):
        items = [((i,), item) for i, item in enumerate(data)]
    else:
        raise KchaosUsageError([Problem(path, None, "", "expected a List of Event objects, the output of "
                                        "`kubectl get events -A -o json`")])
    check = Checker(path, lines)
    out, skipped = [], 0
    for at, item in items:
        if not isinstance(item, dict) or item.get("kind", "Event") != "Event":
            skipped += 1
            continue
        f = Fields(item, check, at)
        about = ("involvedObject",) if item.get("involvedObject") else ("regarding",)
        obj = f.get(about, dict, {})
        kind, name, namespace = (f.get(about + (key,), str, "") for key in ("kind", "name", "namespace"))
        reason = f.get(("reason",), str)
        message = f.get(("message",), str) or f.get(("note",), str) or ""
        stamp = _time(f)
        if f.reported:
            continue
        if not obj or not stamp or not reason:
            skipped += 1
            continue
        try:
            t = parse_time(stamp, "event")
        except KchaosUsageError:
            skipped += 1
            continue
        out.append(Event((t - start).total_seconds(), reason, kind, name, namespace, message))
    if check.problems:
        raise KchaosUsageError(check.problems)
    out.sort(key=lambda e: e.t)
    return out, skipped
