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
   a machine waiting for its next operation), *kit* (the early parts of waiting kits later
   in the priority list), *hold* (those parts also held at STORE: a recorded intentional
   hold, so that their machines take other work first) and *hold-wait* (the jobs that queue
   longest in bounded buffers held at STORE by a part of that wait) -- both default for goals
   that weigh buffer occupancy; the neighbourhood is drawn with weights by success rate;
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

Decoding runs in the simulator's compiled event loop where numba is installed (``fast=True``):
the stretches that follow a static priority (the incumbent-priority suffix, an order-set move
after its prefix, a base rule with ``Rule.static_key``) are decided there in one call each
(``Simulator.run_priority``), and so is a base rule with a compiled pick in the loop
(``Rule.loop``: every other deterministic rule; ``Simulator.run_rule``); they are read back
from the dispatch log -- the same decisions, plans and random draws as deciding each one in
Python (``fast=False``; tests/test_lns_fast.py).
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from furnsim.model import Instance
from furnsim.sim import Decision, Noise, Schedule, Simulator
from furnsim.solvers.release import (
    ReleaseSaving,
    release_if_cheaper,
    release_just_in_time,
    releasing,
    store_held_jobs,
    wants_release,
)

__all__ = [
    "BUFFER_LANES",
    "DEFAULT_NEIGHBOURHOODS",
    "LANE_PHASE",
    "default_lanes",
    "HOLD_NEIGHBOURHOODS",
    "default_neighbourhoods",
    "NEIGHBOURHOODS",
    "POLICY_NEIGHBOURHOODS",
    "LnsResult",
    "kind_weights",
    "lns",
    "policy_sample",
]

#: a ``cpsat`` move's wall limit with a time budget: a tenth of the budget, at least this many
#: times ``cp_time`` (a move that finds nothing in it drops the neighbourhood for the run)
CP_WALL_MOVES = 5.0
#: the neighbourhood kinds (``neighbourhoods=`` picks some; ``details["moves"]`` counts them)
NEIGHBOURHOODS = (
    "window",
    "group",
    "orders",
    "kit",
    "hold",
    "hold-wait",
    "restart",
    "tail",
    "cpsat",
    "policy-window",
    "policy-tail",
)
#: the neighbourhoods that need a learned ``policy`` (``lns(..., policy=...)``)
POLICY_NEIGHBOURHOODS = ("policy-window", "policy-tail")
#: the default: ``restart`` (a noisy pass of the base rule from scratch) did not help on the
#: benchmark weeks (docs/optimizer.md), so it is available but off; ``cpsat`` (CP-SAT on a
#: time window / work center, furnsim.solvers.cpsat.window) costs seconds per move on a demo
#: week and has not (yet) shown a gain at equal time there, so it is off by default too
DEFAULT_NEIGHBOURHOODS = ("window", "group", "orders")
#: the hold moves (jobs held at STORE) join the defaults for a goal that weighs buffer
#: occupancy (Empty Buffers; docs/optimizer.md, "Hold moves"); plants without assemblies
#: leave ``hold`` out, re-plans both
HOLD_NEIGHBOURHOODS = ("hold", "hold-wait")
#: the portfolio lanes (``lanes``) of a goal that weighs buffer occupancy when none are given:
#: with the hold moves two seeds' plans of a week differ by a factor of 1.2 on average and the
#: basin is set in the first seconds, so 4 lanes halved at 1/4 and 1/2 of the budget beat one
#: search (docs/optimizer.md, "Lanes for Empty Buffers"); other goals search one lane
BUFFER_LANES = 4
#: where lanes 1.. start (``lane_starts``): "rules" -- the next cheapest start plans (the other
#: dispatching rules' plans, the policy's pass in ``ppo-lns``), cheapest first; "same" -- all
#: lanes from the one start (before 2026-12-04)
LANE_STARTS = ("rules", "same")
#: the budget fraction by which the halvings of the lanes are done (``lane_phase``)
LANE_PHASE = 0.5


def default_lanes(goal: Any) -> int:
    """The portfolio lanes ``lns`` searches for ``goal`` when ``lanes`` is not given:
    :data:`BUFFER_LANES` for a goal that weighs buffer occupancy (``release.wants_release``),
    else 1."""
    return BUFFER_LANES if wants_release(goal) else 1


def default_neighbourhoods(goal: Any, base: tuple[str, ...] = DEFAULT_NEIGHBOURHOODS) -> tuple:
    """The neighbourhoods ``lns`` draws for ``goal`` when none are given: ``base``, and
    :data:`HOLD_NEIGHBOURHOODS` for a goal that weighs buffer occupancy
    (``release.wants_release``)."""
    if not wants_release(goal):
        return tuple(base)
    return (*base, *(n for n in HOLD_NEIGHBOURHOODS if n not in base))


_SUFFIX = ("incumbent", "rule", "policy")  # "policy": only with a policy and policy_suffix
#: decide the base rule's stretches (its own start run, the rule suffix) in the compiled loop
#: when the rule has a compiled pick there (``Simulator.run_rule``; the same search either
#: way: tests/test_lns_fast.py switches it off to compare)
COMPILED_RULE_SUFFIX = True
#: a neighbour's one-candidate decisions after its prefix are taken by the simulator with the
#: dispatch before them (``choose`` takes the only candidate without a draw: the same search;
#: tests/test_lns_fast.py switches it off to compare)
SKIP_SINGLES = True
#: decide a window / group move's window in the compiled loop too, its random decisions
#: included (``furnsim.sim.Noise``: the same draws; tests/test_lns_fast.py compares)
COMPILED_NOISE = True
#: with ``per_second``, a neighbourhood's time per move counts once it has made this many
TIMED_AFTER = 5
#: replay a neighbour's prefix after its snapshot in the compiled loop in one call
#: (``Simulator.run_choices``; tests/test_lns_fast.py switches it off to compare)
REPLAY_COMPILED = True


def _read_log(new: list[tuple[float, int, int]], choices: list[int], times: list[float]) -> None:
    """Append the jobs and times of dispatch-log entries ``(time, machine, job)``."""
    if new:
        ts, _ms, js = zip(*new, strict=True)
        choices.extend(js)
        times.extend(ts)


@dataclass
class _Plan:
    cost: float
    choices: list[int]  # job taken at each decision (-1 = the machine waited)
    times: np.ndarray  # (n_decisions,) decision times
    key: np.ndarray  # (n_ops,) incumbent start time of each operation
    end: np.ndarray  # (n_jobs,) completion (end of the last operation) of each job
    snap_at: list[int]  # decision indices of the snapshots, ascending
    snaps: list[dict[str, Any]]  # the simulator's state at those decisions (Simulator.snapshot)
    schedule: Schedule | None = None  # built for new bests only (Decoder.schedule)
    prio: np.ndarray | None = None  # (n_ops, n_machines) ``key`` as ranks (_rank_prio), lazily
    #: STORE holds of the run ({job: until}; ``hold`` moves): placed at its reset
    holds: dict[int, float] = field(default_factory=dict)
    depart: np.ndarray | None = None  # (n_jobs,) STORE departure of each job (``hold`` moves)
    #: (n_jobs,) minutes each job waits in buffers after its first operation's, and what
    #: that waiting costs in buffer load (volume / capacity · minutes; ``hold-wait`` moves)
    wait_min: np.ndarray | None = None
    wait_load: np.ndarray | None = None


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
    clock: str = "wall"  # what ``seconds`` and the time limit count: "wall" | "cpu"
    validations: int = 0  # validator calls (the returned best first, older bests if invalid)
    start_s: float = 0.0  # seconds (``clock``) until the search began: the start plans + check
    longest_s: float = 0.0  # the longest neighbour's seconds (the stopping rule's margin)
    search_s: float = 0.0  # seconds (``clock``) of the neighbours alone (no start, no check)
    compiled: int = 0  # decisions taken in the compiled loop by a static priority or the base
    # rule's compiled pick, many per call (``fast``)
    decisions: int = 0  # decisions of all neighbours (resumed from snapshots: not counted)
    released: int = 0  # jobs the returned plan holds at STORE (release control; 0: none)
    #: seconds (``clock``) spent on each neighbourhood's moves
    move_s: dict[str, float] | None = None
    lanes: int = 1  # portfolio lanes the search began with (``lns(lanes=...)``)
    lane_iterations: list[int] | None = None  # neighbours each lane made
    lane_costs: list[float] | None = None  # the best (search) cost each lane found
    lane_starts: list[str] | None = None  # the plan each lane started from ("rule:ATCS", ...)


