"""How much room is there below the best single rule? Valid lower bounds on held-out weeks.

    python benchmarks/rl_headroom.py                  # 20 held-out demo weeks (as rl_eval.py)
    python benchmarks/rl_headroom.py --weeks 5 --out /tmp/headroom.md

For each goal and week: the best single rule's cost (the rule chosen on the training-side
selection weeks, as in ``rl_eval.py``), the per-week best of all 18 deterministic rules, and a
*valid lower bound* on the goal's cost of any feasible plan:

* makespan ``Cmax_LB = max(job bound, machine-load bound)``, with the job bound
  ``max_j (release_j + Σ min processing of j's ops)`` and, per work center ``w`` with
  ``n_w`` machines and every threshold ``h``: ``h + Σ_{ops at w with head ≥ h} min processing
  / n_w + min tail of those ops`` (head = release + min processing before the op, tail = min
  processing after it; the same with heads and tails swapped) — the parallel-machine
  relaxation with release dates. Setups, transport,
  buffers and tardiness are left out, so the bound stays valid.
* **speed** = makespan + 0.02 tardiness ≥ ``Cmax_LB``.
* **efficiency** = setup + 0.5 idle + 0.5 blocked + 0.02 tardiness, and idle = M · Cmax −
  processing − setup − blocked, so the cost is 0.5 (M · Cmax − processing) + 0.5 setup + 0.02
  tardiness ≥ 0.5 (M · Cmax_LB − Σ_o max processing of o) + 0.5 · setup_LB, where setup_LB
  sums, over every (work center, setup) needed there that no machine of the work center starts
  in, the cheapest changeover into that setup.
* **empty-buffers** = buffer load + 10 overflow + 0.02 tardiness + 0.01 makespan ≥
  0.01 · ``Cmax_LB`` (a job can in principle always go straight onto a free machine, so no
  positive bound on buffer load is claimed) — this bound is too weak to say anything.

If the best single rule costs at most 1/0.9 ≈ 1.111 × the bound, no plan can reach 0.90 × the
best single rule on that week: the issue's target is then provably out of reach.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
REPO = Path(__file__).resolve().parent.parent
GOALS = ("speed", "efficiency", "empty-buffers")


def makespan_lb(inst) -> float:  # type: ignore[no-untyped-def]
    ci = inst.compiled
    proc = ci.op_proc
    minp = np.where(np.isnan(proc), np.inf, proc).min(axis=1)
    starts = ci.job_op_start
    lens = np.diff(starts)
    # head (release + work before), tail (work after) per op
    cs = np.concatenate([[0.0], np.cumsum(minp)])
    job_of = ci.op_job
    before = cs[np.arange(ci.n_ops)] - cs[starts[job_of]]
    after = cs[starts[job_of + 1]] - cs[np.arange(ci.n_ops) + 1]
    head = ci.job_release[job_of] + before
    job_lb = (
        float(np.max(ci.job_release + (cs[starts[1:]] - cs[starts[:-1]]))) if lens.size else 0.0
    )
    n_w = np.bincount(ci.machine_wc, minlength=ci.n_wc)
    lb = job_lb
    for w in range(ci.n_wc):
        sel = np.flatnonzero(ci.op_wc == w)
        if not sel.size or n_w[w] == 0:
            continue
        # for every threshold h: ops that cannot start before h still need their work / n_w
        # machines, then their shortest tail (P | r_j | Cmax relaxation, both directions)
        for hd, tl in ((head[sel], after[sel]), (after[sel], head[sel])):
            o = np.argsort(hd, kind="stable")
            h, p, t = hd[o], minp[sel][o], tl[o]
            work = np.cumsum(p[::-1])[::-1] / n_w[w]  # work of ops k.. / machines
            tmin = np.minimum.accumulate(t[::-1])[::-1]
            lb = max(lb, float(np.max(h + work + tmin)))
    return lb


def setup_lb(inst) -> float:  # type: ignore[no-untyped-def]
    ci = inst.compiled
    total = 0.0
    for w in range(ci.n_wc):
        ms = np.flatnonzero(ci.machine_wc == w)
        init = set(ci.machine_init_setup[ms].tolist())
        for s in set(ci.op_setup[ci.op_wc == w].tolist()) - init:
            into = ci.setup_time[ms][:, :, s]  # (machines, from)
            into = np.where(np.isnan(into), np.inf, into)
            for m_i in range(ms.size):
                into[m_i, s] = np.inf  # staying in s is not a changeover into s
            v = float(into.min()) if into.size else 0.0
            total += v if math.isfinite(v) else 0.0
    return total


def cost_lb(inst, goal: str) -> float:  # type: ignore[no-untyped-def]
    ci = inst.compiled
    cmax = makespan_lb(inst)
    if goal == "speed":
        return cmax
    if goal == "efficiency":
        maxp = np.where(np.isnan(ci.op_proc), -np.inf, ci.op_proc).max(axis=1).sum()
        return max(0.5 * (ci.n_machines * cmax - maxp) + 0.5 * setup_lb(inst), 0.0)
    return 0.01 * cmax


def teacher_of(goal: str) -> str:
    side = REPO / "models" / f"ppo-{goal}.json"
    if side.exists():
        return str(json.loads(side.read_text())["teacher"]).upper()
    return {"speed": "ATCS", "efficiency": "ATCS", "empty-buffers": "BUFFER"}[goal]


def main(argv: list[str] | None = None) -> None:
    from rl_eval import held_out_weeks

    from furnsim.goals import cost
    from furnsim.kpi import kpis
    from furnsim.rules import get_rule, rule_names

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weeks", type=int, default=20)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    weeks = held_out_weeks(a.weeks)
    rules = rule_names(True)
    ks = {r: [] for r in rules}
    for w in weeks:
        for r in rules:
            s, sim = get_rule(r).plan(w)
            ks[r].append(None if sim.deadlock is not None else kpis(s, w))
    lines = [
        f"Held-out demo weeks: {len(weeks)} (seeds 10000..{10000 + len(weeks) - 1}), "
        f"jobs {min(w.compiled.n_jobs for w in weeks)}–{max(w.compiled.n_jobs for w in weeks)}.",
        "",
        "| goal | best single rule | mean LB / best single rule | min | max | weeks where 0.90 × best rule < LB | mean per-week-best rule / best single rule | mean LB / per-week-best rule |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for g in GOALS:
        t = teacher_of(g)
        rc = np.array([[math.inf if k is None else cost(k, g) for k in ks[r]] for r in rules])
        b = rc[rules.index(t)]
        oracle = rc.min(axis=0)
        lb = np.array([cost_lb(w, g) for w in weeks])
        assert np.all(lb <= oracle + 1e-6), "a lower bound above a feasible plan: bug"
        r = lb / b
        lines.append(
            f"| {g} | {t} | {r.mean():.3f} | {r.min():.3f} | {r.max():.3f} | "
            f"{int((0.9 * b < lb).sum())}/{len(weeks)} | {np.mean(oracle / b):.3f} | {np.mean(lb / oracle):.3f} |"
        )
    lines.append(f"\n(total {time.perf_counter() - t0:.0f} s)")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        Path(a.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
