"""APScheduler 3.11: the periodic jobs, run by exactly one process per deployment.

APScheduler's job stores cannot be shared between processes, so one process runs the
scheduler: on PostgreSQL the one that holds a session-level advisory lock on a dedicated
connection (``pg_try_advisory_lock``); the others retry every SCHEDULER_LEADER_RETRY_SECONDS
and take over when the holder dies (PostgreSQL drops its lock with its connection). On SQLite
there is one worker process, which runs the scheduler.

The scheduler only enqueues and tidies; workers execute runs. Jobs are named by textual
reference (``"module:function"``, APScheduler's own convention), resolved when they run: the
jobs that queue client work live in the integrations package above this one. Its state (next run time,
paused, last result) lives in the ``scheduler_job`` table so web processes can show it and
pause/resume jobs (the leader applies the flag within seconds; paused jobs are also skipped
by ``run_job`` itself).
"""

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import text

from app.database import is_outage, outage_log
from app.db_types import utcnow
from app.extensions import db
from app.jobs.models import SchedulerJob
from app.jobs.queue import advisory_lock_key, worker_identity

log = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 15 * 60
STATE_SYNC_SECONDS = 5


@dataclass(frozen=True)
class JobSpec:
    id: str
    name: str
    func: str  # "module:function", a function without arguments
    trigger: Callable[[dict, str], object]  # (config, timezone) -> APScheduler trigger
    start_now: bool = False


def _every_tick(config, tz):
    return IntervalTrigger(seconds=config["SCHEDULER_TICK_SECONDS"], timezone=tz)


JOBS: dict[str, JobSpec] = {
    spec.id: spec
    for spec in (
        JobSpec("enqueue_due_syncs", "Planlagte synkroniseringer", "app.integrations.schedule:enqueue_due_syncs",
                _every_tick, start_now=True),
        JobSpec("refresh_client_lists", "Oppdater klientlister", "app.integrations.schedule:enqueue_client_refreshes",
                lambda c, tz: CronTrigger(hour=c["CLIENT_REFRESH_HOUR"], minute=0, timezone=tz)),
        JobSpec("keep_grants_alive", "Hold Visma-tilkoblinger i live", "app.integrations.tokens:keep_grants_alive",
                lambda c, tz: CronTrigger(hour="*/6", minute=20, timezone=tz)),
        JobSpec("reclaim_stale_runs", "Frigi kjøringer uten livstegn", "app.jobs.queue:requeue_expired_leases",
                _every_tick, start_now=True),
        JobSpec("prune_run_history", "Rydd gammel kjørehistorikk", "app.jobs.queue:prune_run_history",
                lambda c, tz: CronTrigger(hour=3, minute=30, timezone=tz)),
        JobSpec("prune_abandoned_integrations", "Rydd bort uferdige integrasjoner",
                "app.integrations.operations:prune_abandoned_integrations",
                lambda c, tz: CronTrigger(hour=3, minute=40, timezone=tz)),
    )
}


def resolve(reference: str) -> Callable[[], object]:
    """The function a ``"module:function"`` reference names."""
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def run_job(app: Flask, job_id: str) -> None:
    """The one wrapper every periodic job runs in: a fresh app context, pause check, result.
    While the database is unreachable the job is skipped with no more than the outage's line."""
    with app.app_context():
        try:
            _run_job(job_id)
        except Exception as exc:
            db.session.rollback()
            if not outage_log.failed(exc, f"running scheduled job {job_id}"):
                raise


def _run_job(job_id: str) -> None:
    spec = JOBS[job_id]
    row = db.session.get(SchedulerJob, job_id)
    if row is not None and row.paused:
        db.session.rollback()
        return
    try:
        result = resolve(spec.func)()
        status, message = "ok", _summary(result)
    except Exception as exc:
        if is_outage(exc):
            raise
        db.session.rollback()
        log.exception("Scheduled job %s failed", job_id)
        status, message = "failed", type(exc).__name__
    row = db.session.get(SchedulerJob, job_id) or SchedulerJob(id=job_id, name=spec.name)
    row.last_run_at = utcnow()
    row.last_status = status
    row.last_message = message
    row.run_count = (row.run_count or 0) + 1
    row.owner = worker_identity("scheduler")
    db.session.add(row)
    db.session.commit()


def _summary(result) -> str | None:
    if isinstance(result, dict):
        return ", ".join(f"{key}={value}" for key, value in result.items())
    return None if result is None else str(result)


