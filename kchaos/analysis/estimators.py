"""What the headline estimators need beyond a plain interval (issue 25).

- The workload control variate counts every second a covering domain (one whose loss alone
  takes the workload down on the initial placement) is down as the workload's. Pods that
  drifted since (evicted elsewhere, no rollout yet) can keep it up through such an outage:
  :func:`drift_corrected` takes the time measured so off, and widens the interval by its own.
- The API's election control (:func:`api_rest_sums`): the API's down time while a quorum
  holds, less ``beta`` times the election martingale the recorder kept
  (:mod:`kchaos.model.recording.leader`): the same expectation, a fraction of the variance.
- Request-level availability (:func:`request_interval`): every request fails while a workload
  is down, and the dead endpoints' share while it is up.
- Importance sampling's effective sample size (:func:`effective_sample_size`): Kish's
  (sum w)^2 / sum w^2 over the likelihood ratios of the regenerative cycles in which a quantity
  was down. Few effective cycles mean a few heavily weighted cycles carry the estimate, and its
  interval cannot be trusted.
"""

from __future__ import annotations

import numpy as np

from ..model.sampling.montecarlo import SimulationOutput
from ..model.recording.leader import ControlSums
from ..model.recording.sketch import EpisodeSums
from .statistics import Interval, down_seconds, episode_sums, unavailability_interval

def _sums(out: SimulationOutput, parts) -> tuple:
    """(episode sums, per-history down seconds) of one quantity's per-history records."""
    return episode_sums(parts, out.weighted), np.array([down_seconds(p, out.weighted) for p in parts])


def api_rest_sums(histories, weighted: bool, seconds: float | None = None) -> tuple[EpisodeSums, str]:
    """The episode sums the API's simulated part (down while a quorum holds) is estimated from,
    and the history frame's column of its per-history totals: with the election control where
    every history kept it (and its total and variance are positive), else the down time itself.
    The control's ``squares`` are its regenerative variance about the run's ratio (``seconds``:
    the histories' weighted length, when known)."""
    controls = [h.api_control for h in histories]
    if controls and all(c is not None for c in controls):
        total = ControlSums.of(controls)
        if seconds is None:
            seconds = sum(h.weighted_seconds if weighted else h.horizon for h in histories)
        variance = total.variance(total.total / seconds) if total.total > 0 else 0.0
        if variance > 0:
            return EpisodeSums(sum(h.api_only.sums.count for h in histories), total.total, variance,
                               total.largest), "api_control_down"
    return episode_sums((h.api_only for h in histories), weighted), "api_only_down"


def drift_corrected(out: SimulationOutput, w: int, seconds: np.ndarray, iv: Interval) -> Interval:
    """The control variate counts every second a covering domain is down as the workload's, as
    it is on the initial placement; pods that moved since (evicted, not yet re-placed by a
    rollout) can keep the workload up through such a domain's outage. The run measures that
    time (up while a covering domain is down): it is taken off the estimate, and its interval's
    bounds widen the result's (zero when no pod drifted out of a covering domain)."""
    parts = [h.workload_cover_up[w] for h in out.histories] if out.histories and out.histories[0].workload_cover_up \
        else []
    drift = unavailability_interval(*_sums(out, parts), seconds, 0.0) if parts else None
    if drift is None or drift.high <= 0.0:
        return iv
    return Interval(max(0.0, iv.estimate - drift.estimate), max(0.0, iv.low - drift.high),
                    max(0.0, iv.high - drift.low), iv.basis, iv.offset - drift.estimate)


def drift_by_domain(out: SimulationOutput, w: int, total_seconds: float) -> dict[int, float]:
    """Per covering domain (-1: several at once), the share of time it was down while ``w``
    stayed up: what its exact share in the attribution gives back."""
    shares: dict[int, float] = {}
    for h in out.histories:
        book = h.workload_cover_up[w].causes if h.workload_cover_up else None
        for (domain, _), sums in (book.sums.items() if book is not None else ()):
            shares[domain] = shares.get(domain, 0.0) + sums.total / total_seconds
    return shares


def request_interval(out: SimulationOutput, w: int, seconds: np.ndarray, down: Interval) -> Interval:
    """The share of ``w``'s requests that fail: every request while it is down (``down``, the
    pod-level interval) and, while it is up, the dead endpoints' share (requests the Services
    still sent to pods on dead nodes). The two intervals' bounds add up (a conservative sum)."""
    parts = [h.requests[w] for h in out.histories] if out.histories and out.histories[0].requests else []
    if not parts:
        return down
    lost = unavailability_interval(*_sums(out, parts), seconds, 0.0)
    return Interval(min(1.0, down.estimate + lost.estimate), min(1.0, down.low + lost.low),
                    min(1.0, down.high + lost.high))


#: Below this many effective cycles an importance-sampled figure's interval is not trusted.
MIN_EFFECTIVE_CYCLES = 10.0


def effective_cycles(episodes) -> float | None:
    """Kish's effective number of the cycles in which a quantity was down, from their
    likelihood ratios (None: it never was)."""
    parts = [eps.weighted for eps in episodes if eps.weighted is not None]
    squares = sum(p.weight_squares for p in parts)
    return sum(p.weight_sum for p in parts) ** 2 / squares if squares > 0 else None


def effective_sample_size(out: SimulationOutput, cv_api: bool, cv_workloads: list[bool],
                          material: set[str]) -> dict | None:
    """Per figure, the effective number of importance-sampled cycles its simulated part rests on
    (the part a control variate leaves to the simulation, where it applies); ``too_small``: the
    figures (among those whose simulated part is ``material``) below :data:`MIN_EFFECTIVE_CYCLES`.
    None when plain."""
    if not out.weighted:
        return None
    hs = out.histories

    def rounded(x):
        return None if x is None else round(x, 1)

    api = effective_cycles([h.api_only if cv_api else h.api for h in hs])
    workloads = {wl.name: rounded(effective_cycles([h.workload_rest[w] if cv else h.workloads[w] for h in hs]))
                 for w, (wl, cv) in enumerate(zip(out.cluster.workloads, cv_workloads))}
    return {"api": rounded(api), "workloads": workloads,
            "too_small": sorted([name for name, x in (("API", api), *workloads.items())
                                 if x is not None and x < MIN_EFFECTIVE_CYCLES and name in material])}


def material(iv: Interval) -> bool:
    """The simulated part of a figure (what a control variate leaves) is at least a tenth of it
    and 0.01 minute a year: its sampling is what its interval is about."""
    simulated = iv.estimate - iv.offset
    return simulated >= 0.1 * iv.estimate and simulated * 525_600 >= 0.01
