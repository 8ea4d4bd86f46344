"""What the pages show: queue positions, queue statistics, live run status; the dev worker."""

from datetime import timedelta

from sqlalchemy import update

from app.audit.operations import Actor
from app.db_types import utcnow
from app.extensions import db
from app.jobs.models import RunKind, RunStatus, SyncRun, Trigger
from app.jobs.queries import queue_position, queue_stats
from app.jobs.queue import claim_next, enqueue, enqueue_for_clients
from app.jobs.worker import run_inline, start_background_worker
from tests.jobs.executors import always_failing, noop
from tests.jobs.helpers import finished_all, make_integration, wait_for

OPERATOR = Actor(label="operator@sticos.test")
SCHEDULER = Actor.system("scheduler")


def test_queue_positions_follow_the_claim_order(app):
    with app.app_context():
        integration_id, clients = make_integration("Kø AS", 4)
        enqueue_for_clients(RunKind.INCREMENTAL_SYNC, clients[:3], actor=SCHEDULER,
                            trigger=Trigger.SCHEDULE)
        manual, _ = enqueue(RunKind.FULL_SYNC, integration_id=integration_id,
                            client_id=clients[3], actor=OPERATOR)
        db.session.commit()
        scheduled = db.session.scalars(
            db.select(SyncRun).where(SyncRun.trigger == Trigger.SCHEDULE).order_by(SyncRun.id)
        ).all()
        assert queue_position(manual) == 1
        assert [queue_position(r.id) for r in scheduled] == [2, 3, 4]
        claim = claim_next("w")
        assert claim.run_id == manual.id
        assert queue_position(manual.id) is None  # running: no longer in the queue
        assert queue_position(scheduled[0].id) == 1


def test_queue_stats_count_queued_running_and_recent_failures(app):
    app.config["MAX_RUNNING_PER_INTEGRATION"] = 1
    with app.app_context():
        assert queue_stats()["oldest_queued_age_seconds"] is None
        integration_id, clients = make_integration("Statistikk AS", 4)
        runs = [enqueue(RunKind.FULL_SYNC, integration_id=integration_id, client_id=c,
                        actor=OPERATOR)[0] for c in clients]
        db.session.commit()
        run_inline(runs[0].id, always_failing("Nei", retryable=False))
        run_inline(runs[1].id, noop)
        claim_next("w")
        db.session.execute(update(SyncRun).where(SyncRun.id == runs[3].id)
                           .values(created_at=utcnow() - timedelta(minutes=10)))
        db.session.commit()
        stats = queue_stats()
        assert stats["queued"] == 1 and stats["due"] == 1 and stats["running"] == 1
        assert stats["failed_last_24h"] == 1 and stats["succeeded_last_24h"] == 1
        assert 590 <= stats["oldest_queued_age_seconds"] <= 700


def test_the_background_worker_starts_once_and_not_in_the_reloader_watcher(app, monkeypatch):
    from app.jobs import worker as worker_module

    monkeypatch.setattr(worker_module, "_background", {})
    app.config.update(SCHEDULER_ENABLED=False, WORKER_POLL_SECONDS=0.05)
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    assert start_background_worker(app, 1, use_reloader=True) is None  # the watcher process
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    worker = start_background_worker(app, 1, use_reloader=True)
    try:
        assert worker is not None and start_background_worker(app, 1) is worker
        worker.executor = noop
        with app.app_context():
            integration_id, clients = make_integration("Bakgrunn AS", 1)
            run, _ = enqueue(RunKind.TEST_DATA, integration_id=integration_id,
                             client_id=clients[0], actor=OPERATOR)
            db.session.commit()
            wait_for(finished_all, timeout=20)
            db.session.expire_all()
            assert db.session.get(SyncRun, run.id).status == RunStatus.SUCCEEDED
    finally:
        worker.stop(grace_seconds=5)


def test_queue_positions_for_many_runs_at_once(app):
    from app.jobs.queries import queue_positions

    with app.app_context():
        integration_id, clients = make_integration("Mange AS", 3)
        enqueue_for_clients(RunKind.INCREMENTAL_SYNC, clients, actor=OPERATOR)
        db.session.commit()
        ids = list(db.session.scalars(db.select(SyncRun.id).order_by(SyncRun.id)))
        claim_next("w")
        assert queue_positions(ids + [12345]) == {ids[1]: 1, ids[2]: 2}
