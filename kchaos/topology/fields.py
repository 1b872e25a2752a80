"""Typed reads from a document kchaos did not write the schema of (a Kubernetes object, a
previous results.json): every value read is checked for its type on the way, and a value of
the wrong type, or a mapping or list on the way that is not one, is reported once with its
file:line and key path, and the default read instead. Null is absent, as in Kubernetes."""

from __future__ import annotations

import math
from typing import Any

from .checker import Checker
from .units import describe_value

_WHAT = {dict: "a mapping", list: "a list", str: "a string", int: "a whole number", bool: "true or false",
         float: "a number"}


class Fields:
    """Typed reads from ``data`` (found at ``prefix`` in its file), problems into ``check``."""

    def __init__(self, data: Any, check: Checker, prefix: tuple = ()):
        self.data = data
        self.check = check
        self.prefix = prefix
        self.reported: set[tuple] = set()

    def path(self, *keys: Any) -> tuple:
        return self.prefix + keys

    def error(self, keys: tuple, message: str) -> None:
        if keys not in self.reported:
            self.reported.add(keys)
            self.check.error(self.path(*keys), message)

    def get(self, keys: tuple, kind: type | tuple[type, ...], default: Any = None) -> Any:
        """The value at ``keys`` if it is of ``kind`` (``float``: any finite number), else
        ``default`` (a wrong type reported)."""
        value: Any = self.data
        for i, key in enumerate(keys):
            if value is None:
                return default
            if isinstance(key, int) and not isinstance(value, list):
                self.error(keys[:i], f"must be a list, got {describe_value(value)}")
                return default
            if isinstance(key, str) and not isinstance(value, dict):
                self.error(keys[:i], f"must be a mapping, got {describe_value(value)}")
                return default
            value = value[key] if isinstance(key, int) else value.get(key)
        if value is None:
            return default
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not _is(value, kinds):
            self.error(keys, f"must be {' or '.join(_WHAT.get(k, k.__name__) for k in kinds)}, "
                             f"got {describe_value(value)}")
            return default
        return value

    def items(self, keys: tuple, kind: type = dict) -> list[tuple[int, Any]]:
        """The items of the list at ``keys`` that are of ``kind`` (mappings by default), with
        their index; each other one reported."""
        out = []
        for i in range(len(self.get(keys, list, []))):
            item = self.get(keys + (i,), kind)
            if item is not None:
                out.append((i, item))
        return out

    def numbers(self, keys: tuple) -> list | None:
        """The list at ``keys`` if every item is a finite number (the first other one reported)."""
        values = self.get(keys, list)
        for i, x in enumerate(values or ()):
            if not _is(x, (float,)):
                self.get(keys + (i,), float)
                return None
        return values

    def strings(self, keys: tuple) -> dict:
        """The mapping at ``keys`` (labels, a matchLabels) if its keys and values are strings, as
        Kubernetes' ``map[string]string``; else ``{}``, each wrong entry reported."""
        mapping = self.get(keys, dict, {})
        bad = False
        for k, v in mapping.items():
            if not isinstance(k, str):
                self.error(keys, f"must map strings to strings, got the key {describe_value(k)}")
                bad = True
            elif not isinstance(v, str):
                self.error(keys + (k,), f"must be a string, got {describe_value(v)}")
                bad = True
        return {} if bad else mapping


def _is(value: Any, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in kinds
    if float in kinds and isinstance(value, (int, float)):
        try:
            return math.isfinite(value)
        except OverflowError:  # an integer beyond any float
            return False
    return isinstance(value, kinds)
