"""Large-neighbourhood search over dispatching decisions, decoded by the simulator.

``lns(instance, goal, time_limit=60)`` improves a plan for as long as it is given (anytime) or
for a fixed number of ``iterations`` (reproducible: the same ``seed`` and ``iterations`` give
the same plan). Every candidate plan is a run of the simulator (``furnsim.sim.Simulator``), so
buffer mode, working time, transports and setups are exactly the simulator's; every plan kept
as incumbent is checked by the independent validator (``furnsim.validate``).

Representation: an incumbent is the *sequence of decisions* of one simulator run (at each
decision of the simulator, the job the deciding machine took) plus the incumbent's operation
start times. A neighbour is decoded as:

1. **prefix** -- the incumbent's first ``k`` decisions are replayed exactly (the simulator is
   deterministic, so the shop is in the incumbent's state at the ``k``-th decision, time
   ``t0``);
2. **window** -- in ``[t0, t0 + w)`` the decisions are perturbed; the neighbourhood decides
   which: *time window* (every machine: a random candidate with probability ``eps``),
   *machine group* (only the machines of one work center, perturbed more strongly), or
   *order set* (a few jobs moved earlier or later in the priority list); optional:
   *restart* (no prefix: an ε-noisy pass of the base rule from scratch, as
   ``rules.search_noisy``) and *cpsat* (CP-SAT re-optimises the window, or one work center
   in it, with the operations before it fixed and the machines after it fixed
   (``furnsim.solvers.cpsat.window``); its machine sequences are then followed to the end,
   a machine waiting for its next operation); the neighbourhood is drawn with weights
   by success rate;
3. **suffix** -- after the window the decisions follow either the *incumbent's priorities*
   (the candidate whose operation started earliest in the incumbent, i.e. the rest of the
   plan is kept as far as the shop allows) or the *base rule* (the best dispatching rule,
   which adapts to the changed state). The two suffix modes are chosen at random, each
   weighted by how often it has produced an improvement.

A neighbour replaces the current plan when its cost is not higher (plateau moves are
accepted; ``accept_worse`` > 0 also accepts a relative worsening up to that fraction,
shrinking linearly to 0 over the run); the best plan is returned. The start is the best
dispatching rule (every deterministic rule, as ``best-rule``) and, when a trained policy is
available for the goal, its greedy pass if that is cheaper (``start_ppo``). Deadlocked
neighbours (hard buffers) are rejected. ``docs/optimizer.md`` describes the method and the
benchmark (``benchmarks/lns_bench.py``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from furnsim.model import Instance
from furnsim.sim import Decision, Schedule, Simulator

__all__ = ["DEFAULT_NEIGHBOURHOODS", "NEIGHBOURHOODS", "LnsResult", "lns"]

#: the neighbourhood kinds (``neighbourhoods=`` picks some; ``details["moves"]`` counts them)
NEIGHBOURHOODS = ("window", "group", "orders", "restart", "cpsat")
#: the default: ``restart`` (a noisy pass of the base rule from scratch) did not help on the
#: benchmark weeks (docs/optimizer.md), so it is available but off; ``cpsat`` (CP-SAT on a
#: time window / work center, furnsim.solvers.cpsat.window) costs seconds per move on a demo
#: week and has not (yet) shown a gain at equal time there, so it is off by default too
DEFAULT_NEIGHBOURHOODS = ("window", "group", "orders")
_SUFFIX = ("incumbent", "rule")


@dataclass
class _Plan:
    cost: float
    choices: list[int]  # job taken at each decision (-1 = the machine waited)
    times: np.ndarray  # (n_decisions,) decision times
    key: np.ndarray  # (n_ops,) incumbent start time of each operation
    schedule: Schedule


@dataclass
class LnsResult:
    schedule: Schedule
    cost: float
    start_cost: float
    start: str  # what the search started from ("rule:ATCS", "ppo:speed")
    iterations: int
    improvements: int
    seconds: float
    history: list[tuple[int, float, float]]  # (iteration, seconds, best cost) at each new best
    moves: dict[str, dict[str, int]]  # per neighbourhood / suffix mode: tried, improved
    # (``cpsat`` also: solved, no_solution, solve_ms, build_ms)


class _Decoder:
    """One reusable simulator: replay a prefix, perturb a window, finish with a suffix policy."""

    def __init__(
        self,
        instance: Instance,
        goal: Any,
        rule: Any,
        buffers: str,
        anticipatory_setups: bool,
    ) -> None:
        from furnsim.goals import get_goal

        self.instance = instance
        self.goal = get_goal(goal)
        self.rule = rule
        self.sim = Simulator(instance, buffers=buffers, anticipatory_setups=anticipatory_setups)
        self.method = "lns"

    def run(
        self,
        choose: Callable[[Simulator, Decision, int], int | None],
        prefix: list[int] | None = None,
        k: int = 0,
        on_stall: Callable[[Decision], int] | None = None,
    ) -> _Plan | None:
        """A full run; ``prefix[:k]`` replayed, then ``choose(sim, decision, index)``.

        ``choose`` returning None makes the machine wait; where waiting would stall the shop,
        ``on_stall(decision)`` picks a job instead (without it the run fails). None when the
        run deadlocked (or a replayed choice is no longer legal)."""
        from furnsim.goals import cost

        sim = self.sim
        d = sim.reset()
        choices: list[int] = []
        times: list[float] = []
        dispatch, wait = sim.dispatch, sim.wait
        i = 0
        while d is not None:
            times.append(d.time)
            if prefix is not None and i < k:
                j: int | None = prefix[i]
                if j is not None and j < 0:
                    j = None
            else:
                j = choose(sim, d, i)
            if j is None and on_stall is not None and (prefix is None or i >= k):
                here = d
                try:
                    choices.append(-1)
                    d = wait()
                except RuntimeError:  # waiting would stall the shop
                    j = on_stall(here)
                    choices[-1] = int(j)
                    d = dispatch(j)
                i += 1
                continue
            choices.append(-1 if j is None else int(j))
            d = wait() if j is None else dispatch(j)
            i += 1
        if sim.deadlock is not None:
            return None
        s = sim.schedule(method=self.method)
        c = float(cost(s, self.goal, self.instance))
        if not math.isfinite(c):
            return None
        return _Plan(c, choices, np.asarray(times), _start_key(s), s)


def _start_key(s: Schedule) -> np.ndarray:
    k = np.asarray(s.times["start"], dtype=np.float64).copy()
    k[~np.isfinite(k)] = np.inf
    return k


def _lexkey(c: np.ndarray, key: np.ndarray) -> int:
    """The candidate with the smallest key, ties to the lowest job index."""
    m = key.min()
    return int(c[key <= m].min())


def lns(
    instance: Instance,
    goal: Any = "speed",
    *,
    time_limit: float | None = 60.0,
    iterations: int | None = None,
    seed: int = 0,
    buffers: str = "hard",
    anticipatory_setups: bool = True,
    start: Schedule | None = None,
    start_ppo: bool = True,
    eps: float = 0.1,
    accept_worse: float = 0.0,
    validate_incumbents: bool = True,
    neighbourhoods: tuple[str, ...] | list[str] | None = None,
    progress: Callable[[str, float], None] | None = None,
    cp_time: float = 1.0,
    cp_window: tuple[float, float] = (0.05, 0.2),
) -> LnsResult:
    """Improve a plan of ``instance`` for ``goal`` by large-neighbourhood search (module doc).

    Stops after ``iterations`` neighbours or before the next one would end past
    ``time_limit`` seconds (counted from the call, the start plans included), whichever
    comes first; at least one must be given. With ``iterations`` and no ``time_limit`` the
    result depends only on the instance, goal, options and ``seed``. ``start`` (a schedule,
    e.g. a CP-SAT or earlier plan) only sets the cost to beat: the search itself starts from
    the best rule / policy run, and ``start`` is returned when nothing cheaper is found.

    Neighbourhoods are drawn with weights ``(1 + improved) / (1 + tried)`` (success rate,
    start 1). ``cp_time``: deterministic CP-SAT budget of one ``cpsat`` move (one worker;
    with a ``time_limit`` also capped by the time left, so a run that hits the limit is not
    reproducible); ``cp_window``: its window's width as a range
    of fractions of the horizon.
    """
    from furnsim.goals import cost, get_goal
    from furnsim.rules import NoValidPlan, best_rule, get_rule

    if time_limit is None and iterations is None:
        raise ValueError("give time_limit or iterations")
    kinds = tuple(neighbourhoods) if neighbourhoods is not None else DEFAULT_NEIGHBOURHOODS
    bad = [n for n in kinds if n not in NEIGHBOURHOODS]
    if bad or not kinds:
        raise ValueError(f"neighbourhoods: choose from {', '.join(NEIGHBOURHOODS)}, not {bad}")
    t0 = time.perf_counter()
    g = get_goal(goal)
    say = progress or (lambda msg, frac: None)

    def frac() -> float:
        parts = []
        if time_limit:
            parts.append((time.perf_counter() - t0) / time_limit)
        if iterations:
            parts.append(it / iterations)
        return min(1.0, max(parts) if parts else 0.0)

    it = 0
    say("lns: trying the dispatching rules", 0.0)
    try:
        br = best_rule(
            instance, g, buffers=buffers, seed=0, anticipatory_setups=anticipatory_setups
        )
    except NoValidPlan:
        raise
    rule = get_rule(br.rule)
    dec = _Decoder(instance, g, rule, buffers, anticipatory_setups)

    def rule_choice(sim: Simulator, d: Decision, i: int) -> int:
        return rule.choose(sim, d)

    cur = dec.run(rule_choice)
    if cur is None:  # cannot happen: the rule's own run did not deadlock
        raise RuntimeError("the best rule's run deadlocked on replay")
    start_name = f"rule:{br.rule}"
    if start_ppo:
        p = _ppo_start(instance, g, dec)
        if p is not None and p.cost < cur.cost:
            cur, start_name = p, f"ppo:{g.name}"
    start_cost = cur.cost
    best = cur
    best_valid = _validate(best.schedule, instance, buffers, anticipatory_setups)
    if not best_valid:  # the decoder reproduces simulator runs; should never happen
        raise RuntimeError("the start plan is not valid")
    outside: tuple[float, Schedule] | None = None
    if start is not None:
        c0 = float(cost(start, g, instance))
        if (
            math.isfinite(c0)
            and c0 < best.cost
            and (
                not validate_incumbents or _validate(start, instance, buffers, anticipatory_setups)
            )
        ):
            outside = (c0, start)
    say(f"lns: start {start_name} cost {start_cost:,.2f}", frac())

    rng = np.random.default_rng(np.random.SeedSequence(seed))
    n_jobs = instance.compiled.n_jobs
    ci = instance.compiled
    machine_wc = ci.machine_wc
    wc_with_ops = np.unique(ci.op_wc)
    moves = {n: {"tried": 0, "improved": 0} for n in (*NEIGHBOURHOODS, *_SUFFIX)}
    weights = {"incumbent": 1.0, "rule": 1.0}
    window_model: Any = None  # the CP model for "cpsat" moves, built at the first one
    cp_stats: dict[str, float] = {"solved": 0, "no_solution": 0, "seconds": 0.0, "build_s": 0.0}
    history: list[tuple[int, float, float]] = [(0, time.perf_counter() - t0, best.cost)]
    improvements = 0
    longest = 0.0
    cap = iterations if iterations is not None else 10**12
    while it < cap:
        now = time.perf_counter() - t0
        if time_limit is not None and it and now + longest > time_limit:
            break
        if time_limit is not None and now >= time_limit:
            break
        t1 = time.perf_counter()
        it += 1
        # -- draw the neighbourhood (every draw is taken in the same order each iteration) --
        kw = np.array([(1.0 + moves[n]["improved"]) / (1.0 + moves[n]["tried"]) for n in kinds])
        kind = kinds[int(rng.choice(len(kinds), p=kw / kw.sum()))]
        wsum = weights["incumbent"] + weights["rule"]
        suffix = "incumbent" if rng.random() < weights["incumbent"] / wsum else "rule"
        n_dec = len(cur.choices)
        k = int(rng.integers(n_dec)) if n_dec else 0
        horizon = float(cur.times[-1]) if n_dec else 0.0
        t_start = float(cur.times[k]) if n_dec else 0.0
        width = horizon * float(rng.uniform(0.02, 0.25))
        t_end = t_start + width
        group_wc = int(wc_with_ops[int(rng.integers(wc_with_ops.size))]) if wc_with_ops.size else -1
        p_noise = float(eps * rng.uniform(0.5, 2.0)) if kind == "window" else 0.5
        key = cur.key
        if kind == "orders":
            m = max(1, int(round(n_jobs * float(rng.uniform(0.005, 0.05)))))
            jobs = rng.choice(n_jobs, size=min(m, n_jobs), replace=False)
            shift = horizon * float(rng.uniform(0.02, 0.3)) * (1 if rng.random() < 0.5 else -1)
            key = key.copy()
            ops = np.flatnonzero(np.isin(ci.op_job, jobs))
            key[ops] = key[ops] + shift
            # the changed priorities matter from the first of those operations on
            first = float(np.min(cur.key[ops])) if ops.size else t_start
            k = int(np.searchsorted(cur.times, min(first, t_start), side="left"))
            t_end = math.inf
        elif kind == "cpsat":
            t_end = t_start + horizon * float(rng.uniform(*cp_window))
            if rng.random() >= 0.5:
                group_wc = -1  # the whole window, else only work center group_wc
        elif kind == "restart":
            # a noisy pass of the base rule from the start (as rules.search_noisy): diversity
            k, t_end, suffix, p_noise = 0, math.inf, "rule", eps / 2
        sub = np.random.default_rng(rng.integers(2**63))
        seqs: dict[int, np.ndarray] = {}
        ptr: dict[int, int] = {}
        if kind == "cpsat":
            cp_seed = int(sub.integers(2**31))
            left = math.inf if time_limit is None else time_limit - (time.perf_counter() - t0)
            # building the model costs many passes on a week: only with half the budget left
            if left < 3 * cp_time or (window_model is None and left < 0.5 * (time_limit or 0)):
                it -= 1
                kinds = tuple(n for n in kinds if n != "cpsat") or kinds
                if kinds == ("cpsat",):
                    break
                continue
            tc = time.perf_counter()
            from furnsim.solvers.cpsat.window import WindowModel

            if window_model is None:
                say("lns: building the CP-SAT window model", frac())
                window_model = WindowModel(
                    instance,
                    g,
                    buffers=buffers,
                    anticipatory_setups=anticipatory_setups,
                    horizon=1.5 * float(np.nanmax(cur.schedule.times["leave"])),
                )
                cp_stats["build_s"] = time.perf_counter() - tc
            wr = window_model.solve(
                cur.schedule,
                t_start,
                t_end,
                wc=None if group_wc < 0 else group_wc,
                deterministic_time=cp_time,
                wall_time=left if time_limit is not None else None,
                seed=cp_seed,
            )
            cp_stats["seconds"] += time.perf_counter() - tc
            if wr.key is None or wr.machine is None:
                cp_stats["no_solution"] += 1
                moves[kind]["tried"] += 1
                longest = max(longest, time.perf_counter() - t1)
                continue
            else:
                cp_stats["solved"] += 1
                key = wr.key
                seqs = WindowModel.sequences(wr.key, wr.machine)
                ptr = dict.fromkeys(seqs, 0)
            k = int(np.searchsorted(cur.times, t_start, side="left"))
            t_end, suffix = math.inf, "incumbent"
        moves[kind]["tried"] += 1
        if kind not in ("restart", "cpsat"):
            moves[suffix]["tried"] += 1

        def choose(
            sim: Simulator,
            d: Decision,
            i: int,
            *,
            kind: str = kind,
            suffix: str = suffix,
            t_end: float = t_end,
            group_wc: int = group_wc,
            p_noise: float = p_noise,
            key: np.ndarray = key,
            sub: np.random.Generator = sub,
            seqs: dict[int, np.ndarray] = seqs,
            ptr: dict[int, int] = ptr,
        ) -> int | None:
            c = d.candidates
            if kind == "cpsat" and seqs:
                # follow CP-SAT's machine sequences, waiting for the next operation
                seq = seqs.get(d.machine)
                if seq is not None:
                    p = ptr[d.machine]
                    while p < seq.size and sim.rec_machine[seq[p]] >= 0:
                        p += 1
                    ptr[d.machine] = p
                    if p < seq.size:
                        hit = np.flatnonzero(d.ops == seq[p])
                        return int(c[hit[0]]) if hit.size else None
                return _lexkey(c, key[d.ops])
            if c.size == 1:
                return int(c[0])
            if d.time < t_end:
                if kind in ("window", "restart") and sub.random() < p_noise:
                    return int(c[sub.integers(c.size)])
                if (
                    kind == "group"
                    and int(machine_wc[d.machine]) == group_wc
                    and sub.random() < p_noise
                ):
                    return int(c[sub.integers(c.size)])
                if kind in ("orders", "cpsat"):
                    return _lexkey(c, key[d.ops])
            if suffix == "incumbent":
                return _lexkey(c, key[d.ops])
            return rule.choose(sim, d)

        def stall(d: Decision, key: np.ndarray = key) -> int:
            return _lexkey(d.candidates, key[d.ops])

        cand = dec.run(choose, cur.choices, k, on_stall=stall if kind == "cpsat" else None)
        longest = max(longest, time.perf_counter() - t1)
        if cand is None:
            continue
        tol = accept_worse * (1.0 - frac()) if accept_worse > 0 else 0.0
        if cand.cost <= cur.cost * (1.0 + tol) + 1e-9:
            cur = cand
        if cand.cost < best.cost - 1e-9:
            if validate_incumbents and not _validate(
                cand.schedule, instance, buffers, anticipatory_setups
            ):
                cur = best  # never keep an invalid plan (a simulator/validator disagreement)
                continue
            best = cand
            improvements += 1
            moves[kind]["improved"] += 1
            if kind not in ("restart", "cpsat"):
                moves[suffix]["improved"] += 1
                weights[suffix] += 1.0
            history.append((it, time.perf_counter() - t0, best.cost))
            say(f"lns: iteration {it}, cost {best.cost:,.2f}", frac())
    if "cpsat" in moves and moves["cpsat"]["tried"]:
        moves["cpsat"].update(
            solved=int(cp_stats["solved"]),
            no_solution=int(cp_stats["no_solution"]),
            solve_ms=int(1000 * cp_stats["seconds"]),
            build_ms=int(1000 * cp_stats["build_s"]),
        )
    schedule = best.schedule
    final_cost = best.cost
    if outside is not None and outside[0] < final_cost:
        final_cost, schedule = outside
    else:
        schedule.method = "lns"
    schedule.meta = {**schedule.meta, "lns_start": start_name, "lns_iterations": it}
    say(f"lns: {it} iterations, cost {start_cost:,.2f} -> {final_cost:,.2f}", 1.0)
    return LnsResult(
        schedule=schedule,
        cost=final_cost,
        start_cost=start_cost,
        start=start_name,
        iterations=it,
        improvements=improvements,
        seconds=round(time.perf_counter() - t0, 3),
        history=history,
        moves=moves,
    )


def _validate(s: Schedule, instance: Instance, buffers: str, anticipatory_setups: bool) -> bool:
    from furnsim.validate import validate

    return s.complete and not validate(
        s, instance, buffers=buffers, anticipatory_setups=anticipatory_setups
    )


def _ppo_start(instance: Instance, goal: Any, dec: _Decoder) -> _Plan | None:
    """The shipped policy's greedy pass for ``goal``, recorded as decisions; None if there is
    no usable model here (not installed, refused, or the pass deadlocked)."""
    from furnsim.errors import ModelRefused

    try:
        from furnsim.rl.policy import load_planner

        planner = load_planner(goal.name)
    except (ImportError, FileNotFoundError, ModelRefused, KeyError, ValueError, OSError):
        return None
    reset = getattr(planner, "reset", None)
    if callable(reset):
        reset(0)

    def choose(sim: Simulator, d: Decision, i: int) -> int:
        return int(planner.choose(sim, d))

    try:
        return dec.run(choose)
    except Exception:  # noqa: BLE001 - a policy failure only loses this start candidate
        return None
