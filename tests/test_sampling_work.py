"""Importance sampling's share of biased opening failures is capped by the engine work they make
(rare.MAX_OPENING_WORK): lowered on a large cluster whose biased openers are region and
datacenter outages, unchanged (the same histories) where they cost little more than natural ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kchaos.model.engine import ClusterModel
from kchaos.model.sampling import rare
from kchaos.model.scheduling.response import BlastRadius, workload_cover
from kchaos.topology import load_topology

ROOT = Path(__file__).resolve().parent.parent


def sampler(path: str) -> rare.BiasedSampler:
    cluster = load_topology(ROOT / path)
    model = ClusterModel(cluster)
    model.blast = BlastRadius(model)
    model.cover_of_domain = workload_cover(model.blast)
    return rare.BiasedSampler(cluster, model=model)


def test_the_biased_share_of_openers_is_lowered_where_they_would_cost_most_of_a_run():
    medium = sampler("benchmarks/medium-default-rates.yaml")
    assert 0.05 < medium.first_bias < 0.5 * rare.FIRST_BIAS
    first = np.diff(np.concatenate(([0.0], medium.first_cumulative)))
    kinds = np.array([medium.criticality.takes[i].sum() for i in range(len(medium.instances))])
    big = kinds >= 10  # datacenters and regions: ten workers or more
    assert first[big].sum() < 0.25  # drawn about half the time without the cap


def test_the_cap_changes_nothing_where_openers_cost_little(monkeypatch):
    capped = sampler("topologies/three-datacenters.yaml")
    assert capped.first_bias == rare.FIRST_BIAS
    monkeypatch.setattr(rare, "MAX_OPENING_WORK", float("inf"))
    free = sampler("topologies/three-datacenters.yaml")
    for index in range(3):
        a, b = capped.history(index, 3e7, seed=1), free.history(index, 3e7, seed=1)
        assert np.array_equal(a.times, b.times) and np.array_equal(a.cycle_weights, b.cycle_weights)


@pytest.mark.parametrize("work", [1.5, 2.5, 4.0])
def test_openers_make_at_most_the_capped_work(work, monkeypatch):
    monkeypatch.setattr(rare, "MAX_OPENING_WORK", work)
    s = sampler("benchmarks/medium-default-rates.yaml")
    c = s.criticality
    pods = c.takes @ c.pods.sum(axis=1)
    per_worker = c.pods.sum() / (c.pods.sum(axis=1) > 0).sum()
    cost = 1.0 + pods / per_worker
    natural = s.rate_arr / s.total_rate
    first = np.diff(np.concatenate(([0.0], s.first_cumulative)))
    assert s.first_bias < rare.FIRST_BIAS  # the cap binds at every one of these
    assert first @ cost == pytest.approx(work * (natural @ cost), rel=1e-6)
