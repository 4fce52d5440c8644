"""Plans run as background jobs: a small pool of threads over one bounded queue.

* ``reserve()`` admits a new plan while fewer than ``max_queue`` are queued or running
  (else the API answers 503); the plan is stored ``queued`` first, then enqueued.
* A worker claims a plan (``queued -> running``, atomic in the database), plans it and stores
  ``done`` with the result, or ``failed`` with the reason.
* At start, :meth:`JobRunner.recover` resumes what a stopped server left: ``queued`` plans
  are queued again, in creation order; ``running`` plans (interrupted mid-run) are queued
  again until they have been tried ``max_attempts`` times, then marked ``failed`` with the
  reason. Planning is deterministic for a given request and seed, so running a plan again
  gives the plan it would have given.
* At shutdown the workers stop taking plans and the running ones get ``shutdown_grace_s``
  to finish; what is still running stays ``running`` and is resumed at the next start.

One server process per database: the queue lives in the process.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from furnsim.api.service import PlanService
from furnsim.storage import PlanStore

__all__ = ["JobRunner"]

log = logging.getLogger("furnsim.api")


class JobRunner:
    def __init__(
        self,
        store: PlanStore,
        service: PlanService,
        *,
        workers: int = 2,
        max_queue: int = 100,
        max_attempts: int = 2,
    ) -> None:
        self.store = store
        self.service = service
        self.n_workers = workers
        self.max_queue = max_queue
        self.max_attempts = max_attempts
        self._q: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._pending = 0  # queued + running in this process
        self._running = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- counts --------------------------------------------------------------------------
    @property
    def running(self) -> int:
        return self._running

    @property
    def queued(self) -> int:
        return max(0, self._pending - self._running)

    # -- admission -----------------------------------------------------------------------
    def reserve(self) -> bool:
        """Take a place in the queue for a new plan (False: the queue is full)."""
        with self._lock:
            if self._pending >= self.max_queue:
                return False
            self._pending += 1
            return True

    def release(self) -> None:
        """Give back a place taken by :meth:`reserve` that was not used."""
        with self._lock:
            self._pending = max(0, self._pending - 1)

    def enqueue(self, plan_id: str) -> None:
        """Queue a stored plan whose place was reserved."""
        self._q.put(plan_id)

    # -- lifecycle -----------------------------------------------------------------------
    def recover(self) -> dict[str, int]:
        """Resume or fail the plans a stopped server left unfinished (see the module doc)."""
        counts = {"resumed": 0, "failed": 0}
        for rec in self.store.unfinished():
            if rec.plant != self.service.plant_name:
                self.store.fail(
                    rec.id,
                    f"not resumed: the plan is for plant {rec.plant!r} and this server plans "
                    f"{self.service.plant_name!r}",
                )
                counts["failed"] += 1
                continue
            if rec.status == "running":
                if rec.attempts >= self.max_attempts:
                    self.store.fail(
                        rec.id,
                        f"interrupted by a server stop {rec.attempts} times; not retried "
                        "(submit it again)",
                    )
                    counts["failed"] += 1
                    continue
                self.store.requeue(rec.id)
            with self._lock:
                self._pending += 1
            self._q.put(rec.id)
            counts["resumed"] += 1
        if counts["resumed"] or counts["failed"]:
            log.info(
                "recovered %d unfinished plans, %d failed", counts["resumed"], counts["failed"]
            )
        return counts

    def start(self) -> None:
        for i in range(self.n_workers):
            t = threading.Thread(target=self._work, name=f"furnsim-plan-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for _ in self._threads:
            self._q.put(None)
        for t in self._threads:
            t.join(timeout=timeout / max(1, len(self._threads)))

    # -- work ----------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            plan_id = self._q.get()
            if plan_id is None or self._stop.is_set():
                return  # stopping: what is still queued stays queued in the database
            try:
                self._run(plan_id)
            finally:
                with self._lock:
                    self._pending = max(0, self._pending - 1)

    def _run(self, plan_id: str) -> None:
        try:
            if not self.store.claim(plan_id):
                return  # gone or already taken
        except Exception:  # noqa: BLE001 - the database is down: leave it queued
            log.exception("plan %s: cannot claim", plan_id)
            return
        with self._lock:
            self._running += 1
        try:
            rec = self.store.get(plan_id, with_result=False)
            if rec is None:
                return
            result: dict[str, Any] = self.service.run(rec, self.store)
            self.store.finish(plan_id, result)
            log.info("plan %s done (valid %s)", plan_id, result.get("valid"))
        except Exception as e:  # noqa: BLE001 - any planning error fails this plan only
            log.exception("plan %s failed", plan_id)
            try:
                self.store.fail(plan_id, f"{type(e).__name__}: {e}")
            except Exception:  # noqa: BLE001
                log.exception("plan %s: cannot store the failure", plan_id)
        finally:
            with self._lock:
                self._running -= 1
