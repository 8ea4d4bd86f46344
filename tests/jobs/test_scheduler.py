"""Escalation, the periodic jobs and the scheduler's visible state (SQLite)."""

import time
from datetime import timedelta

from sqlalchemy import select, update

from app.audit.models import AuditEvent
from app.audit.operations import Actor
from app.db_types import utcnow
from app.extensions import db
from app.integrations import schedule
from app.integrations.models import Client, IntegrationStatus
from app.integrations.operations import resume_schedule
from app.jobs import queue
from app.jobs.models import RunKind, RunStatus, SchedulerJob, SyncRun, Trigger
from app.jobs.operations import pause_job, resume_job
from app.jobs.queries import scheduler_jobs
from app.jobs.queue import enqueue
from app.jobs.scheduler import JOBS, SchedulerService, run_job
from app.jobs.worker import run_inline
from tests.jobs.executors import always_failing, noop
from tests.jobs.helpers import make_integration

OPERATOR = Actor(label="operator@sticos.test")
SCHEDULER = Actor.system("scheduler")


def scheduled_sync(integration_id, client_id, executor):
    run, created = enqueue(RunKind.INCREMENTAL_SYNC, integration_id=integration_id,
                           client_id=client_id, actor=SCHEDULER, trigger=Trigger.SCHEDULE)
    db.session.commit()
    assert created
    return run_inline(run.id, executor)


def test_repeated_scheduled_failures_flag_then_pause_until_a_manual_run_succeeds(app):
    app.config.update(FAILURES_BEFORE_ATTENTION=2, FAILURES_BEFORE_PAUSE=3)
    with app.app_context():
        integration_id, (client_id,) = make_integration("Feilende AS", 1)
        failing = always_failing("Visma.net: Company not found.", retryable=False)

        scheduled_sync(integration_id, client_id, failing)
        client = db.session.get(Client, client_id)
        assert client.consecutive_failures == 1 and not client.needs_attention

        scheduled_sync(integration_id, client_id, failing)
        db.session.refresh(client)
        assert client.needs_attention and client.schedule_paused_reason is None
        assert client.last_sync_message == "Visma.net: Company not found."

        scheduled_sync(integration_id, client_id, failing)
        db.session.refresh(client)
        assert "satt på pause etter 3 feil på rad" in client.schedule_paused_reason
        assert "Company not found" in client.schedule_paused_reason
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"client_needs_attention", "schedule_paused"} <= actions

        # A paused client gets no scheduled runs, however overdue.
        db.session.execute(update(Client).values(next_sync_at=utcnow() - timedelta(hours=5)))
        db.session.commit()
        assert schedule.enqueue_due_syncs()["queued"] == 0

        # A person runs it by hand and it works: flag cleared, schedule resumes.
        manual, _ = enqueue(RunKind.INCREMENTAL_SYNC, integration_id=integration_id,
                            client_id=client_id, actor=OPERATOR)
        db.session.commit()
        assert run_inline(manual.id, noop) == RunStatus.SUCCEEDED
        db.session.refresh(client)
        assert client.consecutive_failures == 0 and not client.needs_attention
        assert client.schedule_paused_reason is None
        assert client.next_sync_at > utcnow()


def test_manual_failures_do_not_escalate(app):
    app.config.update(FAILURES_BEFORE_ATTENTION=1, FAILURES_BEFORE_PAUSE=1)
    with app.app_context():
        integration_id, (client_id,) = make_integration("Manuell AS", 1)
        run, _ = enqueue(RunKind.INCREMENTAL_SYNC, integration_id=integration_id,
                         client_id=client_id, actor=OPERATOR)
        db.session.commit()
        run_inline(run.id, always_failing("Nei", retryable=False))
        client = db.session.get(Client, client_id)
        assert client.consecutive_failures == 0 and not client.needs_attention


def test_a_person_resumes_a_paused_schedule(app):
    with app.app_context():
        _, (paused_id, fine_id) = make_integration("Pause AS", 2)
        db.session.execute(
            update(Client).where(Client.id == paused_id)
            .values(schedule_paused_reason="Pause", needs_attention=True, consecutive_failures=6,
                    next_sync_at=None)
        )
        db.session.commit()
        assert resume_schedule([paused_id, fine_id], actor=OPERATOR) == 1
        client = db.session.get(Client, paused_id)
        assert client.schedule_paused_reason is None and not client.needs_attention
        assert client.consecutive_failures == 0
        assert schedule.enqueue_due_syncs()["queued"] >= 1
        assert db.session.scalar(
            select(SyncRun.id).where(SyncRun.client_id == paused_id)
        ) is not None
        assert db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "schedule_resumed")
        ).actor == OPERATOR.label


def test_the_scheduler_queues_due_clients_only_staggered_and_skips_lost_authorizations(app):
    app.config["SYNC_INTERVAL_MINUTES"] = 60
    with app.app_context():
        past = utcnow() - timedelta(minutes=1)
        _, due = make_integration("Forfalt AS", 20, next_sync_at=past)
        _, later = make_integration("Senere AS", 3, next_sync_at=utcnow() + timedelta(minutes=30))
        _, inactive = make_integration("Inaktiv AS", 2, active=False, next_sync_at=past)
        _, lost = make_integration(
            "Utløpt AS", 2, status=IntegrationStatus.REAUTHORIZATION_REQUIRED, next_sync_at=past
        )
        _, (unreachable, paused) = make_integration("Diverse AS", 2, next_sync_at=past)
        db.session.execute(update(Client).where(Client.id == unreachable).values(reachable=False))
        db.session.execute(
            update(Client).where(Client.id == paused).values(schedule_paused_reason="Pause")
        )
        db.session.commit()

        before = utcnow()
        assert schedule.enqueue_due_syncs() == {"due": 20, "queued": 20}
        queued = db.session.scalars(select(SyncRun)).all()
        assert {r.client_id for r in queued} == set(due)
        assert {(r.kind, r.trigger, r.priority) for r in queued} == {
            (RunKind.INCREMENTAL_SYNC, Trigger.SCHEDULE, 100)
        }
        # Staggered: each client has its own slot within the next interval.
        slots = [db.session.get(Client, c).next_sync_at for c in due]
        assert all(before < s <= before + timedelta(minutes=60, seconds=1) for s in slots)
        assert len({s.replace(second=0) for s in slots}) >= 10
        # Due again only after the interval; nothing doubles meanwhile.
        assert schedule.enqueue_due_syncs() == {"due": 0, "queued": 0}
        assert all(db.session.get(Client, c).next_sync_at > utcnow() for c in later)
        assert not set(inactive + lost) & {r.client_id for r in queued}


