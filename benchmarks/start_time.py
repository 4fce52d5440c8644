"""CPU time before an optimizer's first neighbour: ``best_rule`` on generated demo-plant weeks
of 100-2,000 jobs, and ``lns``'s start (``LnsResult.start_s``: every rule, the replay, the
release check, the validation) on the training weeks of ``benchmarks/lns_tune.py``.

    PYTHONPATH=. python benchmarks/start_time.py            # from a checkout (old or new code)

One JSON line per measurement; the last lines are the means. docs/optimizer.md ("Every rule
compiled").
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    from lns_tune import training_weeks

    from furnsim.env import WeekSource
    from furnsim.rules import best_rule
    from furnsim.solvers.lns import lns

    src = WeekSource.from_path(None)
    best_rule(src.week(1, 30), "speed")  # warm-up: the compiled loops
    for n in (100, 250, 500, 1000, 2000):
        inst = src.week(10500 + n, n)
        c = time.process_time()
        b = best_rule(inst, "speed")
        row = dict(jobs=n, ops=int(inst.compiled.n_ops), best_rule_cpu_s=time.process_time() - c)
        print(json.dumps({**row, "rule": b.rule}), flush=True)
    weeks = training_weeks(10)
    lns(weeks[0], "empty-buffers", iterations=5, seed=0)
    starts = []
    for w, inst in enumerate(weeks):
        for goal in ("speed", "empty-buffers"):
            r = lns(inst, goal, iterations=1, seed=1, start_ppo=False)
            starts.append(r.start_s)
            print(json.dumps(dict(week=w, goal=goal, jobs=inst.compiled.n_jobs, start_s=r.start_s)))
    print(json.dumps({"mean_start_s": round(statistics.mean(starts), 3)}))


if __name__ == "__main__":
    main()
