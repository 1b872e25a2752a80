"""`check`'s "~N failures would confirm it": derived from how the interval really shrinks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kchaos.analysis.slo import _availability_check
from kchaos.analysis.statistics import PoissonBasis, confirm_failures
from kchaos.cli import main

DATA = Path(__file__).parent / "data"


def _block(iv):
    a = iv.as_availability()
    return {"estimate": a.estimate, "ci95": [a.low, a.high]}


def test_projection_of_one_run_is_the_interval_itself():
    basis = PoissonBasis(down=3600.0, variance=3600.0 * 1800.0, longest_episode=4 * 3600.0, seconds=3.15e9)
    iv = basis.interval()
    assert iv.projected(1.0) == iv
    longer = iv.projected(4.0)
    assert longer.estimate == pytest.approx(iv.estimate)
    assert longer.high - longer.low < iv.high - iv.low
    # The upper side carries one more plausible outage: it shrinks faster than 1/sqrt(scale).
    assert (longer.high - longer.estimate) < (iv.high - iv.estimate) / 2


def test_advice_is_the_smallest_run_that_settles_with_its_margin():
    basis = PoissonBasis(down=3600.0, variance=3600.0 * 1800.0, longest_episode=4 * 3600.0, seconds=3.15e9)
    iv = basis.interval()
    target = iv.high * 0.7  # passing, but the interval still straddles the target
    assert iv.estimate < target < iv.high
    n = confirm_failures(iv, target, 10_000)
    assert n is not None and n > 10_000
    scale = n / 10_000
    assert iv.projected(scale).high < target  # the advised run settles it
    step = 10 ** (len(str(n)) - 2)  # rounded up to two significant digits ...
    assert n % step == 0
    assert iv.projected((n - step) / 10_000 / 1.1).high > target  # ... and padded by the 10% margin only


def test_target_on_the_estimate_cannot_be_confirmed():
    iv = PoissonBasis(3600.0, 3600.0 * 1800.0, 4 * 3600.0, 3.15e9).interval()
    assert confirm_failures(iv, iv.estimate, 10_000) is None


def test_availability_check_flags_and_advises():
    iv = PoissonBasis(3600.0, 3600.0 * 1800.0, 4 * 3600.0, 3.15e9).interval()
    target = 1.0 - iv.high * 0.7
    check = _availability_check("controlPlane", target, _block(iv), 10_000, iv)
    assert check["passed"] and not check["confirmed"] and check["failures_to_confirm"] > 10_000
    sure = _availability_check("controlPlane", 1.0 - iv.high * 1.01, _block(iv), 10_000, iv)
    assert sure["passed"] and sure["confirmed"] and sure["failures_to_confirm"] is None
    missed = _availability_check("controlPlane", 1.0 - iv.low * 0.99, _block(iv), 10_000, iv)
    assert not missed["passed"] and missed["confirmed"]


def _payments(tmp_path: Path, n: int) -> dict:
    out = tmp_path / str(n)
    # Plain sampling: the advice's arithmetic is what is tested here (importance sampling
    # confirms this target at once; see test_rare.py).
    assert main(["run", str(DATA / "korea-unconfirmed.yaml"), "-n", str(n), "--out", str(out), "-q",
                 "--sampling", "plain"]) == 0
    checks = json.loads((out / "results.json").read_text())["slo"]["checks"]
    return next(ch for ch in checks if ch["name"] == "workloads.payments")


def test_following_the_advice_confirms(tmp_path):
    """The advice converges: it does not move much with N, and following it confirms. The
    advice projects today's estimate; when a longer run moves the estimate (here it drifts
    down as region-link partitions, which keep the StatefulSet's zone from evicting, are
    sampled), the run says so with new, nearby advice, and following that confirms."""
    first = _payments(tmp_path, 3000)
    assert first["passed"] and not first["confirmed"]
    advised = first["failures_to_confirm"]
    assert 3000 < advised < 30_000
    again = _payments(tmp_path, 5000)
    assert not again["confirmed"] and abs(again["failures_to_confirm"] - advised) <= 0.15 * advised
    followed = _payments(tmp_path, advised)
    if not followed["confirmed"]:
        assert followed["failures_to_confirm"] <= 1.5 * advised
        assert _payments(tmp_path, followed["failures_to_confirm"])["confirmed"]
