"""Pausing and resuming the scheduler's jobs (admin panel)."""

from app.audit.operations import Actor, record
from app.extensions import db
from app.jobs.models import SchedulerJob


def _set_paused(job_id: str, paused: bool, actor: Actor | None) -> bool:
    from app.jobs.scheduler import JOBS

    spec = JOBS.get(job_id)
    if spec is None:
        raise KeyError(f"Unknown scheduler job {job_id!r}")
    row = db.session.get(SchedulerJob, job_id)
    if row is None:
        row = SchedulerJob(id=job_id, name=spec.name, paused=False, run_count=0)
        db.session.add(row)
    changed = bool(row.paused) != paused
    row.paused = paused
    if paused:
        row.next_run_at = None
    if changed:
        record(actor or Actor.system("scheduler"),
               "scheduler_job_paused" if paused else "scheduler_job_resumed", None, job_id=job_id)
    db.session.commit()
    return changed


def pause_job(job_id: str, *, actor: Actor | None = None) -> bool:
    """Pause a periodic job (from any process: the scheduler applies it within seconds)."""
    return _set_paused(job_id, True, actor)


def resume_job(job_id: str, *, actor: Actor | None = None) -> bool:
    """Resume a paused periodic job."""
    return _set_paused(job_id, False, actor)
