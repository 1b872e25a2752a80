"""What hardening each failure domain would save (results.json ``importance``), from the same
histories, without a run per domain.

If domain d never failed, the cycles it failed in would not happen, and every other cycle
would be that much likelier: its likelihood ratio gains exp(a) for d's not failing in it,
a = rate_d x the cycle's length (``kchaos/model/recording/cycles.py`` keeps, per domain, the down time
and the lengths of the cycles it failed in). With exp(a) to second order (a cycle is short
beside any one domain's time to failure), a quantity's unavailability without d is

    (Y - Y_d + r (Z1 - Z1_d) + r^2/2 (Z2 - Z2_d)) / (T - T_d + r (T2 - T2_d) + r^2/2 (T3 - T3_d))

with r = rate_d, Y the quantity's weighted down seconds, Z1 and Z2 those times their cycle's
length and squared length, T, T2, T3 the weighted sums of the cycles' lengths, squared and
cubed, and the ``_d`` sums over the cycles d failed in. The saving is today's unavailability
minus that; its interval is the delta method over histories (batch means).

Where the headline figure uses a control variate, so does the saving: the exactly known
part (quorum loss; a workload's covering domains) is recomputed exactly with the domain
hardened, and only the simulated rest is estimated as above.

Planned down time (causes ``planned: ...``: rollout waves, upgrades' leader transfers, when
no failure instance that is down touches the quantity) is left out: hardening a domain does
not remove it, and it moves between cycles (a rollout waits out a failure and runs in a later cycle), which the
per-cycle reweighting would read as hardening *adding* down time.
"""

from __future__ import annotations

import numpy as np

from . import exact
from .statistics import MINUTES_PER_YEAR, Z95

PLANNED = "planned:"


def _unplanned(parts, book, rest_only: bool = False):
    """Cycle sums ``parts`` less the planned causes' sums in the cause ``book``. A cause is
    (label, exact): with ``rest_only`` (``parts`` holds only the down time the exact part does
    not explain: ``api_only``, ``workload_rest``), only the planned time outside that part is
    taken away, so nothing is subtracted that ``parts`` never held."""
    planned = [sums for (label, exact_part), sums in book.sums.items()
               if label.startswith(PLANNED) and not (rest_only and exact_part)] if book else []
    if parts is None or not planned:
        return parts
    return parts.less(planned)


def _spread(per_domain: dict, column: dict[int, int]) -> np.ndarray:
    """A sparse {domain: value} as a vector over ``column``'s domains (0 where absent)."""
    out = np.zeros(len(column))
    for d, x in per_domain.items():
        j = column.get(d)
        if j is not None:
            out[j] = x
    return out


