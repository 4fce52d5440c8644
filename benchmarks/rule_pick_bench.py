"""Per-decision cost of the compiled rule picks against the numpy keys (and that they agree).

    nice python benchmarks/rule_pick_bench.py            # PYTHONPATH=. from a checkout

Four generated calendar-plant weeks (seeds 20001, 20002, 20003, 20005; 200 jobs), hard and soft
buffers, the Python and the compiled engine; at every decision with more than one candidate
each rule's numpy pick (``keys`` + ``_lexmin``) and its compiled pick (``Rule.compiled``) are
timed (``time.perf_counter``) and compared. Prints the decisions, the disagreements (0
expected) and the median microseconds per call.
"""

from __future__ import annotations

import time

import numpy as np

import furnsim.rules as R
from furnsim.env import WeekSource
from furnsim.sim import Simulator

#: every rule with a compiled pick (all deterministic rules without a static key)
RULES = tuple(n for n, r in R.RULES.items() if getattr(r, "compiled", None) is not None)


def main() -> None:
    src = WeekSource.from_path(None)
    t_np: dict[str, list[float]] = {}
    t_c: dict[str, list[float]] = {}
    bad = n = 0
    for seed in (20001, 20002, 20003, 20005):
        inst = src.week(seed, 200)
        for buffers in ("hard", "soft"):
            for name in RULES:
                rule = R.get_rule(name)
                assert rule.compiled is not None
                for fast in (False, True):
                    sim = Simulator(inst, buffers=buffers, fast=fast)
                    d = sim.reset()
                    st = R._static(sim)
                    while d is not None:
                        c = d.candidates
                        j = int(c[0])
                        if c.size > 1:
                            t0 = time.perf_counter()
                            j = R._lexmin(c, rule.keys(sim, d, st))
                            t1 = time.perf_counter()
                            b = rule.compiled(sim, d, st)
                            t2 = time.perf_counter()
                            t_np.setdefault(name, []).append(t1 - t0)
                            t_c.setdefault(name, []).append(t2 - t1)
                            n += 1
                            bad += j != b
                        d = sim.dispatch(j)
    print(f"decisions {n}, different picks {bad}")
    for name in RULES:
        a, b = t_np[name][10:], t_c[name][10:]  # (the first calls compile)
        print(
            f"{name:8s} numpy {1e6 * np.median(a):6.1f} µs  compiled {1e6 * np.median(b):5.1f} µs"
        )


if __name__ == "__main__":
    main()