class SchedulerService:
    """Leader election plus the BackgroundScheduler while this process leads."""

    def __init__(self, app: Flask):
        self.app = app
        self.timezone = app.config["SCHEDULER_TIMEZONE"]
        self.scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock_connection = None
        with app.app_context():
            self.dialect = db.engine.dialect.name

    @property
    def is_leader(self) -> bool:
        return self.scheduler is not None

    def start(self) -> "SchedulerService":
        if self.dialect != "postgresql":
            self._become_leader()
            return self
        self._thread = threading.Thread(target=self._elect, name="scheduler-election", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._step_down()

    # -- leader election (PostgreSQL) --

    def _elect(self) -> None:
        retry = self.app.config["SCHEDULER_LEADER_RETRY_SECONDS"]
        while not self._stop.is_set():
            try:
                if self.is_leader:
                    self._check_lock()
                elif self._try_lock():
                    self._become_leader()
            except Exception as exc:
                if not outage_log.failed(exc, "electing the scheduler"):
                    log.exception("Scheduler leader election failed; retrying")
                self._step_down()
            self._stop.wait(retry)

    def _try_lock(self) -> bool:
        with self.app.app_context():
            key = advisory_lock_key("scheduler")
            connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        if got:
            self._lock_connection = connection
        else:
            connection.close()
        return bool(got)

    def _check_lock(self) -> None:
        """The lock lives as long as its connection: if that broke, another process may lead."""
        self._lock_connection.execute(text("SELECT 1"))

    # -- the scheduler itself --

    def _become_leader(self) -> None:
        scheduler = BackgroundScheduler(
            timezone=self.timezone,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            },
        )
        config = self.app.config
        now = datetime.now(scheduler.timezone)
        for spec in JOBS.values():
            options = {"next_run_time": now} if spec.start_now else {}
            scheduler.add_job(
                run_job, trigger=spec.trigger(config, self.timezone), args=(self.app, spec.id),
                id=spec.id, name=spec.name, replace_existing=True, **options,
            )
        scheduler.add_job(
            self._sync_state, IntervalTrigger(seconds=STATE_SYNC_SECONDS, timezone=self.timezone),
            id="_sync_state", name="scheduler state", replace_existing=True,
        )
        self._ensure_rows()
        scheduler.start()
        self.scheduler = scheduler
        self._sync_state(scheduler)
        log.info("Scheduler started in this process (%s)", worker_identity("scheduler"))

    def _step_down(self) -> None:
        if self.scheduler is not None:
            try:
                self.scheduler.shutdown(wait=False)
            except Exception:
                log.exception("Scheduler shutdown failed")
            self.scheduler = None
            log.info("Scheduler stopped in this process")
        if self._lock_connection is not None:
            try:
                self._lock_connection.close()
            except Exception:
                log.debug("Closing the scheduler lock connection failed", exc_info=True)
            self._lock_connection = None

    def _ensure_rows(self) -> None:
        with self.app.app_context():
            known = set(db.session.scalars(db.select(SchedulerJob.id)))
            for spec in JOBS.values():
                if spec.id not in known:
                    db.session.add(SchedulerJob(id=spec.id, name=spec.name, paused=False,
                                                run_count=0))
            db.session.commit()

    def _sync_state(self, scheduler: BackgroundScheduler | None = None) -> None:
        """Apply pause flags from the table, write next run times back."""
        scheduler = scheduler or self.scheduler
        if scheduler is None:
            return
        try:
            self._write_state(scheduler)
        except Exception as exc:
            if not outage_log.failed(exc, "saving the scheduler's state"):
                raise

    def _write_state(self, scheduler: BackgroundScheduler) -> None:
        with self.app.app_context():
            rows = {row.id: row for row in db.session.scalars(db.select(SchedulerJob))}
            for spec in JOBS.values():
                row = rows.get(spec.id)
                if row is None:
                    row = SchedulerJob(id=spec.id, name=spec.name, paused=False, run_count=0)
                    db.session.add(row)
                job = scheduler.get_job(spec.id)
                if job is None:
                    continue
                if row.paused and job.next_run_time is not None:
                    job = scheduler.pause_job(spec.id)
                elif not row.paused and job.next_run_time is None:
                    job = scheduler.resume_job(spec.id)
                row.name = spec.name
                next_run = job.next_run_time if job is not None else None
                row.next_run_at = next_run.astimezone(UTC) if next_run else None
                row.owner = worker_identity("scheduler")
            db.session.commit()
