"""State changes on the schedule that people make (admin panel, customer pages, CLI)."""

from sqlalchemy import Select, select, update

from app.audit.operations import Actor, record
from app.db_types import utcnow
from app.extensions import db
from app.integrations.models import Client
from app.jobs.models import SchedulerJob


def resume_schedule(client_ids: Select | list[int], *, actor: Actor) -> int:
    """Resume paused schedules and clear "krever oppfølging": the clients are due at once.

    Returns how many clients changed. Audited; commits.
    """
    if isinstance(client_ids, Select):
        client_ids = list(db.session.scalars(client_ids))
    ids = list(
        db.session.scalars(
            select(Client.id).where(
                Client.id.in_(list(client_ids)),
                (Client.schedule_paused_reason.is_not(None)) | Client.needs_attention.is_(True),
            )
        )
    ) if client_ids else []
    if ids:
        db.session.execute(
            update(Client)
            .where(Client.id.in_(ids))
            .values(schedule_paused_reason=None, needs_attention=False, consecutive_failures=0,
                    next_sync_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        customer_ids = {c.integration.customer_id for c in db.session.scalars(
            select(Client).where(Client.id.in_(ids[:1000])))}
        record(actor, "schedule_resumed", None,
               customer_id=customer_ids.pop() if len(customer_ids) == 1 else None,
               client_ids=ids)
    db.session.commit()
    return len(ids)


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
