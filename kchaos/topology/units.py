"""Pure parsers and formatters for the units a topology file uses.

Every parser takes the raw YAML value (str, int or float) and returns a float
in kchaos' base units (seconds, cores, bytes, fractions) or raises
:class:`UnitError` whose message is ready to show to a user.
"""

from __future__ import annotations

import math
import re
import sys
from decimal import Decimal, InvalidOperation
from typing import TypeGuard

__all__ = [
    "UnitError",
    "DURATION_UNITS",
    "parse_duration",
    "parse_duration_range",
    "as_float",
    "parse_quantity",
    "parse_cpu",
    "parse_memory",
    "parse_percent",
    "parse_fraction",
    "parse_count_or_percent",
    "format_duration",
    "format_cpu",
    "format_memory",
    "plain_number",
]


class UnitError(ValueError):
    """A value that cannot be read in the expected unit; the message is user-facing."""


#: Seconds per duration unit; ``y`` is a 365-day year.
DURATION_UNITS: dict[str, float] = {
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "y": 365 * 86400.0,
}
# Exact factors, so that '50us' is the float nearest 5e-05 and '99.99%' the one nearest 0.9999.
_DURATION_FACTORS = {unit: Decimal(repr(x)) for unit, x in DURATION_UNITS.items()}
_UNIT_LIST = ", ".join(DURATION_UNITS)
_NEEDS_UNIT = f"duration needs a unit, e.g. '40s' (units: {_UNIT_LIST})"

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_DURATION_PART = re.compile(rf"({_NUMBER})\s*(us|µs|ms|s|m|h|d|y)")
_PLAIN_NUMBER = re.compile(rf"^[+-]?{_NUMBER}(?:[eE][+-]?\d+)?$")

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
_EXPONENT = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
# Kubernetes resource.Quantity: <sign><number>(<binarySI>|<decimalExponent>|<decimalSI>)
_QUANTITY = re.compile(
    rf"^([+-]?{_NUMBER})(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$"
)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _finite(x: float, value: object) -> float:
    if not math.isfinite(x):
        raise UnitError(f"must be a finite number, got {_show(value)}")
    return x


def as_float(value: int | float) -> float:
    """``value`` as a float; an integer beyond any float is the largest one (of its sign), so
    that it is told as too large rather than as no number."""
    try:
        return float(value)
    except OverflowError:
        return math.copysign(sys.float_info.max, 1 if value > 0 else -1)


def parse_duration(value: object) -> float:
    """``'250us'``, ``'100ms'``, ``'40s'``, ``'10m'``, ``'1.5h'``, ``'7d'``, ``'1y'`` or a
    sum like ``'1h30m'`` -> seconds. A bare number is an error: its unit is ambiguous."""
    if _is_number(value):
        raise UnitError(f"{_NEEDS_UNIT}, got {value}")
    if not isinstance(value, str):
        raise UnitError(f"must be a duration like '40s', got {describe_value(value)}")
    text = value.strip()
    sign = 1.0
    if text and text[0] in "+-":
        sign = -1.0 if text[0] == "-" else 1.0
        text = text[1:].lstrip()
    if not text:
        raise UnitError(f"must be a duration like '40s', got {value!r}")
    if _PLAIN_NUMBER.match(text):
        raise UnitError(f"{_NEEDS_UNIT}, got {value!r}")
    total, pos = Decimal(0), 0
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            raise UnitError(f"cannot read {value!r} as a duration (units: {_UNIT_LIST}; e.g. '40s', '1.5h')")
        number, unit = match.groups()
        total += Decimal(number) * _DURATION_FACTORS["us" if unit == "µs" else unit]
        pos = match.end()
        while pos < len(text) and text[pos] == " ":
            pos += 1
    return _finite(sign * float(total), value)


#: ``low..high``: an uncertain duration, e.g. ``100y..400y`` or ``2..8h`` (the unit shared).
RANGE_SEPARATOR = ".."


def parse_duration_range(value: object) -> float | tuple[float, float]:
    """A duration (seconds) or a range of durations, ``'100y..400y'`` -> (low, high) seconds.

    Either end may carry its own unit; a bare low end borrows the high end's (``'2..8h'``).
    The low end must be shorter than the high end."""
    if not isinstance(value, str) or RANGE_SEPARATOR not in value:
        return parse_duration(value)
    low_text, _, high_text = value.partition(RANGE_SEPARATOR)
    low_text, high_text = low_text.strip(), high_text.strip()
    if not low_text or not high_text or RANGE_SEPARATOR in high_text:
        raise UnitError(f"cannot read {value!r} as a range of durations: write low..high, e.g. '100y..400y'")
    high = parse_duration(high_text)
    if _PLAIN_NUMBER.match(low_text):  # '2..8h': the low end borrows the high end's unit
        unit = _DURATION_PART.findall(high_text)[-1][1]
        low_text += unit
    low = parse_duration(low_text)
    if not low < high:
        raise UnitError(f"a range must go from low to high, got {value!r}"
                        + (" (one value needs no range)" if low == high else ""))
    return low, high


def parse_quantity(value: object) -> float:
    """A Kubernetes resource.Quantity (``'500m'``, ``'64Gi'``, ``'1G'``, ``'1e9'``, ``2``) -> float."""
    if _is_number(value):
        return _finite(as_float(value), value)
    if not isinstance(value, str):
        raise UnitError(f"must be a Kubernetes quantity, got {describe_value(value)}")
    match = _QUANTITY.match(value.strip())
    if match is None:
        raise UnitError(f"cannot read {value!r} as a Kubernetes quantity")
    number, exponent, suffix = match.groups()
    try:
        if suffix in _BINARY:
            x = float(Decimal(number) * _BINARY[suffix])
        else:
            power = int(exponent) if exponent is not None else _EXPONENT[suffix or ""]
            x = float(Decimal(number).scaleb(max(-1000, min(power, 1000))))
    except (InvalidOperation, OverflowError):
        x = math.inf
    return _finite(x, value)


