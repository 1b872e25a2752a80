"""etcd Raft election model: calibration against etcd 3.4.23 measurements and mechanics."""

from __future__ import annotations

import numpy as np
import pytest

from kchaos.model.controlplane import raft
from kchaos.model.cluster import EtcdTiming
from kchaos.model.controlplane.raft import CLIENT_RETRY, ElectionModel, _Draw, _simulate, commit_latency, quorum_of

LOOPBACK = 1e-4
# (members, heartbeat, election timeout, measured mean, measured p50), seconds
MEASURED = [
    (3, 0.1, 1.0, 1.311, 1.221),
    (5, 0.1, 1.0, 1.257, 1.170),
    (3, 0.05, 0.5, 0.705, 0.665),
]
N = 20_000


def uniform_rtt(n: int, rtt: float = LOOPBACK) -> np.ndarray:
    m = np.full((n, n), rtt)
    np.fill_diagonal(m, 0.0)
    return m


def gaps(n, hb, el, *, pre_vote=False, rtt=LOOPBACK, cause="leader-lost", seed=1, count=N, reset_at_heartbeat=True):
    model = ElectionModel(uniform_rtt(n, rtt), EtcdTiming(heartbeat=hb, election_timeout=el, pre_vote=pre_vote))
    model.reset_at_heartbeat = reset_at_heartbeat
    rng = np.random.default_rng(seed)
    live = tuple(range(1, n)) if cause == "leader-lost" else tuple(range(n))
    out = [model.sample(rng, live, cause) for _ in range(count)]
    return np.array([g for g, _ in out]), [w for _, w in out]


@pytest.fixture(scope="module")
def calibrated():
    return {(n, hb): gaps(n, hb, el)[0] for n, hb, el, _, _ in MEASURED}


@pytest.mark.parametrize("n,hb,el,mean,p50", MEASURED)
def test_calibration_mean_and_median(calibrated, n, hb, el, mean, p50):
    g = calibrated[(n, hb)]
    assert abs(g.mean() / mean - 1) < 0.10
    assert abs(np.median(g) / p50 - 1) < 0.10


def test_one_constant_fits_all_three(calibrated):
    # protocol-only means (the model minus its client constant); the constant that
    # best fits all three measured means (least squares) is the shipped one
    pure = np.array([calibrated[(n, hb)].mean() - CLIENT_RETRY for n, hb, _, _, _ in MEASURED])
    measured = np.array([m for _, _, _, m, _ in MEASURED])
    fitted = float(np.mean(measured - pure))
    assert abs(fitted - CLIENT_RETRY) < 0.015
    assert 0.0 <= CLIENT_RETRY <= 0.1  # wall-clock client share, not a per-case fudge
    assert np.all(np.abs((pure + CLIENT_RETRY) / measured - 1) < 0.05)


def test_five_members_faster_than_three_but_by_less_than_ten_percent(calibrated):
    three, five = calibrated[(3, 0.1)].mean(), calibrated[(5, 0.1)].mean()
    assert five < three
    assert five > 0.90 * three


def test_minimum_and_tail(calibrated):
    for n, hb, el, _, _ in MEASURED:
        g = calibrated[(n, hb)]
        et = round(el / hb)
        assert g.min() >= (et - 2) * hb  # (et-1) ticks from a heartbeat up to 1 tick old
        assert g.min() < (et - 1) * hb + CLIENT_RETRY  # reaches below the append-reset floor
        assert np.percentile(g, 99) > 1.6 * np.median(g)  # check-quorum retries


def test_heartbeat_reset_model_fits_better_than_append_reset():
    hb_model, _ = gaps(3, 0.1, 1.0, count=8000)
    append_model, _ = gaps(3, 0.1, 1.0, count=8000, reset_at_heartbeat=False)
    assert append_model.min() > 0.9  # cannot produce the measured 866 ms
    assert hb_model.min() < 0.866
    assert abs(hb_model.mean() - 1.311) < abs(append_model.mean() - 1.311)


def test_commit_latency():
    rtt = np.zeros((5, 5))
    for j, r in zip((1, 2, 3, 4), (0.002, 0.005, 0.020, 0.040)):
        rtt[0, j] = rtt[j, 0] = r
    assert commit_latency(rtt, 0, range(5), 3, 0.002) == pytest.approx(0.007)
    assert commit_latency(rtt, 0, (0, 3, 4), 3, 0.002) == pytest.approx(0.042)
    assert commit_latency(rtt, 0, (0, 4), 3, 0.002) == float("inf")
    assert commit_latency(np.zeros((1, 1)), 0, (0,), 1, 0.002) == pytest.approx(0.002)
    assert commit_latency(uniform_rtt(3), 1, range(3), 2, 0.001) == pytest.approx(LOOPBACK + 0.001)
    assert quorum_of(3) == 2 and quorum_of(4) == 3 and quorum_of(5) == 3