def _without(parts, column: dict[int, int], rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per history: the down seconds (weighted CycleSums ``parts``), and per history and
    domain the down seconds had that domain never failed (second order, see above)."""
    k, n = len(parts), len(column)
    y = np.zeros(k)
    y_without = np.zeros((k, n))
    for h, p in enumerate(parts):
        if p is None:
            continue
        y[h] = p.total
        yd, z1, z2 = (_spread(getattr(p, name), column) for name in ("by_domain", "by_domain_t", "by_domain_t2"))
        y_without[h] = p.total - yd + rate * (p.total_t - z1) + rate * rate / 2 * (p.total_t2 - z2)
    return y, y_without


def importance(out, quorum_exact: float | None = None, covers: list[list[int] | None] | None = None) -> list[dict]:
    """One row per failure instance, sorted by the minutes per year hardening it would save
    (API plus every workload), each figure with its 95% interval. ``quorum_exact``: the exact
    quorum availability when the API figure uses it; ``covers``: per workload, the domains
    whose down time its figure takes exactly (None: plain Monte Carlo)."""
    c = out.cluster
    hists = [h for h in out.histories if h.domain_time is not None]
    if len(hists) < 2:
        return []
    # The reweighting needs memoryless times to failure: other kinds are left out (docs).
    domains = [d.index for d in c.domains if c.failure_spec(d) is not None and c.failures[d.kind].ttf.kind == "exponential"]
    if not domains:
        return []
    rate = np.array([1.0 / c.failures[c.domains[d].kind].ttf.mean for d in domains])
    column = {d: j for j, d in enumerate(domains)}
    k = len(hists)
    t = np.array([h.weighted_seconds for h in hists])
    t_without = np.zeros((k, len(domains)))
    for i, h in enumerate(hists):
        per, (t2, t3) = h.domain_time
        own = [_spread({d: x[m] for d, x in per.items()}, column) for m in range(3)]
        t_without[i] = t[i] - own[0] + rate * (t2 - own[1]) + rate * rate / 2 * (t3 - own[2])

    def saved(parts) -> tuple[np.ndarray, np.ndarray]:
        y, y_without = _without(parts, column, rate)
        now = y.sum() / t.sum()
        without = y_without.sum(axis=0) / t_without.sum(axis=0)
        e = (y - now * t)[:, None] / t.sum() - (y_without - without * t_without) / t_without.sum(axis=0)
        half = Z95 * np.sqrt(k / (k - 1) * (e * e).sum(axis=0))
        return (now - without) * MINUTES_PER_YEAR, half * MINUTES_PER_YEAR

    if quorum_exact is not None:  # exact quorum part + simulated rest
        api, api_half = saved([_unplanned(h.api_only.weighted, h.api.causes, rest_only=True) for h in hists])
        above_members = {x for m in c.members for x in (c.nodes[m].domain, *c.nodes[m].ancestors)}
        api += np.array([(exact.quorum_availability(c, hardened=d) - quorum_exact) * MINUTES_PER_YEAR
                         if d in above_members or c.domains[d].kind == "regionLink" else 0.0 for d in domains])
    else:
        api, api_half = saved([_unplanned(h.api.weighted, h.api.causes) for h in hists])
    covers = covers or [None] * len(c.workloads)
    per_wl = []
    for w, cover in enumerate(covers):
        if cover is None:
            per_wl.append(saved([_unplanned(h.workloads[w].weighted, h.workloads[w].causes) for h in hists]))
            continue
        rest, half = saved([_unplanned(h.workload_rest[w].weighted, h.workloads[w].causes, rest_only=True)
                            for h in hists])
        unavail = {d: c.failures[c.domains[d].kind].unavailability for d in cover}
        up = float(np.prod([1.0 - u for u in unavail.values()]))
        rest += np.array([(up / (1.0 - unavail[d]) - up) * MINUTES_PER_YEAR if d in unavail else 0.0
                          for d in domains])
        per_wl.append((rest, half))
    # Rounded as whole arrays (a 5,000-node cluster has 10,000 rows of 150 workloads).
    names = [w.name for w in c.workloads]
    value = np.array([s[0] for s in per_wl]).reshape(len(names), len(domains))
    half = np.array([s[1] for s in per_wl]).reshape(len(names), len(domains))
    # (+ 0.0 turns the -0.0 of a tiny negative rounded away into 0.0)
    wl_rows, lo_rows, hi_rows = ((np.round(x, 4) + 0.0).T.tolist() for x in (value, value - half, value + half))
    api_r, api_lo, api_hi, total = ((np.round(x, 4) + 0.0).tolist()
                                    for x in (api, api - api_half, api + api_half, api + value.sum(axis=0)))
    rows = []
    for j, d in enumerate(domains):
        rows.append({
            "domain": c.domains[d].id, "kind": c.domains[d].kind,
            "api_minutes_per_year_saved": api_r[j],
            "workload_minutes_per_year_saved": dict(zip(names, wl_rows[j])),
            "ci95": {"api": [api_lo[j], api_hi[j]],
                     "workloads": {name: [lo, hi] for name, lo, hi in zip(names, lo_rows[j], hi_rows[j])}},
            "total_minutes_per_year_saved": total[j],
        })
    return sorted(rows, key=lambda r: -r["total_minutes_per_year_saved"])
