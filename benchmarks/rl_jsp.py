"""The generic job-shop policy (trained on random job shops) vs dispatching rules on Taillard ta01–ta80.

    python benchmarks/rl_jsp.py                        # shipped ppo-jsp: greedy + 128 samples + rules, ta01-ta80
    python benchmarks/rl_jsp.py --samples 0 --last 40  # greedy and rules only, ta01-ta40 (≈ 15 s)
    python benchmarks/rl_jsp.py --model runs/x.zip --jsonl runs/x.jsonl --out /tmp/jsp.md
    python benchmarks/rl_jsp.py --table-only           # the table from what benchmarks/rl_jsp.jsonl holds

The policy was trained on random classic job shops (``plant: random-jsp`` in
``configs/train/jsp.yaml``: Taillard's recipe, other seeds, never these files). Here it plans
each Taillard instance through the same simulator as the rules (non-delay dispatching: an idle
machine takes a waiting job):

* **greedy**: one pass, the arg-max of the masked logits at every decision;
* **samples**: ``--samples N`` passes sampled from the policy's softmax at temperature
  ``--temperature`` (default: the model sidecar's ``plan_temperature``), seeded per instance
  (``SeedSequence([seed, instance number])``), the best makespan of the N kept;
* **rules**: every deterministic dispatching rule of :mod:`furnsim.rules`, one pass each.

The gap is ``(makespan − best known) / best known`` with the best-known upper bound from
``../shared/benchmarks/bounds.csv``. Every kept plan (greedy, best sample, each rule's) is
checked by the independent validator (``furnsim.validate``); a violation stops the run.

Results go, one JSON line per (instance, method), to ``--jsonl`` (default
``benchmarks/rl_jsp.jsonl``) as soon as they exist; a rerun with the same model file, samples,
temperature and seed skips what the file already holds, so a long sampled run can be stopped
and resumed. The sampled records keep every pass's makespan, so best-of-k for any k ≤ N is read
off the same run (``--curve``). The phases run in order: greedy and rules on every instance,
then the samples instance by instance (``--sample-last`` stops the sampling earlier,
``--sample-only ta41,ta51`` samples only those).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "benchmarks"
GROUPS = [
    (1, 10, "15×15"),
    (11, 20, "20×15"),
    (21, 30, "20×20"),
    (31, 40, "30×15"),
    (41, 50, "30×20"),
    (51, 60, "50×15"),
    (61, 70, "50×20"),
    (71, 80, "100×20"),
]
#: mean gaps on Taillard as quoted in issue 15 (the published papers' own simulators and
#: action spaces: every operation starts as early as its job and machine allow, not non-delay)
PUBLISHED = [
    ("Self-Labeling SPN (Corsini et al. 2024), greedy", 13.4),
    ("Self-Labeling SPN, best of 1024 samples", 7.4),
    ("L2S, learned local search", 7.0),
]


def best_known(path: Path | None = None) -> dict[str, float]:
    out = {}
    with (path or SHARED / "bounds.csv").open() as f:
        for row in csv.DictReader(f):
            if row["family"] == "jsp-ta":
                out[row["name"]] = float(row["upper_bound"] or row["optimum"])
    return out


def makespan(schedule: Any) -> float:
    end = schedule.times["end"]
    return float(end.max()) if end.size else 0.0


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            out.append(json.loads(line))
        except ValueError:  # a line cut by a killed run: dropped, redone on resume
            continue
    return out


def record_key(r: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two records the same measurement (a resumed run skips it)."""
    if r["method"] == "rule":
        return ("rule", r["instance"], r["rule"])
    if r["method"] == "greedy":
        return ("greedy", r["instance"], r["model_sha"])
    return ("sample", r["instance"], r["model_sha"], r["samples"], r["temperature"], r["seed"])


