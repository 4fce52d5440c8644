"""Working-time features per machine for observation builders (docs/semantics.md).

``working_time_features(sim)`` -> ``(n_machines, 3)`` float32:

* ``working`` — 1 when the machine is in a working window now (24/7: always 1);
* ``to_window_end`` — minutes until the current window closes (0 when closed), / ``scale``;
* ``to_next_window`` — minutes until the next window opens (0 when working now), / ``scale``.

Both times are clipped to ``[0, clip]``; a 24/7 machine reports ``clip`` for the end. Not part
of the default observations (that would change their shape and the shipped policies); an
observation builder or a rule can add them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from furnsim.sim.engine import Simulator

__all__ = ["WORKING_TIME_FEATURES", "working_time_features"]

WORKING_TIME_FEATURES = ("working", "to_window_end", "to_next_window")


def working_time_features(sim: Simulator, scale: float = 60.0, clip: float = 10.0) -> np.ndarray:
    out = np.zeros((sim.n_machines, 3), dtype=np.float32)  # (n_machines, 3)
    out[:, 0] = 1.0
    out[:, 1] = clip
    wt = sim.ci.working
    if wt is None:
        return out
    t = sim.time
    for m, mt in enumerate(wt.machines):
        if mt is None:
            continue
        a, b = mt.window(t)
        if a <= t:
            out[m] = (1.0, min((b - t) / scale, clip), 0.0)
        else:
            out[m] = (0.0, 0.0, min((a - t) / scale, clip))
    return out


#: optional candidate-row features (``working_time_features=True``, docs/rl.md): appended to each
#: row of the candidates view after the kit features. Off by default (the 23-input models)
WORKING_TIME_CANDIDATE_FEATURES = (
    "wt_window_end",  # the deciding machine's minutes left in its working window / P (24/7: 10)
    "wt_fits",  # 1 if setup + processing end inside that window (a non-interruptible op must)
    "wt_next_open",  # minutes until a machine of the job's next work center works / P (0: now)
)


_NOW: list[Any] = [None, None, None, None]  # (compiled instance, time, scale, features)


def _features_now(sim: Simulator, scale: float) -> np.ndarray:
    """:func:`working_time_features` at ``sim.time`` (clip 10), kept while the instance and the
    time stay the same (many decisions share an instant; the calendars never change)."""
    key = (sim.ci, float(sim.time), float(scale))
    if _NOW[0] is key[0] and _NOW[1] == key[1] and _NOW[2] == key[2]:
        return _NOW[3]
    wt = working_time_features(sim, scale=scale, clip=10.0)
    wt.flags.writeable = False
    _NOW[:] = [key[0], key[1], key[2], wt]
    return wt


def candidate_working_time(
    sim: Simulator, machine: int, need: np.ndarray, next_wc: np.ndarray, scale: float
) -> np.ndarray:
    """(k, 3) :data:`WORKING_TIME_CANDIDATE_FEATURES` for one decision of ``machine``.

    ``need``: (k,) setup + processing minutes of each candidate on the machine; ``next_wc``:
    (k,) the work center the job goes to next (``-1``: finished goods). Times / ``scale``
    (the observation's ``P``), clipped to ``[0, 10]``; a 24/7 plant gives ``(10, 1, 0)``.
    """
    k = need.shape[0]
    out = np.zeros((k, 3), dtype=np.float32)
    wt = _features_now(sim, scale)  # (n_machines, 3)
    end = float(wt[machine, 1])  # 0 when the machine is closed now: nothing fits before it opens
    out[:, 0] = end
    cal = sim.ci.working
    if cal is None or cal.machines[machine] is None:  # 24/7: everything fits
        out[:, 1] = 1.0
    else:  # (within the clipped horizon of 10 P, as the window end feature sees it)
        out[:, 1] = need / scale <= end + 1e-9
    if wt[:, 2].any():
        n_wc = int(sim.ci.n_wc)
        wait = np.full(n_wc + 1, 0.0)  # index n_wc (and -1) = finished goods: no wait
        wait[:n_wc] = 10.0
        np.minimum.at(wait, sim.ci.machine_wc, wt[:, 2])
        out[:, 2] = wait[np.where(next_wc < 0, n_wc, next_wc)]
    return out


def candidate_working_time_block(sim: Simulator, d: object, scale: float) -> np.ndarray:
    """(k, 3) working-time columns of decision ``d`` (``machine``, ``candidates``, ``ops``):
    setup + processing of each candidate on the machine, and its next work center (a child's
    last operation: its parent's first; finished goods: -1), then
    :func:`candidate_working_time`."""
    st = sim.state.static
    m = int(d.machine)  # type: ignore[attr-defined]
    jobs = d.candidates  # type: ignore[attr-defined]
    ops = d.ops  # type: ignore[attr-defined]
    if sim.ci.working is None:  # 24/7: every row is (window end 10, fits 1, next open 0)
        out = np.zeros((jobs.shape[0], 3), dtype=np.float32)
        out[:, 0] = 10.0
        out[:, 1] = 1.0
        return out
    cur = int(sim.state.machine_setup[m])
    need = st.op_setup[ops]
    setup = np.nan_to_num(st.setup_time[m, cur, need])
    setup = np.where(need == cur, 0.0, setup)
    last = ops >= st.job_last[jobs]
    nxt = np.where(last, ops, ops + 1)
    w_next = np.where(last, -1, st.op_wc[nxt])
    if st.has_assembly:  # a child's last op goes to its parent's buffer
        to_kit = last & (st.op_next_wc[ops] < st.n_wc)
        w_next = np.where(to_kit, st.op_next_wc[ops], w_next)
    return candidate_working_time(sim, m, setup + st.op_proc[ops, m], w_next, scale)
