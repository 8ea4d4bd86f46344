"""Read-only views of the queue and the scheduler for the customer pages and the admin panel.

They work in any process (the web process does not run the scheduler): everything is read
from the database.
"""

from datetime import timedelta

from sqlalchemy import func, select

from app.db_types import utcnow
from app.extensions import db
from app.jobs.models import RunStatus, SchedulerJob, SyncRun


def queue_position(run) -> int | None:
    """1 for the next run to be claimed, …; None when the run is not queued (or not yet due)."""
    run_id = run.id if isinstance(run, SyncRun) else int(run)
    return queue_positions([run_id]).get(run_id)


def queue_positions(run_ids) -> dict[int, int]:
    """{run id: place in the queue} for the due queued runs among ``run_ids``, in the workers'
    claim order (priority, fair_order, id), in one statement. An integration's concurrency
    limit may make the real wait longer."""
    ids = [int(i) for i in run_ids]
    if not ids:
        return {}
    ranked = (
        select(
            SyncRun.id.label("id"),
            func.row_number()
            .over(order_by=(SyncRun.priority, SyncRun.fair_order, SyncRun.id))
            .label("position"),
        )
        .where(SyncRun.status == RunStatus.QUEUED, SyncRun.due_at <= utcnow())
        .subquery()
    )
    rows = db.session.execute(
        select(ranked.c.id, ranked.c.position).where(ranked.c.id.in_(ids))
    ).all()
    return {row.id: int(row.position) for row in rows}


def queue_stats() -> dict:
    """{'queued', 'due', 'running', 'failed_last_24h', 'succeeded_last_24h',
    'oldest_queued_age_seconds' (None when the queue is empty)}."""
    now = utcnow()
    day_ago = now - timedelta(hours=24)
    counts = dict(
        db.session.execute(
            select(SyncRun.status, func.count())
            .where(SyncRun.status.in_((RunStatus.QUEUED, RunStatus.RUNNING)))
            .group_by(SyncRun.status)
        ).all()
    )
    finished = dict(
        db.session.execute(
            select(SyncRun.status, func.count())
            .where(
                SyncRun.status.in_((RunStatus.FAILED, RunStatus.SUCCEEDED, RunStatus.WARNINGS)),
                SyncRun.finished_at >= day_ago,
            )
            .group_by(SyncRun.status)
        ).all()
    )
    due = db.session.scalar(
        select(func.count()).where(SyncRun.status == RunStatus.QUEUED, SyncRun.due_at <= now)
    )
    oldest = db.session.scalar(
        select(func.min(SyncRun.created_at)).where(SyncRun.status == RunStatus.QUEUED)
    )
    return {
        "queued": counts.get(RunStatus.QUEUED, 0),
        "due": due,
        "running": counts.get(RunStatus.RUNNING, 0),
        "failed_last_24h": finished.get(RunStatus.FAILED, 0),
        "succeeded_last_24h": finished.get(RunStatus.SUCCEEDED, 0)
        + finished.get(RunStatus.WARNINGS, 0),
        "oldest_queued_age_seconds": (
            int((now - oldest).total_seconds()) if oldest is not None else None
        ),
    }


def scheduler_jobs() -> list[dict]:
    """The periodic jobs: id, name, next_run_at (UTC, None when paused or no scheduler has
    started yet), paused, last_run_at, last_status, last_message, owner (host:pid)."""
    from app.jobs.scheduler import JOBS

    rows = {row.id: row for row in db.session.scalars(select(SchedulerJob))}
    result = []
    for spec in JOBS.values():
        row = rows.get(spec.id)
        result.append({
            "id": spec.id,
            "name": spec.name,
            "next_run_at": row.next_run_at if row and not row.paused else None,
            "paused": bool(row and row.paused),
            "last_run_at": row.last_run_at if row else None,
            "last_status": row.last_status if row else None,
            "last_message": row.last_message if row else None,
            "run_count": row.run_count if row else 0,
            "owner": row.owner if row else None,
        })
    return result