def parse_cpu(value: object) -> float:
    """CPU in cores: ``'500m'`` -> 0.5, ``2`` -> 2.0."""
    try:
        return parse_quantity(value)
    except UnitError:
        if not isinstance(value, str):
            raise UnitError(f"must be a CPU quantity (e.g. 500m, 2, 0.5), got {describe_value(value)}") from None
        raise UnitError(f"cannot read {value!r} as a CPU quantity (e.g. 500m, 2, 0.5)") from None


def parse_memory(value: object) -> float:
    """Memory in bytes: ``'512Mi'``, ``'64Gi'``, ``'1G'``, ``'1e9'``; a plain integer is bytes."""
    try:
        return parse_quantity(value)
    except UnitError:
        if not isinstance(value, str):
            raise UnitError(f"must be a memory quantity (e.g. 512Mi, 64Gi, 1G), got {describe_value(value)}") from None
        hint = ""
        if isinstance(value, str):
            m = re.match(rf"^\s*({_NUMBER})\s*([kKmMgGtTpPeE])i?[bB]\s*$", value)
            if m:
                number, prefix = m.group(1), m.group(2).upper()
                decimal = "k" if prefix == "K" else prefix
                hint = (f"; Kubernetes quantities have no 'B': write '{number}{decimal}' "
                        f"(powers of 1000) or '{number}{prefix}i' (powers of 1024)")
        raise UnitError(f"cannot read {value!r} as a memory quantity (e.g. 512Mi, 64Gi, 1G){hint}") from None


def _percent_number(value: object, what: str) -> tuple[Decimal, bool]:
    """Split ``99.9`` / ``'99.9%'`` into (exact number, had_percent_sign)."""
    if _is_number(value):
        _finite(as_float(value), value)
        return Decimal(repr(value)), False
    if isinstance(value, str):
        text = value.strip()
        has_sign = text.endswith("%")
        body = text[:-1].strip() if has_sign else text
        if _PLAIN_NUMBER.match(body):
            _finite(float(body), value)
            return Decimal(body), has_sign
    raise UnitError(f"must be {what}, got {describe_value(value)}")


def parse_percent(value: object) -> float:
    """An availability target in percent: ``99.99`` or ``'99.99%'`` -> 0.9999."""
    number, _ = _percent_number(value, "a percentage like 99.99 or '99.99%'")
    return float(number / 100)


def parse_fraction(value: object) -> float:
    """A utilisation: ``0.85`` or ``'85%'`` -> 0.85."""
    number, percent = _percent_number(value, "a fraction like 0.85 or a percentage like '85%'")
    return float(number / 100 if percent else number)


def parse_count_or_percent(value: object) -> tuple[int | None, float | None]:
    """``4`` -> (4, None); ``'66%'`` -> (None, 0.66). Used by minAvailable."""
    if _is_number(value):
        if isinstance(value, float) and not value.is_integer():
            raise UnitError(f"must be a whole number or a percentage like '66%', got {value}")
        return int(value), None
    if isinstance(value, str) and value.strip().endswith("%"):
        number, _ = _percent_number(value, "a whole number or a percentage like '66%'")
        return None, float(number / 100)
    raise UnitError(f"must be a whole number or a percentage like '66%', got {describe_value(value)}")


def describe_value(value: object) -> str:
    """A short rendering of a value for 'got ...' in messages."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, int) and abs(value) >= 10**60:  # str() refuses more than 4,300 digits
        digits = len(str(abs(value))) if value.bit_length() < 14_000 else math.floor(math.log10(abs(value))) + 1
        return f"a {'negative ' if value < 0 else ''}{digits:,}-digit number"
    return str(value)


def _trim(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".")


def format_duration(seconds: float) -> str:
    """Seconds -> the largest unit that keeps the number >= 1: ``0.008`` -> ``'8ms'``."""
    if seconds == 0:
        return "0s"
    for unit in ("y", "d", "h", "m", "s", "ms"):
        if abs(seconds) >= DURATION_UNITS[unit]:
            return _trim(seconds / DURATION_UNITS[unit]) + unit
    return _trim(seconds / DURATION_UNITS["us"]) + "us"


def format_cpu(cores: float) -> str:
    """Cores -> ``'500m'`` below one core, else ``'2'`` / ``'1.5'``."""
    if 0 < abs(cores) < 1:
        return _trim(cores * 1000) + "m"
    return _trim(cores)


def plain_number(text: str) -> int | float | str:
    """A formatted quantity as YAML would best hold it: ``'2'`` -> 2, ``'7.91'`` -> 7.91, ``'500m'`` as is."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def format_memory(size: float) -> str:
    """Bytes -> ``'4Gi'`` (exact binary multiple), ``'1G'`` (exact decimal) or an approximate ``'1.5Gi'``."""
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        if size >= _BINARY[suffix] and size % _BINARY[suffix] == 0:
            return f"{int(size // _BINARY[suffix])}{suffix}"
    for suffix in ("E", "P", "T", "G", "M", "k"):
        if size >= _DECIMAL[suffix] and size % _DECIMAL[suffix] == 0:
            return f"{int(size // _DECIMAL[suffix])}{suffix}"
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        if size >= _BINARY[suffix]:
            return _trim(size / _BINARY[suffix]) + suffix
    return _trim(size)


def format_setting(value: object) -> str:
    """A topology value as written: lists and mappings in YAML's flow style, None as unset."""
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return "unset" if value is None else str(value)