def sample_passes(
    planner: Any,
    instance: Any,
    n: int,
    temperature: float,
    seed: Any,
) -> tuple[Any, list[float], float]:
    """``n`` passes sampled from ``planner`` (one child seed of ``SeedSequence(seed)`` each):
    the best-makespan schedule (the first on ties), every pass's makespan, the seconds."""
    t0 = time.perf_counter()
    best: tuple[float, Any] | None = None
    spans: list[float] = []
    for child in np.random.SeedSequence(seed).spawn(n):
        s, sim = planner.plan(instance, rng=np.random.default_rng(child), temperature=temperature)
        c = math.inf if sim.deadlock is not None else makespan(s)
        spans.append(c)
        if best is None or c < best[0]:
            best = (c, s)
    assert best is not None
    return best[1], spans, time.perf_counter() - t0


def run(a: argparse.Namespace) -> list[dict[str, Any]]:
    from furnsim.io import read_jsp
    from furnsim.rl.policy import load_planner
    from furnsim.rules import get_rule, rule_names
    from furnsim.validate import validate

    bks = best_known()
    model = Path(a.model)
    planner = load_planner(path=model)
    sha = file_sha(model)
    tau = float(
        a.temperature if a.temperature is not None else planner.meta.get("plan_temperature", 1.0)
    )
    jsonl = Path(a.jsonl)
    jsonl.parent.mkdir(parents=True, exist_ok=True)
    records = read_jsonl(jsonl)
    done = {record_key(r) for r in records}
    rules = [] if a.no_rules else rule_names(True)
    names = [f"ta{i:02d}" for i in range(a.first, a.last + 1)]
    insts: dict[str, Any] = {}

    def inst(n: str) -> Any:
        if n not in insts:
            insts[n] = read_jsp(SHARED / "jsp" / f"{n}.txt")
        return insts[n]

    def put(r: dict[str, Any], schedule: Any) -> None:
        v = validate(schedule, inst(r["instance"]))
        if v:
            raise AssertionError(f"{r['instance']} {r['method']} {r.get('rule')}: invalid {v[:3]}")
        i = inst(r["instance"])
        r.update(
            jobs=len(i.orders),
            ops=int(schedule.times["end"].size),
            best_known=bks[r["instance"]],
            gap=r["makespan"] / bks[r["instance"]] - 1,
            valid=True,
        )
        records.append(r)
        done.add(record_key(r))
        with jsonl.open("a", encoding="utf-8") as f:
            f.write(json.dumps(r) + "\n")

    base = {"model": model.name, "model_sha": sha}
    # warm-up (numba compiles the simulator's kernels on first use): not in any timing
    planner.plan(inst(names[0]))
    get_rule("FIFO").plan(inst(names[0]))
    for n in names:  # phase 1: greedy and rules
        if ("greedy", n, sha) not in done:
            t0 = time.perf_counter()
            s, sim = planner.plan(inst(n))
            dt = time.perf_counter() - t0
            assert sim.deadlock is None, f"{n}: greedy pass deadlocked"
            put({"instance": n, "method": "greedy", **base, "makespan": makespan(s), "s": dt}, s)
        for rn in rules:
            if ("rule", n, rn) in done:
                continue
            t0 = time.perf_counter()
            s, sim = get_rule(rn).plan(inst(n))
            dt = time.perf_counter() - t0
            if sim.deadlock is not None:
                continue
            put({"instance": n, "method": "rule", "rule": rn, "makespan": makespan(s), "s": dt}, s)
    sample_names = [n for n in names if int(n[2:]) <= a.sample_last] if a.samples > 0 else []
    if a.sample_only:
        only = {x.strip() for x in a.sample_only.split(",")}
        sample_names = [n for n in sample_names if n in only]
    for n in sample_names:  # phase 2: sampled passes
        key = ("sample", n, sha, a.samples, tau, a.seed)
        if key in done:
            continue
        s, spans, dt = sample_passes(planner, inst(n), a.samples, tau, [a.seed, int(n[2:])])
        put(
            {
                "instance": n,
                "method": "sample",
                **base,
                "samples": a.samples,
                "temperature": tau,
                "seed": a.seed,
                "makespan": min(spans),
                "s": dt,
                "sample_makespans": spans,
            },
            s,
        )
        print(
            f"{n}: best of {a.samples} samples {min(spans):g} "
            f"(gap {100 * (min(spans) / bks[n] - 1):.1f} %), {dt:.0f} s",
            flush=True,
        )
    return records


