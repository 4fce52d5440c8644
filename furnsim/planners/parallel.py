"""Pass searches and sweeps on several processes, or on a Ray cluster.

Pass ``i`` of a search is seeded on its own: pass 0 is the deterministic pass (the rule's or
the policy's greedy one), pass ``i >= 1`` draws from ``SeedSequence(seed, spawn_key=(i - 1,))``
(the ``i``-th child that :func:`furnsim.rules.search_noisy` and ``PolicyPlanner.plan_best``
spawn in turn). The cheapest pass wins, ties to the lowest index. So a search of ``N`` passes
gives the same schedule and cost on 1 worker, on 2 workers and on Ray, and the same as the
in-process searches: worker ``w`` of ``W`` runs passes ``w, w + W, ...``.

With a *time* budget each worker runs its passes until the budget is spent (no pass starts
when the time used plus the longest pass so far would exceed it); more workers then run more
passes, and the plan may differ from a 1-worker run (it is never worse than pass 0, which
always runs).

Local workers are processes started with ``forkserver`` (``spawn`` where that is missing):
forking a process that has loaded torch is not safe. The pool is kept for the next search
(its start, about a second per worker, is paid once per process).
"""

from __future__ import annotations

import atexit
import math
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from furnsim.model import Instance
from furnsim.sim import Schedule

__all__ = [
    "PassSearch",
    "SearchResult",
    "available_workers",
    "connect_ray",
    "map_tasks",
    "pass_rng",
    "run_pass_search",
    "shutdown_pool",
]


def available_workers() -> int:
    """CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def pass_rng(seed: int, i: int) -> np.random.Generator | None:
    """The generator of pass ``i`` (None for pass 0, the deterministic pass)."""
    if i == 0:
        return None
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(i - 1,)))


@dataclass(frozen=True)
class PassSearch:
    """A picklable description of a pass search.

    ``kind="noisy"``: ε-noisy passes of dispatching rule ``rule`` (``eps``).
    ``kind="ppo"``: passes sampled from the learned policy of ``goal`` (``model`` /
    ``models_dir`` as in ``load_planner``; ``temperature``).
    """

    kind: str
    instance: Instance
    goal: str
    seed: int = 0
    buffers: str = "hard"
    anticipatory_setups: bool = True
    rule: str = ""
    eps: float = 0.05
    model: str | None = None
    models_dir: str | None = None
    temperature: float = 1.0


@dataclass
class SearchResult:
    schedule: Schedule
    cost: float
    best_pass: int
    deadlock: str | None
    decisions: int
    costs: list[float]  # every pass's cost, by pass index
    pass_s: list[float]  # every pass's seconds, by pass index
    seconds: float
    workers: int
    backend: str  # "inline" | "processes" | "ray"

    @property
    def passes(self) -> int:
        return len(self.costs)


# -- one worker's share --------------------------------------------------------------------------
_policy_cache: dict[tuple[str, str | None, str | None], Any] = {}


def _runner(job: PassSearch) -> Callable[[int], tuple[Schedule, Any]]:
    if job.kind == "noisy":
        from furnsim.rules import NoisyPolicy, get_rule, run_policy

        rule = get_rule(job.rule)

        def run_noisy(i: int) -> tuple[Schedule, Any]:
            return run_policy(
                job.instance,
                NoisyPolicy(rule, job.eps, pass_rng(job.seed, i)),
                buffers=job.buffers,
                anticipatory_setups=job.anticipatory_setups,
                method=f"rule:{getattr(rule, 'name', job.rule)}" if i == 0 else None,
            )

        return run_noisy
    if job.kind == "ppo":
        from furnsim.rl.policy import load_planner

        key = (job.goal, job.model, job.models_dir)
        if mp.parent_process() is not None:  # a pool worker: one torch thread per process
            import torch

            torch.set_num_threads(1)
        if key not in _policy_cache:
            _policy_cache[key] = load_planner(job.goal, path=job.model, models_dir=job.models_dir)
        planner = _policy_cache[key]

        def run_ppo(i: int) -> tuple[Schedule, Any]:
            return planner.plan(
                job.instance,
                buffers=job.buffers,
                rng=pass_rng(job.seed, i),
                temperature=job.temperature,
            )

        return run_ppo
    raise ValueError(f"unknown pass search kind {job.kind!r}")


def _share(
    job: PassSearch, indices: Sequence[int], deadline_in: float | None, clock: str = "wall"
) -> dict[str, Any]:
    """Run passes ``indices`` in order (until ``deadline_in`` seconds from now on ``clock``
    -- ``"wall"`` or ``"cpu"``: this process's CPU time --, if given; the first index always
    runs); the cheapest one's schedule and every pass's cost."""
    from furnsim.goals import cost

    clk = time.process_time if clock == "cpu" else time.perf_counter
    t0 = clk()
    run = _runner(job)
    costs: dict[int, float] = {}
    secs: dict[int, float] = {}
    best: tuple[float, int, Schedule, Any] | None = None
    longest = 0.0
    for n, i in enumerate(indices):
        if n and deadline_in is not None and clk() - t0 + longest > deadline_in:
            break
        t1 = clk()
        sched, sim = run(int(i))
        c = math.inf if sim.deadlock is not None else float(cost(sched, job.goal, job.instance))
        secs[int(i)] = clk() - t1
        longest = max(longest, secs[int(i)])
        costs[int(i)] = c
        if best is None or (c, i) < (best[0], best[1]):
            best = (c, int(i), sched, sim)
    assert best is not None
    sim = best[3]
    return {
        "cost": best[0],
        "best": best[1],
        "schedule": best[2],
        "deadlock": None if sim.deadlock is None else sim.deadlock.message,
        "decisions": int(getattr(sim, "steps", 0)),
        "costs": costs,
        "pass_s": secs,
    }


# -- executors -----------------------------------------------------------------------------------
_pool: ProcessPoolExecutor | None = None
_pool_workers = 0


def _context() -> Any:
    methods = mp.get_all_start_methods()
    return mp.get_context("forkserver" if "forkserver" in methods else "spawn")


@contextmanager
def _without_main() -> Iterator[None]:
    """Start worker processes without re-running the parent's ``__main__`` in them.

    ``spawn``/``forkserver`` children import the parent's main module again (by name or by
    path) before they run a task. The tasks here are functions of the package, so that is not
    needed, and it breaks or costs where the main module is a script: one without a
    ``__name__ == "__main__"`` guard, Streamlit's ``dashboards/app.py``, a notebook."""
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved: dict[str, Any] = {
        a: main.__dict__[a] for a in ("__file__", "__spec__") if a in main.__dict__
    }
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def _get_pool(workers: int) -> ProcessPoolExecutor:
    global _pool, _pool_workers
    if getattr(_pool, "_broken", False):  # a worker died (killed, out of memory): a new pool
        shutdown_pool()
    if _pool is None or _pool_workers != workers:
        shutdown_pool()
        _pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context())
        _pool_workers = workers
    return _pool


