"""Workers: threads that claim runs, execute them with a heartbeat, and record the outcome.

An executor is ``executor(run_id, progress) -> Outcome``; the default is the one the app
factory registered (``app.jobs.executor``: the sync package's ``execute_run``). Tests pass
their own.
"""

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable

from flask import Flask, current_app

from app.database import describe_database_error, outage_log
from app.extensions import db
from app.jobs.executor import hooks
from app.jobs.fencing import fenced
from app.jobs.queue import (
    Claim,
    LeaseLost,
    claim_next,
    claim_run,
    complete_claim,
    extend_lease,
    fail_claim,
    release_run,
    requeue_expired_leases,
    worker_identity,
)
from app.jobs.runtime import Outcome, Progress, RunFailed

log = logging.getLogger(__name__)

Executor = Callable[[int, Progress], Outcome]
UNEXPECTED_ERROR_MESSAGE = (
    "Det oppstod en uventet feil under kjøringen. Feilen er logget hos Sticos. "
    "Prøv igjen senere, eller kontakt Sticos hvis det gjentar seg."
)
DATABASE_ERROR_MESSAGE = (
    "Kjøringen stoppet på en feil i Sticos' database: {problem}. Feilen er logget hos Sticos, "
    "og kjøringen prøves igjen automatisk."
)


def default_executor(run_id: int, progress: Progress) -> Outcome:
    """Run ``run_id`` with the executor the app factory registered."""
    return hooks().executor(run_id, progress)


class Heartbeat:
    """Extends a claimed run's lease every quarter lease, in its own app context and session,
    so a run waiting out a long Visma Retry-After keeps its lease."""

    def __init__(self, app: Flask, claim: Claim):
        self.app = app
        self.claim = claim
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"heartbeat-{claim.run_id}", daemon=True
        )
        self.interval = max(app.config["RUN_LEASE_SECONDS"] / 4, 0.2)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            with self.app.app_context():
                try:
                    if not extend_lease(self.claim):
                        # The run's own thread says so, at its next (refused) commit.
                        log.debug("Run %s: lease lost, heartbeat stops", self.claim.run_id)
                        return
                except Exception as exc:
                    if not outage_log.failed(exc, "extending a lease"):
                        log.exception("Run %s: heartbeat failed", self.claim.run_id)
                    db.session.rollback()


def execute_claim(claim: Claim, executor: Executor | None = None) -> str | None:
    """Run a claimed run to its end in this thread (inside an app context); returns the new
    status (succeeded/warnings/queued for a retry/failed) or None if the claim was lost."""
    executor = executor or default_executor
    app = current_app._get_current_object()
    with Heartbeat(app, claim):
        try:
            with fenced(claim):
                outcome = executor(claim.run_id, Progress(claim))
                db.session.commit()  # whatever the engine left pending is part of its result
        except LeaseLost:
            # Another attempt holds the run now: its outcome is that attempt's to record.
            db.session.rollback()
            log.warning("Run %s: attempt %s lost its lease to another worker; stopped, its "
                        "uncommitted writes rolled back", claim.run_id, claim.attempt)
            return None
        except RunFailed as exc:
            db.session.rollback()
            log.info("Run %s failed (retryable=%s): %s", claim.run_id, exc.retryable, exc.message)
            return fail_claim(claim, exc.message, retryable=exc.retryable)
        except Exception as exc:
            db.session.rollback()
            problem = describe_database_error(exc)
            if problem is None:
                # The traceback goes to the log; the user sees a generic message.
                log.exception("Run %s failed with an unexpected error", claim.run_id)
                return fail_claim(claim, UNEXPECTED_ERROR_MESSAGE, retryable=True)
            if not outage_log.failed(exc, f"running run {claim.run_id}"):
                log.exception("Run %s stopped on a database error: %s", claim.run_id, problem)
            return fail_claim(claim, DATABASE_ERROR_MESSAGE.format(problem=problem), retryable=True)
    return complete_claim(claim, outcome)


def run_inline(run_id: int, executor: Executor | None = None) -> str | None:
    """Claim this queued run and execute it here and now (``flask sync run``, tests).

    Returns the run's status afterwards, or None when it was not queued (e.g. a worker
    already has it). Needs an app context.
    """
    claim = claim_run(run_id, worker_identity("inline"))
    if claim is None:
        return None
    return execute_claim(claim, executor)


