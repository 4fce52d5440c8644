"""The Schedule: what every method (simulator, rules, PPO, CP-SAT) produces.

One record per operation, with the machine that ran it, the setup it needed and when,
processing, the transport that brought the job to the operation's work center, and when the
job left the machine afterwards (later than the end when the machine was blocked).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["OP_FIELDS", "Schedule", "kit_holds"]

# per-operation float fields (minutes after plan start); nan where not applicable
OP_FIELDS = (
    "setup_start",  # the machine starts changing its setup
    "setup_end",
    "start",  # processing start = buffer exit
    "end",  # processing end
    "depart",  # the job departs toward this operation's work center (= buffer entry: space reserved)
    "arrive",  # transport done: the job is in the buffer
    "leave",  # the job leaves the machine after processing (end, or later when blocked)
)


@dataclass(eq=False)
class Schedule:
    """A complete plan. Arrays are indexed by the instance's global operation index."""

    instance_name: str
    job_ids: list[str]
    machine_ids: list[str]
    wc_ids: list[str]
    setup_ids: list[str]
    op_job: np.ndarray  # (n_ops,) int64
    op_step: np.ndarray  # (n_ops,) int64
    op_wc: np.ndarray  # (n_ops,) int64
    op_volume: np.ndarray  # (n_ops,) float64
    op_machine: np.ndarray  # (n_ops,) int64, -1 = not scheduled
    op_setup_from: np.ndarray  # (n_ops,) int64 setup index before the operation
    op_setup_to: np.ndarray  # (n_ops,) int64 setup index the operation needs
    times: dict[str, np.ndarray]  # field -> (n_ops,) float64, see OP_FIELDS
    finish_arrive: np.ndarray  # (n_jobs,) float64: arrival at FINISHED
    buffers: str = "hard"  # "hard" | "soft"
    anticipatory_setups: bool = True
    method: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    # assembly (docs/semantics.md): the job a child goes into (-1 = FINISHED) and the volume it
    # holds in that job's first buffer from its last ``leave`` until the assembly starts
    job_parent: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # (n_jobs,)
    job_kit_volume: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (n_jobs,) float64

    def __post_init__(self) -> None:
        n = len(self.job_ids)
        if np.shape(self.job_parent) != (n,):
            self.job_parent = np.full(n, -1, dtype=np.int64)
        if np.shape(self.job_kit_volume) != (n,):
            self.job_kit_volume = np.zeros(n)

    # working time (docs/semantics.md): per op the [from, to] intervals of actual processing /
    # setup; None = nothing paused anywhere (implied [[start, end]] and [[setup_start, setup_end]])
    segments: list[list[list[float]]] | None = None  # (n_ops,) lists of [from, to]
    setup_segments: list[list[list[float]]] | None = None  # (n_ops,) lists; [] = no setup time
    # intentional holds (docs/semantics.md): None = a v1 plan (no hold record, machine waits
    # unchecked); a list (maybe empty) = hold-aware: {kind: store|machine, job / machine (ids),
    # from, until, reason}
    holds: list[dict[str, Any]] | None = None

    @classmethod
    def from_compiled(
        cls,
        ci: Any,
        *,
        instance_name: str,
        op_machine: np.ndarray,
        op_setup_from: np.ndarray,
        times: dict[str, np.ndarray],
        finish_arrive: np.ndarray,
        buffers: str = "hard",
        anticipatory_setups: bool = True,
        method: str = "",
        meta: dict[str, Any] | None = None,
        segments: list[list[list[float]]] | None = None,
        setup_segments: list[list[list[float]]] | None = None,
        holds: list[dict[str, Any]] | None = None,
    ) -> Schedule:
        """A schedule over a CompiledInstance's operations (static columns copied from it)."""
        return cls(
            instance_name=instance_name,
            job_ids=list(ci.job_ids),
            machine_ids=list(ci.machine_ids),
            wc_ids=list(ci.wc_ids),
            setup_ids=list(ci.setup_ids),
            op_job=ci.op_job.copy(),
            op_step=ci.op_step.copy(),
            op_wc=ci.op_wc.copy(),
            op_volume=ci.op_volume.copy(),
            op_machine=np.asarray(op_machine, dtype=np.int64).copy(),
            op_setup_from=np.asarray(op_setup_from, dtype=np.int64).copy(),
            op_setup_to=ci.op_setup.copy(),
            times={k: np.asarray(v, dtype=float).copy() for k, v in times.items()},
            finish_arrive=np.asarray(finish_arrive, dtype=float).copy(),
            buffers=buffers,
            anticipatory_setups=anticipatory_setups,
            method=method,
            meta=dict(meta or {}),
            job_parent=np.asarray(getattr(ci, "job_parent", np.zeros(0)), dtype=np.int64).copy(),
            job_kit_volume=np.asarray(
                getattr(ci, "job_kit_volume", np.zeros(0)), dtype=float
            ).copy(),
            segments=segments,
            setup_segments=setup_segments,
            holds=None if holds is None else [dict(h) for h in holds],
        )

    # -- working time -----------------------------------------------------------------
    def op_segments(self, o: int) -> list[list[float]]:
        """The processing intervals of op ``o`` (``[[start, end]]`` when nothing paused)."""
        if self.segments is not None:
            return self.segments[o]
        a, b = float(self.times["start"][o]), float(self.times["end"][o])
        return [] if math.isnan(a) else [[a, b]]

    def op_setup_segments(self, o: int) -> list[list[float]]:
        """The setup intervals of op ``o`` (``[]`` for a zero setup)."""
        if self.setup_segments is not None:
            return self.setup_segments[o]
        a, b = float(self.times["setup_start"][o]), float(self.times["setup_end"][o])
        return [] if math.isnan(a) or not b > a else [[a, b]]

    # -- basic views ------------------------------------------------------------------
    @property
    def n_ops(self) -> int:
        return int(self.op_job.shape[0])

    @property
    def n_jobs(self) -> int:
        return len(self.job_ids)

    def __getattr__(self, name: str) -> np.ndarray:
        times = self.__dict__.get("times")
        if times is not None and name in times:
            return times[name]
        raise AttributeError(name)

    @property
    def complete(self) -> bool:
        return bool(np.all(self.op_machine >= 0))

    def job_completion(self) -> np.ndarray:
        """(n_jobs,) end of each job's last operation (nan if unfinished)."""
        out = np.full(self.n_jobs, np.nan)
        ends = self.times["end"]
        for o in range(self.n_ops):
            j = self.op_job[o]
            e = ends[o]
            if not math.isnan(e) and (math.isnan(out[j]) or e > out[j]):
                out[j] = e
        # a job is complete only when all its ops are
        done = np.ones(self.n_jobs, dtype=bool)
        np.logical_and.at(done, self.op_job, self.op_machine >= 0)
        out[~done] = np.nan
        return out

    @property
    def makespan(self) -> float:
        e = self.times["end"]
        return float(np.nanmax(e)) if self.n_ops and not np.all(np.isnan(e)) else 0.0

    # -- buffers ----------------------------------------------------------------------
    def buffer_events(self) -> list[tuple[float, int, float]]:
        """(time, work center, +/- volume) sorted by time; space is held from depart to start."""
        ev: list[tuple[float, int, float]] = []
        dep, st = self.times["depart"], self.times["start"]
        for o in range(self.n_ops):
            v = float(self.op_volume[o])
            if v <= 0 or math.isnan(dep[o]):
                continue
            w = int(self.op_wc[o])
            ev.append((float(dep[o]), w, v))
            if not math.isnan(st[o]):
                ev.append((float(st[o]), w, -v))
        for w, v, a, b in zip(*self.kit_holds(), strict=True):
            ev.append((float(a), int(w), float(v)))
            if not math.isnan(b):
                ev.append((float(b), int(w), -float(v)))
        # at equal times, releases (negative) come before reservations
        ev.sort(key=lambda x: (x[0], x[2]))
        return ev

    def kit_holds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Children waiting as kits: (work center, volume, from, until) arrays, one per child.

        A child holds its kit volume in its parent's first buffer from the ``leave`` of its
        last operation until the parent's processing ``start`` (nan: not started).
        """
        return kit_holds(self.job_parent, self.job_kit_volume, self.op_job, self.op_wc, self.times)

    @property
    def has_assembly(self) -> bool:
        return bool(np.any(self.job_parent >= 0))

    def buffer_levels(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Work center -> (times, level after each change), a step function starting at 0."""
        per: dict[int, list[tuple[float, float]]] = {
            w: [(0.0, 0.0)] for w in range(len(self.wc_ids))
        }
        level = [0.0] * len(self.wc_ids)
        for t, w, dv in self.buffer_events():
            level[w] += dv
            if abs(level[w]) < 1e-9:
                level[w] = 0.0
            if per[w][-1][0] == t:
                per[w][-1] = (t, level[w])
            else:
                per[w].append((t, level[w]))
        return {
            self.wc_ids[w]: (np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
            for w, pts in per.items()
        }

    # -- tables -----------------------------------------------------------------------
    def records(self, instance: Any | None = None) -> list[dict[str, Any]]:
        """One dict per operation (job/order/article/component names when an Instance is given)."""
        jobs = instance.jobs if instance is not None else None
        origin = getattr(instance, "plan_start", None)
        start_at = None
        if origin is not None:
            from datetime import timedelta

            def start_at(x: float) -> str:
                return (origin + timedelta(minutes=x)).isoformat(timespec="minutes")

        out = []
        for o in range(self.n_ops):
            j = int(self.op_job[o])
            m = int(self.op_machine[o])
            rec: dict[str, Any] = {
                "op": o,
                "job": self.job_ids[j],
                "step": int(self.op_step[o]) + 1,
                "work_center": self.wc_ids[int(self.op_wc[o])],
                "machine": self.machine_ids[m] if m >= 0 else None,
                "setup_from": self.setup_ids[int(self.op_setup_from[o])] if m >= 0 else None,
                "setup_to": self.setup_ids[int(self.op_setup_to[o])],
                "volume": float(self.op_volume[o]),
            }
            if jobs is not None:
                jb = jobs[j]
                rec.update(
                    order=jb.order, article=jb.article, component=jb.component, quantity=jb.delta
                )
            for f in OP_FIELDS:
                v = float(self.times[f][o])
                rec[f] = None if math.isnan(v) else v
            rec["segments"] = self.op_segments(o)
            rec["setup_segments"] = self.op_setup_segments(o)
            if start_at is not None:  # real date/times (plan start known)
                for f in ("setup_start", "setup_end", "start", "end"):
                    v = rec[f]
                    rec[f"{f}_at"] = None if v is None else start_at(v)
            out.append(rec)
        return out

    def to_frame(self, instance: Any | None = None) -> Any:
        import pandas as pd

        return pd.DataFrame.from_records(self.records(instance))

    # -- JSON -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        def arr(a: np.ndarray) -> list[Any]:
            return [None if (isinstance(x, float) and math.isnan(x)) else x for x in a.tolist()]

        extra: dict[str, Any] = {}
        if self.segments is not None:
            extra["segments"] = self.segments
        if self.setup_segments is not None:
            extra["setup_segments"] = self.setup_segments
        if self.holds is not None:
            extra["holds"] = [dict(h) for h in self.holds]
        return {
            "format": "furnsim.schedule/1",
            "instance_name": self.instance_name,
            "job_ids": self.job_ids,
            "machine_ids": self.machine_ids,
            "wc_ids": self.wc_ids,
            "setup_ids": self.setup_ids,
            "buffers": self.buffers,
            "anticipatory_setups": self.anticipatory_setups,
            "method": self.method,
            "meta": self.meta,
            "op_job": arr(self.op_job),
            "op_step": arr(self.op_step),
            "op_wc": arr(self.op_wc),
            "op_volume": arr(self.op_volume),
            "op_machine": arr(self.op_machine),
            "op_setup_from": arr(self.op_setup_from),
            "op_setup_to": arr(self.op_setup_to),
            "times": {k: arr(v) for k, v in self.times.items()},
            "finish_arrive": arr(self.finish_arrive),
            **(
                {"job_parent": arr(self.job_parent), "job_kit_volume": arr(self.job_kit_volume)}
                if self.has_assembly
                else {}
            ),
            **extra,
        }

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Schedule:
        if d.get("format") != "furnsim.schedule/1":
            raise ValueError("not a furnsim schedule (format furnsim.schedule/1)")

        def f(a: list[Any]) -> np.ndarray:
            return np.array([np.nan if x is None else x for x in a], dtype=float)

        def i(a: list[Any]) -> np.ndarray:
            return np.array(a, dtype=np.int64)

        return Schedule(
            instance_name=d["instance_name"],
            job_ids=list(d["job_ids"]),
            machine_ids=list(d["machine_ids"]),
            wc_ids=list(d["wc_ids"]),
            setup_ids=list(d["setup_ids"]),
            op_job=i(d["op_job"]),
            op_step=i(d["op_step"]),
            op_wc=i(d["op_wc"]),
            op_volume=f(d["op_volume"]),
            op_machine=i(d["op_machine"]),
            op_setup_from=i(d["op_setup_from"]),
            op_setup_to=i(d["op_setup_to"]),
            times={k: f(v) for k, v in d["times"].items()},
            finish_arrive=f(d["finish_arrive"]),
            buffers=d.get("buffers", "hard"),
            anticipatory_setups=bool(d.get("anticipatory_setups", True)),
            method=d.get("method", ""),
            meta=dict(d.get("meta", {})),
            job_parent=i(d.get("job_parent", [])),
            job_kit_volume=f(d.get("job_kit_volume", [])),
            segments=_segs(d.get("segments")),
            setup_segments=_segs(d.get("setup_segments")),
            holds=None if d.get("holds") is None else [dict(h) for h in d["holds"]],
        )

    def to_json(self, path: str | Path | None = None) -> str:
        s = json.dumps(self.to_dict())
        if path is not None:
            Path(path).write_text(s)
        return s

    @staticmethod
    def from_json(src: str | Path) -> Schedule:
        p = Path(src) if not str(src).lstrip().startswith("{") else None
        text = p.read_text() if p is not None else str(src)
        d = json.loads(text)
        if "schedule" in d and "format" not in d:
            d = d["schedule"]
        return Schedule.from_dict(d)


def kit_holds(
    job_parent: np.ndarray,
    job_kit_volume: np.ndarray,
    op_job: np.ndarray,
    op_wc: np.ndarray,
    times: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Kit holdings (work center, volume, from, until) of every child that left its machine."""
    kids = np.flatnonzero(np.asarray(job_parent) >= 0)
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0), np.zeros(0))
    if kids.size == 0:
        return empty
    n_jobs = len(job_parent)
    first = np.full(n_jobs, -1, dtype=np.int64)
    last = np.full(n_jobs, -1, dtype=np.int64)
    idx = np.arange(op_job.size, dtype=np.int64)
    np.maximum.at(last, op_job, idx)
    first[:] = op_job.size
    np.minimum.at(first, op_job, idx)
    par = np.asarray(job_parent)[kids]
    lo, fp = last[kids], first[par]
    ok = (lo >= 0) & (fp < op_job.size) & (np.asarray(job_kit_volume)[kids] > 0)
    kids, par, lo, fp = kids[ok], par[ok], lo[ok], fp[ok]
    frm = times["leave"][lo]
    left = ~np.isnan(frm)
    return (
        np.asarray(op_wc)[fp][left].astype(np.int64),
        np.asarray(job_kit_volume, dtype=float)[kids][left],
        frm[left],
        times["start"][fp][left],
    )


def _segs(v: Any) -> list[list[list[float]]] | None:
    if v is None:
        return None
    return [[[float(a), float(b)] for a, b in op] for op in v]
