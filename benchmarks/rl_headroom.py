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
import math
import time
from pathlib import Path

import numpy as np

from furnsim.benchmarks import (  # noqa: E402,F401 - the bounds live in the package
    GOALS,
    cost_lb,
    held_out_weeks,
    makespan_lb,
    setup_lb,
    tardiness_lb,
    teacher_of,
    wc_setup_lb,
)

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> None:

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
