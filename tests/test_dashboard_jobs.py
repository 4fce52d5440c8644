"""The dashboard's worker processes (dashboards/sections/jobs.py) end with the server.

A parent process starts both worker pools the way the Streamlit server does (``jobs.pool``),
leaves one worker idle and keeps the other busy with a long job, and then is killed (SIGKILL:
no clean-up of its own runs) or ends normally (as a stopped server does). Both workers must
be gone within seconds, and a normal end must not wait for the busy worker's job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PARENT = """
import os, sys, time
from dashboards.sections import jobs

idle = jobs.pool("files").submit(os.getpid).result(timeout=600)
busy_pool = jobs.pool("plan")
busy = busy_pool.submit(os.getpid).result(timeout=600)
busy_pool.submit(time.sleep, 600)  # a long job: the worker is busy when the parent dies
time.sleep(0.5)
print(idle, busy, flush=True)
sys.stdin.readline()  # the test says when to end (a normal end), or kills the parent first
"""


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (a reparented child may wait to be reaped)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = next((ln.split()[1] for ln in status.splitlines() if ln.startswith("State:")), "")
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("end", ["kill", "exit"])
def test_workers_exit_with_the_server(end: str) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        },
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    workers: list[int] = []
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()  # both workers started (their imports take seconds)
        workers = [int(w) for w in line.split()]
        assert len(workers) == 2 and parent.pid not in workers, line
        assert all(_alive(w) for w in workers)
        t0 = time.monotonic()
        if end == "kill":
            parent.send_signal(signal.SIGKILL)
        else:  # only now: ending right after the print raced the liveness check above
            assert parent.stdin is not None
            parent.stdin.write("end\n")
            parent.stdin.flush()
        parent.wait(timeout=60)
        # a normal end ends the workers first, it does not wait for the 600 s job
        assert time.monotonic() - t0 < 20, "the parent waited for its busy worker"
        until = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < until:
            time.sleep(0.1)
        left = [w for w in workers if _alive(w)]
        assert not left, f"workers {left} outlived their parent"
    finally:
        parent.kill()
        for w in workers:  # never leave a worker behind, even when the test fails
            if _alive(w):
                os.kill(w, signal.SIGKILL)


def test_figures_cross_the_process_boundary_unvalidated_and_unchanged() -> None:
    """A view's figure comes back from the worker as :class:`jobs.PortableFigure`: the same
    figure (JSON-equal), rebuilt without validating it again. A pickled ``go.Figure`` is
    validated when unpickled, which costs the server process (and its websocket) 0.3-0.5 s
    for the demo week's machine Gantt; the portable one must cost a fraction of that."""
    import json
    import pickle

    import plotly.io

    from dashboards.sections import jobs
    from furnsim import viz
    from furnsim.io import load_instance

    inst = load_instance(ROOT / "bom_data" / "demo")
    ps = viz.resolve_plan_start(inst)
    res = jobs.plan_result(inst, "speed", jobs.QUICK, None)
    for view in ("Gantt by machine", "Gantt by order", "Buffers"):
        fig = jobs.figure(res, inst, ps, view)
        blob = pickle.dumps(jobs.figure_portable(res, inst, ps, view))
        back = pickle.loads(blob).figure()
        assert json.loads(plotly.io.to_json(back, validate=False)) == json.loads(
            plotly.io.to_json(fig, validate=False)
        )
        back.layout.meta = "plan:view"  # the dashboard writes into it
        assert back.layout.meta == "plan:view"
    plain = pickle.dumps(fig := jobs.figure(res, inst, ps, "Gantt by machine"))
    portable = pickle.dumps(jobs.PortableFigure(fig))

    def cpu(f: Callable[[], object]) -> float:
        t0 = time.process_time()
        f()
        return time.process_time() - t0

    # the best of 5 alternating tries each (a single try can be slowed by other load), so
    # both warm: 2.7-3.5x on the 2-core machine (2026-12-03); the first, cold, unpickle of a
    # go.Figure costs more still
    tp, tq = [], []
    for _ in range(5):
        tp.append(cpu(lambda: pickle.loads(plain)))
        tq.append(cpu(lambda: pickle.loads(portable).figure()))
    t_plain, t_portable = min(tp), min(tq)
    assert t_portable < t_plain / 2, (tq, tp)


def test_warm_up_loads_the_first_plans_kernels_in_a_fresh_process() -> None:
    """The planning worker's warm-up (``jobs.warm_up``, run by ``init(warm=True)``) leaves the
    first click's path loaded: the compiled event loop that runs the quick plan's rules
    (``_fastloop.run_rule``, ``rules.run_policy``) has its machine code (numba signatures), and
    a quick plan of the whole demo week afterwards costs what a warm plan costs, not the first
    call's loading."""
    code = """
import json, sys, time
from furnsim._numba import HAVE_NUMBA
from dashboards.sections import jobs
from furnsim.sim import _fastloop as fl
from furnsim.io import load_instance
before = len(getattr(fl.run_rule, "signatures", []))
jobs.init(0, warm=True)
after = len(getattr(fl.run_rule, "signatures", []))
inst = load_instance(jobs.WARM_UP_WEEK)
t0 = time.process_time(); jobs.plan_result(inst, "speed", jobs.QUICK, None); first = time.process_time() - t0
t0 = time.process_time(); jobs.plan_result(inst, "speed", jobs.QUICK, None); second = time.process_time() - t0
print(json.dumps([HAVE_NUMBA, before, after, first, second]))
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    import json

    have_numba, before, after, first, second = json.loads(out.stdout.strip().splitlines()[-1])
    if have_numba:
        assert before == 0 and after >= 1
    # the first plan after the warm-up is a warm plan (loading took 0.6-2.3 s more)
    assert first < 2 * second + 0.3, (first, second)
