"""Probe: do STORE holds of kit parts help a rule's Empty Buffers plan? (docs/optimizer.md,
"Lanes, a suffix prior and kit moves").

    python benchmarks/kit_hold_probe.py 0,1,2,3,4,5,6,7,8,9

For each training week of ``benchmarks/lns_tune.py`` (seeds 30000+): the best rule's plan
for Empty Buffers, released just in time (``release_just_in_time``); then the same rule
re-dispatched with every part that waited for its kit held at STORE until its old departure
plus ``frac`` (0.5, 1.0) of that wait, and released just in time again. Prints the costs and
whether each plan passed the validator. Python engine, one run per variant (seconds).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lns_tune import training_weeks  # noqa: E402


def probe(w: int, weeks: list) -> list:
    from furnsim.goals import cost, get_goal
    from furnsim.rules import best_rule, get_rule
    from furnsim.sim import Simulator
    from furnsim.solvers.release import release_just_in_time
    from furnsim.validate import validate

    g = get_goal("empty-buffers")
    inst = weeks[w]
    ci = inst.compiled
    br = best_rule(inst, g)
    rule = get_rule(br.rule)
    t = br.schedule.times
    rel = release_just_in_time(inst, br.schedule)
    out: list = [w, br.rule, round(br.cost), None if rel is None else round(cost(rel, g, inst))]
    par, nch = np.asarray(ci.job_parent), np.asarray(ci.job_n_children)
    starts, tr, wc = ci.job_op_start, np.asarray(ci.transport), np.asarray(ci.op_wc)
    for frac in (0.5, 1.0):
        holds = {}
        for j in np.flatnonzero((par >= 0) & (nch == 0)):  # parts made from STORE material
            pf, f, last = starts[par[j]], starts[j], starts[j + 1] - 1
            arrive = t["leave"][last] + tr[wc[last] + 1, wc[pf] + 1]
            wait = min(t["setup_start"][pf], t["start"][pf]) - arrive
            if wait > 1:
                holds[int(j)] = float(t["depart"][f] + frac * wait)
        sim = Simulator(inst, buffers="hard", record_holds=True, store_holds=holds)
        d = sim.decision()
        while d is not None:
            d = sim.dispatch(int(rule.choose(sim, d)))
        if sim.deadlock is not None or sim.n_done != sim.n_jobs:
            out += [frac, "deadlock"]
            continue
        s2 = sim.schedule(method="kit-hold")
        r2 = release_just_in_time(inst, s2) or s2
        out += [frac, len(holds), round(cost(r2, g, inst)), validate(r2, inst) == []]
    return out


if __name__ == "__main__":
    weeks = training_weeks(10)
    print("week rule rule-cost released | frac holds released-cost valid | ...")
    for w in [int(x) for x in sys.argv[1].split(",")]:
        print(*probe(w, weeks), flush=True)