def test_a_client_with_a_full_sync_pending_is_not_also_given_an_incremental(app):
    with app.app_context():
        integration_id, (client_id,) = make_integration("Ny AS", 1, next_sync_at=utcnow())
        enqueue(RunKind.FULL_SYNC, integration_id=integration_id, client_id=client_id,
                actor=OPERATOR)
        db.session.commit()
        assert schedule.enqueue_due_syncs()["queued"] == 0


def test_client_lists_are_refreshed_for_connected_integrations(app):
    with app.app_context():
        connected, _ = make_integration("Koblet AS")
        make_integration("Venter AS", status=IntegrationStatus.AWAITING_AUTHORIZATION)
        assert schedule.enqueue_client_refreshes() == {"integrations": 1, "queued": 1}
        assert schedule.enqueue_client_refreshes() == {"integrations": 1, "queued": 0}
        run = db.session.scalar(select(SyncRun))
        assert (run.kind, run.integration_id, run.client_id) == (
            RunKind.REFRESH_CLIENTS, connected, None
        )


def test_old_history_is_pruned_failures_kept_longer(app):
    with app.app_context():
        integration_id, _ = make_integration("Historikk AS")
        now = utcnow()
        for status, days in [(RunStatus.SUCCEEDED, 40), (RunStatus.SUCCEEDED, 5),
                             (RunStatus.FAILED, 40), (RunStatus.FAILED, 200)]:
            db.session.add(SyncRun(kind=RunKind.INCREMENTAL_SYNC, integration_id=integration_id,
                                   requested_by="x", status=status,
                                   finished_at=now - timedelta(days=days)))
        db.session.commit()
        assert queue.prune_run_history() == {"deleted_succeeded": 1, "deleted_failed": 1}
        left = {(r.status, (now - r.finished_at).days) for r in db.session.scalars(select(SyncRun))}
        assert left == {(RunStatus.SUCCEEDED, 5), (RunStatus.FAILED, 40)}


def test_paused_jobs_are_skipped_and_visible_from_any_process(app):
    with app.app_context():
        make_integration("Pauset AS", 1, next_sync_at=utcnow())
        assert [j["id"] for j in scheduler_jobs()] == list(JOBS)
        assert pause_job("enqueue_due_syncs", actor=OPERATOR) is True
    run_job(app, "enqueue_due_syncs")
    with app.app_context():
        assert db.session.scalar(select(SyncRun)) is None
        job = next(j for j in scheduler_jobs() if j["id"] == "enqueue_due_syncs")
        assert job["paused"] and job["next_run_at"] is None
        assert resume_job("enqueue_due_syncs", actor=OPERATOR) is True
    run_job(app, "enqueue_due_syncs")
    with app.app_context():
        assert db.session.scalar(select(SyncRun)) is not None
        job = next(j for j in scheduler_jobs() if j["id"] == "enqueue_due_syncs")
        assert job["last_status"] == "ok" and job["run_count"] == 1
        assert "queued=1" in job["last_message"]


def test_the_scheduler_service_runs_jobs_and_publishes_their_state(app, monkeypatch):
    from app.jobs import scheduler as scheduler_module

    app.config["SCHEDULER_TICK_SECONDS"] = 60
    # The leader reads pause/resume from the table every few seconds; a resume shows sooner.
    monkeypatch.setattr(scheduler_module, "STATE_SYNC_SECONDS", 0.5)
    with app.app_context():
        make_integration("Planlagt AS", 3, next_sync_at=utcnow() - timedelta(minutes=1))
        pause_job("prune_run_history")
    service = SchedulerService(app).start()
    try:
        assert service.is_leader
        from tests.jobs.helpers import wait_for

        def enqueued():
            with app.app_context():
                return db.session.scalar(select(SchedulerJob.run_count).where(
                    SchedulerJob.id == "enqueue_due_syncs"))

        wait_for(enqueued, timeout=10)
        scheduler = service.scheduler
        assert str(scheduler.timezone) == "Europe/Oslo"
        job = scheduler.get_job("enqueue_due_syncs")
        assert job.coalesce and job.max_instances == 1 and job.misfire_grace_time >= 600
        assert scheduler.get_job("prune_run_history").next_run_time is None  # paused
        with app.app_context():
            jobs = {j["id"]: j for j in scheduler_jobs()}
            assert jobs["refresh_client_lists"]["next_run_at"] is not None
            assert jobs["prune_run_history"]["paused"]
            assert len(db.session.scalars(select(SyncRun)).all()) == 3
            resume_job("prune_run_history")
        deadline = time.monotonic() + 10
        while scheduler.get_job("prune_run_history").next_run_time is None:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        service.stop()
    assert not service.is_leader


def test_every_scheduler_job_names_a_function_that_exists():
    from app.jobs.scheduler import resolve

    for spec in JOBS.values():
        assert callable(resolve(spec.func)), spec.func