def shutdown_pool() -> None:
    """Stop the kept worker processes (also done at exit)."""
    global _pool, _pool_workers
    if _pool is not None:
        _pool.shutdown(wait=not getattr(_pool, "_broken", False), cancel_futures=True)
    _pool, _pool_workers = None, 0


atexit.register(shutdown_pool)


def _probe(address: str, timeout: float = 5.0) -> None:
    """A clear error for a cluster address nobody answers at (``ray.init`` would retry it
    for minutes); ``host:port`` or ``ray://host:port``, anything else is left to Ray."""
    import socket

    hostport = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout).close()
    except OSError as e:
        raise ConnectionError(
            f"no Ray cluster answers at {address} ({e}); start one there (ray start --head) "
            "or use --ray auto for a local instance"
        ) from None


def connect_ray(address: str) -> Any:
    """The ``ray`` module, connected: a running ``ray.init`` is reused; ``"auto"`` joins the
    cluster in ``RAY_ADDRESS`` (or the latest local one) and else starts a local instance,
    ``"local"`` starts a local instance, anything else is a cluster address (``host:port``,
    ``ray://host:port``). ImportError without the ``scale`` extra, ConnectionError for an
    address nobody answers at."""
    try:
        import ray
    except ImportError as e:
        raise ImportError(
            "Ray is not installed: pip install 'furnsim[scale]' (or drop --ray)"
        ) from e
    if not ray.is_initialized():
        target: str | None
        if address in ("", "auto"):
            target = None  # Ray: RAY_ADDRESS, the latest local cluster, else a new one
            env = os.environ.get("RAY_ADDRESS", "")
            if env and env not in ("auto", "local"):
                _probe(env)
        elif address == "local":
            target = "local"
        else:
            _probe(address)
            target = address
        ray.init(
            address=target,
            include_dashboard=False,
            log_to_driver=False,
            ignore_reinit_error=True,
        )
    return ray