def test_pre_vote_adds_one_round_trip_when_stretched():
    off, _ = gaps(3, 0.1, 1.0, rtt=0.02, count=8000, seed=3)
    on, _ = gaps(3, 0.1, 1.0, rtt=0.02, count=8000, seed=3, pre_vote=True)
    # same seed -> same initial timers per sample: a clean election pays one more RTT
    assert np.median(on - off) == pytest.approx(0.02, abs=0.003)
    # on loopback the timing is similar (pre-vote only shortens the retry tail)
    lo_off, _ = gaps(3, 0.1, 1.0, count=8000, seed=4)
    lo_on, _ = gaps(3, 0.1, 1.0, count=8000, seed=4, pre_vote=True)
    assert abs(np.median(lo_on) / np.median(lo_off) - 1) < 0.05
    assert abs(lo_on.mean() / lo_off.mean() - 1) < 0.12
    assert np.percentile(lo_on, 99) < np.percentile(lo_off, 99)


@pytest.mark.parametrize("pre_vote", [False, True])
def test_quorum_restored(pre_vote):
    lost, _ = gaps(5, 0.1, 1.0, count=4000, pre_vote=pre_vote)
    model = ElectionModel(uniform_rtt(5), EtcdTiming(pre_vote=pre_vote))
    rng = np.random.default_rng(9)
    live = (0, 2, 4)
    out = [model.sample(rng, live, "quorum-restored") for _ in range(4000)]
    g = np.array([x for x, _ in out])
    assert {w for _, w in out} <= set(live)
    assert len({w for _, w in out}) == 3
    assert 0.7 < g.mean() / lost.mean() < 1.3
    assert g.min() >= (10 - 1) * 0.1  # fresh timers: at least (et-1) ticks


def test_single_member_cluster():
    model = ElectionModel(np.zeros((1, 1)), EtcdTiming(pre_vote=True))
    g, w = model.sample(np.random.default_rng(0), (0,), "quorum-restored")
    assert w == 0 and 0.9 < g < 2.0


def test_determinism_and_keys():
    def run(seed):
        model = ElectionModel(uniform_rtt(5, 0.002), EtcdTiming(pre_vote=False))
        rng = np.random.default_rng(seed)
        keys = [((1, 2, 3, 4), "leader-lost"), ((0, 1, 2), "quorum-restored"), ((0, 2, 3, 4), "leader-lost")]
        return [model.sample(rng, *keys[i % 3]) for i in range(3000)]

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_other_generator_does_not_see_leftovers():
    model = ElectionModel(uniform_rtt(3), EtcdTiming())
    model.sample(np.random.default_rng(1), (0, 1), "leader-lost")
    fresh = ElectionModel(uniform_rtt(3), EtcdTiming())
    rng_a, rng_b = np.random.default_rng(2), np.random.default_rng(2)
    a = [model.sample(rng_a, (0, 1), "leader-lost") for _ in range(200)]
    b = [fresh.sample(rng_b, (0, 1), "leader-lost") for _ in range(200)]
    assert a == b


def test_invalid_calls():
    model = ElectionModel(uniform_rtt(5), EtcdTiming())
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        model.sample(rng, (0, 1), "leader-lost")  # below quorum
    with pytest.raises(ValueError):
        model.sample(rng, (0, 1, 2), "leader-crashed")
    with pytest.raises(ValueError):
        model.sample(rng, (0, 1, 7), "leader-lost")
    assert model.sample(rng, [0, 1, 2], "leader-lost")[1] in (0, 1, 2)


@pytest.mark.parametrize("n", [3, 5, 7])
@pytest.mark.parametrize("pre_vote", [False, True])
@pytest.mark.parametrize("rtt", [LOOPBACK, 0.02])
@pytest.mark.parametrize("cause", raft.CAUSES)
def test_vectorised_path_matches_event_loop(n, pre_vote, rtt, cause):
    model = ElectionModel(uniform_rtt(n, rtt), EtcdTiming(pre_vote=pre_vote))
    live = tuple(range(1, n)) if cause == "leader-lost" else tuple(range(quorum_of(n)))
    c = model._prepare(live, cause)
    fast = model._batch(c, np.random.default_rng(5), 1500, fast=True)
    slow = model._batch(c, np.random.default_rng(5), 1500, fast=False)
    np.testing.assert_allclose(fast[0], slow[0], atol=1e-9)
    np.testing.assert_array_equal(fast[1], slow[1])


def two_of_three(prevote: bool, has_lead: bool):
    """n=3, old leader gone; member 0 fires first (tick 9.1) with the minimum timeout
    while member 1's 10th tick (9.3) is still to come."""
    d = [[0.0, 0.001], [0.001, 0.0]]
    draw = _Draw([12, 10, 15, 15, 15, 15], np.random.default_rng(0), 10)
    return _simulate(d, 3, 10, prevote, [0.1, 0.3], [10, 15], -0.5, has_lead, draw)


def test_check_quorum_lease_blocks_early_candidate():
    # without a lease the first campaign wins at once
    assert two_of_three(False, False) == (pytest.approx(9.1 + 0.002), 0)
    # in lease: member 1 ignores the vote; it campaigns itself at 14.3 (term 1) and is
    # rejected by 0 (voted for itself); 0 retries at 9.1 + 12 (term 2) and wins
    assert two_of_three(False, True) == (pytest.approx(21.1 + 0.002), 0)
    # pre-vote: 0's failed pre-campaign leaves its term alone, so 1 wins at 14.3
    # after a pre-vote and a vote round trip
    assert two_of_three(True, True) == (pytest.approx(14.3 + 0.004), 1)
