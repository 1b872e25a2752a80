"""Print the etcd election model's calibration figures and its sampling speed.

Usage: python benchmarks/bench_election.py [--samples N] [--seed S]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kchaos.model.cluster import EtcdTiming  # noqa: E402
from kchaos.model.controlplane.raft import CLIENT_RETRY, ElectionModel  # noqa: E402

# etcd 3.4.23 on loopback, leader SIGKILLed 25 times, pre-vote off (ms)
MEASURED = [
    (3, 0.1, 1.0, 1311, 1221),
    (5, 0.1, 1.0, 1257, 1170),
    (3, 0.05, 0.5, 705, 665),
]


def loopback(n: int, rtt: float = 1e-4) -> np.ndarray:
    m = np.full((n, n), rtt)
    np.fill_diagonal(m, 0.0)
    return m


def run(n: int, hb: float, el: float, pre_vote: bool, samples: int, seed: int, rtt: float = 1e-4,
        cause: str = "leader-lost") -> tuple[np.ndarray, float]:
    """Gaps in ms over ``samples`` elections, and samples per second (cold cache included)."""
    model = ElectionModel(loopback(n, rtt), EtcdTiming(heartbeat=hb, election_timeout=el, pre_vote=pre_vote))
    rng = np.random.default_rng(seed)
    live = tuple(range(1, n)) if cause == "leader-lost" else tuple(range(n))
    sample = model.sample
    start = time.perf_counter()
    out = [sample(rng, live, cause)[0] for _ in range(samples)]
    return np.array(out) * 1000.0, samples / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    N, seed = args.samples, args.seed

    print(f"client constant CLIENT_RETRY = {CLIENT_RETRY * 1000:.0f} ms; {N} samples per row\n")
    print("calibration (loopback, leader SIGKILL, write gap in ms; measured with pre-vote off)")
    print(f"{'case':<22}{'mean':>8}{'meas':>7}{'err':>8}{'p50':>8}{'meas':>7}{'err':>8}{'min':>7}{'p99':>7}"
          f"   | pre-vote on:{'mean':>6}{'p50':>6}{'p99':>6}")
    pure_means = {}
    for n, hb, el, mean, p50 in MEASURED:
        g, _ = run(n, hb, el, False, N, seed)
        pv, _ = run(n, hb, el, True, N, seed)
        pure_means[(n, hb)] = g.mean() - CLIENT_RETRY * 1000
        case = f"{n} members {hb * 1000:.0f}/{el * 1000:.0f} ms"
        print(
            f"{case:<22}{g.mean():8.0f}{mean:7d}{100 * (g.mean() / mean - 1):+7.1f}%"
            f"{np.median(g):8.0f}{p50:7d}{100 * (np.median(g) / p50 - 1):+7.1f}%{g.min():7.0f}"
            f"{np.percentile(g, 99):7.0f}   | {'':12}{pv.mean():6.0f}{np.median(pv):6.0f}{np.percentile(pv, 99):6.0f}"
        )
    meas = np.array([m for _, _, _, m, _ in MEASURED], dtype=float)
    pure = np.array([pure_means[(n, hb)] for n, hb, _, _, _ in MEASURED])
    w = 1.0 / meas**2
    print(
        f"\nleast-squares client constant over the three means: {np.mean(meas - pure):.0f} ms (absolute errors), "
        f"{np.sum(w * (meas - pure)) / np.sum(w):.0f} ms (relative errors)"
    )
    g3, g5 = pure_means[(3, 0.1)], pure_means[(5, 0.1)]
    print(f"5 vs 3 members (pre-vote off): {100 * ((g5 + CLIENT_RETRY * 1000) / (g3 + CLIENT_RETRY * 1000) - 1):+.1f}%"
          f" (measured {100 * (1257 / 1311 - 1):+.1f}%)")

    print("\nstretched: 3 members, 20 ms RTT, 100/1000 ms")
    off, _ = run(3, 0.1, 1.0, False, N, seed, rtt=0.02)
    on, _ = run(3, 0.1, 1.0, True, N, seed, rtt=0.02)
    print(f"  pre-vote off mean {off.mean():.0f} p50 {np.median(off):.0f}; on mean {on.mean():.0f} "
          f"p50 {np.median(on):.0f}; paired median difference {np.median(on - off):.1f} ms")
    qr, _ = run(3, 0.1, 1.0, False, N, seed, cause="quorum-restored")
    print(f"quorum-restored, 3 members loopback: mean {qr.mean():.0f} p50 {np.median(qr):.0f} ms")

    print("\nsampling speed (samples/s, one (live, cause) key, 100/1000 ms, loopback)")
    for n in (3, 5, 7):
        for pre_vote in (False, True):
            _, sps = run(n, 0.1, 1.0, pre_vote, N, seed)
            print(f"  {n} members pre-vote {'on ' if pre_vote else 'off'}: {sps:12,.0f}")
    # mixed keys, as the engine calls it
    model = ElectionModel(loopback(5, 0.002), EtcdTiming())
    rng = np.random.default_rng(seed)
    keys = [((1, 2, 3, 4), "leader-lost"), ((0, 2, 3, 4), "leader-lost"), ((0, 1, 2), "quorum-restored")]
    start = time.perf_counter()
    for i in range(N):
        model.sample(rng, *keys[i % 3])
    print(f"  5 members, 3 keys interleaved, 2 ms RTT: {N / (time.perf_counter() - start):12,.0f}")


if __name__ == "__main__":
    main()