def map_tasks(
    fn: Callable[..., Any],
    args: Iterable[tuple[Any, ...]],
    *,
    workers: int = 1,
    ray: str | None = None,
    on_result: Callable[[int, Any], None] | None = None,
) -> tuple[list[Any], str]:
    """``[fn(*a) for a in args]`` in this process (``workers=1``), on ``workers`` local
    processes, or as Ray tasks (``ray="auto"`` or an address; a running ``ray.init`` is
    reused). ``fn`` must be a module-level function. Results in the order of ``args``;
    ``on_result(index, result)`` as each finishes. Returns ``(results, backend)``."""
    arglist = list(args)
    out: list[Any] = [None] * len(arglist)
    if ray is not None:
        r = connect_ray(ray)
        remote = r.remote(fn)
        refs = [remote.remote(*a) for a in arglist]
        index = {ref: k for k, ref in enumerate(refs)}
        pending = list(refs)
        while pending:
            done, pending = r.wait(pending, num_returns=1)
            for ref in done:
                k = index[ref]
                out[k] = r.get(ref)
                if on_result is not None:
                    on_result(k, out[k])
        return out, "ray"
    if workers <= 1 or len(arglist) <= 1:
        for k, a in enumerate(arglist):
            out[k] = fn(*a)
            if on_result is not None:
                on_result(k, out[k])
        return out, "inline"
    ex: Executor = _get_pool(workers)
    with _without_main():  # the pool starts its processes on submit
        futs = {ex.submit(fn, *a): k for k, a in enumerate(arglist)}
    from concurrent.futures import as_completed

    for f in as_completed(futs):
        k = futs[f]
        out[k] = f.result()
        if on_result is not None:
            on_result(k, out[k])
    return out, "processes"


def run_pass_search(
    job: PassSearch,
    *,
    passes: int | None = None,
    time_limit: float | None = None,
    workers: int = 1,
    ray: str | None = None,
    clock: str = "wall",
) -> SearchResult:
    """Pass 0 plus sampled passes of ``job``: exactly ``passes`` of them (reproducible for
    any ``workers``/``ray``), or as many as ``time_limit`` seconds allow (``passes`` then caps
    them). The cheapest complete pass wins (ties: the lowest pass index). ``clock="cpu"``
    counts ``time_limit`` in CPU seconds (``time.process_time``), split evenly over the
    workers (each stops at its share of its own CPU time)."""
    if passes is None and time_limit is None:
        raise ValueError("give passes or time_limit")
    if clock not in ("wall", "cpu"):
        raise ValueError(f"clock must be 'wall' or 'cpu', not {clock!r}")
    t0 = time.perf_counter()
    n = int(passes) if passes is not None else 100_000
    w = max(1, min(int(workers), n))
    shares = [list(range(k, n, w)) for k in range(w)]
    if ray is None and w == 1:
        parts, backend = [_share(job, shares[0], time_limit, clock)], "inline"
    else:
        remaining = None if time_limit is None else max(time_limit - (time.perf_counter() - t0), 0)
        if remaining is not None and clock == "cpu":
            remaining = (time_limit or 0.0) / w
        args = [(job, s, remaining, clock) for s in shares]
        parts, backend = map_tasks(_share, args, workers=w, ray=ray)
    costs: dict[int, float] = {}
    secs: dict[int, float] = {}
    for p in parts:
        costs.update(p["costs"])
        secs.update(p["pass_s"])
    win = min(parts, key=lambda p: (p["cost"], p["best"]))
    order = sorted(costs)
    return SearchResult(
        schedule=win["schedule"],
        cost=float(win["cost"]),
        best_pass=int(win["best"]),
        deadlock=win["deadlock"],
        decisions=int(win["decisions"]),
        costs=[costs[i] for i in order],
        pass_s=[secs[i] for i in order],
        seconds=time.perf_counter() - t0,
        workers=w,
        backend=backend,
    )
