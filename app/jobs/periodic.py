"""The queue's own periodic jobs (tidying up): module-level functions, no arguments, run in an
app context by ``app.jobs.scheduler.run_job``. The jobs that queue work for clients belong
to the integrations package (``app.integrations.schedule``)."""

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete

from app.db_types import utcnow
from app.extensions import db
from app.jobs.models import RunStatus, SyncRun
from app.jobs.queue import requeue_expired_leases


def reclaim_stale_runs() -> dict:
    """Running runs whose lease expired go back to the queue (or fail after max attempts)."""
    return requeue_expired_leases()


def prune_run_history() -> dict:
    """Delete finished runs: successes after RUN_HISTORY_DAYS_SUCCEEDED, failures after
    RUN_HISTORY_DAYS_FAILED (failures are kept longer: they explain problems)."""
    now = utcnow()
    config = current_app.config
    ok_before = now - timedelta(days=config["RUN_HISTORY_DAYS_SUCCEEDED"])
    failed_before = now - timedelta(days=config["RUN_HISTORY_DAYS_FAILED"])
    ok = db.session.execute(
        delete(SyncRun)
        .where(
            SyncRun.status.in_((RunStatus.SUCCEEDED, RunStatus.WARNINGS, RunStatus.CANCELLED)),
            SyncRun.finished_at < ok_before,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    failed = db.session.execute(
        delete(SyncRun)
        .where(SyncRun.status == RunStatus.FAILED, SyncRun.finished_at < failed_before)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return {"deleted_succeeded": ok, "deleted_failed": failed}