class Worker:
    """N threads draining the queue in one process; ``stop()`` finishes or releases their runs."""

    def __init__(
        self,
        app: Flask,
        *,
        threads: int = 1,
        executor: Executor | None = None,
        poll_seconds: float | None = None,
        name: str = "worker",
    ):
        self.app = app
        self.threads = threads
        self.executor = executor
        self.poll_seconds = poll_seconds if poll_seconds is not None else app.config["WORKER_POLL_SECONDS"]
        self.name = name
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._current: dict[str, Claim] = {}
        self._lock = threading.Lock()
        self._last_lease_check = 0.0
        self.idle = threading.Event()

    def start(self) -> "Worker":
        for number in range(self.threads):
            thread = threading.Thread(
                target=self._loop, name=f"{self.name}-{number + 1}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        log.info("Worker started with %d thread(s)", self.threads)
        return self

    @property
    def busy(self) -> list[Claim]:
        with self._lock:
            return list(self._current.values())

    def stop(self, grace_seconds: float | None = None) -> list[int]:
        """Stop claiming; wait up to the grace period for running runs, then put the rest back
        in the queue (status queued, attempt not counted). Returns the released run ids."""
        if grace_seconds is None:
            grace_seconds = self.app.config["WORKER_SHUTDOWN_GRACE_SECONDS"]
        self._stop.set()
        deadline = time.monotonic() + grace_seconds
        for thread in self._threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0))
        released = []
        for claim in self.busy:
            with self.app.app_context():
                try:
                    if release_run(claim):
                        released.append(claim.run_id)
                except Exception:
                    log.exception("Could not release run %s", claim.run_id)
        if released:
            log.warning("Released unfinished run(s) back to the queue: %s", released)
        log.info("Worker stopped")
        return released

    def _loop(self) -> None:
        worker_id = worker_identity()
        while not self._stop.is_set():
            with self.app.app_context():
                try:
                    self._maybe_requeue_expired()
                    claim = claim_next(worker_id)
                except Exception as exc:
                    if not outage_log.failed(exc, "claiming a run"):
                        log.exception("Claiming a run failed")
                    db.session.rollback()
                    claim = None
                if claim is None:
                    self.idle.set()
                else:
                    self.idle.clear()
                    with self._lock:
                        self._current[worker_id] = claim
                    try:
                        execute_claim(claim, self.executor)
                    except Exception as exc:
                        if not outage_log.failed(exc, f"finishing run {claim.run_id}"):
                            log.exception("Finishing run %s failed", claim.run_id)
                        db.session.rollback()
                    finally:
                        with self._lock:
                            self._current.pop(worker_id, None)
            if claim is None:
                self._stop.wait(self.poll_seconds)

    def _maybe_requeue_expired(self) -> None:
        """Workers also return expired leases (about twice per lease), so the queue heals even
        when no process runs the scheduler."""
        interval = self.app.config["RUN_LEASE_SECONDS"] / 2
        now = time.monotonic()
        with self._lock:
            if now - self._last_lease_check < interval:
                return
            self._last_lease_check = now
        requeue_expired_leases()


_background: dict = {}


def start_background_worker(app: Flask, threads: int = 1, *, use_reloader: bool = False):
    """One in-process worker (+ the scheduler when enabled) beside the dev web server.

    Under the Werkzeug reloader only the serving child (WERKZEUG_RUN_MAIN=true) starts it, so
    the watcher process never runs a second scheduler; and it starts once per process.
    Returns the Worker, or None when skipped.
    """
    from app.jobs.scheduler import SchedulerService

    if use_reloader and os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        return None
    if "worker" in _background:
        return _background["worker"]
    worker = Worker(app, threads=threads, name="bg-worker").start()
    service = None
    if app.config["SCHEDULER_ENABLED"]:
        service = SchedulerService(app).start()
    _background.update(worker=worker, scheduler=service)

    def shutdown() -> None:
        if service is not None:
            service.stop()
        worker.stop(grace_seconds=min(app.config["WORKER_SHUTDOWN_GRACE_SECONDS"], 5))

    atexit.register(shutdown)
    return worker
