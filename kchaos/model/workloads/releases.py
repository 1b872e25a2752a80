"""Change-induced failures: a share of a workload's releases is bad (``rollouts.bad``).

Most production outages follow a change. When a release of a workload is drawn bad
(``probability``), what happens depends on who notices:

- ``readiness``: the new pods never turn Ready. A Deployment's rollout stalls after its first
  wave (``pkg/controller/deployment/rolling.go``: the old ReplicaSet was scaled down to
  ``replicas - maxUnavailable`` and is not scaled down further while the new pods are
  unavailable), so it runs ``maxUnavailable`` pods short until someone acts (``detect``; by
  default the Deployment's ``progressDeadlineSeconds``, 600 s, when it reports
  ProgressDeadlineExceeded) and the rollback has run (``rollback``). A StatefulSet's
  RollingUpdate replaces its highest ordinal first: one pod short.
- ``users``: the new pods turn Ready and serve errors: the workload is down from the rollout's
  start until ``detect`` + ``rollback``.

The down time this causes is attributed to ``bad rollout`` (and, for the workloads that depend
on it, ``bad rollout: dependency NAME down``), not to any failure domain.
"""

from __future__ import annotations

from ..timers import BAD_RELEASE
from .controllers import BROKEN, STALLED


class BadReleases:
    """Draws whether each release is bad, and plays the bad ones."""

    def __init__(self, model, work, waves, timers, rng, stats):
        self.m, self.work, self.waves, self.timers, self.rng, self.stats = model, work, waves, timers, rng, stats
        wls = model.cluster.workloads
        self.bad = [wl.releases.bad if wl.releases is not None else None for wl in wls]
        self.epoch = [0] * len(wls)
        startup = model.cluster.kubernetes.pod_startup
        #: Seconds from a bad release's start to the end of its rollback.
        self.duration = [b.detect + (b.rollback if b.rollback is not None else startup) if b is not None else 0.0
                         for b in self.bad]
        #: Ready pods a bad release caught by readiness takes away: the rollout's first wave.
        self.short = [(wl.rolling_update()[1] if wl.kind == "Deployment" else 1) if self.bad[w] is not None else 0
                      for w, wl in enumerate(wls)]

    def released(self, t: float, w: int) -> None:
        """A release of ``w`` starts at ``t``: bad with its probability."""
        bad = self.bad[w]
        if bad is None or float(self.rng.random()) >= bad.probability:
            return
        self.stats.bad_releases += 1
        self.epoch[w] += 1
        if bad.detected_by == "users":
            self.work.set_bad_release(t, w, BROKEN)
        else:
            self.waves.cancel(w)  # the rollout stalls after its first wave
            self.work.set_rollout_short(t, w, min(self.short[w], self.m.workload_desired[w]))
            self.work.set_bad_release(t, w, STALLED)
        self.timers.push(t + self.duration[w], BAD_RELEASE, w, self.epoch[w])

    def on_rolled_back(self, t: float, w: int, epoch: int) -> None:
        """A BAD_RELEASE timer: the rollback is done."""
        if epoch != self.epoch[w]:
            return
        if self.bad[w].detected_by == "readiness":
            self.work.set_rollout_short(t, w, 0)
        self.work.set_bad_release(t, w, 0)