def table(
    records: list[dict[str, Any]],
    model_sha: str,
    *,
    samples: int,
    temperature: float | None,
    seed: int,
    curve: list[int] | None = None,
    previous: str | None = None,
) -> str:
    """The markdown table of ``records`` for the model ``model_sha`` (and all rules); with
    ``previous`` (another model's sha) also that model's greedy and sampled rows."""

    greedy = {
        r["instance"]: r for r in records if r["method"] == "greedy" and r["model_sha"] == model_sha
    }
    samp = {
        r["instance"]: r
        for r in records
        if r["method"] == "sample"
        and r["model_sha"] == model_sha
        and r["samples"] == samples
        and (temperature is None or r["temperature"] == temperature)
        and r["seed"] == seed
    }
    by_rule: dict[str, dict[str, float]] = {}
    for r in records:
        if r["method"] == "rule":
            by_rule.setdefault(r["rule"], {})[r["instance"]] = r["gap"]
    names = sorted(greedy)
    rules = [rn for rn, d in by_rule.items() if all(n in d for n in names)]
    mean_rule = {rn: float(np.mean([by_rule[rn][n] for n in names])) for rn in rules}
    order = sorted(rules, key=lambda rn: mean_rule[rn])
    present = [g for g in GROUPS if any(f"ta{i:02d}" in greedy for i in range(g[0], g[1] + 1))]

    def cell(d: dict[str, float], lo: int, hi: int) -> str:
        v = [d[f"ta{i:02d}"] for i in range(lo, hi + 1) if f"ta{i:02d}" in d]
        want = sum(f"ta{i:02d}" in greedy for i in range(lo, hi + 1))
        if not v:
            return "–"
        s = f"{100 * np.mean(v):.1f} %"
        return s if len(v) == want else f"{s} ({len(v)}/{want})"

    def row(label: str, d: dict[str, float]) -> str:
        sub40 = [v for n, v in d.items() if int(n[2:]) <= 40]
        c40 = f"{100 * np.mean(sub40):.1f} %" if sub40 else "–"
        allv = f"**{100 * np.mean(list(d.values())):.1f} %**" if d else "–"
        if d and len(d) < len(names):
            allv += f" ({len(d)} inst.)"
        return (
            f"| {label} | "
            + " | ".join(cell(d, lo, hi) for lo, hi, _ in present)
            + f" | {c40} | {allv} |"
        )

    lines = [
        "| method | "
        + " | ".join(f"ta{lo:02d}–{hi:02d} ({s})" for lo, hi, s in present)
        + " | ta01–40 | all |",
        "|---|" + "---|" * (len(present) + 2),
    ]
    g = {n: r["gap"] for n, r in greedy.items()}
    lines.append(row("PPO generic policy, greedy", g))
    if samp:
        tau = next(iter(samp.values()))["temperature"]
        lines.append(
            row(
                f"PPO generic policy, best of {samples} samples (τ = {tau:g})",
                {n: r["gap"] for n, r in samp.items()},
            )
        )
        lines.append(
            row(
                "PPO, best of greedy and samples",
                {n: min(r["gap"], g[n]) for n, r in samp.items() if n in g},
            )
        )
    if previous:
        pg = {
            r["instance"]: r["gap"]
            for r in records
            if r["method"] == "greedy" and r["model_sha"] == previous and r["instance"] in greedy
        }
        ps = {
            r["instance"]: r["gap"]
            for r in records
            if r["method"] == "sample"
            and r["model_sha"] == previous
            and r["samples"] == samples
            and r["seed"] == seed
            and r["instance"] in greedy
        }
        if pg:
            lines.append(row(f"previous model ({previous}), greedy", pg))
        if ps:
            lines.append(row(f"previous model ({previous}), best of {samples} samples", ps))
    if order:
        lines.append(row(f"best single rule ({order[0]})", by_rule[order[0]]))
        oracle = {n: min(by_rule[rn][n] for rn in rules) for n in names}
        lines.append(row(f"per-instance best of {len(rules)} rules", oracle))
        for rn in ("MWKR", "MOPNR", "FIFO", "SPT", "LWKR"):
            if rn in by_rule and rn != order[0]:
                lines.append(row(rn, by_rule[rn]))
    for label, v in PUBLISHED:
        lines.append(
            f"| {label} (published, as quoted in issue 15) | "
            + " | ".join("" for _ in present)
            + f" |  | {v:.1f} % |"
        )
    lines.append("")
    if greedy:
        ms = np.mean([r["s"] for r in greedy.values()])
        per = ", ".join(
            f"{s} {1000 * np.mean([greedy[f'ta{i:02d}']['s'] for i in range(lo, hi + 1) if f'ta{i:02d}' in greedy]):.0f} ms"
            for lo, hi, s in present
        )
        lines.append(f"Greedy plan time per instance: mean {1000 * ms:.0f} ms ({per}).")
    if samp:
        per = ", ".join(
            f"{s} {np.mean([samp[f'ta{i:02d}']['s'] for i in range(lo, hi + 1) if f'ta{i:02d}' in samp]):.1f} s"
            for lo, hi, s in present
            if any(f"ta{i:02d}" in samp for i in range(lo, hi + 1))
        )
        lines.append(f"{samples} sampled passes per instance: {per}.")
        ks = [k for k in (curve or [1, 8, 32, samples]) if k <= samples]
        lines.append(
            "Best of the first k samples, mean gap on the sampled instances: "
            + ", ".join(
                f"k = {k}: {100 * np.mean([min(r['sample_makespans'][:k]) / r['best_known'] - 1 for r in samp.values()]):.1f} %"
                for k in ks
            )
            + "."
        )
    if order:
        lines.append(
            "All rules, mean gap: "
            + ", ".join(f"{rn} {100 * mean_rule[rn]:.1f} %" for rn in order)
            + "."
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(REPO / "furnsim" / "data" / "models" / "ppo-jsp.zip"))
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--last", type=int, default=80)
    ap.add_argument("--samples", type=int, default=128, help="sampled passes (0 = greedy only)")
    ap.add_argument("--sample-last", type=int, default=80, help="sample up to this instance")
    ap.add_argument(
        "--sample-only", default=None, help="sample only these instances, e.g. ta41,ta51"
    )
    ap.add_argument("--temperature", type=float, default=None, help="default: the sidecar's")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-rules", action="store_true")
    ap.add_argument("--jsonl", default=str(REPO / "benchmarks" / "rl_jsp.jsonl"))
    ap.add_argument("--table-only", action="store_true", help="no planning: the table of --jsonl")
    ap.add_argument("--curve", default=None, help="k values for best-of-k, e.g. 1,8,32,128")
    ap.add_argument("--out", default=None, help="also write the table (markdown) here")
    ap.add_argument("--previous", default=None, help="also rows of this model sha (in --jsonl)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    records = read_jsonl(Path(a.jsonl)) if a.table_only else run(a)
    from furnsim.rl.policy import load_planner

    model = Path(a.model)
    tau = a.temperature
    if tau is None:
        tau = float(load_planner(path=model).meta.get("plan_temperature", 1.0))
    lo_hi = {f"ta{i:02d}" for i in range(a.first, a.last + 1)}
    records = [r for r in records if r["instance"] in lo_hi]
    text = (
        f"Model `{model.name}` (sha256 {file_sha(model)}); every kept plan validated.\n\n"
        + table(
            records,
            file_sha(model),
            samples=a.samples,
            temperature=tau,
            seed=a.seed,
            curve=[int(k) for k in a.curve.split(",")] if a.curve else None,
            previous=a.previous,
        )
        + f"(benchmark process {time.perf_counter() - t0:.0f} s)\n"
    )
    print(text)
    if a.out:
        Path(a.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
