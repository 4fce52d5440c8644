"""Simulator speed: furnsim vs JSSEnv vs job-shop-lib, with random valid decisions.

One *step* is one dispatch decision (a job/operation put on a machine). Every engine runs
full episodes from reset to the last operation with a seeded numpy rng that picks uniformly
among the legal choices; the reset is inside the timed region, building the engine is not.
Each (instance, engine) pair is run ``--repeats`` times, each repeat for at least
``--min-time / --repeats`` seconds (or exactly ``--episodes`` episodes when given), and the
median steps/s over the repeats is reported.

    python benchmarks/sim_speed.py                       # ta01, ta41, demo week, generated week
    python benchmarks/sim_speed.py --out results.md
    python benchmarks/sim_speed.py --scaling             # plan time vs. number of jobs
    python benchmarks/sim_speed.py --profile             # cProfile furnsim on the largest instance

Optional engines (``pip install jssenv==1.1.0 job-shop-lib``, see benchmarks/README.md) are
skipped with a note when they are not installed; so are the demo week (``bom_data/demo``) and
the generated week (``furnsim.generate``) when they are missing.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.metadata
import io
import platform
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent

# An episode runner: (rng) -> (decisions, raw_steps, ok). ``ok`` is False when the episode
# ended early (a furnsim deadlock under hard buffers).
Episode = Callable[[np.random.Generator], tuple[int, int, bool]]


@dataclass
class Row:
    instance: str
    engine: str
    steps_per_episode: float | None = None
    episodes: int = 0
    steps_per_s: float | None = None
    ratio: float | None = None
    note: str = ""
    raw: list[float] = field(default_factory=list)  # steps/s of each repeat


# --------------------------------------------------------------------------------------
# engines
# --------------------------------------------------------------------------------------
def furnsim_runner(instance: Any, policy: str = "random", **sim_kw: Any) -> Episode:
    from furnsim.sim.engine import Simulator

    sim = Simulator(instance, **sim_kw)

    def episode(rng: np.random.Generator) -> tuple[int, int, bool]:
        d = sim.reset()
        n = 0
        if policy == "fifo":
            while d is not None:
                d = sim.dispatch(d.candidates[0])
                n += 1
        else:
            integers = rng.integers
            while d is not None:
                c = d.candidates
                d = sim.dispatch(c[integers(len(c))])
                n += 1
        return n, n, sim.deadlock is None

    return episode


class JSSEnvAdapter:
    """Gymnasium-1.x style front for JSSEnv's ``JssEnv`` (whose ``reset()`` takes no seed and
    returns only the observation). ``step`` is passed through unchanged."""

    def __init__(self, instance_path: str | Path) -> None:
        from JSSEnv.envs import JssEnv  # importing JSSEnv also registers 'jss-v1'

        self.env = JssEnv(env_config={"instance_path": str(instance_path)})
        self.action_space = self.env.action_space
        self.observation_space = self.env.observation_space
        self.no_op = self.env.jobs  # the last action is "allocate nothing now"

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        return self.env.reset(), {}

    def step(self, action: int) -> tuple[dict, float, bool, bool, dict]:
        return self.env.step(action)


def jssenv_runner(path: Path) -> Episode:
    env = JSSEnvAdapter(path)
    no_op = env.no_op

    def episode(rng: np.random.Generator) -> tuple[int, int, bool]:
        obs, _ = env.reset()
        decisions = raw = 0
        done = False
        while not done:
            legal = np.flatnonzero(obs["action_mask"][:no_op])
            if legal.size:
                a = int(legal[rng.integers(legal.size)])
                decisions += 1
            else:  # only the no-op is legal
                a = no_op
            obs, _, done, _, _ = env.step(a)
            raw += 1
        return decisions, raw, True

    return episode


def jsl_runner(path: Path, filtered: bool = False) -> Episode:
    from job_shop_lib import JobShopInstance
    from job_shop_lib.dispatching import Dispatcher, create_composite_operation_filter

    inst = JobShopInstance.from_taillard_file(str(path))
    flt = None
    if filtered:  # the default filters of job-shop-lib's DispatchingRuleSolver
        flt = create_composite_operation_filter(
            ["dominated_operations", "non_immediate_operations"]
        )
    disp = Dispatcher(inst, ready_operations_filter=flt)

    def episode(rng: np.random.Generator) -> tuple[int, int, bool]:
        disp.reset()
        n = 0
        ops = disp.available_operations()
        while ops:
            disp.dispatch(ops[rng.integers(len(ops))])
            n += 1
            ops = disp.available_operations()
        return n, n, True

    return episode


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


# --------------------------------------------------------------------------------------
# measuring
# --------------------------------------------------------------------------------------
@dataclass
class Measure:
    decisions: float  # mean decisions per episode
    raw: float  # mean raw steps per episode
    episodes: int
    rate: float  # median decisions/s over repeats
    raw_rate: float  # median raw steps/s over repeats
    rates: list[float]
    failed: int  # episodes that ended early (deadlock)


def measure(
    episode: Episode, *, seed: int, repeats: int, min_time: float, episodes: int | None
) -> Measure:
    rng = np.random.default_rng(seed)
    episode(rng)  # warm-up (caches, first-touch allocation)
    rates, raw_rates = [], []
    tot_dec = tot_raw = tot_ep = failed = 0
    per_repeat = min_time / max(repeats, 1)
    for _ in range(repeats):
        dec = raw = ep = 0
        t0 = time.perf_counter()
        while True:
            d, r, ok = episode(rng)
            dec += d
            raw += r
            ep += 1
            failed += not ok
            elapsed = time.perf_counter() - t0
            if (episodes is not None and ep >= episodes) or (
                episodes is None and elapsed >= per_repeat
            ):
                break
        rates.append(dec / elapsed)
        raw_rates.append(raw / elapsed)
        tot_dec += dec
        tot_raw += raw
        tot_ep += ep
    return Measure(
        tot_dec / tot_ep,
        tot_raw / tot_ep,
        tot_ep,
        statistics.median(rates),
        statistics.median(raw_rates),
        rates,
        failed,
    )


# --------------------------------------------------------------------------------------
# instances
# --------------------------------------------------------------------------------------
def load_demo(path: Path) -> tuple[Any | None, str]:
    """The demo week, or (None, why not)."""
    if not path.exists():
        return None, f"skipped: {path} not found (demo week not written yet)"
    from furnsim.io import load_instance

    try:
        if path.is_dir() and not any(path.iterdir()):
            return None, f"skipped: {path} is empty (demo week not written yet)"
        target = path
        if path.is_dir():  # prefer a plant workbook with its orders, if the folder has one
            plants = sorted(path.glob("plant*.xlsx")) or sorted(path.glob("*.xlsx"))
            orders = sorted(path.glob("orders*.xlsx")) + sorted(path.glob("orders*.csv"))
            if plants and plants[0] not in orders:
                return load_instance(plants[0], orders=orders[0] if orders else None), ""
        return load_instance(target), ""
    except Exception as e:  # noqa: BLE001 - report, do not crash the whole benchmark
        return None, f"skipped: could not load {path}: {type(e).__name__}: {str(e)[:200]}"


def generate_week(work_centers: int, machines: int, jobs: int, seed: int) -> tuple[Any | None, str]:
    """A generated week (plant + orders) as an Instance, or (None, why not)."""
    try:
        from furnsim.generate import generate_plant_tables
    except ImportError as e:
        return None, f"skipped: furnsim.generate not available yet ({e})"
    from furnsim.io import load_instance, write_workbook

    try:
        tables = generate_plant_tables(
            work_centers=work_centers, machines=machines, jobs=jobs, seed=seed
        )
        with tempfile.TemporaryDirectory(prefix="furnsim_bench_") as tmp:
            if isinstance(tables, tuple) and len(tables) == 2:  # (plant tables, order tables)
                p = write_workbook(tables[0], Path(tmp) / "plant.xlsx")
                o = write_workbook(tables[1], Path(tmp) / "orders.xlsx")
                return load_instance(p, orders=o), ""
            p = write_workbook(tables, Path(tmp) / "week.xlsx")
            return load_instance(p), ""
    except Exception as e:  # noqa: BLE001
        return None, f"skipped: generating the week failed: {type(e).__name__}: {str(e)[:200]}"


def random_jsp_file(folder: Path, jobs: int, machines: int, seed: int) -> Path:
    """A Taillard-style random JSSP (for scaling when furnsim.generate is missing)."""
    rng = np.random.default_rng(seed)
    lines = [f"{jobs} {machines}"]
    for _ in range(jobs):
        order = rng.permutation(machines)
        dur = rng.integers(1, 100, size=machines)
        lines.append(" ".join(f"{m} {d}" for m, d in zip(order, dur, strict=True)))
    p = folder / f"rand_{jobs}x{machines}.txt"
    p.write_text("\n".join(lines) + "\n")
    return p


def describe(inst: Any) -> str:
    ci = inst.compiled
    return f"{ci.n_jobs} jobs, {ci.n_ops} ops, {ci.n_machines} machines, {ci.n_wc} work centers"


# --------------------------------------------------------------------------------------
# speed table
# --------------------------------------------------------------------------------------
ALL_ENGINES = ("furnsim", "jssenv", "job-shop-lib", "job-shop-lib-filtered")


def run_speed(args: argparse.Namespace, log: Callable[[str], None]) -> tuple[list[Row], list[str]]:
    from furnsim.io import load_instance

    rows: list[Row] = []
    notes: list[str] = []
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    bad = set(engines) - set(ALL_ENGINES)
    if bad:
        raise SystemExit(f"unknown engine(s) {sorted(bad)}; choose from {ALL_ENGINES}")
    mk = {
        "seed": args.seed,
        "repeats": args.repeats,
        "min_time": args.min_time,
        "episodes": args.episodes,
    }
    have_jss = _version("jssenv") is not None
    have_jsl = _version("job-shop-lib") is not None
    if "jssenv" in engines and not have_jss:
        notes.append("JSSEnv skipped: `jssenv` is not installed (see benchmarks/README.md)")
    if any(e.startswith("job-shop-lib") for e in engines) and not have_jsl:
        notes.append(
            "job-shop-lib skipped: `job-shop-lib` is not installed (see benchmarks/README.md)"
        )

    def add(instance: str, engine: str, ep: Episode, raw_row: str | None = None) -> Row:
        log(f"  {instance:<10} {engine} ...")
        m = measure(ep, **mk)
        row = Row(instance, engine, m.decisions, m.episodes, m.rate, raw=m.rates)
        if m.failed:
            row.note = f"{m.failed}/{m.episodes} episodes deadlocked (hard buffers, random choices)"
        rows.append(row)
        if raw_row is not None:
            rows.append(
                Row(instance, raw_row, m.raw, m.episodes, m.raw_rate, note="incl. no-op steps")
            )
        return row

    # -- classic JSSP instances --------------------------------------------------------
    jsp_dir = Path(args.benchmarks) / "jsp"
    for name in [s.strip() for s in args.instances.split(",") if s.strip()]:
        path = jsp_dir / f"{name}.txt"
        if not path.exists():
            notes.append(f"{name}: skipped, {path} not found")
            continue
        inst = load_instance(path)
        label = f"{name} ({inst.compiled.n_jobs}x{inst.compiled.n_machines})"
        base = None
        if "furnsim" in engines:
            base = add(label, "furnsim", furnsim_runner(inst, buffers=args.buffers))
        if "jssenv" in engines and have_jss:
            add(label, "JSSEnv", jssenv_runner(path), raw_row="JSSEnv raw env.step")
        if "job-shop-lib" in engines and have_jsl:
            add(label, "job-shop-lib Dispatcher", jsl_runner(path))
        if "job-shop-lib-filtered" in engines and have_jsl:
            add(label, "job-shop-lib Dispatcher + solver filters", jsl_runner(path, filtered=True))
        if base is not None and base.steps_per_s:
            for r in rows:
                if r.instance == label and r.steps_per_s:
                    r.ratio = r.steps_per_s / base.steps_per_s

    # -- furniture weeks (furnsim only) ------------------------------------------------
    if not args.no_furniture and "furnsim" in engines:
        demo, why = load_demo(Path(args.demo))
        if demo is None:
            notes.append(f"demo week: {why}")
        else:
            notes.append(f"demo week: {describe(demo)}")
            base = add("demo week", "furnsim", furnsim_runner(demo, buffers="hard"))
            base.ratio = 1.0
            # the same week with working time (furnsim.calendar.demo_working_time: two shifts
            # with breaks, three on LACQ, a non-interruptible VENEER press, a CNC maintenance)
            from furnsim.calendar import demo_working_time

            cal = add(
                "demo week + calendars",
                "furnsim",
                furnsim_runner(demo_working_time(demo), buffers="hard"),
            )
            if base.steps_per_s and cal.steps_per_s:
                cal.ratio = cal.steps_per_s / base.steps_per_s
                cal.note = (cal.note + "; " if cal.note else "") + "ratio vs. the 24/7 demo week"
        gen, why = generate_week(args.work_centers, args.machines, args.gen_jobs, args.seed)
        label = f"generated {args.machines}m/{args.gen_jobs}j"
        if gen is None:
            notes.append(f"{label}: {why}")
        else:
            notes.append(f"{label}: {describe(gen)}; hard buffers, anticipatory setups")
            add(label, "furnsim", furnsim_runner(gen, buffers="hard")).ratio = 1.0
    return rows, notes


def _fmt(x: float | None, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def table(rows: list[Row]) -> str:
    out = [
        "| instance | engine | steps/episode | episodes | steps/s (median) | ratio vs furnsim | note |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        spe = "—" if r.steps_per_episode is None else f"{r.steps_per_episode:,.0f}"
        out.append(
            f"| {r.instance} | {r.engine} | {spe} | {r.episodes} | {_fmt(r.steps_per_s, ',.0f')} | "
            f"{_fmt(r.ratio, '.3f')} | {r.note} |"
        )
    return "\n".join(out)


def header(args: argparse.Namespace) -> str:
    import furnsim

    vers = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "furnsim": getattr(furnsim, "__version__", _version("furnsim") or "?"),
        "jssenv": _version("jssenv") or "not installed",
        "job-shop-lib": _version("job-shop-lib") or "not installed",
    }
    if args.scaling:
        budget = f"plan time is the median of {args.repeats} runs (Simulator construction + full episode)"
    elif args.episodes is None:
        budget = f"{args.repeats} repeats × ≥{args.min_time / args.repeats:.2g} s each"
    else:
        budget = f"{args.repeats} repeats × {args.episodes} episode(s) each"
    return (
        f"Machine: {platform.processor() or platform.machine()}, {platform.system()} {platform.release()}; "
        + ", ".join(f"{k} {v}" for k, v in vers.items())
        + f"\nRandom valid decisions, seed {args.seed}; {budget}; one step = one dispatch decision"
        + (
            "."
            if args.scaling
            else "; steps/s is the median over repeats, reset included, engine construction excluded."
        )
    )


# --------------------------------------------------------------------------------------
# scaling
# --------------------------------------------------------------------------------------
def run_scaling(args: argparse.Namespace, log: Callable[[str], None]) -> tuple[str, list[str]]:
    from furnsim.io import load_instance
    from furnsim.sim.engine import Simulator

    notes: list[str] = []
    sizes = [int(s) for s in args.scaling_jobs.split(",") if s.strip()]
    try:
        import furnsim.generate  # noqa: F401

        kind = "generated"
    except ImportError as e:
        kind = "jsp"
        notes.append(
            f"furnsim.generate not available yet ({e}): scaling on random Taillard-style JSSPs "
            f"with {args.scaling_jsp_machines} machines instead (no setups, transports or buffers)"
        )
    out = [
        "| jobs | machines | ops | build (s) | policy | plan time (s) | ms/job | µs/op | decisions | deadlock |",
        "|---:|---:|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    with tempfile.TemporaryDirectory(prefix="furnsim_scaling_") as tmp:
        for n in sizes:
            if kind == "generated":
                machines = (
                    max(1, round(args.machines * n / args.gen_jobs))
                    if args.scale_machines
                    else args.machines
                )
                wcs = max(1, round(args.work_centers * machines / args.machines))
                log(f"  generating {n} jobs / {machines} machines ...")
                inst, why = generate_week(wcs, machines, n, args.seed)
                if inst is None:
                    notes.append(f"{n} jobs: {why}")
                    continue
            else:
                machines = args.scaling_jsp_machines
                inst = load_instance(random_jsp_file(Path(tmp), n, machines, args.seed))
            ci = inst.compiled
            for policy in ("fifo", "random"):
                builds, plans, dec, dl = [], [], 0, False
                for r in range(args.repeats):
                    rng = np.random.default_rng(args.seed + r)
                    t0 = time.perf_counter()
                    sim = Simulator(inst, buffers="hard")  # construction runs reset() once too
                    t1 = time.perf_counter()
                    d = sim.reset()
                    k = 0
                    while d is not None:
                        c = d.candidates
                        d = sim.dispatch(c[0] if policy == "fifo" else c[rng.integers(len(c))])
                        k += 1
                    t2 = time.perf_counter()
                    builds.append(t1 - t0)
                    plans.append(t2 - t0)
                    dec, dl = k, dl or sim.deadlock is not None
                b, p = statistics.median(builds), statistics.median(plans)
                out.append(
                    f"| {ci.n_jobs} | {ci.n_machines} | {ci.n_ops} | {b:.3f} | {policy} | {p:.3f} | "
                    f"{1e3 * p / max(ci.n_jobs, 1):.3f} | {1e6 * p / max(ci.n_ops, 1):.1f} | {dec} | "
                    f"{'yes' if dl else 'no'} |"
                )
                log(out[-1])
    return "\n".join(out), notes


# --------------------------------------------------------------------------------------
# profiling
# --------------------------------------------------------------------------------------
def run_profile(args: argparse.Namespace, log: Callable[[str], None]) -> str:
    """cProfile a few random furnsim episodes on the generated week (or ta41) and list the
    functions with the most own time."""
    from furnsim.io import load_instance

    inst, why = generate_week(args.work_centers, args.machines, args.gen_jobs, args.seed)
    label = f"generated {args.machines}m/{args.gen_jobs}j"
    if inst is None:
        log(f"profile: {why}; using ta41")
        inst, label = load_instance(Path(args.benchmarks) / "jsp" / "ta41.txt"), "ta41"
    ep = furnsim_runner(inst, buffers="hard")
    rng = np.random.default_rng(args.seed)
    pr = cProfile.Profile()
    t0 = time.perf_counter()
    pr.enable()
    n = 0
    while n < 5 or time.perf_counter() - t0 < args.min_time:
        ep(rng)
        n += 1
    pr.disable()
    s = io.StringIO()
    st = pstats.Stats(pr, stream=s)
    total = st.total_tt  # type: ignore[attr-defined]
    s.write(
        f"profile of {n} random furnsim episodes on {label} ({describe(inst)}); total {total:.2f} s\n"
    )
    st.sort_stats("tottime").print_stats(15)
    return s.getvalue()


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--benchmarks",
        default=str(REPO.parent / "shared" / "benchmarks"),
        help="folder with jsp/*.txt (default: ../shared/benchmarks from the repo root)",
    )
    p.add_argument("--instances", default="ta01,ta41", help="comma-separated jsp instance names")
    p.add_argument(
        "--engines", default=",".join(ALL_ENGINES), help=f"comma-separated subset of {ALL_ENGINES}"
    )
    p.add_argument(
        "--demo", default=str(REPO / "bom_data" / "demo"), help="demo week (plant + orders)"
    )
    p.add_argument(
        "--no-furniture", action="store_true", help="skip the demo week and the generated week"
    )
    p.add_argument("--machines", type=int, default=150, help="machines of the generated plant")
    p.add_argument(
        "--work-centers", type=int, default=30, help="work centers of the generated plant"
    )
    p.add_argument("--gen-jobs", type=int, default=500, help="jobs of the generated week")
    p.add_argument(
        "--buffers", choices=("hard", "soft"), default="hard", help="furnsim buffers on the JSSPs"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=5, help="timed repeats; the median is reported")
    p.add_argument(
        "--min-time", type=float, default=3.0, help="seconds per (instance, engine), all repeats"
    )
    p.add_argument(
        "--episodes", type=int, default=None, help="exactly this many episodes per repeat"
    )
    p.add_argument("--out", default=None, help="also write the markdown report here")
    p.add_argument(
        "--scaling", action="store_true", help="plan time vs. week size instead of the speed table"
    )
    p.add_argument("--scaling-jobs", default="100,250,500,1000,2000")
    p.add_argument(
        "--scale-machines",
        action="store_true",
        help="scale machines (and work centers) with jobs: machines*jobs/gen-jobs",
    )
    p.add_argument(
        "--scaling-jsp-machines",
        type=int,
        default=15,
        help="machines of the random JSSPs used when furnsim.generate is missing",
    )
    p.add_argument(
        "--profile", action="store_true", help="also cProfile furnsim and print the hotspots"
    )
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log: Callable[[str], None] = (
        (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    )
    parts = [header(args), ""]
    if args.scaling:
        log("scaling ...")
        tab, notes = run_scaling(args, log)
        parts += ["## Plan time vs. week size (furnsim, hard buffers)", "", tab]
    else:
        log("speed ...")
        rows, notes = run_speed(args, log)
        parts += ["## Simulator speed, random valid decisions", "", table(rows)]
    if notes:
        parts += ["", "Notes:", *[f"- {n}" for n in notes]]
    if args.profile:
        parts += [
            "",
            "## furnsim profile (own time)",
            "",
            "```",
            run_profile(args, log).rstrip(),
            "```",
        ]
    report = "\n".join(parts) + "\n"
    print(report)
    if args.out:
        Path(args.out).write_text(report, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
