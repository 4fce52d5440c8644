"""How much room is there below the best single rule? Valid lower bounds on held-out weeks.

    python benchmarks/rl_headroom.py                  # 20 held-out demo weeks (as rl_eval.py)
    python benchmarks/rl_headroom.py --weeks 5 --out /tmp/headroom.md

For each goal and week: the best single rule's cost (the rule chosen on the training-side
selection weeks, as in ``rl_eval.py``), the per-week best of all 18 deterministic rules, and a
*valid lower bound* on the goal's cost of any feasible plan:

* makespan ``Cmax_LB = max(job bound, machine-load bound, setup-load bound)``, with the job
  bound ``max_j (release_j + Σ transports and min processing of j's ops)`` and, per work
  center ``w`` with ``n_w`` machines and every threshold ``h``: ``h + Σ_{ops at w with head ≥
  h} min processing / n_w + min tail of those ops`` (head = release + min processing and
  transports before the op, transport into it included; tail = transports and min
  processing after it; the same with heads and tails swapped) — the parallel-machine
  relaxation with release dates; the setup-load bound adds, over all ops of ``w``, the
  changeovers ``w`` must make at least once (``wc_setup_lb``) to the work, starting at the
  first moment a job can leave for ``w``. Buffers are left out, so the bound stays valid.
* tardiness ``T_LB = Σ_orders max(0, max_{j in order} chain bound_j − deadline)``.
* **speed** = makespan + 0.02 tardiness ≥ ``Cmax_LB + 0.02 T_LB``.
* **efficiency** = setup + 0.5 idle + 0.5 blocked + 0.02 tardiness, and idle = M · Cmax −
  processing − setup − blocked, so the cost is 0.5 (M · Cmax − processing) + 0.5 setup + 0.02
  tardiness ≥ 0.5 (M · Cmax_LB − Σ_o max processing of o) + 0.5 · setup_LB + 0.02 T_LB, where setup_LB
  sums, over every (work center, setup) needed there that no machine of the work center starts
  in, the cheapest changeover into that setup.
* **empty-buffers** = buffer load + 10 overflow + 0.02 tardiness + 0.01 makespan ≥
  0.01 · ``Cmax_LB`` + 0.02 ``T_LB`` (a job can in principle always go straight onto a free machine, so no
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


def _heads_tails(inst):  # type: ignore[no-untyped-def]
    """Per op: min processing, the transport into it, its head (earliest start: release + the
    shortest processing and transports before it, transport into it included) and tail
    (shortest transports and processing after it, up to the end of the job's last op)."""
    ci = inst.compiled
    proc = ci.op_proc
    minp = np.where(np.isnan(proc), np.inf, proc).min(axis=1)
    starts = ci.job_op_start
    n = ci.n_ops
    job_of = ci.op_job
    loc = ci.op_wc + 1  # transport index: 0 = STORE, 1..n_wc = work centers
    first = np.zeros(n, dtype=bool)
    first[starts[:-1][np.diff(starts) > 0]] = True
    prev_loc = np.where(first, 0, np.roll(loc, 1))
    trans = ci.transport[prev_loc, loc]
    step = trans + minp  # transport into the op + its processing
    cs = np.concatenate([[0.0], np.cumsum(step)])
    idx = np.arange(n)
    head = ci.job_release[job_of] + cs[idx] - cs[starts[job_of]] + trans
    tail = cs[starts[job_of + 1]] - cs[idx + 1]
    return minp, trans, head, tail


def makespan_lb(inst, *, with_setups: bool = True) -> float:  # type: ignore[no-untyped-def]
    ci = inst.compiled
    if ci.n_ops == 0:
        return 0.0
    minp, trans, head, tail = _heads_tails(inst)
    lb = float(np.max(head + minp + tail))  # job chains (release, transports, processing)
    n_w = np.bincount(ci.machine_wc, minlength=ci.n_wc)
    for w in range(ci.n_wc):
        sel = np.flatnonzero(ci.op_wc == w)
        if not sel.size or n_w[w] == 0:
            continue
        # for every threshold h: ops that cannot start before h still need their work / n_w
        # machines, then their shortest tail (P | r_j | Cmax relaxation, both directions)
        for hd, tl in ((head[sel], tail[sel]), (tail[sel], head[sel])):
            o = np.argsort(hd, kind="stable")
            h, p, t = hd[o], minp[sel][o], tl[o]
            work = np.cumsum(p[::-1])[::-1] / n_w[w]  # work of ops k.. / machines
            tmin = np.minimum.accumulate(t[::-1])[::-1]
            lb = max(lb, float(np.max(h + work + tmin)))
        if with_setups:
            # all ops of w plus the changeovers w must make at least once: no machine activity
            # before the first job can leave for w, none after the last op minus the
            # shortest tail
            earliest = float(np.min(head[sel] - trans[sel]))
            work = (float(minp[sel].sum()) + wc_setup_lb(ci, w)) / n_w[w]
            lb = max(lb, earliest + work + float(np.min(tail[sel])))
    return lb


def wc_setup_lb(ci, w: int) -> float:  # type: ignore[no-untyped-def]
    """Minutes of changeover work center ``w`` needs at least: every setup its ops need that no
    machine of ``w`` starts in costs at least the cheapest changeover into it."""
    ms = np.flatnonzero(ci.machine_wc == w)
    init = set(ci.machine_init_setup[ms].tolist())
    total = 0.0
    for s in set(ci.op_setup[ci.op_wc == w].tolist()) - init:
        into = ci.setup_time[ms][:, :, s].copy()  # (machines, from)
        into = np.where(np.isnan(into), np.inf, into)
        into[:, s] = np.inf  # staying in s is not a changeover into s
        v = float(into.min()) if into.size else 0.0
        total += v if math.isfinite(v) else 0.0
    return total


def setup_lb(inst) -> float:  # type: ignore[no-untyped-def]
    ci = inst.compiled
    return sum(wc_setup_lb(ci, w) for w in range(ci.n_wc))


def tardiness_lb(inst) -> float:  # type: ignore[no-untyped-def]
    """Σ over orders of max(0, earliest completion − deadline): an order completes with its
    last job, and a job no earlier than its chain bound (release, transports, processing)."""
    ci = inst.compiled
    if ci.n_ops == 0:
        return 0.0
    minp, _trans, head, tail = _heads_tails(inst)
    last = ci.job_op_start[1:] - 1
    has = np.diff(ci.job_op_start) > 0
    jc = np.where(has, head[np.maximum(last, 0)] + minp[np.maximum(last, 0)], -np.inf)
    n_o = len(ci.order_ids)
    oc = np.full(n_o, -np.inf)
    np.maximum.at(oc, ci.job_order, jc)
    od = np.full(n_o, np.inf)
    np.minimum.at(od, ci.job_order, ci.job_deadline)
    ok = np.isfinite(od) & np.isfinite(oc)
    return float(np.maximum(oc[ok] - od[ok], 0.0).sum())


def cost_lb(inst, goal: str) -> float:  # type: ignore[no-untyped-def]
    """A valid lower bound on ``goal``'s cost (weights of configs/goals.yaml)."""
    from furnsim.goals import get_goal

    ci = inst.compiled
    w = get_goal(goal).weights
    cmax = makespan_lb(inst)
    tard = w.get("total_tardiness", 0.0) * tardiness_lb(inst)
    if goal == "speed":
        return w.get("makespan", 0.0) * cmax + tard
    if goal == "efficiency":
        maxp = np.where(np.isnan(ci.op_proc), -np.inf, ci.op_proc).max(axis=1).sum()
        return max(0.5 * (ci.n_machines * cmax - maxp) + 0.5 * setup_lb(inst), 0.0) + tard
    return w.get("makespan", 0.0) * cmax + tard


def teacher_of(goal: str) -> str:
    side = REPO / "furnsim" / "data" / "models" / f"ppo-{goal}.json"
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
        "| goal | best single rule | mean LB / best single rule | Σ LB / Σ best single rule | min | max | weeks where 0.90 × best rule < LB | mean per-week-best rule / best single rule | mean LB / per-week-best rule |",
        "|---|---|---|---|---|---|---|---|---|",
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
            f"| {g} | {t} | {r.mean():.3f} | {lb.sum() / b.sum():.3f} | {r.min():.3f} | {r.max():.3f} | "
            f"{int((0.9 * b < lb).sum())}/{len(weeks)} | {np.mean(oracle / b):.3f} | {np.mean(lb / oracle):.3f} |"
        )
    lines.append(f"\n(total {time.perf_counter() - t0:.0f} s)")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        Path(a.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
