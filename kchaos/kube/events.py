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


def _load(path: str) -> Any:
    """The events file's data, read within :data:`MAX_BYTES` (:mod:`kchaos.topology.files`)."""
    raw = read_bytes(path, MAX_BYTES, f"is larger than {MAX_BYTES // 2**20} MiB; kchaos reads events files up to "
                                      "that (filter with --field-selector)")
    text = decode(raw, path)
    if not text.strip():
        raise fail(path, f"is empty; expected {EXPECTED}")
    return load_structured(text, path, EXPECTED)[0]


def _time(item: dict) -> str | None:
    for key in ("eventTime", "firstTimestamp", "deprecatedFirstTimestamp", "lastTimestamp"):
        if item.get(key):
            return item[key]
    meta = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
    return meta.get("creationTimestamp")


def read_events(path: str, start: datetime) -> tuple[list[Event], int]:
    """The events of ``path`` timed from ``start``, and how many items were not events."""
    data = _load(path)
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        items = data["items"]
    elif isinstance(data, dict) and data.get("kind") == "Event":
        items = [data]
    elif isinstance(data, list):
        items = data
    else:
        raise KchaosUsageError([Problem(path, None, "", "expected a List of Event objects, the output of "
                                        "`kubectl get events -A -o json`")])
    out, skipped = [], 0
    for item in items:
        if not isinstance(item, dict) or item.get("kind", "Event") != "Event":
            skipped += 1
            continue
        obj = item.get("involvedObject") or item.get("regarding") or {}
        stamp = _time(item)
        if not isinstance(obj, dict) or not stamp or not item.get("reason"):
            skipped += 1
            continue
        try:
            t = parse_time(stamp, "event")
        except KchaosUsageError:
            skipped += 1
            continue
        message = item.get("message") or item.get("note") or ""
        out.append(Event((t - start).total_seconds(), str(item["reason"]), str(obj.get("kind", "")),
                         str(obj.get("name", "")), str(obj.get("namespace") or ""), str(message)))
    out.sort(key=lambda e: e.t)
    return out, skipped
