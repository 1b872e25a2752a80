"""The plan search: diagnose, propose from causes, screen, verify finalists, minimise.

1. **Diagnose** the user's layout: the screen (settled single-domain losses, exact quorum,
   exactly covered workload down time) and one Monte Carlo run, as ``kchaos check`` runs it.
2. **Propose** moves from the causes of what is missed (:mod:`.propose`), cheapest first:
   rule changes, member placements, then capacity and replicas, each screened.
3. **Verify** the candidate with the Monte Carlo on common random numbers (the baseline's
   histories and horizon, the same seed: instances fail at the same moments in every
   candidate, so differences come from the layout). Availability targets still missed by a
   workload get one more replica at a time (its budget kept), verified the same way; load
   targets still missed, one more worker at a time, verified also as ``kchaos check`` runs it.
4. **Minimise**: every unit added (a worker, a replica, a member) is taken away once and the
   plan without it must miss a named target; a rule change must be needed by some target.
5. The plan is confirmed by one run exactly as ``kchaos check`` would make it on the written
   topology (same seed and failures), whose figures are the plan's "after".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable

from ..analysis import analyze
from ..model.sampling.failures import StationarySampler
from ..model.sampling.montecarlo import history_plan, run_monte_carlo
from ..topology.yamlsafe import load_yaml
from .layout import Layout, Layouts
from .moves import Move, combine, set_replicas
from .propose import (capacity_moves, member_placements, member_sizes, placement_moves, replica_moves,
                      rollout_moves, spread_moves)
from .targets import Verdict, first_miss, missed, screen, simulated, unsure

#: More replicas tried, one at a time, for a workload whose availability target the
#: simulation still finds missed.
MAX_REPLICA_STEPS = 3
#: More workers tried, one at a time, for a load target the simulation still finds missed.
MAX_LOAD_STEPS = 8
#: The targets on the load that the simulation judges (the hottest node, Pending pods).
LOAD_TARGETS = frozenset({"maxNodeUtilization", "maxPendingPods"})


@dataclass
class PlanOptions:
    failures: int = 10_000
    seed: int = 1
    jobs: int = 1
    sampling: str = "auto"
    etcd_sizes: tuple[int, ...] | None = None  # member counts allowed (None: odd sizes)


@dataclass
class Plan:
    moves: list[Move]
    before: dict  # results of the user's layout
    after: dict | None  # results of the recommended layout (None: no change)
    before_verdicts: list[Verdict]
    after_verdicts: list[Verdict]
    bounds: list[dict] = field(default_factory=list)  # targets no move meets: why, and the bound
    layout: Layout | None = None
    stats: dict = field(default_factory=dict)
    domain_losses: dict = field(default_factory=dict)  # level -> [{domain, before, after}] (settled)

    @property
    def met(self) -> bool:
        return not missed(self.after_verdicts)


def _merge(screened: list[Verdict], simulated_: list[Verdict]) -> list[Verdict]:
    """Screen verdicts, then the simulated ones for targets the screen did not miss."""
    bad = {v.target for v in screened if not v.met}
    sim = {v.target for v in simulated_}
    return [*(v for v in screened if not v.met or v.target not in sim),
            *(v for v in simulated_ if v.target not in bad)]


class Search:
    def __init__(self, text: str, filename: str, survive: tuple[str, ...], options: PlanOptions,
                 progress: Callable[[str], None] | None = None):
        self.options = options
        self.layouts = Layouts(text, filename, survive)
        self.doc = load_yaml(text).data
        self.progress = progress or (lambda _: None)
        self.simulations = 0
        self._simulated: dict[int, dict] = {}
        base = self.layouts.base
        rate = StationarySampler(base.cluster).failure_rate
        self.fixed = history_plan(options.failures, rate)
        self.bounds: list[dict] = []
        self.load_at_stake = False  # the user's layout misses a load target (set by run)

    # -- evaluation ------------------------------------------------------------------------
    def simulate(self, layout: Layout, crn: bool = True) -> dict:
        """Results of ``layout``: on the baseline's histories and horizon (``crn``), or exactly
        as ``kchaos check`` runs it."""
        key = (id(layout), crn)
        hit = self._simulated.get(key)
        if hit is None:
            self.simulations += 1
            o = self.options
            out = run_monte_carlo(layout.cluster, failures=o.failures, seed=o.seed, jobs=o.jobs,
                                  model=layout.ready_for_simulation(), fixed=self.fixed if crn else None,
                                  sampling=o.sampling)
            if out.partial:  # interrupted: a plan is never made of part of a simulation
                raise KeyboardInterrupt
            hit = self._simulated[key] = analyze(out)
        return hit

    def judge(self, moves: list[Move], simulate: bool = True) -> list[Verdict]:
        """The verdicts of the layout ``moves`` make: screened, then simulated on common random
        numbers. A load target the layout meets there must also be met by the run ``kchaos
        check`` makes (its own histories) when the user's layout missed one: the hottest node's
        p95 moves in steps of one pod, so one set of histories alone can sit on either side."""
        layout = self.layouts.build(combine(moves))
        screened = screen(layout)
        if not simulate or missed(screened):
            return screened
        verdicts = _merge(screened, simulated(self.simulate(layout)))
        if self.load_at_stake and any(v.met and v.target in LOAD_TARGETS for v in verdicts):
            as_checked = {v.target: v for v in simulated(self.simulate(layout, crn=False)) if v.target in LOAD_TARGETS}
            verdicts = [as_checked.get(v.target, v) if v.met and v.target in LOAD_TARGETS else v for v in verdicts]
        return verdicts

    # -- the search --------------------------------------------------------------------------
    def run(self) -> Plan:
        start = time.process_time()
        base = self.layouts.base
        self.progress("diagnosing the layout")
        before = self.simulate(base, crn=False)
        before_verdicts = _merge(screen(base), simulated(before))
        self.load_at_stake = any(v.target in LOAD_TARGETS for v in missed(before_verdicts))
        if not missed(before_verdicts):
            return Plan([], before, None, before_verdicts, before_verdicts, [], base,
                        self._stats(start), self.domain_losses(base, base))
        moves = self.propose(before_verdicts)
        self.progress("verifying")
        moves = self.more_replicas(moves)
        moves = self.more_workers(moves)
        moves = self.minimise(moves)
        layout = self.layouts.build(combine(moves))
        after = self.simulate(layout, crn=False) if moves else before
        after_verdicts = _merge(screen(layout), simulated(after)) if moves else before_verdicts
        self.bound_misses(after_verdicts)
        moves = self.savings(moves)
        return Plan(moves, before, after if moves else None, before_verdicts, after_verdicts, self.bounds, layout,
                    self._stats(start), self.domain_losses(base, layout))

    def domain_losses(self, before: Layout, after: Layout) -> dict:
        """Per level (the survive levels, else the outermost with several domains), every
        domain's settled loss before and after the plan."""
        c = before.cluster
        levels = list(c.slo.survive) or [next((lv for lv in ("region", "datacenter", "rack", "server")
                                              if len(c.domains_of_kind(lv)) > 1), "server")]
        return {level: {"target": level in c.slo.survive,
                        "domains": [{"domain": b.domain, "before": b.as_dict(), "after": a.as_dict()}
                                    for b, a in zip(before.verdicts(level), after.verdicts(level))]}
                for level in levels}

    def minutes(self, moves: list[Move]) -> float | None:
        """API plus targeted workloads' downtime, minutes a year, if this plan was simulated (CRN)."""
        hit = self._simulated.get((id(self.layouts.build(combine(moves))), True))
        if hit is None:
            return None
        targeted = hit["slo"]["checks"]
        names = {ch["name"].split(".", 1)[1] for ch in targeted if ch["name"].startswith("workloads.")}
        total = hit["control_plane"]["downtime_minutes_per_year"]["estimate"]
        return total + sum(w["downtime_minutes_per_year"]["estimate"] for w in hit["workloads"] if w["name"] in names)

    def savings(self, moves: list[Move]) -> list[Move]:
        """Minutes a year each move saves on the targets' figures (its last unit for a count),
        where both plans were simulated on the same histories."""
        final = self.minutes(moves)
        out = []
        for i, move in enumerate(moves):
            fewer = self._one_fewer(move)
            without = self.minutes([*moves[:i], *([fewer] if fewer else []), *moves[i + 1:]])
            saved = None if final is None or without is None else round(without - final, 3)
            out.append(replace(move, extra={**move.extra, "saved_minutes_per_year": saved}))
        return out

    def _stats(self, start: float) -> dict:
        return {"layouts_built": self.layouts.built, "simulations": self.simulations,
                "cpu_seconds_main_process": round(time.process_time() - start, 2)}

    def propose(self, verdicts: list[Verdict]) -> list[Move]:
        layout = self.layouts.base
        c = layout.cluster
        doc = self.doc
        moves: list[Move] = []
        bad = {v.target for v in missed(verdicts)}
        # Rules first: they cost nothing.
        self.progress("screening rule changes")
        moves += [replace(m, why=self._why_spread(m, bad)) for m in spread_moves(self.layouts, layout, doc, moves)]
        slow = {t.split(".", 1)[1] for t in bad if t.startswith("workloads.")}
        moves += [replace(m, why=f"workloads.{m.subject}") for m in rollout_moves(layout, doc, slow)]
        # Quorum.
        current = self.layouts.build(combine(moves))
        quorum_bad = any("quorum" in v.detail for v in missed(screen(current)) if v.target.startswith("survive.")) \
            or any(v.target == "controlPlane" and not v.met for v in screen(current))
        if quorum_bad:
            self.progress("searching member placements")
            site = self._site_level(current, screen(current))
            found, bound = member_placements(current, doc, member_sizes(len(c.members), self.options.etcd_sizes),
                                             site, c.slo.control_plane if "controlPlane" in bad else None)
            for move in found:
                trial = self.layouts.build(combine([*moves, move]))
                if not any("quorum" in v.detail for v in missed(screen(trial))):
                    why = next((t for t in sorted(bad) if t.startswith("survive.")), "controlPlane")
                    moves.append(replace(move, why=why, gain=self._member_gain(current, trial, move)))
                    break
            else:
                self.bounds.append({"target": "controlPlane" if "controlPlane" in bad else "quorum",
                                    "bound": bound, "detail": self._member_bound(current, site, bound)})
        # Capacity and replicas, until the screen passes.
        moves = self.capacity(moves, {v.target for v in missed(verdicts) if v.how == "simulated"})
        return moves

    @staticmethod
    def _site_level(layout: Layout, verdicts: list[Verdict]) -> str:
        """Where members are spread: the outermost survive level whose loss loses quorum (it
        must hold), else the outermost level with at least three domains (three sites let
        any one go)."""
        c = layout.cluster
        for v in verdicts:
            if v.target.startswith("survive.") and not v.met and "quorum" in v.detail:
                return v.target.split(".", 1)[1]
        counts = {lv: sum(1 for d in c.domains_of_kind(lv)) for lv in ("region", "datacenter", "rack", "server")}
        return next((lv for lv, n in counts.items() if n >= 3), "server")

    def _member_gain(self, before: Layout, after: Layout, move: Move) -> str:
        n0, n1 = move.extra["members"]
        size = f"{n0} members" if n0 == n1 else f"{n0} -> {n1} members"
        return (f"{size}, {move.extra['moved']} moved; exact quorum availability "
                f"{100 * (before.quorum_exact or 0):.5g}% -> {100 * (after.quorum_exact or 0):.5g}%")

    def _member_bound(self, layout: Layout, site: str, bound: float | None) -> str:
        sites = len(layout.cluster.domains_of_kind(site))
        if bound is None:
            return (f"no placement of up to 7 members over the {sites} {site}s keeps quorum through the loss of "
                    f"any one {site}: that needs at least 3 {site}s")
        return (f"no member placement over the {sites} {site}s reaches the target; the best keeps quorum "
                f"{100 * bound:.5g}% of the time: what the sites themselves allow")

    @staticmethod
    def _why_spread(move: Move, bad: set[str]) -> str:
        for t in sorted(bad):
            if t.startswith("survive.") or t == "maxPendingPods" or t == f"workloads.{move.subject}":
                return t
        return "maxPendingPods"

    def capacity(self, moves: list[Move], simulated_bad: set[str] = frozenset()) -> list[Move]:
        """Workers or node size while the screen misses fits, Pending or the limit (or the
        simulation misses the load targets: then every single node and server loss must settle
        within them); replicas while a domain's loss leaves a workload below minAvailable."""
        layout = self.layouts.build(combine(moves))
        bad = missed(screen(layout))
        short = [v for v in bad if v.target == "fits" or
                 (v.target.startswith("survive.") and ("Pending" in v.detail or "hottest" in v.detail))]
        load = sorted(simulated_bad & {"maxNodeUtilization", "maxPendingPods"})
        if load and not _load_ok(layout, load):
            short.append(Verdict(load[0], False, "simulated"))
        if short:
            self.progress("screening workers and node sizes")

            def passes(trial: Layout) -> bool:
                return not any(v.target == "fits" or (v.target.startswith("survive.") and
                                                      ("Pending" in v.detail or "hottest" in v.detail))
                               for v in missed(screen(trial))) and _load_ok(trial, load)
            placed = placement_moves(self.layouts, self.doc, moves, passes)
            found = [] if placed else capacity_moves(self.layouts, self.doc, moves, passes)
            if placed:
                moves = [*moves, replace(placed[0], why=short[0].target)]
            elif found:
                move, fewer = found[0]
                moves = [*moves, replace(move, why=short[0].target, fewer=fewer)]
            else:
                self.bounds.append({"target": short[0].target, "bound": None,
                                    "detail": "no pool within the search's bounds (64 workers added, nodes up to 4x "
                                              "as large) clears it"})
        layout = self.layouts.build(combine(moves))
        below = {name.strip() for v in missed(screen(layout)) if v.target.startswith("survive.")
                 for part in v.detail.split(";") if "below minAvailable:" in part
                 for name in part.split("below minAvailable:")[1].split(",")}
        if below:
            self.progress("screening replicas")

            def clears(trial: Layout) -> bool:
                return not any(v.target.startswith("survive.") for v in missed(screen(trial)))
            for move, fewer in replica_moves(self.layouts, self.doc, moves, below, clears):
                why = next((v.target for v in missed(screen(layout)) if move.subject in v.detail), "survive")
                moves.append(replace(move, why=why, fewer=fewer, gain=f"a {why.split('.')[-1]} loss keeps "
                                                                      f"{move.extra['minAvailable']} ready"))
        return moves

    def more_replicas(self, moves: list[Move]) -> list[Move]:
        """One replica more at a time (budget kept) for workloads whose availability target the
        simulation still misses, verified on common random numbers."""
        for _ in range(MAX_REPLICA_STEPS):
            verdicts = self.judge(moves)
            slow = [v.target.split(".", 1)[1] for v in missed(verdicts)
                    if v.target.startswith("workloads.") and v.how == "simulated"]
            if not slow:
                break
            layout = self.layouts.build(combine(moves))
            c, m = layout.cluster, layout.model
            added = False
            for name in slow:
                i = next(k for k, w in enumerate(c.workloads) if w.name == name)
                if c.workloads[i].kind == "DaemonSet":
                    continue
                prior = next((mv for mv in moves if mv.kind == "replicas" and mv.subject == name), None)
                keep = prior.extra["minAvailable"] if prior else m.workload_required[i]
                before = prior.before if prior else c.workloads[i].replicas
                move = set_replicas(self.doc, self.layouts.base.cluster, i, c.workloads[i].replicas + 1, keep)
                move = replace(move, before=before, units=move.after - before,
                               cost=move.cost / max(1, move.units) * (move.after - before),
                               why=f"workloads.{name}",
                               gain=f"{move.after} replicas, a budget keeping {keep}: one failure no longer "
                                    "takes it below minAvailable")
                moves = [mv for mv in moves if mv is not prior] + [move]
                added = True
            if not added:
                break
        return moves

    def more_workers(self, moves: list[Move]) -> list[Move]:
        """One worker more at a time in the pool the plan grows, while the simulation still
        finds a load target missed. The screen judges each node and server loss on the
        initial placement; the simulated figures also see the pods that earlier failures and
        rollouts left concentrated (nothing rebalances), which can need more."""
        from .moves import add_workers

        for _ in range(MAX_LOAD_STEPS):
            load = {v.target for v in missed(self.judge(moves)) if v.how == "simulated"} & LOAD_TARGETS
            grown = next((m for m in moves if m.kind == "workers"), None)
            if not load or grown is None:
                return moves
            self.progress("verifying one more worker")
            i = int(grown.path.split("[")[1].split("]")[0])
            bigger = add_workers(self.doc, self.layouts.base.cluster, i, grown.after + 1)
            moves = [replace(bigger, why=grown.why, gain=grown.gain) if m is grown else m for m in moves]
        return moves

    def minimise(self, moves: list[Move]) -> list[Move]:
        """Take each unit away once: the plan without it must miss a target (which is noted);
        a move nothing needs is dropped, a count that one unit fewer still meets is lowered."""
        self.progress("minimising")
        if missed(self.judge(moves)):
            return moves
        out = list(moves)
        for move in list(out):
            idx = out.index(move)
            while True:
                fewer = self._one_fewer(move)
                trial = [*out[:idx], *([fewer] if fewer else []), *out[idx + 1:]]
                verdicts = self.judge(trial)
                if unsure(verdicts):
                    unit = {"workers": "workers", "replicas": "replicas"}.get(move.kind, "")
                    label = ("without this change" if move.kind == "members" else
                             f"one fewer ({fewer.after} {unit})" if fewer else
                             f"one fewer ({move.before} {unit}, as today)" if move.units else "without this change")
                    verb = "misses" if missed(verdicts) else "no longer confirms"
                    move = replace(move, fewer=f"{label} {verb} {first_miss(verdicts)}")
                    out[idx] = move
                    break
                if fewer is None:  # not needed at all
                    del out[idx]
                    break
                move = replace(fewer, why=move.why, gain=move.gain, before=move.before)
                out[idx] = move
        return out

    def _one_fewer(self, move: Move) -> Move | None:
        """The move with one unit less (two members less, keeping an odd size), or None when
        that is no move at all."""
        if move.units <= 1 or move.kind == "members":
            return None  # members: smaller sizes were tried first by the placement search
        base = self.layouts.base.cluster
        if move.kind == "workers":
            i = int(move.path.split("[")[1].split("]")[0])
            from .moves import add_workers

            return add_workers(self.doc, base, i, move.after - 1)
        if move.kind == "replicas":
            i = int(move.path.split("[")[1].split("]")[0])
            return set_replicas(self.doc, base, i, move.after - 1, move.extra["minAvailable"])
        return None

    def bound_misses(self, verdicts: list[Verdict]) -> None:
        known = {b["target"] for b in self.bounds}
        for v in missed(verdicts):
            if v.target not in known:
                self.bounds.append({"target": v.target, "bound": None,
                                    "detail": f"no move in the plan's repertoire meets it: {v.detail}"})


def _load_ok(layout: Layout, targets: list[str]) -> bool:
    """Every single node and server loss settles within the load ``targets`` (the hottest
    node at or under maxNodeUtilization, at most maxPendingPods Pending): the failures that
    drive the simulated load figures."""
    if not targets:
        return True
    slo = layout.cluster.slo
    for level in ("node", "server"):
        for v in layout.verdicts(level):
            r = v.response
            if not r.nodes_lost:
                continue
            if "maxNodeUtilization" in targets and slo.max_node_utilization is not None \
                    and r.hottest > slo.max_node_utilization + 1e-9:
                return False
            if "maxPendingPods" in targets and v.pending > (slo.max_pending_pods or 0):
                return False
    return True


def make_plan(text: str, filename: str, survive: tuple[str, ...] = (), options: PlanOptions | None = None,
              progress: Callable[[str], None] | None = None) -> Plan:
    """The cheapest verified set of moves that meets the topology's targets (docs/plan.md)."""
    return Search(text, filename, survive, options or PlanOptions(), progress).run()
