"""Read-only views of the queue and the scheduler for the customer pages and the admin panel.

They work in any process (the web process does not run the scheduler): everything is read
from the database.
"""

from datetime import timedelta

from sqlalchemy import and_, func, or_, select, tuple_

from app.db_types import utcnow
from app.extensions import db
from app.jobs.models import RunStatus, SchedulerJob, SyncRun


def _run_id(run) -> int:
    return run.id if isinstance(run, SyncRun) else int(run)


def queue_position(run) -> int | None:
    """1 for the next run to be claimed, …; None when the run is not queued.

    Counts the due queued runs ahead in the claim order (priority, fair_order, id); an
    integration's concurrency limit may make the real wait longer.
    """
    row = db.session.execute(
        select(SyncRun.status, SyncRun.priority, SyncRun.fair_order, SyncRun.id).where(
            SyncRun.id == _run_id(run)
        )
    ).first()
    if row is None or row.status != RunStatus.QUEUED:
        return None
    ahead = db.session.scalar(
        select(func.count()).where(
            SyncRun.status == RunStatus.QUEUED,
            SyncRun.due_at <= utcnow(),
            tuple_(SyncRun.priority, SyncRun.fair_order, SyncRun.id)
            < tuple_(row.priority, row.fair_order, row.id)
            if db.session.get_bind().dialect.name == "postgresql"
            else _before(row),
        )
    )
    return ahead + 1


def _before(row):
    """(priority, fair_order, id) < row's, spelled out (SQLite compares row values too, but
    spelling it out keeps the index usable on both)."""
    return or_(
        SyncRun.priority < row.priority,
        and_(SyncRun.priority == row.priority, SyncRun.fair_order < row.fair_order),
        and_(
            SyncRun.priority == row.priority,
            SyncRun.fair_order == row.fair_order,
            SyncRun.id < row.id,
        ),
    )


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


def _iso(value):
    return value.isoformat() if value is not None else None


def run_status_payload(run_ids) -> list[dict]:
    """JSON-ready progress of the given runs (at most 500), for live polling:
    id, kind, label, status, status_label, active, step, done, total, percent, counts,
    warnings (count), error, queue_position, attempts, max_attempts, created/started/finished."""
    ids = [int(i) for i in list(run_ids)[:500]]
    if not ids:
        return []
    runs = db.session.scalars(select(SyncRun).where(SyncRun.id.in_(ids))).all()
    positions = _positions([r for r in runs if r.status == RunStatus.QUEUED])
    by_id = {run.id: run for run in runs}
    payload = []
    for run_id in ids:
        run = by_id.get(run_id)
        if run is None:
            continue
        total = run.progress_total
        payload.append({
            "id": run.id,
            "kind": run.kind,
            "label": run.kind_label,
            "status": run.status,
            "status_label": run.status_label,
            "active": run.is_active,
            "step": run.current_step,
            "done": run.progress_done,
            "total": total,
            "percent": int(100 * run.progress_done / total) if total else None,
            "counts": run.counts or {},
            "warnings": len(run.warnings or []),
            "error": run.error_message,
            "queue_position": positions.get(run.id),
            "attempts": run.attempts,
            "max_attempts": run.max_attempts,
            "client_id": run.client_id,
            "integration_id": run.integration_id,
            "created_at": _iso(run.created_at),
            "started_at": _iso(run.started_at),
            "finished_at": _iso(run.finished_at),
        })
    return payload


def queue_positions(run_ids) -> dict[int, int]:
    """{run id: queue_position} for the queued ones among ``run_ids`` (at most 100)."""
    positions = {}
    for run_id in list(run_ids)[:100]:
        position = queue_position(run_id)
        if position is not None:
            positions[int(run_id)] = position
    return positions


def _positions(queued_runs) -> dict[int, int]:
    return queue_positions(run.id for run in queued_runs)
