"""Uncertain inputs: each headline figure across the ranges the topology gives its rates.

A failure rate or repair time may be given as a range (``mtbf: 100y..400y``, ``mttr:
2h..8h``); the run uses the range's geometric middle. The same topology is then simulated
again at each end of every range at once, with the same seed (common random numbers: every
failure instance draws from the same stream, so its failure times scale with the rate):

- ``pessimistic``: every range at its worse end (the shorter time between failures, the
  longer repair);
- ``optimistic``: every range at its better end.

Each end is a whole run: the exactly known parts (quorum loss, the domains that alone take a
workload down) are recomputed exactly at that end, and the simulated rest is simulated again
(rerun rather than reweighted: a likelihood ratio over whole histories would grow with the
number of failures of a changed kind and leave the ends' estimates far noisier than the
run's). A headline figure's ``inputs_range`` is the lowest and highest of its estimates at
the nominal inputs and at the two ends. Availability falls as failures come more often or
last longer, so the two ends bracket the figure for any combination of values inside the
ranges; the range says how far the inputs move the answer, the ``ci95`` how far the
simulation's noise does.
"""

from __future__ import annotations

from typing import Callable

from ..model.cluster import INPUT_ENDS, Cluster
from ..model.engine import ClusterModel
from ..model.sampling.montecarlo import SimulationOutput
from ..topology.units import format_duration

#: How the ends are computed, for results.json and the report.
METHOD = ("each end simulated again with the same seed (common random numbers); exact parts "
          "recomputed at each end")


def ranges(cluster: Cluster) -> list[dict]:
    """The uncertain inputs as results.json lists them: kind, key, seconds and as written."""
    out = []
    for spec in cluster.uncertain_inputs:
        for key, span in (("mtbf", spec.mtbf_range), ("mttr", spec.mttr_range)):
            if span is not None:
                out.append({"kind": spec.kind, "key": key, "seconds": [span[0], span[1]],
                            "range": f"{format_duration(span[0])}..{format_duration(span[1])}"})
    return out


def describe(cluster_or_ranges) -> str:
    """``region mtbf 100y..400y, node mttr 5m..20m``."""
    rows = ranges(cluster_or_ranges) if isinstance(cluster_or_ranges, Cluster) else cluster_or_ranges
    return ", ".join(f"{r['kind']} {r['key']} {r['range']}" for r in rows)


def simulate_ends(results: dict, nominal: SimulationOutput,
                  simulate: Callable[[Cluster, ClusterModel, int], SimulationOutput],
                  analyze: Callable[[SimulationOutput], dict]) -> None:
    """Simulate the topology at each end of its input ranges (``simulate(cluster, model,
    part)``, part 1 and 2) and set ``inputs_range`` on ``results``, the nominal run's document."""
    ends = {}
    for part, end in enumerate(INPUT_ENDS, start=1):
        model = ClusterModel(nominal.cluster.at_inputs(end))
        # The settled responses depend on the layout alone, not on the rates: settled once.
        model.blast, model.cover_of_domain = nominal.model.blast, nominal.model.cover_of_domain
        try:
            out = simulate(model.cluster, model, part)
        except KeyboardInterrupt:  # before this end's first history: the nominal run stands, partial
            results["run"]["partial"] = True
            break
        ends[end] = analyze(out)
        results["run"]["wall_seconds"] = round(results["run"]["wall_seconds"] + out.wall_seconds, 3)
        if out.partial:
            results["run"]["partial"] = True
            break
    attach(results, ends, ranges(nominal.cluster))


def _headlines(results: dict):
    """(path, block, value key) of every headline figure: the figures with a ``ci95``."""
    cp = results["control_plane"]
    yield "controlPlane", cp["availability"], "estimate"
    quorum = cp["quorum_availability"]
    yield "quorum", quorum, "exact" if quorum.get("exact") is not None else "estimate"
    yield "downtime", cp["downtime_minutes_per_year"], "estimate"
    for w in results["workloads"]:
        yield f"workloads.{w['name']}", w["availability"], "estimate"
        yield f"workloads.{w['name']}.downtime", w["downtime_minutes_per_year"], "estimate"


def attach(results: dict, ends: dict[str, dict], given: list[dict]) -> None:
    """Set ``inputs_range`` on ``results``' headline figures and SLO checks from the
    ``ends``' results documents; ``run.uncertain_inputs`` says which ranges and how; the SLO
    verdicts at each end go to ``slo.at_inputs`` (what ``check --inputs`` gates on)."""
    at_end = {end: {path: block.get(key) for path, block, key in _headlines(r)} for end, r in ends.items()}
    for path, block, key in _headlines(results):
        values = [v for v in (block.get(key), *(e.get(path) for e in at_end.values())) if v is not None]
        if values:
            block["inputs_range"] = [min(values), max(values)]
    checks_at = {end: {ch["name"]: ch for ch in r["slo"]["checks"]} for end, r in ends.items()}
    for ch in results["slo"]["checks"]:
        values = [v for v in (ch.get("estimate"), *(c.get(ch["name"], {}).get("estimate")
                                                     for c in checks_at.values())) if v is not None]
        if values:
            ch["inputs_range"] = [min(values), max(values)]
    results["slo"]["at_inputs"] = {end: r["slo"] for end, r in ends.items()}
    results["run"]["uncertain_inputs"] = {"ranges": given, "method": METHOD,
                                          "ends": {end: {"failures_injected": r["run"]["failures_injected"],
                                                         "simulated_years": r["run"]["simulated_years"]}
                                                   for end, r in ends.items()}}


def checks_at(results: dict, inputs: str) -> tuple[list[dict], str | None]:
    """The SLO checks to gate on at ``inputs`` (``nominal``, or one of :data:`INPUT_ENDS`),
    each saying at which end it was judged; and a note when the topology gives no range (every
    end is then the nominal one)."""
    if inputs == "nominal":
        return list(results["slo"]["checks"]), None
    at = results["slo"].get("at_inputs", {}).get(inputs)
    if at is None:
        return list(results["slo"]["checks"]), (f"no rate is given as a range (mtbf: 100y..400y): the {inputs} "
                                                "inputs are the nominal ones")
    where = f"at the {inputs} end of {describe(results['run']['uncertain_inputs']['ranges'])}"
    return [{**ch, "detail": f"{ch['detail']}; {where}" if ch.get("detail") else where} for ch in at["checks"]], None
