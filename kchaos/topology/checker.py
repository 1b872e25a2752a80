"""Collects every problem in a topology, each with file, line and key path.

The typed readers (:meth:`Checker.integer`, :meth:`Checker.duration`, ...)
take a raw YAML value and its path, and return the parsed value, or ``None``
after recording a human-readable problem. Callers treat ``None`` as "already
reported" and skip checks that depend on the value, so one mistake yields one
message rather than a cascade.

A key that is absent because it was misspelt (``replcias`` next to the
expected ``replicas``) is recorded in :attr:`Checker.misspelt`: it is not
reported as missing, and :meth:`Checker.get` returns ``None`` ("unknown,
already reported") for it instead of the default, so checks that depend on
its value stay silent too.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from kchaos.errors import Problem
from kchaos.topology import units
from kchaos.topology.definitions import NO_DEFAULT
from kchaos.topology.schema_common import MAX_CPU, MAX_MEMORY
from kchaos.topology.yamlsafe import Path

MISSING: Any = object()


def format_path(path: Path) -> str:
    """``('workers', 0, 'capacity')`` -> ``'workers[0].capacity'``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def describe(value: Any) -> str:
    """A short rendering of a value for 'got ...' in messages."""
    return units.describe_value(value)


#: Kubernetes' words for kchaos's levels, as a Kubernetes user types them first: the level
#: meant, and why (the node labels kchaos's levels stand for).
KUBERNETES_WORDS = {
    **dict.fromkeys(("zone", "zones", "az", "availability-zone", "availabilityzone", "topology.kubernetes.io/zone",
                     "failure-domain.beta.kubernetes.io/zone"),
                    ("datacenter", "a Kubernetes zone, topology.kubernetes.io/zone, is a kchaos datacenter")),
    **dict.fromkeys(("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region"),
                    ("region", "topology.kubernetes.io/region is a kchaos region")),
    **dict.fromkeys(("host", "hosts", "hostname", "kubernetes.io/hostname", "node", "nodes", "machine", "machines"),
                    ("server", "kubernetes.io/hostname names a node; a kchaos server is the physical machine "
                               "under one node or several")),
}


def _kubernetes_word(word: str, options: list[str]) -> tuple[str, str] | None:
    """The kchaos option a Kubernetes word means (``zone`` -> ``datacenter``; a plural key such
    as ``zones`` -> ``datacenters``), with why; None when it means none of ``options``."""
    meant = KUBERNETES_WORDS.get(word.strip().lower())
    if meant is None:
        return None
    for option in (meant[0], meant[0] + "s"):
        if option in options:
            return option, meant[1]
    return None


def suggest(word: str, options: Iterable[str]) -> str | None:
    """The closest option to ``word`` (Kubernetes' own words first, then difflib), for 'did
    you mean' hints."""
    options = list(options)
    lowered = {o.lower(): o for o in options}
    if word.lower() in lowered:
        return lowered[word.lower()]
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.8)  # a misspelling ('nodes' for 'node')
    if close:
        return close[0]
    meant = _kubernetes_word(word, options)
    if meant is not None:
        return meant[0]
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return match[0] if match else None


def did_you_mean(word: Any, options: Iterable[str]) -> str:
    """``did you mean 'datacenter'? (a Kubernetes zone, ... is a kchaos datacenter)``, or
    empty when nothing is close."""
    if not isinstance(word, str):
        return ""
    options = list(options)
    hint = suggest(word, options)
    if hint is None:
        return ""
    meant = _kubernetes_word(word, options)
    return f"did you mean '{hint}'?" + (f" ({meant[1]})" if meant is not None and meant[0] == hint else "")


