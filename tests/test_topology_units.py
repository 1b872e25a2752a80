"""Unit parsers and formatters of kchaos.topology.units."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kchaos.topology.units import (
    DURATION_UNITS,
    UnitError,
    format_cpu,
    format_duration,
    format_memory,
    parse_count_or_percent,
    parse_cpu,
    parse_duration,
    parse_fraction,
    parse_memory,
    parse_percent,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250us", 250e-6),
        ("50us", 5e-05),
        ("100ms", 0.1),
        ("1000ms", 1.0),
        ("40s", 40.0),
        ("10m", 600.0),
        ("4h", 14400.0),
        ("1.5h", 5400.0),
        ("7d", 604800.0),
        ("1y", 365 * 86400.0),
        ("3y", 3 * 365 * 86400.0),
        ("1h30m", 5400.0),
        (" 2s ", 2.0),
        (".5s", 0.5),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-12)


def test_duration_exact_decimals() -> None:
    # Decimal arithmetic: the nearest float, not 4.9999999999999996e-05.
    assert parse_duration("50us") == 5e-05
    assert parse_duration("0.1s") == 0.1


@pytest.mark.parametrize("value", [40, 40.0, "40", "1.5"])
def test_bare_number_duration_asks_for_a_unit(value: object) -> None:
    with pytest.raises(UnitError, match=r"duration needs a unit, e\.g\. '40s' \(units: us, ms, s, m, h, d, y\)"):
        parse_duration(value)


@pytest.mark.parametrize("value", ["40sec", "s", "", "1h 30", "ten s", [1], {"a": 1}, None, True])
def test_bad_durations(value: object) -> None:
    with pytest.raises(UnitError):
        parse_duration(value)


def test_negative_duration_parses_signed() -> None:
    # The sign is kept; callers decide whether negative is allowed.
    assert parse_duration("-3s") == -3.0


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(DURATION_UNITS)))
def test_duration_integer_with_any_unit(n: int, unit: str) -> None:
    assert parse_duration(f"{n}{unit}") == pytest.approx(n * DURATION_UNITS[unit], rel=1e-12)


@given(st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_duration_format_round_trip(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, rel=2e-3)


@pytest.mark.parametrize(
    ("value", "cores"),
    [("500m", 0.5), ("2", 2.0), (2, 2.0), (0.5, 0.5), ("0.5", 0.5), ("16", 16.0), ("100m", 0.1), ("1k", 1000.0)],
)
def test_cpu(value: object, cores: float) -> None:
    assert parse_cpu(value) == pytest.approx(cores)


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("512Mi", 512 * 2**20),
        ("64Gi", 64 * 2**30),
        ("1G", 1e9),
        ("1e9", 1e9),
        ("1E3", 1e3),
        ("1E", 1e18),
        (1000, 1000.0),
        ("1.5Gi", 1.5 * 2**30),
        ("128974848", 128974848.0),
        ("129M", 129e6),
        ("123Mi", 123 * 2**20),
        ("1Ki", 1024.0),
        ("1k", 1000.0),
        ("1Ti", 2**40),
        ("2Pi", 2 * 2**50),
        ("1Ei", 2**60),
        ("1000m", 1.0),
    ],
)
def test_memory(value: object, size: float) -> None:
    assert parse_memory(value) == pytest.approx(size)


@pytest.mark.parametrize("value", ["4 GB", "lots", "1.2.3", "Gi", "", "1 Gi", [1], None, True, "1K"])
def test_bad_memory(value: object) -> None:
    with pytest.raises(UnitError, match="memory quantity"):
        parse_memory(value)


def test_memory_hint_for_bytes_suffix() -> None:
    with pytest.raises(UnitError, match=r"no 'B': write '4G' .* or '4Gi'"):
        parse_memory("4GB")
    with pytest.raises(UnitError, match=r"write '8k' .* or '8Ki'"):
        parse_memory("8KiB")


def test_bad_cpu() -> None:
    with pytest.raises(UnitError, match=r"cannot read '2 cores' as a CPU quantity \(e\.g\. 500m, 2, 0\.5\)"):
        parse_cpu("2 cores")


def test_huge_quantity_is_not_finite() -> None:
    with pytest.raises(UnitError, match="finite"):
        parse_quantity("1e99999")


_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
             "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "m": 1e-3, "": 1}


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(sorted(_SUFFIXES)))
def test_quantity_integer_with_any_suffix(n: int, suffix: str) -> None:
    assert parse_quantity(f"{n}{suffix}") == pytest.approx(n * _SUFFIXES[suffix], rel=1e-12)


@given(st.integers(min_value=1, max_value=2**50))
def test_memory_format_round_trip(size: int) -> None:
    assert parse_memory(format_memory(size)) == pytest.approx(size, rel=1e-3)


@given(st.integers(min_value=1, max_value=100_000))
def test_cpu_format_round_trip(millicores: int) -> None:
    cores = millicores / 1000
    assert parse_cpu(format_cpu(cores)) == pytest.approx(cores, rel=1e-9)


@pytest.mark.parametrize(
    ("value", "fraction"), [(99.99, 0.9999), ("99.99%", 0.9999), ("99.99", 0.9999), (100, 1.0), ("99.5 %", 0.995)]
)
def test_percent(value: object, fraction: float) -> None:
    assert parse_percent(value) == fraction


@pytest.mark.parametrize(("value", "fraction"), [(0.85, 0.85), ("85%", 0.85), (1, 1.0), ("100%", 1.0)])
def test_fraction(value: object, fraction: float) -> None:
    assert parse_fraction(value) == fraction


@pytest.mark.parametrize("value", ["abc", "85%%", [85], None, "%"])
def test_bad_percent_and_fraction(value: object) -> None:
    with pytest.raises(UnitError):
        parse_percent(value)
    with pytest.raises(UnitError):
        parse_fraction(value)


def test_count_or_percent() -> None:
    assert parse_count_or_percent(4) == (4, None)
    assert parse_count_or_percent(4.0) == (4, None)
    assert parse_count_or_percent("66%") == (None, 0.66)
    for bad in ("66", 2.5, None, "a%"):
        with pytest.raises(UnitError):
            parse_count_or_percent(bad)


def test_formatters() -> None:
    assert format_duration(0.008) == "8ms"
    assert format_duration(50e-6) == "50us"
    assert format_duration(5400) == "1.5h"
    assert format_duration(365 * 86400) == "1y"
    assert format_duration(0) == "0s"
    assert format_cpu(0.5) == "500m"
    assert format_cpu(2) == "2"
    assert format_memory(4 * 2**30) == "4Gi"
    assert format_memory(1e9) == "1G"
    assert format_memory(100) == "100"
    assert math.isclose(parse_memory(format_memory(1.2345e9)), 1.2345e9, rel_tol=1e-3)
