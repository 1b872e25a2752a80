"""Streamed distributions: quantiles within 1% of numpy's, exact for repeated values, mergeable."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kchaos.model.recording.sketch import EpisodeSums, LogHistogram


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=1e-3, max_value=1e6), min_size=1, max_size=400),
       st.sampled_from([0.0, 0.05, 0.5, 0.95, 0.99, 1.0]))
def test_quantiles_within_one_percent_of_numpy(values, q):
    h = LogHistogram(1e-4)
    for x in values:
        h.add(x)
    assert h.quantile(q) == pytest.approx(float(np.quantile(values, q)), rel=0.01)
    assert h.n == len(values) and h.total == pytest.approx(sum(values)) and h.high == max(values)


def test_repeated_values_come_back_exactly():
    h = LogHistogram(1e-4)
    for x in [380.0] * 50 + [50.0] * 3:
        h.add(x)
    assert h.quantile(0.5) == 380.0 and h.quantile(0.01) == 50.0


def test_merge_equals_one_stream():
    rng = np.random.default_rng(3)
    data = rng.lognormal(0, 2, 5000)
    one, a, b = (LogHistogram(1e-4) for _ in range(3))
    for i, x in enumerate(data):
        one.add(x)
        (a if i % 3 else b).add(x)
    a.merge(b)
    assert a.bins == one.bins and a.quantile(0.99) == one.quantile(0.99)
    assert sum(a.histogram(bins=10)["counts"]) == 5000


def test_episode_sums_feed_the_interval():
    s = EpisodeSums()
    for d in (3.0, 2.5, 10.0):
        s.add(d)
    assert s == EpisodeSums(3, 15.5, 9.0 + 6.25 + 100.0, 10.0)
    assert s.merge(EpisodeSums(1, 1.0, 1.0, 1.0)) == EpisodeSums(4, 16.5, 116.25, 10.0)
