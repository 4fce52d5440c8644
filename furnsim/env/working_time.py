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
