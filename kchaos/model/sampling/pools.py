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
import os
import signal
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, contextmanager
from typing import Any, Iterator

import numpy as np

from ...errors import KchaosUsageError
from ...interrupts import abortable
from ..cluster import Cluster
from ..engine import ClusterModel, HistoryResult, simulate_history
from .failures import History
from ..scheduling.response import BlastRadius
from ..scheduling.settle import Response, settle

Item = tuple[History, np.random.SeedSequence]

_worker_model: ClusterModel | None = None
_dask_models: dict[str, ClusterModel] = {}

#: The signal by which the parent tells its local workers to drop their work (Ctrl-C).
ABANDON = getattr(signal, "SIGUSR1", None)
#: How long the workers have to drop their work and exit before they are killed.
ABANDON_SECONDS = 10.0
_BLOCKED = {s for s in (signal.SIGINT, ABANDON) if s is not None}

_playing = False  # this worker is inside a history (or a settling)
_abandoned = False  # the parent asked this worker to drop its work


class Abandoned(Exception):
    """A worker's history dropped at the parent's request."""


def _on_abandon(signum, frame) -> None:
    """Drop the history being played (its result is never read); between histories, as a
    result is being sent, only note it: a worker killed mid-send would leave the pool's result
    pipe half-written, and the parent's wait for the rest of it endless."""
    global _abandoned
    _abandoned = True
    if _playing:
        raise Abandoned


def _init_worker(model: ClusterModel) -> None:
    """A worker ignores Ctrl-C (the terminal sends it to every process of the group): the
    parent decides what stops, and tells the workers (:data:`ABANDON`); no worker prints a
    traceback."""
    global _worker_model
    _worker_model = model
    _end_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if ABANDON is not None:
        signal.signal(ABANDON, _on_abandon)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _BLOCKED)


@contextmanager
def _playing_in_worker() -> Iterator[None]:
    """A worker's unit of work, which :func:`_on_abandon` may stop."""
    global _playing
    if _abandoned:
        raise Abandoned
    _playing = True
    try:
        yield
    finally:
        _playing = False


def _end_with_parent() -> None:
    """On Linux, a worker gets SIGTERM when the process that started it ends, however it
    ends: a worker that ignores Ctrl-C is never left behind (prctl PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


@contextmanager
def _sigint_blocked() -> Iterator[None]:
    """SIGINT (and :data:`ABANDON`) held back in this thread while worker processes start:
    they are born with them blocked (until :func:`_init_worker` handles them), and the parent
    receives SIGINT just after."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored by this process for a while (processes started meanwhile keep ignoring it)."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: nothing to change
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _noop() -> None:
    return None


def _run_in_worker(item: Item) -> HistoryResult:
    assert _worker_model is not None
    with _playing_in_worker():
        return simulate_history(_worker_model, *item)


def _settle_in_worker(keys: list[frozenset[int]]) -> list[Response]:
    assert _worker_model is not None
    with _playing_in_worker():
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
        with _sigint_blocked():  # where processes start on demand (spawn), they start here
            return self.executor.submit(_run_in_worker, item)

    @staticmethod
    def result(future: Any) -> HistoryResult:
        """A history's result, waited for where Ctrl-C may stop the wait; a worker that died
        (killed, out of memory) is a message, not a traceback."""
        try:
            with abortable():
                return future.result()
        except BrokenProcessPool:
            raise KchaosUsageError("a worker process died (killed, or out of memory?); try fewer --jobs") from None

    def abandon(self, seconds: float = ABANDON_SECONDS) -> None:
        """End the workers now (Ctrl-C): each drops the history it plays and those queued, sends
        its last result whole, and exits. One that has not exited within ``seconds`` (or all,
        at a further Ctrl-C) is killed; the wait for its result pipe is then given up."""
        processes = list((getattr(self.executor, "_processes", None) or {}).values())
        try:
            for process in processes:
                if ABANDON is not None and process.pid is not None:
                    try:
                        os.kill(process.pid, ABANDON)
                    except OSError:  # already gone
                        pass
            self.executor.shutdown(wait=False, cancel_futures=True)
            deadline = time.monotonic() + seconds
            for process in processes:
                process.join(max(0.0, deadline - time.monotonic()))
            if all(p.exitcode is not None for p in processes):
                thread = getattr(self.executor, "_executor_manager_thread", None)
                if thread is not None:
                    thread.join(max(0.0, deadline - time.monotonic()))
                return
        except KeyboardInterrupt:  # a further Ctrl-C: no more waiting
            self._kill(processes)
            raise
        self._kill(processes)

    def _kill(self, processes: list) -> None:
        queue = getattr(self.executor, "_call_queue", None)
        if queue is not None:  # not flushed to dead workers: that wait would never end
            queue.cancel_join_thread()
        for process in processes:
            try:
                process.kill()
            except (OSError, AttributeError, ValueError):
                pass

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

    def result(self, future: Any) -> HistoryResult:
        """A history's result, waited for where Ctrl-C may stop the wait; a cluster failure
        (a worker killed for good, a lost scheduler) is a message, not a traceback."""
        try:
            with abortable():
                return future.result()
        except (KeyboardInterrupt, KchaosUsageError):
            raise
        except Exception as exc:  # distributed's KilledWorker, CommClosedError, TimeoutError...
            raise KchaosUsageError(f"--dask: the Dask cluster failed: {type(exc).__name__}: {exc}") from None


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
            with ExitStack() as stack:
                try:
                    # Its worker processes start with SIGINT ignored, which a process keeps across exec
                    # (and Python then installs no handler): Ctrl-C reaches this process only, never a
                    # worker as a traceback. Ctrl-C during these seconds of start-up is ignored too.
                    with _sigint_ignored():
                        lc = stack.enter_context(LocalCluster(
                            n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=logging.CRITICAL))
                        client = stack.enter_context(Client(lc))
                    pool = DaskPool(client, cluster, cover)
                except (KeyboardInterrupt, KchaosUsageError):
                    raise
                except Exception as exc:  # "Nanny failed to start", a port in use, ...
                    raise KchaosUsageError(f"--dask local: the local Dask cluster did not start "
                                           f"({type(exc).__name__}: {exc})") from None
                yield pool
            return
        try:
            client = Client(dask, timeout="5s")
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # OSError, TimeoutError, a bad address (ValueError), ...
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
    pool = LocalPool(executor, workers)
    try:
        with _sigint_blocked():  # forking contexts start every worker at the first submission: now
            executor.submit(_noop)
        yield pool
    except BaseException:  # an interrupt, say: the histories in flight are dropped, not waited for
        pool.abandon()
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
