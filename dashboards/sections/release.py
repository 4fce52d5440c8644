"""Release control in the dashboard (furnsim/solvers/release.py): the line under the plan's
method that says how many batches the plan holds at STORE, and where the store finds when to
take each out (the Excel sheet *Store releases*, docs/dashboard.md)."""

from __future__ import annotations

from typing import Any

from furnsim.solvers.release import store_held_jobs


def release_text(schedule: Any) -> str | None:
    """``Release control: 212 batches held at STORE ...`` for a plan with STORE holds, else
    ``None`` (rule plans, plans without release control)."""
    n = len(store_held_jobs(schedule))
    if not n:
        return None
    what = "1 batch" if n == 1 else f"{n:,} batches"
    return (
        f"Release control: {what} held at STORE until their first machine needs them "
        "(see the Excel sheet Store releases for when to take each out)."
    )