class _Decoder:
    """One reusable simulator: resume a prefix (from a snapshot of the incumbent's run, else
    replayed), perturb a window, finish with a suffix policy."""

    #: snapshots per run (the first run sets the stride: decisions // this); 8 rather than 24
    #: since 2026-12-04: the compiled replay between them is cheaper than copying more
    SNAPSHOTS = 8

    def __init__(
        self,
        instance: Instance,
        goal: Any,
        rule: Any,
        buffers: str,
        anticipatory_setups: bool,
        snapshots: bool = True,
        fast: bool = True,
    ) -> None:
        from furnsim.goals import get_goal

        self.instance = instance
        self.goal = get_goal(goal)
        self.rule = rule
        # fast: the compiled event loop (furnsim/sim/_fastloop.py) where numba is installed
        # and the run needs nothing only the Python engine does (the same runs either way)
        self.sim = Simulator(
            instance, buffers=buffers, anticipatory_setups=anticipatory_setups, fast=fast
        )
        self.method = "lns"
        #: release control (furnsim.solvers.release): the estimated saving of releasing a
        #: run just in time is taken off its cost; None: the plain cost
        self.saving: Any = None
        self.stride = 0  # 0 = not known yet (set by the first run)
        self.snapshots = bool(snapshots)
        if self.snapshots:
            try:  # a shop situation (re-plan: pins, frozen ops) or holds: replay instead
                self.sim.snapshot(compiled=True)
            except (ValueError, TypeError):
                self.snapshots = False
        ci = instance.compiled
        self.release = np.asarray(ci.job_release, dtype=np.float64)
        #: the operations after a job's first, and the buffer load of one minute of waiting
        #: for each (volume / capacity of its work center's buffer; 0 unbounded)
        self.op_job = np.asarray(ci.op_job, dtype=np.int64)
        later = np.ones(int(ci.n_ops), dtype=bool)
        later[np.asarray(ci.job_op_start[:-1], dtype=np.int64)[np.diff(ci.job_op_start) > 0]] = (
            False
        )
        self.later = later
        cap = np.asarray(ci.wc_capacity, dtype=np.float64)[np.asarray(ci.op_wc)]
        self.op_w = np.where(
            np.isfinite(cap) & (cap > 0), ci.op_volume / np.where(cap > 0, cap, 1), 0
        )
        #: record each run's waiting in buffers (``_Plan.wait_min`` / ``wait_load``): only a
        #: search with ``hold-wait`` moves reads it
        self.track_wait = False
        self.replayed = 0  # decisions replayed (not resumed from a snapshot), all runs
        self.compiled = 0  # decisions taken many per call (run_priority, run_rule)
        self.made = 0  # decisions made or replayed (not resumed from a snapshot), all runs
        #: how the compiled loop decides the base rule's stretches (:meth:`compiled_pick`)
        self.rule_pick = self.compiled_pick(rule)

    def compiled_pick(self, rule: Any) -> np.ndarray | Any:
        """What the compiled loop decides ``rule``'s stretches by (``static``'s second item in
        :meth:`run`): its static priority ((n_ops, n_machines)) where it has one, else the
        rule itself for ``Simulator.run_rule`` when the compiled loop has its pick
        (``Rule.loop``) and picks compiled anyway (``rules.HAVE_NUMBA``); None: it is decided
        one call per decision."""
        from furnsim import rules as rules_mod

        sk = getattr(rule, "static_key", None)
        if sk is not None:
            return np.ascontiguousarray(sk(self.sim.state.static), dtype=np.float64)
        if (
            COMPILED_RULE_SUFFIX
            and rules_mod.HAVE_NUMBA
            and getattr(rule, "loop", None) is not None
        ):
            return rule
        return None

    def run(
        self,
        choose: Callable[[Simulator, Decision, int], int | None],
        base: _Plan | None = None,
        k: int = 0,
        on_stall: Callable[[Decision], int] | None = None,
        static: tuple[float, Any] | None = None,
        singles: bool = False,
        noise: Noise | None = None,
        holds: dict[int, float] | None = None,
    ) -> _Plan | None:
        """A full run; ``base.choices[:k]`` kept (resumed from ``base``'s latest snapshot at or
        before ``k``, the rest replayed), then ``choose(sim, decision, index)``.

        ``choose`` returning None makes the machine wait; where waiting would stall the shop,
        ``on_stall(decision)`` picks a job instead (without it the run fails). None when the
        run deadlocked (or a replayed choice is no longer legal). The cost is the goal's
        (``partial_cost`` of the finished run = ``cost`` of its schedule); the schedule is
        built only on request (:meth:`schedule`, right after the run).

        ``static = (t, prio)`` says that from the first decision after the prefix at time
        >= ``t`` on, ``choose`` takes the candidate with the smallest ``prio[op, machine]``
        (ties as ``Simulator.run_priority``), ``static = (t, rule)`` that it takes
        ``rule.choose``'s pick (a rule with a compiled loop pick, ``Simulator.run_rule``); in
        the compiled loop those decisions are then taken there in one call (stopping at the
        snapshot decisions) and read back from the dispatch log: the same run, the same
        recorded decisions. ``singles``: ``choose`` takes the only candidate of every
        decision after the prefix that has one (no draw, no wait); those are then taken by
        the simulator with the dispatch before them (``dispatch(skip_single=True)``, stopping
        at the snapshot decisions) and read back from the dispatch log. ``noise`` (a
        :class:`~furnsim.sim.Noise`, with ``static``): the random decisions ``choose`` takes
        among the static ones, drawn in the compiled loop the same way. ``holds``: the
        run's STORE holds ({job: until}, as placed at its reset); default ``base``'s (none
        without ``base``). With other holds than ``base``'s, the prefix ends before the first
        changed release (the earlier of a changed job's old and new release from STORE: the
        decisions before it are the same). A snapshot taken with other holds (an earlier
        plan's, inherited before they changed) is resumed with the holds re-timed
        (``Simulator.retime_store_holds``); where that cannot be done, the run is reset with
        ``holds`` and the prefix replayed."""
        from furnsim.goals import partial_cost

        sim = self.sim
        prefix = base.choices if base is not None else None
        k = min(k, len(prefix)) if prefix is not None else 0
        base_holds = base.holds if base is not None else {}
        if holds is None:
            holds = base_holds
        retime = holds != base_holds
        if retime and base is not None and k > 0:
            rel = self.release
            t_h = min(
                min(base_holds.get(j, rel[j]), holds.get(j, rel[j]))
                for j in set(base_holds) | set(holds)
                if base_holds.get(j) != holds.get(j)
            )
            k = min(k, int(np.searchsorted(base.times, t_h, side="left")))
        d = None
        # a snapshot before decision k (before k - 1 where the holds change: its time must be
        # before the first changed release)
        last = k - 1 if retime else k
        if base is not None and last > 0 and base.snap_at and self.snapshots:
            at = bisect.bisect_right(base.snap_at, last) - 1
            if at >= 0:
                i = base.snap_at[at]
                # (with the holds of the run that took it: base's, or an earlier plan's
                # before they changed)
                d = sim.restore(base.snaps[at])
                if sim.store_holds != holds and not sim.retime_store_holds(holds):
                    at = -1
            if at >= 0:
                choices = base.choices[:i]
                times = base.times[:i].tolist()
                snap_at, snaps = base.snap_at[: at + 1], base.snaps[: at + 1]
        if d is None or at < 0:
            sim.store_holds = dict(holds)
            d = sim.reset()
            choices, times, snap_at, snaps, i = [], [], [], [], 0
        self.replayed += max(k - i, 0)
        i_start = i
        stride = self.stride
        dispatch, wait = sim.dispatch, sim.wait
        replay = REPLAY_COMPILED and prefix is not None and sim._fast
        # (a run with holds that left the compiled loop takes no more snapshots)
        snapping = self.snapshots
        while d is not None:
            if snapping and stride and i % stride == 0 and (not snap_at or snap_at[-1] < i):
                try:
                    snaps.append(sim.snapshot(compiled=True))
                    snap_at.append(i)
                except ValueError:
                    snapping = False
            if replay and i < k:
                # the prefix up to the next snapshot decision: in the compiled loop in one call
                # when it holds no wait; read back from the dispatch log
                nxt = (i // stride + 1) * stride if self.snapshots and stride else k
                seg = prefix[i : min(k, nxt)]  # type: ignore[index]
                if min(seg) >= 0:
                    n0 = len(sim.dispatch_log)
                    d = sim.run_choices(seg)
                    new = sim.dispatch_log[n0:]
                    _read_log(new, choices, times)
                    i += len(new)
                    continue
            if static is not None and i >= k and d.time >= static[0] and sim._fast:
                # the rest by a static priority or a rule: in the compiled loop, in one call per
                # stretch between snapshots; its decisions are the dispatch log's (no waits)
                prio, log = static[1], sim.dispatch_log
                go = sim.run_priority if isinstance(prio, np.ndarray) else sim.run_rule
                i0, n0 = i, len(log)
                while d is not None:
                    nxt = (i // stride + 1) * stride if self.snapshots and stride else 0
                    d = go(prio, until=n0 + nxt - i0 if nxt else None, noise=noise)
                    new = log[n0 + i - i0 :]
                    _read_log(new, choices, times)
                    i += len(new)
                    if d is not None and nxt:
                        snap_at.append(i)
                        snaps.append(sim.snapshot(compiled=True))  # (compiled: holds kept)
                self.compiled += i - i0
                break
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
            if j is not None and singles and i >= k:
                # the one-candidate decisions after it are the simulator's to take (the same
                # job ``choose`` returns), up to the next snapshot decision
                log = sim.dispatch_log
                n0 = len(log)
                nxt = (i // stride + 1) * stride if self.snapshots and stride else 0
                d = dispatch(j, skip_single=True, until=n0 + nxt - i if nxt else None)
                new = log[n0 + 1 :]
                _read_log(new, choices, times)
                i += 1 + len(new)
                continue
            d = wait() if j is None else dispatch(j)
            i += 1
        self.made += len(choices) - i_start
        if sim.deadlock is not None:
            return None
        c = float(partial_cost(sim, self.goal))
        if not math.isfinite(c):
            return None
        if self.saving is not None:
            c -= self.saving(sim.rec)
        if not stride:
            self.stride = max(1, len(choices) // self.SNAPSHOTS)
        rec = sim.rec
        key = np.asarray(rec["start"], dtype=np.float64).copy()
        key[~np.isfinite(key)] = np.inf
        end = np.asarray(rec["end"], dtype=np.float64)[sim.state.static.job_last]
        od = np.asarray(rec["depart"], dtype=np.float64)
        dep = od[sim.state.static.job_first]
        wait_min = wait_load = None
        if self.track_wait:
            wq = np.where(self.later, np.nan_to_num(key - od, posinf=0.0, neginf=0.0), 0.0)
            wait_min = np.bincount(self.op_job, weights=wq, minlength=dep.size)
            wait_load = np.bincount(self.op_job, weights=wq * self.op_w, minlength=dep.size)
        return _Plan(
            c,
            choices,
            np.asarray(times),
            key,
            end,
            snap_at,
            snaps,
            holds=dict(holds),
            depart=dep,
            wait_min=wait_min,
            wait_load=wait_load,
        )

    def schedule(self, plan: _Plan) -> Schedule:
        """The schedule of the run just made (``plan`` must be the last run's result)."""
        plan.schedule = self.sim.schedule(method=self.method)
        return plan.schedule


#: neighbourhoods that set their own suffix (not counted in the suffix modes' statistics)
_NO_SUFFIX = ("restart", "tail", "cpsat", "policy-tail", "kit", "hold", "hold-wait")
#: the neighbourhoods that hold jobs at STORE (not in a re-plan: its STORE is the shop's)
_HOLDING = ("hold", "hold-wait")


def policy_sample(
    policy: Any,
    sim: Simulator,
    d: Decision,
    temperature: float,
    rng: np.random.Generator,
    exclude: int | None = None,
) -> int:
    """A job drawn from ``policy``'s distribution at decision ``d``: softmax(logits /
    ``temperature``) over the jobs it scores (``temperature`` 0 = the arg-max, no draw),
    without ``exclude`` (then the arg-max of the others; if it scores no other job,
    ``exclude`` itself comes back)."""
    jobs, s = policy.scores(sim, d)
    s = np.asarray(s, dtype=np.float64)
    if exclude is not None:
        s = np.where(jobs == exclude, -np.inf, s)
    top = float(s.max()) if s.size else -np.inf
    if not math.isfinite(top):
        return int(exclude if exclude is not None else d.candidates[0])
    if temperature <= 0:
        return int(jobs[int(np.argmax(s))])
    p = np.exp((s - top) / temperature)
    cum = np.cumsum(p)
    i = int(np.searchsorted(cum, rng.random() * cum[-1], side="right"))
    return int(jobs[min(i, jobs.size - 1)])


def kind_weights(
    kinds: tuple[str, ...],
    moves: dict[str, dict[str, int]],
    spent: dict[str, float] | None = None,
    prior: np.ndarray | None = None,
) -> np.ndarray:
    """The draw weights of the neighbourhoods ``kinds``: success rate ``(1 + improved) / (1 +
    tried)`` times ``prior``. With ``spent`` (seconds spent on each kind's moves), a policy
    neighbourhood's weight (``POLICY_NEIGHBOURHOODS``: it runs the network at its decisions)
    is its improvements per second compared with the other moves': its rate times the other
    moves' mean seconds per move over its own, once it has made ``TIMED_AFTER`` moves. The
    other kinds cost about the same per move and keep their rates."""
    w = np.array([(1.0 + moves[n]["improved"]) / (1.0 + moves[n]["tried"]) for n in kinds])
    if prior is not None:
        w = w * prior
    if spent is None:
        return w
    timed = [n in POLICY_NEIGHBOURHOODS for n in kinds]
    ref = [n for n, t in zip(kinds, timed, strict=True) if not t] or list(kinds)
    n_ref = sum(moves[n]["tried"] for n in ref)
    s_ref = sum(spent[n] for n in ref)
    if not n_ref or not s_ref > 0:
        return w
    mean_ref = s_ref / n_ref
    return w * [
        mean_ref / (spent[n] / moves[n]["tried"])
        if t and moves[n]["tried"] >= TIMED_AFTER and spent[n] > 0
        else 1.0
        for n, t in zip(kinds, timed, strict=True)
    ]


def _without(
    kinds: tuple[str, ...], kind: str, prior: dict[str, float]
) -> tuple[tuple[str, ...], np.ndarray]:
    """``kinds`` without ``kind`` (a neighbourhood with nothing left to move), and the prior
    factors of the kinds left (one per kind, in order)."""
    left = tuple(n for n in kinds if n != kind)
    return left, np.array([prior.get(n, 1.0) for n in left])


def _lexkey(c: np.ndarray, key: np.ndarray) -> int:
    """The candidate with the smallest key, ties to the lowest job index."""
    m = key.min()
    return int(c[key <= m].min())


def _rank_prio(key: np.ndarray, n_machines: int) -> np.ndarray:
    """``key`` (per operation; finite or +inf) as a static priority for
    ``Simulator.run_priority`` that chooses exactly as :func:`_lexkey`: the finite values
    become their ranks among the distinct values (0, 1, ...; equal values equal ranks, so the
    run's tolerance of ``1e-9 · max(1, |min|)`` never ties two different keys), +inf stays
    (all-infinite candidates tie), ties to the lowest job; the same for every machine."""
    fin = np.isfinite(key)
    r = np.full(key.shape[0], np.inf)
    r[fin] = np.searchsorted(np.unique(key[fin]), key[fin])
    return np.ascontiguousarray(np.broadcast_to(r[:, None], (key.shape[0], n_machines)))


def _incumbent_prio(p: _Plan, n_machines: int) -> np.ndarray:
    """The incumbent-priority suffix of plan ``p`` as a static priority (made once per plan)."""
    if p.prio is None:
        p.prio = _rank_prio(p.key, n_machines)
    return p.prio


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
    accept: str = "lahc",
    accept_worse: float = 0.0,
    lahc_length: int = 10,
    validate_incumbents: bool = True,
    neighbourhoods: tuple[str, ...] | list[str] | None = None,
    progress: Callable[[str, float], None] | None = None,
    cp_time: float = 1.0,
    cp_window: tuple[float, float] = (0.05, 0.2),
    clock: str = "wall",
    snapshots: bool = True,
    fast: bool = True,
    start_search: float = 0.0,
    policy: Any = None,
    temperature: float = 1.0,
    policy_suffix: bool = False,
    name: str = "lns",
    window_width: tuple[float, float] = (0.02, 0.25),
    orders_jobs: tuple[float, float] = (0.005, 0.05),
    orders_shift: tuple[float, float] = (0.02, 0.3),
    orders_targeted: float = 0.5,
    orders_target: str = "late",
    prior: dict[str, float] | None = None,
    release: str = "auto",
    suffix_draw: str = "count",
    per_second: bool = False,
    lanes: int | None = None,
    lane_phase: float = LANE_PHASE,
    lane_starts: str = "rules",
) -> LnsResult:
    """Improve a plan of ``instance`` for ``goal`` by large-neighbourhood search (module doc).

    Stops after ``iterations`` neighbours or before the next one would end past
    ``time_limit`` seconds (counted from the call, the start plans included), whichever
    comes first; at least one must be given. ``clock``: ``"wall"`` (``time.perf_counter``) or
    ``"cpu"`` (``time.process_time`` of this process: independent of other load on the
    machine). With ``iterations`` and no ``time_limit`` the result depends only on the
    instance, goal, options and ``seed``. ``start`` (a schedule, e.g. a CP-SAT or earlier
    plan) only sets the cost to beat: the search itself starts from the best rule / policy
    run, and ``start`` is returned when nothing cheaper is found.

    Neighbourhoods are drawn with weights ``(1 + improved) / (1 + tried)`` (success rate,
    start 1); with ``per_second`` (off by default: measured no better, docs/optimizer.md; only
    with a time limit and no ``iterations``, so that a fixed number of neighbours stays
    reproducible) a policy neighbourhood's rate is divided by its mean time per move relative
    to the other moves' (:func:`kind_weights`). Acceptance: ``"lahc"`` (default; late
    acceptance: a neighbour is taken when it
    is not worse than the current plan or than the current plan ``lahc_length`` iterations
    ago) or ``"plateau"`` (not worse than the current plan); ``accept_worse`` > 0 adds a
    relative threshold shrinking to 0 over the run. ``snapshots``: resume each neighbour from
    a snapshot of the incumbent's run instead of replaying its prefix (same plans, less
    work). ``fast``: the simulator's compiled event loop where numba is installed, and the
    static-priority stretches of a neighbour (the incumbent-priority suffix, an order-set
    move after its prefix, a base rule with a static key or a compiled loop pick) in one
    compiled call each (the same
    plans, decisions and random draws as ``fast=False``, cheaper). ``start_search`` = *f* > 0: the first fraction *f* of the budget (time, else
    iterations) makes ε/2-noisy passes of the base rule from scratch (``restart`` moves);
    the neighbourhood search then starts from the best plan so far. The best plan is validated (``validate_incumbents``) before it is returned; if it
    failed, the previous best would be tried, down to the start. ``cp_time``: deterministic
    CP-SAT budget of one ``cpsat`` move (one worker; with a ``time_limit`` also capped by the
    time left, so a run that hits the limit is not reproducible); ``cp_window``: its window's
    width as a range of fractions of the horizon.

    ``policy`` (a loaded learned policy, :class:`furnsim.rl.policy.PolicyPlanner`, or any
    object with ``choose(sim, d)`` and ``scores(sim, d) -> (jobs, logits)``) guides the
    search: its greedy pass is a start candidate (instead of the shipped policy's), and the
    neighbourhoods ``policy-window`` (a time window whose deviations -- probability ε·U(0.5,
    2) per decision, as ``window`` -- take a job drawn from the policy's distribution at
    ``temperature`` without the job the move would have taken, instead of a uniformly random
    one) and ``policy-tail`` (the incumbent's prefix, then every decision sampled from the
    policy at ``temperature`` to the end) can be used; ``policy_suffix`` adds the policy's
    greedy choice as a third suffix mode. ``name`` is the returned schedule's ``method``.

    Search parameters (docs/optimizer.md, "Tuning"): ``window_width`` -- a window's width as a
    range of fractions of the horizon (``window``, ``group``, ``policy-window``);
    ``orders_jobs`` / ``orders_shift`` -- an order-set move's number of jobs (fraction of the
    jobs) and shift (fraction of the horizon) ranges; ``orders_targeted`` -- the probability
    that it moves targeted jobs instead of random ones; ``orders_target`` -- which:
    ``"late"`` (the latest / most tardy jobs, moved earlier), ``"wait"`` (the jobs that wait
    longest between their operations -- in buffers --, moved later) or ``"goal"`` (``wait``
    for a goal that weighs ``buffer_load``, else ``late``); ``prior`` -- a factor per
    neighbourhood on its success-rate weight, and per suffix mode (``incumbent``, ``rule``,
    ``policy``) on its draw weight (default 1).

    ``release`` (release control, ``furnsim.solvers.release``): ``"auto"`` (default) = ``"on"``
    for a goal that weighs buffer occupancy (Empty Buffers), else ``"off"``. On, the search
    compares plans by their cost *after* a just-in-time release from STORE (the plain cost
    minus :class:`~furnsim.solvers.release.ReleaseSaving`'s estimate; ``history`` then holds
    such estimates, ``start_cost`` stays the start plan's own cost), and the best plan is returned released: every job
    held at STORE until its plan needs it (recorded holds, validated), when that is valid and
    cheaper; ``cost`` is always the returned schedule's own cost. Where the release replay
    fails on the start plan, the search runs as with ``"off"``.

    ``lanes`` = *L* > 1 (a portfolio; docs/optimizer.md, "Lanes"; default
    :func:`default_lanes`: 4 for Empty Buffers, else 1): *L* searches (from the starts of
    ``lane_starts``, below), each with its own current plan, late-acceptance list, random
    stream and move statistics, take turns one neighbour at a time. At ``lane_phase`` ·
    *r* / *h* of the search's budget (the time left after the start plans, or
    ``iterations``; *r* = 1 … *h*, *h* = ⌈log₂ *L*⌉) the worse half of the lanes, by the
    best plan each found, is dropped (successive halving), so the last lane searches alone
    for the rest. Lane 0 draws the
    random stream of a one-lane search: with one lane the search is the same as without the
    option. A lane's ``improved`` counts (``moves``, the neighbourhood and suffix weights)
    are its own new bests; ``improvements`` and ``history`` count the run's.
    ``lane_starts="rules"`` (default) starts lane 0 from the start plan and lanes 1 … *L* − 1
    from the next cheapest start candidates (the other dispatching rules' plans and, with
    ``start_ppo``, the policy's pass; with release control by their released estimate);
    ``"same"`` starts every lane from the start plan (before 2026-12-04). The plans the
    lanes started from are in ``LnsResult.lane_starts``.

    ``suffix_draw``: how the suffix mode is drawn -- ``"count"`` (default) with weights 1 + the
    improvements each mode made, ``"rate"`` with its success rate (1 + improvements) / (1 +
    tries), as the neighbourhoods are.
    """
    from furnsim.goals import cost, get_goal
    from furnsim.rules import NoValidPlan, best_rule, get_rule

    if time_limit is None and iterations is None:
        raise ValueError("give time_limit or iterations")
    if clock not in ("wall", "cpu"):
        raise ValueError(f"clock must be 'wall' or 'cpu', not {clock!r}")
    if accept not in ("lahc", "plateau"):
        raise ValueError(f"accept must be 'lahc' or 'plateau', not {accept!r}")
    kinds = tuple(neighbourhoods) if neighbourhoods is not None else default_neighbourhoods(goal)
    bad = [n for n in kinds if n not in NEIGHBOURHOODS]
    if bad or not kinds:
        raise ValueError(f"neighbourhoods: choose from {', '.join(NEIGHBOURHOODS)}, not {bad}")
    if policy is None and (policy_suffix or any(n in POLICY_NEIGHBOURHOODS for n in kinds)):
        raise ValueError(
            "the policy-window / policy-tail neighbourhoods and policy_suffix need a policy"
        )
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, not {temperature!r}")
    for nm, r in (
        ("window_width", window_width),
        ("orders_jobs", orders_jobs),
        ("orders_shift", orders_shift),
    ):
        if len(r) != 2 or not 0.0 <= r[0] <= r[1]:
            raise ValueError(f"{nm} must be a range (lo, hi) with 0 <= lo <= hi, not {r!r}")
    if orders_target not in ("late", "wait", "goal"):
        raise ValueError(f"orders_target must be 'late', 'wait' or 'goal', not {orders_target!r}")
    if not 0.0 <= orders_targeted <= 1.0:
        raise ValueError(f"orders_targeted must be in [0, 1], not {orders_targeted!r}")
    if suffix_draw not in ("count", "rate"):
        raise ValueError(f"suffix_draw must be 'count' or 'rate', not {suffix_draw!r}")
    if lanes is None:
        lanes = default_lanes(goal)
    if isinstance(lanes, bool) or not isinstance(lanes, (int, np.integer)) or lanes < 1:
        raise ValueError(f"lanes must be a whole number >= 1, not {lanes!r}")
    n_lanes = int(lanes)
    if not 0.0 < lane_phase <= 1.0:
        raise ValueError(f"lane_phase must be in (0, 1], not {lane_phase!r}")
    if lane_starts not in LANE_STARTS:
        raise ValueError(f"lane_starts must be 'rules' or 'same', not {lane_starts!r}")
    pw = dict(prior or {})
    named = (*NEIGHBOURHOODS, *_SUFFIX)
    if [n for n in pw if n not in named] or any(not v > 0 for v in pw.values()):
        raise ValueError(f"prior: positive factors for {', '.join(named)}, not {pw!r}")
    # a suffix mode's factor on its draw weight (1: the draw of a search without it)
    sprior = {n: float(pw.get(n, 1.0)) for n in _SUFFIX}
    suffix_prior = any(v != 1.0 for v in sprior.values())
    clk = time.process_time if clock == "cpu" else time.perf_counter
    t0 = clk()
    g = get_goal(goal)
    if orders_target == "goal":
        orders_target = "wait" if g.weights.get("buffer_load", 0.0) > 0 else "late"
    say = progress or (lambda msg, frac: None)

    def frac() -> float:
        parts = []
        if time_limit:
            parts.append((clk() - t0) / time_limit)
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
    dec = _Decoder(instance, g, rule, buffers, anticipatory_setups, snapshots=snapshots, fast=fast)
    dec.track_wait = "hold-wait" in kinds  # (the start plan's waits: hold-wait's first draw)
    n_machines = instance.compiled.n_machines

    def rule_choice(sim: Simulator, d: Decision, i: int) -> int:
        return rule.choose(sim, d)

    base_static: np.ndarray | Any = dec.rule_pick
    rule_static = None if base_static is None else (-math.inf, base_static)
    release_on = releasing(release, g)
    if release_on:
        dec.saving = ReleaseSaving(instance, g, anticipatory_setups)
    cur = dec.run(rule_choice, static=rule_static)
    if cur is None:  # cannot happen: the rule's own run did not deadlock
        raise RuntimeError("the best rule's run deadlocked on replay")
    dec.schedule(cur)
    release_s = 0.0  # what releasing (and validating) the final best will cost
    if release_on:
        tr = clk()
        js = release_just_in_time(
            instance, _sched(cur), buffers=buffers, anticipatory_setups=anticipatory_setups
        )
        ok = js is not None and (
            not validate_incumbents or _validate(js, instance, buffers, anticipatory_setups)
        )
        release_s = clk() - tr
        if not ok:  # the release replay cannot follow this week's plans: search without it
            release_on, dec.saving = False, None
            cur = dec.run(rule_choice, static=rule_static)
            assert cur is not None
            dec.schedule(cur)
    start_name = f"rule:{br.rule}"
    others: list[tuple[float, str, _Plan]] = []  # (lane_starts="rules") the other starts
    if start_ppo:
        p = _ppo_start(instance, g, dec, policy)
        if p is not None and p.cost < cur.cost:
            others.append((cur.cost, start_name, cur))
            cur, start_name = p, f"ppo:{g.name}"
        elif p is not None:
            others.append((p.cost, f"ppo:{g.name}", p))
    if lane_starts == "rules" and n_lanes > 1:
        ranked = sorted((c, r) for r, c in br.costs.items() if math.isfinite(c) and r != br.rule)
        for _c, rname in ranked[: n_lanes - 1]:
            r_other = get_rule(rname)

            def other_choice(sim: Simulator, d: Decision, i: int, r: Any = r_other) -> int:
                return r.choose(sim, d)

            # (in the compiled loop where it can be, as the base rule)
            pick = dec.compiled_pick(r_other)
            q = dec.run(other_choice, static=None if pick is None else (-math.inf, pick))
            if q is not None:
                dec.schedule(q)
                others.append((q.cost, f"rule:{rname}", q))
        others.sort(key=lambda x: x[0])
    # the start plan's own cost (with release control ``cur.cost`` is the released estimate)
    start_cost = float(cost(_sched(cur), g, instance)) if release_on else cur.cost
    best = cur
    validations = 0
    tv = clk()
    if validate_incumbents:
        validations += 1
        if not _validate(_sched(best), instance, buffers, anticipatory_setups):
            raise RuntimeError("the start plan is not valid")  # decoded simulator runs: never
    check_s = clk() - tv + release_s  # the final best's check (kept out of the budget)
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
    start_s = clk() - t0

    rng = np.random.default_rng(np.random.SeedSequence(seed))
    n_jobs = instance.compiled.n_jobs
    ci = instance.compiled
    n_ops_all = int(ci.n_ops)
    wc_with_ops = np.unique(ci.op_wc)
    job_deadline = np.asarray(ci.job_deadline, dtype=np.float64)
    ops_of_job = [np.arange(ci.job_op_start[j], ci.job_op_start[j + 1]) for j in range(n_jobs)]
    job_first = np.asarray(ci.job_op_start[:-1], dtype=np.int64)  # (n_jobs,) first operation
    # (n_jobs,) the least processing of each job (its operations on their fastest machines)
    job_work = np.add.reduceat(np.nanmin(ci.op_proc, axis=1), job_first) if n_jobs else job_first
    # assemblies ("kit" moves): each child, its parent, and the weight of its kit volume in
    # the parent's first buffer (volume / capacity: what one minute of waiting costs there)
    kit_kid = np.flatnonzero(np.asarray(ci.job_parent) >= 0)
    kit_par = np.asarray(ci.job_parent)[kit_kid]
    cap_first = np.asarray(ci.wc_capacity, dtype=np.float64)[np.asarray(ci.op_wc)[job_first]]
    kit_w = np.asarray(ci.job_kit_volume, dtype=np.float64)[kit_kid]
    kit_w = np.where(np.isfinite(cap_first[kit_par]), kit_w / cap_first[kit_par], 0.0)
    kit_w = np.where(kit_w > 0, kit_w, 1e-3)  # unbounded buffers: still worth synchronising
    # ("hold": only parts made from STORE material can be held there)
    kit_leaf = np.asarray(ci.job_n_children)[kit_kid] == 0
    job_release = dec.release
    if any(n in kinds for n in _HOLDING) and getattr(instance, "situation", None) is not None:
        kinds = tuple(n for n in kinds if n not in _HOLDING)  # a re-plan: STORE is the shop's
        if not kinds:
            raise ValueError("the hold neighbourhoods do not re-plan from a shop situation")
        dec.track_wait = False
    # ("hold-wait": the jobs made from STORE material)
    from_store = np.asarray(ci.job_n_children) == 0
    if any(n in kinds for n in ("kit", "hold")) and not kit_leaf.any():
        kinds = tuple(n for n in kinds if n not in ("kit", "hold"))
        if not kinds:
            raise ValueError("the kit and hold neighbourhoods need assemblies (jobs with a parent)")
    prior_w = np.array([pw.get(n, 1.0) for n in kinds])
    moves = {n: {"tried": 0, "improved": 0} for n in (*NEIGHBOURHOODS, *_SUFFIX)}
    spent_kind = dict.fromkeys(NEIGHBOURHOODS, 0.0)  # seconds (``clock``) of each kind's moves
    timed = per_second and iterations is None  # (a fixed number of moves stays reproducible)
    weights = {"incumbent": 1.0, "rule": 1.0, "policy": 1.0}
    tau = float(temperature)
    window_model: Any = None  # the CP model for "cpsat" moves, built at the first one
    cp_stats: dict[str, Any] = {"solved": 0, "no_solution": 0, "seconds": 0.0, "build_s": 0.0}
    history: list[tuple[int, float, float]] = [(0, clk() - t0, best.cost)]
    bests: list[_Plan] = [best]  # every new best (schedules only), oldest first
    lahc = [cur.cost] * max(1, int(lahc_length))
    searching = start_search > 0
    noisy_iters = int(round(start_search * iterations)) if iterations is not None else 0
    improvements = 0
    longest = 0.0
    cap = iterations if iterations is not None else 10**12
    compiled0, decisions = dec.compiled, 0
    # portfolio lanes: each lane's own search state (lane 0 = the one-lane search's stream);
    # ``active`` lists the lanes still searching, ``cuts`` the budget fractions of the halvings
    lane_best = cur.cost  # the best cost of the lane now searching
    lane: list[dict[str, Any]] = [
        {
            "rng": np.random.default_rng(np.random.SeedSequence([seed, i])) if i else rng,
            "cur": cur,
            "lahc": list(lahc),
            "weights": dict(weights),
            "moves": {n: {"tried": 0, "improved": 0} for n in moves},
            "best": cur.cost,
        }
        for i in range(n_lanes)
    ]
    lane_names = [start_name] * n_lanes  # what each lane starts from
    if lane_starts == "rules":  # lanes 1.. start from the next best starts
        for i, (_c, nm, q) in zip(range(1, n_lanes), others, strict=False):
            lane[i].update(cur=q, lahc=[q.cost] * len(lahc), best=q.cost)
            lane_names[i] = nm
            if q.cost < best.cost - 1e-9:  # (with release control the estimates may differ)
                best = q
                bests.append(q)
                history.append((0, clk() - t0, q.cost))
    lane_moves = [ln["moves"] for ln in lane]
    moves = lane_moves[0]
    active = list(range(n_lanes))
    n_cuts = math.ceil(math.log2(n_lanes)) if n_lanes > 1 else 0
    cuts = [lane_phase * r / n_cuts for r in range(1, n_cuts + 1)]
    li, turned = 0, False  # the lane now searching; whether a neighbour was made
    t_loop = clk()

    def search_frac() -> float:
        """The fraction of the search's own budget spent (the start plans not counted)."""
        parts = []
        if time_limit:
            left = time_limit - (t_loop - t0) - check_s
            parts.append((clk() - t_loop) / left if left > 0 else 1.0)
        if iterations:
            parts.append(it / iterations)
        return min(1.0, max(parts) if parts else 0.0)

    while it < cap:
        now = clk() - t0
        if time_limit is not None and it and now + longest + check_s > time_limit:
            break
        if time_limit is not None and now >= time_limit:
            break
        if n_lanes > 1 and turned:
            # hand the turn to the next lane, after dropping the worse half at a cut
            ln = lane[li]
            ln.update(rng=rng, cur=cur, lahc=lahc, weights=weights, best=lane_best)
            if cuts and search_frac() >= cuts[0]:
                cuts.pop(0)
                active.sort(key=lambda i: (lane[i]["best"], i))
                for i in active[(len(active) + 1) // 2 :]:  # dropped: keep only its best cost
                    lane[i].update(cur=None, lahc=[], rng=None)
                active = sorted(active[: (len(active) + 1) // 2])
            nxt = [i for i in active if i > li]
            li = nxt[0] if nxt else active[0]
            ln = lane[li]
            rng, cur, lahc = ln["rng"], ln["cur"], ln["lahc"]
            weights, lane_best, moves = ln["weights"], ln["best"], ln["moves"]
        turned = True  # (lane 0 makes the first neighbour)
        t1 = clk()
        it += 1
        # -- draw the neighbourhood (every draw is taken in the same order each iteration) --
        kw = kind_weights(kinds, moves, spent_kind if timed else None, prior_w)
        kind = kinds[int(rng.choice(len(kinds), p=kw / kw.sum()))]
        if searching:
            # the first phase: noisy passes of the base rule from scratch (multi-start); the
            # best of them (or the start) becomes the incumbent of the neighbourhood search
            if (iterations is not None and it > noisy_iters) or (
                time_limit is not None and clk() - t0 >= start_search * time_limit
            ):
                searching, cur = False, best
                for ln in lane:
                    ln["cur"] = best
            else:
                kind = "restart"
        if suffix_draw == "rate":  # success rates, as the neighbourhoods
            sweights = {
                n: (1.0 + moves[n]["improved"]) / (1.0 + moves[n]["tried"]) for n in _SUFFIX
            }
        else:  # 1 + the improvements each mode made
            sweights = weights
        if suffix_prior:
            sweights = {n: sprior[n] * sweights[n] for n in _SUFFIX}
        if policy_suffix:
            sw = np.array([sweights[n] for n in _SUFFIX])
            suffix = _SUFFIX[int(rng.choice(len(_SUFFIX), p=sw / sw.sum()))]
        else:  # the two-mode draw of plain lns (its random stream is unchanged)
            wsum = sweights["incumbent"] + sweights["rule"]
            suffix = "incumbent" if rng.random() < sweights["incumbent"] / wsum else "rule"
        n_dec = len(cur.choices)
        k = int(rng.integers(n_dec)) if n_dec else 0
        horizon = float(cur.times[-1]) if n_dec else 0.0
        t_start = float(cur.times[k]) if n_dec else 0.0
        width = horizon * float(rng.uniform(*window_width))
        t_end = t_start + width
        group_wc = int(wc_with_ops[int(rng.integers(wc_with_ops.size))]) if wc_with_ops.size else -1
        p_noise = float(eps * rng.uniform(0.5, 2.0)) if kind in ("window", "policy-window") else 0.5
        key = cur.key
        new_holds: dict[int, float] | None = None  # (``hold`` moves: the neighbour's holds)
        if kind == "orders":
            m = max(1, int(round(n_jobs * float(rng.uniform(*orders_jobs)))))
            shift = horizon * float(rng.uniform(*orders_shift)) * (1 if rng.random() < 0.5 else -1)
            if rng.random() < orders_targeted:
                if orders_target == "wait":
                    # the jobs that wait longest between their operations (in buffers): later,
                    # so that they enter the shop closer to when the next machines are free
                    score = cur.end - cur.key[job_first] - job_work
                    score = np.where(np.isfinite(score), score, -np.inf)
                    shift = abs(shift)
                else:
                    # the latest (or, for a shift earlier, the most late / last to finish)
                    # jobs, the ones that set the makespan and the tardiness
                    late = np.where(np.isfinite(job_deadline), cur.end - job_deadline, -np.inf)
                    score = np.maximum(late, cur.end - horizon)
                    shift = -abs(shift)
                pool = np.argsort(-score, kind="stable")[: max(4 * m, 8)]
                jobs = rng.choice(pool, size=min(m, pool.size), replace=False)
            else:
                jobs = rng.choice(n_jobs, size=min(m, n_jobs), replace=False)
            key = key.copy()
            ops = np.concatenate([ops_of_job[int(j)] for j in jobs]) if len(jobs) else jobs
            key[ops] = key[ops] + shift
            # the changed priorities matter from the first of those operations on
            first = float(np.min(cur.key[ops])) if ops.size else t_start
            first = first if math.isfinite(first) else t_start
            k = int(np.searchsorted(cur.times, min(first, t_start), side="left"))
            t_end = math.inf
        elif kind in ("kit", "hold"):
            # kits whose children wait for their siblings in the parent's first buffer, drawn
            # by that waiting's cost: their early children's priorities later by a part of
            # their wait, so that the kit's parts finish closer together; ``hold`` (only the
            # parts made from STORE material) also holds them at STORE as long, so that they
            # are made later and their machines take other work first, and shortens the hold
            # of a held part that its kit now waits for
            leaf = kit_leaf if kind == "hold" else True
            kwait = cur.key[job_first[kit_par]] - cur.end[kit_kid]
            kwait = np.where(np.isfinite(kwait) & (kwait > 0), kwait, 0.0)
            kscore = np.bincount(kit_par, weights=kit_w * kwait * leaf, minlength=n_jobs)
            waiting = np.flatnonzero(kscore > 0)
            if not waiting.size:  # every kit's parts arrive together: nothing left to move
                it, kinds, prior_w = it - 1, *_without(kinds, kind, pw)
                if not kinds:
                    break
                continue
            m = min(1 + int(rng.integers(3)), waiting.size)
            pick = rng.choice(
                waiting, size=m, replace=False, p=kscore[waiting] / kscore[waiting].sum()
            )
            in_kit = np.isin(kit_par, pick) & leaf
            sel = np.flatnonzero(in_kit & (kwait > 0))
            kshift = kwait[sel] * rng.uniform(0.3, 1.0, size=sel.size)
            key = key.copy()
            first = t_start
            if kind == "hold":
                new_holds = dict(cur.holds)
            for j, dk in zip(kit_kid[sel].tolist(), kshift.tolist(), strict=True):
                ops = ops_of_job[j]
                f0 = float(np.min(cur.key[ops]))
                first = min(first, f0) if math.isfinite(f0) else first
                if new_holds is not None:
                    assert cur.depart is not None
                    dep = float(cur.depart[j])
                    if not (math.isfinite(dep) and dk > 1.0):
                        continue
                    new_holds[j] = dep + dk
                key[ops] = key[ops] + dk
            if new_holds is not None:
                for j in kit_kid[np.flatnonzero(in_kit & (kwait <= 0))].tolist():
                    if j in new_holds:  # its kit waits for it: a shorter hold (none if short)
                        r0 = job_release[j]
                        u = r0 + (new_holds[j] - r0) * rng.uniform(0, 0.7)
                        if u > r0 + 1.0:
                            new_holds[j] = float(u)
                        else:
                            del new_holds[j]
            # the incumbent's decisions up to the first shifted operation or the random
            # decision, whichever is earlier (with other holds the decoder also ends the
            # prefix before the first changed release)
            k = int(np.searchsorted(cur.times, first, side="left"))
            t_end = math.inf
        elif kind == "hold-wait":
            # the jobs whose waiting in buffers after their first operation costs most: held
            # at STORE by a part of that waiting (their priorities kept), so that they reach
            # the machines they queue for nearer their turn; the incumbent's decisions before
            # the first changed release are kept (the decoder ends the prefix there)
            assert cur.wait_load is not None and cur.wait_min is not None
            assert cur.depart is not None
            score = np.where(from_store & np.isfinite(cur.depart), cur.wait_load, 0.0)
            cands = np.flatnonzero(score > 0)
            if not cands.size:  # nothing waits in a bounded buffer: nothing to hold
                it, kinds, prior_w = it - 1, *_without(kinds, kind, pw)
                if not kinds:
                    break
                continue
            m = max(1, int(round(n_jobs * float(rng.uniform(*orders_jobs)))))
            pool = cands[np.argsort(-score[cands], kind="stable")[: max(4 * m, 8)]]
            jobs = rng.choice(pool, size=min(m, pool.size), replace=False)
            dks = cur.wait_min[jobs] * rng.uniform(0.3, 1.0, size=jobs.size)
            new_holds = dict(cur.holds)
            for j, dk in zip(jobs.tolist(), dks.tolist(), strict=True):
                if dk > 1.0:
                    new_holds[j] = float(cur.depart[j]) + dk
            k, t_end = n_dec, math.inf
        elif kind == "cpsat":
            t_end = t_start + horizon * float(rng.uniform(*cp_window))
            if rng.random() >= 0.5:
                group_wc = -1  # the whole window, else only work center group_wc
        elif kind == "restart":
            # a noisy pass of the base rule from the start (as rules.search_noisy): diversity
            k, t_end, suffix, p_noise = 0, math.inf, "rule", eps / 2
        elif kind == "tail":
            # the incumbent up to decision k, then a noisy pass of the base rule to the end
            t_end, suffix, p_noise = math.inf, "rule", eps / 2
        elif kind == "policy-tail":
            # the incumbent up to decision k, then a pass sampled from the policy to the end
            t_end = math.inf
        sub = np.random.default_rng(rng.integers(2**63))
        # the window / group moves' random decisions: drawn from fixed uniforms (at most two
        # per operation), the same in Python and in the compiled loop (``Noise``)
        noise = (
            Noise(
                sub.random(2 * n_ops_all + 2),
                p_noise,
                t_end,
                group_wc if kind == "group" else -1,
            )
            if kind in ("window", "group")
            else None
        )
        seqs: dict[int, np.ndarray] = {}
        ptr: dict[int, int] = {}
        if kind == "cpsat":
            cp_seed = int(sub.integers(2**31))
            left = math.inf if time_limit is None else time_limit - (clk() - t0)
            # building the model costs many passes on a week: only with half the budget left
            if left < 3 * cp_time or (window_model is None and left < 0.5 * (time_limit or 0)):
                it, kinds, prior_w = it - 1, *_without(kinds, "cpsat", pw)
                if not kinds:
                    break
                continue
            tc = clk()
            from furnsim.solvers.cpsat.window import WindowModel, WindowResult

            cur_s = _sched(cur) if cur.schedule is not None else _rebuild(dec, cur)
            if window_model is None:
                from furnsim.solvers.cpsat.calendar import calendar_terms_within

                say("lns: building the CP-SAT window model", frac())
                window_model = WindowModel(
                    instance,
                    g,
                    buffers=buffers,
                    anticipatory_setups=anticipatory_setups,
                    horizon=1.5 * float(np.nanmax(cur_s.times["leave"])),
                    # every move presolves the whole model again: exact working time
                    # only where that costs at most half of one move's cap (below)
                    calendar_terms=calendar_terms_within(
                        None
                        if time_limit is None
                        else max(CP_WALL_MOVES * cp_time, 0.1 * time_limit),
                        share=0.5,
                    ),
                )
                cp_stats["build_s"] = clk() - tc
                if time_limit is not None:  # the build took its time: the solve gets the rest
                    left = time_limit - (clk() - t0)
            # one move gets at most a tenth of the budget (at least CP_WALL_MOVES × cp_time):
            # on a whole-week model CP-SAT's work before its search ignores the
            # deterministic limit, and one solve once took a whole 30 s run
            cp_cap = (
                None
                if time_limit is None
                else min(left, max(CP_WALL_MOVES * cp_time, 0.1 * time_limit))
            )
            ts = clk()
            if cp_cap is not None and cp_cap <= 0:  # the build spent the budget: no solve
                wr = WindowResult(None, None, "no time", 0, math.inf)
            else:
                wr = window_model.solve(
                    cur_s,
                    t_start,
                    t_end,
                    wc=None if group_wc < 0 else group_wc,
                    deterministic_time=cp_time,
                    wall_time=cp_cap,
                    seed=cp_seed,
                )
            cp_stats["seconds"] += clk() - tc
            if wr.key is None or wr.machine is None:
                cp_stats["no_solution"] += 1
                moves[kind]["tried"] += 1
                if cp_cap is not None and clk() - ts >= 0.9 * cp_cap:
                    # no solution in the whole cap: the model is too slow for this week and
                    # budget; the rest of the run goes to the other neighbourhoods (whose
                    # moves are what the stopping rule's longest move must measure)
                    cp_stats["dropped"] = f"no solution within {cp_cap:.1f} s"
                    say(f"lns: cpsat dropped ({cp_stats['dropped']})", frac())
                    kinds, prior_w = _without(kinds, "cpsat", pw)
                    if not kinds:
                        break
                else:
                    longest = max(longest, clk() - t1)
                continue
            else:
                cp_stats["solved"] += 1
                key = wr.key
                seqs = WindowModel.sequences(wr.key, wr.machine)
                ptr = dict.fromkeys(seqs, 0)
            k = int(np.searchsorted(cur.times, t_start, side="left"))
            t_end, suffix = math.inf, "incumbent"
        moves[kind]["tried"] += 1
        if kind not in _NO_SUFFIX:
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
            noise: Noise | None = noise,
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
                if noise is not None:  # window, group
                    x = noise.pick(sim, d)
                    if x >= 0:
                        return int(c[x])
                elif kind in ("restart", "tail") and sub.random() < p_noise:
                    return int(c[sub.integers(c.size)])
                if kind == "policy-tail":
                    return policy_sample(policy, sim, d, tau, sub)
                if kind == "policy-window" and sub.random() < p_noise:
                    # a deviation: another job, drawn from the policy's distribution
                    if suffix == "incumbent":
                        own = _lexkey(c, key[d.ops])
                    elif suffix == "policy":
                        own = policy_sample(policy, sim, d, 0.0, sub)
                    else:
                        own = int(rule.choose(sim, d))
                    return policy_sample(policy, sim, d, tau, sub, exclude=own)
                if kind in ("orders", "kit", "hold", "hold-wait", "cpsat"):
                    return _lexkey(c, key[d.ops])
            if suffix == "incumbent":
                return _lexkey(c, key[d.ops])
            if suffix == "policy":
                return policy_sample(policy, sim, d, 0.0, sub)
            return rule.choose(sim, d)

        def stall(d: Decision, key: np.ndarray = key) -> int:
            return _lexkey(d.candidates, key[d.ops])

        # the stretch after the window is a static priority when the suffix is: decided in
        # the compiled loop (the same decisions as ``choose``; no random draw is skipped)
        static: tuple[float, Any] | None = None
        if kind in ("orders", "kit", "hold", "hold-wait"):
            static = (-math.inf, _rank_prio(key, n_machines))
        elif kind in ("window", "group", "policy-window"):
            # window / group: the window too, its random decisions drawn there (``noise``)
            t_static = -math.inf if noise is not None and COMPILED_NOISE else t_end
            if suffix == "incumbent":
                static = (t_static, _incumbent_prio(cur, n_machines))
            elif suffix == "rule" and base_static is not None:
                static = (t_static, base_static)
        m0 = dec.made
        cand = dec.run(
            choose,
            cur,
            k,
            on_stall=stall if kind == "cpsat" else None,
            static=static,
            singles=SKIP_SINGLES and kind != "cpsat",  # (cpsat's sequences may wait instead)
            noise=noise,
            holds=new_holds if kind in _HOLDING else None,
        )
        decisions += dec.made - m0
        spent = clk() - t1
        longest = max(longest, spent)
        spent_kind[kind] += spent
        lv = lahc[it % len(lahc)]
        if cand is None:
            if accept == "lahc":
                lahc[it % len(lahc)] = cur.cost
            continue
        tol = accept_worse * (1.0 - frac()) if accept_worse > 0 else 0.0
        bound = cur.cost * (1.0 + tol) + 1e-9
        if accept == "lahc":
            bound = max(bound, lv + 1e-9)
        if cand.cost < lane_best - 1e-9:  # a new best of this lane (of the run: one lane)
            lane_best = cand.cost
            moves[kind]["improved"] += 1
            if kind not in _NO_SUFFIX:
                moves[suffix]["improved"] += 1
                weights[suffix] += 1.0
        if cand.cost < best.cost - 1e-9:
            dec.schedule(cand)  # the simulator still holds this run
            best = cand
            bests.append(best)
            improvements += 1
            history.append((it, clk() - t0, best.cost))
            say(f"lns: iteration {it}, cost {best.cost:,.2f}", frac())
        if cand.cost <= bound:
            cur = cand
        if accept == "lahc":
            lahc[it % len(lahc)] = cur.cost
    search_s = clk() - t_loop
    lane[li]["best"] = lane_best
    lane_its = [sum(m[n]["tried"] for n in NEIGHBOURHOODS) for m in lane_moves]
    # the moves of all lanes together
    moves = {n: {f: sum(m[n][f] for m in lane_moves) for f in ("tried", "improved")} for n in moves}
    if "cpsat" in moves and moves["cpsat"]["tried"]:
        moves["cpsat"].update(
            solved=int(cp_stats["solved"]),
            no_solution=int(cp_stats["no_solution"]),
            solve_ms=int(1000 * cp_stats["seconds"]),
            build_ms=int(1000 * cp_stats["build_s"]),
        )
        if window_model is not None:  # "exact", "relaxed" or "none" (24/7)
            moves["cpsat"]["working_time"] = window_model.data.working_time_model
        if "dropped" in cp_stats:
            moves["cpsat"]["dropped"] = cp_stats["dropped"]

    # the newest best, released just in time (release control) where that is cheaper and
    # valid, else the newest best that the independent validator accepts (the start was
    # checked above)
    def valid(s: Schedule) -> bool:
        nonlocal validations
        validations += 1
        return _validate(s, instance, buffers, anticipatory_setups)

    released = None
    if release_on:
        released = release_if_cheaper(
            instance,
            _sched(best),
            g,
            buffers=buffers,
            anticipatory_setups=anticipatory_setups,
            accept=valid if validate_incumbents else None,
        )
    if released is not None:
        schedule, final_cost = released
    else:
        for b in reversed(bests):
            if b is bests[0] or not validate_incumbents or valid(_sched(b)):
                best = b
                break
        schedule = _sched(best)
        # with release control the search's costs were estimates: the plan's own decides
        final_cost = float(cost(schedule, g, instance)) if release_on else best.cost
    if outside is not None and outside[0] < final_cost:
        final_cost, schedule = outside
    else:
        schedule.method = name
    n_held = len(store_held_jobs(schedule))
    schedule.meta = {
        **schedule.meta,
        "lns_start": start_name,
        "lns_iterations": it,
        "lns_released": n_held,
    }
    say(f"lns: {it} iterations, cost {start_cost:,.2f} -> {final_cost:,.2f}", 1.0)
    return LnsResult(
        schedule=schedule,
        cost=final_cost,
        start_cost=start_cost,
        start=start_name,
        iterations=it,
        improvements=improvements,
        seconds=round(clk() - t0, 3),
        history=history,
        moves=moves,
        clock=clock,
        validations=validations,
        start_s=round(start_s, 4),
        longest_s=round(longest, 4),
        search_s=round(search_s, 4),
        compiled=dec.compiled - compiled0,
        decisions=decisions,
        released=n_held,
        move_s={k: round(v, 4) for k, v in spent_kind.items() if v},
        lanes=n_lanes,
        lane_iterations=lane_its,
        lane_costs=[float(ln["best"]) for ln in lane],
        lane_starts=lane_names,
    )


def _sched(p: _Plan) -> Schedule:
    assert p.schedule is not None
    return p.schedule


def _rebuild(dec: _Decoder, p: _Plan) -> Schedule:
    """The schedule of plan ``p`` (its decisions resumed / replayed to the end)."""
    q = dec.run(lambda sim, d, i: None, p, len(p.choices))
    if q is None:  # a deterministic replay of a finished run: cannot happen
        raise RuntimeError("the incumbent's run did not replay")
    return dec.schedule(q)


def _validate(s: Schedule, instance: Instance, buffers: str, anticipatory_setups: bool) -> bool:
    from furnsim.validate import validate

    return s.complete and not validate(
        s, instance, buffers=buffers, anticipatory_setups=anticipatory_setups
    )


def _ppo_start(instance: Instance, goal: Any, dec: _Decoder, planner: Any = None) -> _Plan | None:
    """The greedy pass of ``planner`` (default: the shipped policy for ``goal``), recorded as
    decisions; None if there is no usable model here (not installed, refused, or the pass
    deadlocked)."""
    from furnsim.errors import ModelRefused

    if planner is None:
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
        p = dec.run(choose)
    except Exception:  # noqa: BLE001 - a policy failure only loses this start candidate
        return None
    if p is not None:
        dec.schedule(p)
    return p