def known_list(names: Collection[str], limit: int = 8) -> str:
    """``'a, b, c'``, truncated with a count of the rest for long lists."""
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def is_none_word(value: Any) -> bool:
    """``none`` in any case and spacing: the word that switches a setting off."""
    return isinstance(value, str) and value.strip().lower() == "none"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def name_problem(value: Any) -> str | None:
    """What is wrong with ``value`` as a name (of a site, node, pool or workload), or None: a
    string of 1 to 253 printable characters without blanks, '/' or '\\'."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"must be a string; quote it: '{value}'"
    if not isinstance(value, str) or not value:
        return f"must be a non-empty string, got {describe(value)}"
    if any(ch.isspace() or not ch.isprintable() for ch in value) or "/" in value or "\\" in value:
        return f"must not contain blanks, '/' or '\\', got {describe(value)}"
    if len(value) > 253:
        return "must be at most 253 characters long"
    return None


class Checker:
    """Problem collector plus typed readers bound to one file's line map."""

    def __init__(
        self,
        filename: str,
        lines: Mapping[Path, int],
        poisoned: Iterable[Path] = (),
        overridden: Iterable[Path] = (),
    ):
        self.filename = filename
        self.lines = lines
        self.poisoned = set(poisoned)
        self.overridden = set(overridden)
        #: paths of expected keys that are absent because an unknown key looks like them
        self.misspelt: set[Path] = set()
        self.problems: list[Problem] = []

    # -- recording ---------------------------------------------------------
    def line(self, path: Path) -> int | None:
        """Line of ``path``, else of its nearest recorded ancestor (a missing key: its parent)."""
        for cut in range(len(path), -1, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                return line
        return None

    def error(self, path: Path, message: str, line: int | None = None) -> None:
        if any(path[: len(p)] == p for p in self.poisoned):
            return
        if any(path[: len(p)] == p for p in self.overridden):
            message += " (value set by an override)"
        self.problems.append(Problem(self.filename, line if line is not None else self.line(path),
                                     format_path(path), message))

    # -- structure ---------------------------------------------------------
    def mapping(
        self,
        value: Any,
        path: Path,
        keys: Collection[str],
        required: Iterable[str] = (),
        what: str = "a mapping",
    ) -> dict[str, Any] | None:
        """Check a mapping's keys: unknown ones (with 'did you mean'), then required ones.

        A required key that an unknown key looks like (a misspelling) is not
        reported again as missing; see :attr:`misspelt`.
        """
        if not isinstance(value, dict):
            self.error(path, f"must be {what} with keys {known_list(sorted(keys))}; got {describe(value)}")
            return None
        for key in value:
            if key not in keys:
                hint = suggest(str(key), keys)
                if hint is not None and hint not in value:
                    self.misspelt.add(path + (hint,))
                self.error(
                    path + (key,),
                    f"unknown key '{key}'; {did_you_mean(str(key), keys)}" if hint
                    else f"unknown key '{key}'; expected one of: {known_list(list(keys), 20)}",
                )
        for key in required:
            if key not in value and path + (key,) not in self.misspelt:
                self.error(path + (key,), "is required")
        return value

    def already_reported(self, path: Path) -> bool:
        """True if the value at ``path`` is absent or None because of a problem already reported.

        That is, its key is misspelt (see :attr:`misspelt`), or the YAML reader
        dropped the value (a bad tag) at ``path`` or above. Checks that would
        use a default in its place must stay silent.
        """
        return path in self.misspelt or any(path[: len(p)] == p for p in self.poisoned)

    def sequence(self, value: Any, path: Path, what: str, allow_empty: bool = False) -> list[Any] | None:
        if not isinstance(value, list):
            self.error(path, f"must be a list of {what}, got {describe(value)}")
            return None
        if not value and not allow_empty:
            self.error(path, f"is empty; list the {what}")
            return None
        return value

    def section(self, value: Any, path: Path, declared: Any, what: str = "a mapping") -> dict[str, Any] | None:
        """:meth:`mapping` with the keys and required keys of a declared ``Obj`` (:mod:`.definitions`)."""
        return self.mapping(value, path, declared.keys, declared.required, what)

    def field(self, mapping: dict[str, Any] | None, path: Path, declared: Any, key: str, default: Any = MISSING) -> Any:
        """Read ``key`` as ``declared.fields[key]`` (a ``Scalar``) says: its reader, range and default.

        ``default`` overrides the declared one (a default that depends on other values).
        """
        spec = declared.fields[key]
        if default is MISSING:
            default = None if spec.default is NO_DEFAULT else spec.default
        return self.get(mapping, path, key, getattr(self, spec.reader), default=default, **spec.reader_kwargs())

    def scalar(self, value: Any, path: Path, declared: Any) -> Any:
        """Read a bare value as a declared ``Scalar`` says (one alternative of an ``AnyOf``)."""
        return getattr(self, declared.reader)(value, path, **declared.reader_kwargs())

    def get(self, mapping: dict[str, Any] | None, path: Path, key: str, reader: Callable[..., Any],
            default: Any = None, **kwargs: Any) -> Any:
        """``reader(mapping[key], path + (key,), **kwargs)``, or ``default`` when the key is absent.

        ``None`` (unknown, already reported) when the key is absent because it was misspelt.
        """
        if mapping is None or key not in mapping:
            return None if path + (key,) in self.misspelt else default
        return reader(mapping[key], path + (key,), **kwargs)

    # -- scalars -----------------------------------------------------------
    def name(self, value: Any, path: Path) -> str | None:
        """A name used in ids and reports: see :func:`name_problem`."""
        problem = name_problem(value)
        if problem:
            self.error(path, problem)
            return None
        return value

    def string(self, value: Any, path: Path) -> str | None:
        if not isinstance(value, str):
            self.error(path, f"must be a string, got {describe(value)}")
            return None
        return value

    def boolean(self, value: Any, path: Path) -> bool | None:
        if not isinstance(value, bool):
            self.error(path, f"must be true or false, got {describe(value)}")
            return None
        return value

    def none_word(self, value: Any, path: Path) -> str | None:
        """The word ``none`` (any case), which switches a setting off; not YAML's null."""
        if is_none_word(value):
            return "none"
        self.error(path, f"must be none, got {describe(value)}")
        return None

    def choice(self, value: Any, path: Path, options: Collection[str]) -> str | None:
        if isinstance(value, str) and value in options:
            return value
        hint = did_you_mean(value, options)
        tail = "" if not hint else f"; {hint}" if "(" in hint else f" ({hint})"
        self.error(path, f"must be one of: {', '.join(options)}; got {describe(value)}{tail}")
        return None

    def _range(self, path: Path, x: float, lo: float | None, hi: float | None, shown: str,
               lo_open: bool = False) -> bool:
        """Check ``lo <= x <= hi`` (``lo < x`` if ``lo_open``); small closed ranges read 'between'."""
        too_low = lo is not None and (x <= lo if lo_open else x < lo)
        too_high = hi is not None and x > hi
        if not (too_low or too_high):
            return True
        if lo is not None and hi is not None and not lo_open and hi - lo <= 1000:
            message = f"must be between {describe(lo)} and {describe(hi)}"
        elif too_high:
            message = f"must be at most {describe(hi)}"
        elif (lo == 0 and lo_open) or (lo == 1 and not lo_open):
            message = "must be a positive number"
        elif lo == 0:
            message = "must be zero or more"
        else:
            message = f"must be {'more than' if lo_open else 'at least'} {describe(lo)}"
        self.error(path, f"{message}, got {shown}")
        return False

    def integer(self, value: Any, path: Path, lo: int | None = None, hi: int | None = None) -> int | None:
        if isinstance(value, str) and value.strip().lstrip("+-").isascii() and value.strip().lstrip("+-").isdigit():
            self.error(path, f"must be a whole number, got the string {describe(value)}; remove the quotes")
            return None
        if not is_number(value) or (isinstance(value, float) and not value.is_integer()):
            self.error(path, f"must be a whole number, got {describe(value)}")
            return None
        number = int(value)
        return number if self._range(path, number, lo, hi, describe(value)) else None

    def number(self, value: Any, path: Path, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False) -> float | None:
        if not is_number(value) or not math.isfinite(units.as_float(value)):
            self.error(path, f"must be a number, got {describe(value)}")
            return None
        x = units.as_float(value)  # an integer beyond any float: the largest one
        return x if self._range(path, value, lo, hi, describe(value), lo_open) else None

    def _unit(self, parse: Callable[[Any], float], value: Any, path: Path) -> float | None:
        try:
            return parse(value)
        except units.UnitError as err:
            self.error(path, str(err))
            return None

    def duration(self, value: Any, path: Path, allow_zero: bool = False) -> float | None:
        """A duration in seconds; positive unless ``allow_zero``."""
        seconds = self._unit(units.parse_duration, value, path)
        if seconds is None:
            return None
        if seconds < 0 or (seconds == 0 and not allow_zero):
            sign = "non-negative" if allow_zero else "positive"
            self.error(path, f"must be a {sign} duration, got {describe(value)}")
            return None
        return seconds

    def duration_range(self, value: Any, path: Path, allow_zero: bool = False) -> float | tuple[float, float] | None:
        """A duration, or an uncertain one given as a range ``low..high`` (each end positive)."""
        parsed = self._unit(units.parse_duration_range, value, path)
        if parsed is None:
            return None
        for seconds in (parsed if isinstance(parsed, tuple) else (parsed,)):
            if seconds < 0 or (seconds == 0 and not allow_zero):
                sign = "non-negative" if allow_zero else "positive"
                self.error(path, f"must be a {sign} duration, got {describe(value)}")
                return None
        return parsed

    def quantity(self, value: Any, path: Path, kind: str, allow_zero: bool = True) -> float | None:
        """A cpu (cores) or memory (bytes) Kubernetes quantity, at most :data:`MAX_CPU` cores or
        :data:`MAX_MEMORY` bytes."""
        x = self._unit(units.parse_cpu if kind == "cpu" else units.parse_memory, value, path)
        if x is None:
            return None
        if x < 0 or (x == 0 and not allow_zero):
            sign = "non-negative" if allow_zero else "positive"
            self.error(path, f"must be a {sign} quantity, got {describe(value)}")
            return None
        if x > (MAX_CPU if kind == "cpu" else MAX_MEMORY):
            most = f"{MAX_CPU:,} cores" if kind == "cpu" else "1Pi"
            self.error(path, f"must be at most {most}, got {describe(value)}")
            return None
        return x

    def count_or_percent(self, value: Any, path: Path, hi: float = 1.0) -> tuple[int | None, float | None] | None:
        """``4`` -> (4, None), ``'66%'`` -> (None, 0.66): zero or more, a percentage at most ``hi``
        (a fraction; maxSurge declares no limit)."""
        parsed = self._unit(units.parse_count_or_percent, value, path)
        if parsed is None:
            return None
        count, fraction = parsed
        if fraction is not None and fraction < 0:
            self.error(path, f"must be 0% or more, got {describe(value)}")
            return None
        if fraction is not None and fraction > hi:
            self.error(path, f"must be between 0% and 100%, got {describe(value)}")
            return None
        if count is not None and count < 0:
            self.error(path, f"must be zero or more, got {count}")
            return None
        return parsed

    def percent_share(self, value: Any, path: Path) -> float | None:
        """A share written as a percentage, ``'10%'`` -> 0.1, in (0%, 100%]."""
        if not (isinstance(value, str) and value.strip().endswith("%")):
            self.error(path, f"must be a percentage like '10%', got {describe(value)}")
            return None
        fraction = self._unit(units.parse_fraction, value, path)
        if fraction is not None and not 0 < fraction <= 1:
            self.error(path, f"must be between 0% (excluded) and 100%, got {describe(value)}")
            return None
        return fraction

    def percent_target(self, value: Any, path: Path) -> float | None:
        """An availability target: ``99.99`` or ``'99.99%'`` -> 0.9999."""
        fraction = self._unit(units.parse_percent, value, path)
        if fraction is None:
            return None
        if not 0 < fraction <= 1:
            self.error(path, f"must be a percentage in (0, 100], got {describe(value)}")
            return None
        if is_number(value) and value < 1:
            self.error(path, f"is in percent: {describe(value)} means {describe(value)}%; "
                             f"write {value * 100:g} or '{value * 100:g}%'")
            return None
        return fraction

    def fraction(self, value: Any, path: Path) -> float | None:
        """A utilisation limit: ``0.85`` or ``'85%'``, in (0, 1]."""
        x = self._unit(units.parse_fraction, value, path)
        if x is None:
            return None
        if is_number(value) and 1 < value <= 100:  # a percentage written as a number
            self.error(path, f"is a fraction: write {value / 100:g} or '{describe(value)}%', got {describe(value)}")
            return None
        if not 0 < x <= 1:
            self.error(path, f"must be in (0, 1] (or (0%, 100%]), got {describe(value)}")
            return None
        return x
