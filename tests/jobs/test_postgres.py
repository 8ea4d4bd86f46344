"""The queue under real concurrency on PostgreSQL (FOR UPDATE SKIP LOCKED, advisory locks)."""

import pytest
from sqlalchemy import select

from app.audit.operations import Actor
from app.extensions import db
from app.jobs.models import RunKind, RunStatus, SyncRun, Trigger
from app.jobs.queue import claim_next, enqueue_for_clients
from app.jobs.worker import Worker
from tests.jobs.executors import Recorder
from tests.jobs.helpers import finished_all, make_integration, wait_for
from tests.jobs.test_processes import start_worker, stop_all

pytestmark = pytest.mark.postgres
SCHEDULER = Actor.system("scheduler")


def queue_runs(integrations, clients_each):
    for n in range(integrations):
        _, clients = make_integration(f"Kunde {n} AS", clients_each)
        enqueue_for_clients(RunKind.INCREMENTAL_SYNC, clients, actor=SCHEDULER,
                            trigger=Trigger.SCHEDULE)
        db.session.commit()


def all_runs():
    db.session.rollback()
    return db.session.scalars(select(SyncRun).order_by(SyncRun.id)).all()


def test_four_worker_threads_drain_two_hundred_runs_each_exactly_once(pg_app):
    pg_app.config["MAX_RUNNING_PER_INTEGRATION"] = 4
    with pg_app.app_context():
        queue_runs(integrations=10, clients_each=20)
        recorder = Recorder(seconds=0.005)
        worker = Worker(pg_app, threads=4, executor=recorder, poll_seconds=0.05).start()
        try:
            wait_for(finished_all, timeout=120)
        finally:
            worker.stop(grace_seconds=10)
        runs = all_runs()
        assert len(runs) == 200
        assert sorted(recorder.calls) == [r.id for r in runs]  # each once, none twice
        assert {(r.status, r.attempts) for r in runs} == {(RunStatus.SUCCEEDED, 1)}
        assert len({r.worker_id for r in runs}) == 4  # all four threads took part
        assert max(recorder.max_running.values()) <= 4


@pytest.mark.slow
def test_four_worker_processes_drain_two_hundred_runs_each_exactly_once(pg_app, postgres_url):
    with pg_app.app_context():
        queue_runs(integrations=50, clients_each=4)
        workers = [
            start_worker(postgres_url, "--threads", "1", "--no-scheduler",
                         "--executor", "tests.jobs.executors:noop",
                         overrides={"WORKER_POLL_SECONDS": 0.2})
            for _ in range(4)
        ]
        try:
            wait_for(finished_all, timeout=120)
        finally:
            outputs = stop_all(workers)
        runs = all_runs()
        assert {(r.status, r.attempts) for r in runs} == {(RunStatus.SUCCEEDED, 1)}, outputs
        processes = {r.worker_id.split("/")[0] for r in runs}
        assert len(processes) >= 2, processes  # work was shared between processes


def test_the_per_integration_limit_holds_with_concurrent_workers(pg_app):
    pg_app.config["MAX_RUNNING_PER_INTEGRATION"] = 2
    with pg_app.app_context():
        queue_runs(integrations=2, clients_each=12)
        recorder = Recorder(seconds=0.05)
        worker = Worker(pg_app, threads=6, executor=recorder, poll_seconds=0.02).start()
        try:
            wait_for(finished_all, timeout=120)
        finally:
            worker.stop(grace_seconds=10)
        assert sorted(recorder.calls) == [r.id for r in all_runs()]
        assert max(recorder.max_running.values()) == 2


def test_claims_skip_locked_rows_instead_of_waiting(pg_app):
    """A claim in progress in another transaction does not block or duplicate this one."""
    pg_app.config["MAX_RUNNING_PER_INTEGRATION"] = 10
    with pg_app.app_context():
        queue_runs(integrations=1, clients_each=3)
        first_id = all_runs()[0].id
        with db.engine.connect() as other:
            other.execute(
                select(SyncRun.id).where(SyncRun.id == first_id).with_for_update()
            ).all()
            claim = claim_next("w")
            other.rollback()
        assert claim is not None and claim.run_id != first_id
