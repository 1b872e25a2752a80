"""Failure streams: one Philox stream per (seed, history, instance), re-keyed in place."""

from __future__ import annotations

import numpy as np

from kchaos.model.sampling.failures import InstanceStreams, instance_key


def test_a_rekeyed_stream_is_the_keyed_philox_stream_whatever_came_before():
    streams = InstanceStreams()
    key = instance_key(7, 3, "node/w1")
    fresh = np.random.Generator(np.random.Philox(key=np.array(key, dtype=np.uint64)))
    expected = (fresh.random(3), fresh.lognormal(0.0, 1.0, 2), fresh.weibull(1.3, 2))
    first = streams.stream(instance_key(7, 3, "node/w2"))
    first.standard_normal(5), first.random(), first.integers(0, 10, dtype=np.uint32)  # leave state behind
    rng = streams.stream(key)
    assert np.array_equal(rng.random(3), expected[0])
    assert np.array_equal(rng.lognormal(0.0, 1.0, 2), expected[1])
    assert np.array_equal(rng.weibull(1.3, 2), expected[2])


def test_streams_differ_by_seed_history_and_instance():
    triples = [(s, h, d) for s in (0, 1, 2**32 - 1) for h in (0, 1, 401_000) for d in ("node/a", "server/a")]
    keys = {instance_key(*triple) for triple in triples}
    assert len(keys) == len(triples)
    # Names that a 32-bit hash (crc32) gives the same stream get two streams here.
    import zlib
    twins = ("node/gke-prod-pool-1-c5352582-lzmo", "node/gke-prod-pool-1-8895b843-k0gz")
    assert zlib.crc32(twins[0].encode()) == zlib.crc32(twins[1].encode())
    assert instance_key(1, 0, twins[0]) != instance_key(1, 0, twins[1])
    streams = InstanceStreams()
    draws = {k: streams.stream(k).random() for k in keys}
    assert len(set(draws.values())) == len(keys)
