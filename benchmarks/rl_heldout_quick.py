# ruff: noqa: E402, B905, SIM115
"""Quick held-out check of the shipped goal models on the demo plant (docs/rl.md, round 3).

    python benchmarks/rl_heldout_quick.py 3 [OLD_MODELS_DIR]

Weeks: seeds 10000+i, sizes 100-400 jobs drawn with default_rng(10000) (as rl_eval.py).
Per goal: the greedy policy pass of the shipped model (and of the models in OLD_MODELS_DIR,
e.g. the previous ones from git) vs every rule, as mean cost ratios to the model's teacher.
Every policy plan must be deadlock-free and valid (an AssertionError says which is not).
"""

import json
import sys

import numpy as np
import torch

torch.set_num_threads(1)
from furnsim.env import WeekSource
from furnsim.goals import cost
from furnsim.rl.policy import MODELS_DIR, load_planner
from furnsim.rules import get_rule, rule_names
from furnsim.validate import validate

n = int(sys.argv[1])
lo, hi = 100, 400
src = WeekSource.from_path(None)
sizes = np.random.default_rng(10000).integers(lo, hi + 1, size=n)
weeks = [src.week(10000 + i, int(sizes[i])) for i in range(n)]
rules = [r for r in rule_names(True)]
rs = {}
for r in rules:
    rs[r] = []
    for w in weeks:
        s, sim = get_rule(r).plan(w)
        rs[r].append(s if sim.deadlock is None and s.complete else None)
out = {}
for g in ("speed", "efficiency", "empty-buffers"):
    rc = {
        r: [cost(s, g, w) if s is not None else np.inf for s, w in zip(rs[r], weeks)] for r in rules
    }
    res = {}
    for tag, d in (
        ("new", str(MODELS_DIR)),
        ("old", sys.argv[2] if len(sys.argv) > 2 else str(MODELS_DIR)),
    ):
        pl = load_planner(path=f"{d}/ppo-{g}.zip")
        teacher = json.load(open(f"{d}/ppo-{g}.json"))["teacher"]
        cs = []
        for w in weeks:
            s, sim = pl.plan(w)
            if sim.deadlock is not None:  # (the planner would fall back to the best rule)
                cs.append(float("inf"))
                continue
            assert validate(s, w) == [], (tag, g)
            cs.append(cost(s, g, w))
        res[tag] = (teacher, cs)
    new_teacher = res["new"][0]
    best_single = min(rules, key=lambda r: np.mean(rc[r]))
    base = np.array(rc[new_teacher])
    line = {
        "teacher(new)": new_teacher,
        "new/teacher": float(np.mean(np.array(res["new"][1]) / base)),
        "old/teacher": float(np.mean(np.array(res["old"][1]) / base)),
        "best_single_on_these": best_single,
        "best_single/teacher": float(np.mean(np.array(rc[best_single]) / base)),
        "oracle/teacher": float(np.mean(np.min(np.array([rc[r] for r in rules]), axis=0) / base)),
    }
    out[g] = line
    print(g, json.dumps(line), flush=True)
print("weeks", [int(w.compiled.n_jobs) for w in weeks])
