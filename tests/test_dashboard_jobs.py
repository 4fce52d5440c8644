"""The dashboard's worker processes (dashboards/sections/jobs.py) end with the server.

A parent process starts both worker pools the way the Streamlit server does (``jobs.pool``),
leaves one worker idle and keeps the other busy with a long job, and is then killed
(SIGKILL: no clean-up of its own runs). Both workers must be gone within seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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
time.sleep(600)
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
def test_workers_exit_when_the_server_is_killed() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        },
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
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        end = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < end:
            time.sleep(0.1)
        left = [w for w in workers if _alive(w)]
        assert not left, f"workers {left} outlived their parent"
    finally:
        parent.kill()
        for w in workers:  # never leave a worker behind, even when the test fails
            if _alive(w):
                os.kill(w, signal.SIGKILL)
