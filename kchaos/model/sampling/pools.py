"""Where histories run: this process, a local process pool, or a Dask cluster.

Every history carries its own seed, so where it runs does not change the result.
The driver submits histories through :func:`open_pool` and reads the results in
submission order, keeping a bounded window in flight. Local workers receive the cluster
model as it stands when the pool opens (inherited without a copy where processes fork;
pickled once per worker elsewhere); Dask workers build it once per run (a per-process
cache keyed by a run token). A local pool also settles the single-domain responses
(:meth:`LocalPool.settle_many`), which are deterministic, so they too are the same
wherever they run.
"""

from __future__ import annotations

import logging
import multiprocessing
import sys
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from ...errors import KchaosUsageError
from ..cluster import Cluster
from ..engine import ClusterModel, HistoryResult, simulate_history
from .failures import History
from ..scheduling.response import BlastRadius
from ..scheduling.settle import Response, settle

Item = tuple[History, np.random.SeedSequence]

_worker_model: ClusterModel | None = None
_dask_models: dict[str, ClusterModel] = {}


def _init_worker(model: ClusterModel) -> None:
    global _worker_model
    _worker_model = model


def _run_in_worker(item: Item) -> HistoryResult:
    assert _worker_model is not None
    return simulate_history(_worker_model, *item)


def _settle_in_worker(keys: list[frozenset[int]]) -> list[Response]:
    assert _worker_model is not None
    return [settle(_worker_model, key) for key in keys]


def _context():
    """Fork on Linux: the workers then share the parent's model without pickling or rebuilding
    it (a 5,000-node model takes seconds to build). Elsewhere the platform's default (spawn on
    macOS, where forking is unsafe, and on Windows): the model is pickled once per worker."""
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)


def _run_on_dask(token: str, cluster: Cluster, cover: dict[int, tuple[int, ...]], item: Item) -> HistoryResult:
    model = _dask_models.get(token)
    if model is None:
        _dask_models.clear()  # one run's model at a time per worker process
        model = _dask_models[token] = ClusterModel(cluster)
        model.cover_of_domain = cover
    return simulate_history(model, *item)


class LocalPool:
    """``jobs`` worker processes on this machine."""

    def __init__(self, executor: ProcessPoolExecutor, workers: int):
        self.executor, self.workers = executor, workers

    def submit(self, item: Item) -> Any:
        return self.executor.submit(_run_in_worker, item)

    def settle_many(self, chunks: list[list[frozenset[int]]]) -> Iterator[list[Response]]:
        """Settle chunks of domain sets on the workers, results in chunk order."""
        return self.executor.map(_settle_in_worker, chunks)


class DaskPool:
    """A dask.distributed cluster: an existing scheduler's address, or ``local``."""

    def __init__(self, client: Any, cluster: Cluster, cover: dict[int, tuple[int, ...]]):
        self.client = client
        self.token = uuid.uuid4().hex
        self.cluster = client.scatter(cluster, broadcast=True)
        self.cover = cover
        self.workers = max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))

    def submit(self, item: Item) -> Any:
        return self.client.submit(_run_on_dask, self.token, self.cluster, self.cover, item, pure=False,
                                  key=f"kchaos-{self.token}-{item[0].index}")


@contextmanager
def open_pool(model: ClusterModel, jobs: int, histories: int,
              dask: str | None = None) -> Iterator[LocalPool | DaskPool | None]:
    """The pool to run on; None means: play the histories in this process. Local workers get
    ``model`` as it is now: open the pool once what the histories read of it is in place."""
    cluster, cover = model.cluster, model.cover_of_domain
    if dask:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise KchaosUsageError("--dask needs dask.distributed: pip install 'kchaos[distributed]'") from None
        if dask == "local":
            with LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                              silence_logs=logging.CRITICAL) as lc, Client(lc) as client:
                yield DaskPool(client, cluster, cover)
            return
        try:
            client = Client(dask, timeout="5s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise KchaosUsageError(f"--dask {dask}: cannot reach the Dask scheduler ({exc})") from None
        with client:
            yield DaskPool(client, cluster, cover)
        return
    workers = min(jobs, histories)
    if workers <= 1:
        yield None
        return
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=_init_worker,
                                   initargs=(model,))
    try:
        yield LocalPool(executor, workers)
    except BaseException:  # an interrupt, say: the work not started yet is dropped, not waited for
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown(wait=True)


#: From this many nodes on, a local pool settles the single-domain responses (below, settling
#: them all in this process as they are read takes about a second at most: 0.3 s at 100 nodes).
PARALLEL_SETTLE_NODES = 250


def settle_on_pool(blast: BlastRadius, domains: list[int], jobs: int) -> None:
    """Settle ``domains``' single-domain responses into ``blast``'s cache on a local pool of
    ``jobs`` processes, on a cluster large enough to gain from it (else nothing happens here:
    they are settled in this process as they are read). If a worker dies (out of memory, say),
    the responses still missing are settled in this process as they are read."""
    if jobs <= 1 or blast.model.n_nodes < PARALLEL_SETTLE_NODES:
        return
    with open_pool(blast.model, jobs, len(domains)) as pool:
        if pool is not None:
            try:
                blast.prefetch(domains, pool.settle_many)
            except BrokenProcessPool:
                pass
