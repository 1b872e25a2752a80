"""Runs that stop when the answer is tight (--precision, --time-budget): the rule, its
determinism, and that stopping on it keeps the estimates unbiased and the intervals honest."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kchaos.analysis import analyze
from kchaos.analysis import precision as P
from kchaos.analysis.exact import quorum_availability
from kchaos.analysis.statistics import Interval, PoissonBasis, unavailability_interval
from kchaos.analysis.summary import episode_sums, history_frame
from kchaos.cli import main

from .conftest import topology
from .test_accuracy import TWO_PLUS_ONE, three_on_servers

YEAR = 365 * 86400.0

#: Three workers, web needs all three pods: down at every node failure (10 days, 1 h).
BUSY = """
apiVersion: kchaos/v1alpha1
kind: Topology
metadata: {name: busy}
regions:
  - name: r1
    datacenters:
      - {name: d1, racks: 1, serversPerRack: 6}
controlPlane: {members: 3, placement: spread}
workers:
  - {pool: p, count: 3, capacity: {cpu: 8, memory: 32Gi, pods: 110}}
workloads:
  - {name: web, kind: Deployment, replicas: 3, requests: {cpu: 1, memory: 1Gi}, minAvailable: 3}
failures: {node: {mtbf: 10d, mttr: 1h}, server: none, rack: none, datacenter: none, region: none, regionLink: none}
addons: none  # CoreDNS (down only while both its nodes are, ~1.7e-6) would need ~270,000 failures to reach 10%
"""


def interval(down: float, seconds: float = YEAR, variance: float | None = None, longest: float = 60.0) -> Interval:
    """``down`` seconds in ``seconds``, from one-minute episodes unless ``variance`` says otherwise."""
    return PoissonBasis(down, down * 60.0 if variance is None else variance, longest, seconds).interval()


def test_a_figure_is_tight_within_the_relative_precision_or_the_floor():
    wide = interval(600.0)  # 10 min of downtime a year, from 10 one-minute episodes
    assert P.status("workloads.web", wide, 0.10) == P.NOT_REACHED
    assert P.status("workloads.web", wide, 0.95) == P.REACHED
    # 1e-7 of availability: a wide relative interval on a tiny figure is settled by the floor.
    tiny = interval(8.0, seconds=10 * YEAR, variance=64.0, longest=8.0)  # one 8 s outage in ten years
    assert P.API_FLOOR < P.half_width(tiny) < P.AVAILABILITY_FLOOR and P.half_width(tiny) > tiny.estimate
    assert P.status("workloads.web", tiny, 0.10) == P.REACHED
    # The API's downtime is a headline figure in min/year: its floor is 0.01 min/year.
    assert P.floor_of("controlPlane") == pytest.approx(0.01 / 525_600)
    assert P.status("controlPlane", tiny, 0.10) == P.NOT_REACHED


def test_no_downtime_observed_does_not_hold_a_run_but_a_target_it_cannot_decide_does():
    none = interval(0.0)
    assert P.status("workloads.web", none, 0.10) == P.NO_DOWNTIME
    assert P.settled("workloads.web", none, 0.10, None)
    upper = 1.0 - none.high  # availability at the top of the interval
    assert not P.settled("workloads.web", none, 0.10, target=upper + (1 - upper) / 2)  # inside: undecided
    assert P.settled("workloads.web", none, 0.10, target=upper - (1 - upper))  # below the interval: decided


def test_the_next_batch_aims_at_the_projection_within_bounds():
    wide = interval(600.0)
    scale = P.scale_to_tight(wide, 0.10, P.AVAILABILITY_FLOOR)
    assert scale > 1 and P.tight(wide.projected(scale), 0.10, P.AVAILABILITY_FLOOR)
    assert P.next_total(40, [("workloads.web", wide)], 0.10) == 40 * P.MAX_GROWTH  # far: at most x4
    nearly = interval(15_000.0)  # 250 one-minute episodes: about 12% each side
    assert 40 * P.MIN_GROWTH <= P.next_total(40, [("workloads.web", nearly)], 0.10) < 40 * P.MAX_GROWTH


def test_precision_is_parsed_as_a_percentage_or_a_fraction():
    assert P.parse_precision("10%") == pytest.approx(0.1)
    assert P.parse_precision("0.05") == pytest.approx(0.05)
    for bad in ("ten", "0%", "150%"):
        with pytest.raises(Exception, match="--precision"):
            P.parse_precision(bad)


def _strip(results: dict) -> dict:
    results["run"].pop("wall_seconds")
    results["run"].pop("jobs")
    for batch in results["run"]["precision"]["batches"]:
        batch.pop("seconds")
    return results


def test_same_seed_same_stopping_point_and_results_whatever_jobs(monkeypatch):
    monkeypatch.setattr(P, "FAILURES_PER_HISTORY", 10)
    cluster = topology(BUSY)
    rule = P.Precision(0.1, None)
    one = analyze(P.simulate_to_precision(cluster, rule, seed=3, jobs=1))
    two = analyze(P.simulate_to_precision(cluster, rule, seed=3, jobs=2))
    assert len(one["run"]["precision"]["batches"]) >= 2  # the rule ran more than the first batch
    assert one["run"]["precision"]["stopped_by"] == "precision" and one["run"]["failures_requested"] is None
    assert one["run"]["precision"]["reached"]
    assert _strip(one) == _strip(two)


def test_a_spent_time_budget_keeps_the_histories_finished():
    out = P.simulate_to_precision(topology(BUSY), P.Precision(0.001, 0.2), seed=1, jobs=1)
    results = analyze(out)
    assert results["run"]["precision"]["stopped_by"] == "time budget"
    assert results["run"]["histories"] >= 1 and not results["run"]["precision"]["reached"]


def test_stopping_on_the_rule_keeps_estimates_unbiased_and_intervals_honest(monkeypatch):
    """One member on a server (down 10 h every 100 h): quorum unavailability is exactly 1/11.
    Run to 15% on that figure over 20 seeds: the stopping points differ, the intervals cover
    the exact answer in at least 18 of 20, and the estimates' mean is within three standard
    errors of it (the same check without the rule gives the same mean on these seeds)."""
    cluster = topology(three_on_servers(1))
    exact = 1.0 - quorum_availability(cluster)
    assert exact == pytest.approx(1 / 11)

    def quorum(out):
        df = history_frame(out)
        return {"controlPlane": unavailability_interval(episode_sums([h.quorum for h in out.histories], out.weighted),
                                                        df["quorum_down"].to_numpy(), df["seconds"].to_numpy(),
                                                        5 * 3600.0)}

    monkeypatch.setattr(P, "figures", quorum)
    monkeypatch.setattr(P, "FAILURES_PER_HISTORY", 10)
    covered, estimates, stops = 0, [], set()
    for seed in range(20):
        out = P.simulate_to_precision(cluster, P.Precision(0.15, None), seed=100 + seed, jobs=1, sampling="plain")
        iv = quorum(out)["controlPlane"]
        covered += iv.low <= exact <= iv.high
        estimates.append(iv.estimate)
        stops.add(len(out.stopping["batches"]))
    assert len(stops) > 1
    assert covered >= 18
    assert abs(np.mean(estimates) - exact) <= 3 * np.std(estimates) / np.sqrt(len(estimates))


def test_cli_options_and_outputs(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(P, "FAILURES_PER_HISTORY", 25)
    path = tmp_path / "t.yaml"
    path.write_text(TWO_PLUS_ONE + "slo: {controlPlane: 90}\n")
    assert main(["run", str(path), "--failures", "500", "--precision", "10%", "-o", str(tmp_path / "a")]) == 2
    assert "give one or the other" in capsys.readouterr().err
    assert main(["run", str(path), "--time-budget", "5s", "-o", str(tmp_path / "a")]) == 2
    assert "--time-budget goes with --precision" in capsys.readouterr().err
    assert main(["run", str(path), "--precision", "abc", "-o", str(tmp_path / "a")]) == 2

    assert main(["run", str(path), "--precision", "30%", "--time-budget", "30s", "-j", "1",
                 "-o", str(tmp_path / "run")]) == 0
    shown = capsys.readouterr().out
    assert "precision" in shown and "30%" in shown
    block = json.loads((tmp_path / "run" / "results.json").read_text())["run"]["precision"]
    assert block["relative"] == 0.3 and block["time_budget_seconds"] == 30 and block["watched"] == "all"
    assert {f["figure"] for f in block["figures"]} == {"controlPlane", "workloads.coredns"}  # kubeadm's CoreDNS

    # check: by default until its targets are decided (or tight); --failures: a set count.
    assert main(["check", str(path), "-j", "1", "-o", str(tmp_path / "check")]) == 0
    assert "every target decided" in capsys.readouterr().out
    block = json.loads((tmp_path / "check" / "results.json").read_text())["run"]["precision"]
    assert block["relative"] == P.CHECK_PRECISION and block["watched"] == "targets"
    assert main(["check", str(path), "-n", "600", "-j", "1", "-o", str(tmp_path / "fixed")]) == 0
    run = json.loads((tmp_path / "fixed" / "results.json").read_text())["run"]
    assert "precision" not in run and run["failures_requested"] == 600


def test_down_all_the_time_is_certain_even_when_weighted_sums_differ_in_the_last_bits():
    """Importance-sampled, a workload down from start to end of every history has down seconds
    and time that are the same weighted cycles summed in another order: equal to the last bits
    only. That is still down all the time, with nothing uncertain, not an interval reaching
    20% availability."""
    from kchaos.model.recording.sketch import EpisodeSums

    times = np.array([1.0e7, 2.5e7, 4.0e6, 3.3e7] * 5)
    down = times * (1 - 3e-16)  # a rounding below the time
    episodes = EpisodeSums(count=20, total=float(down.sum()), squares=float((down * down).sum()),
                           longest=float(down.max()))
    iv = unavailability_interval(episodes, down, times, 86_400.0)
    assert (iv.estimate, iv.low, iv.high) == (1.0, 1.0, 1.0)
    up_a_little = unavailability_interval(EpisodeSums(20, float(0.99 * times.sum()), float(((0.99 * times) ** 2).sum()),
                                                      float(0.99 * times.max())), 0.99 * times, times, 86_400.0)
    assert up_a_little.estimate == pytest.approx(0.99) and up_a_little.low < 0.99  # a real gap stays uncertain
