"""The run queue on SQLite: dedup, priority, fairness, limits, retries, leases."""

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.audit.operations import Actor
from app.db_types import utcnow
from app.extensions import db
from app.integrations.models import Integration, IntegrationStatus
from app.integrations.operations import request_run, request_runs_for_clients
from app.jobs.models import RunKind, RunStatus, SyncRun, Trigger
from app.jobs.queue import claim_next, enqueue, enqueue_for_clients, requeue_expired_leases
from app.jobs.worker import execute_claim, run_inline
from tests.jobs.executors import Recorder, always_failing, noop
from tests.jobs.helpers import drain, make_integration

OPERATOR = Actor(label="operator@sticos.test")
SCHEDULER = Actor.system("scheduler")


def runs(**where):
    query = select(SyncRun).order_by(SyncRun.id)
    for name, value in where.items():
        query = query.where(getattr(SyncRun, name) == value)
    return db.session.scalars(query).all()


def test_a_client_never_has_two_active_runs_of_one_kind(app):
    with app.app_context():
        integration_id, clients = make_integration("Dup AS", 3)
        integration = db.session.get(Integration, integration_id)
        client = integration.clients[0]
        first, created = request_run(RunKind.FULL_SYNC, integration=integration, client=client,
                                     actor=OPERATOR)
        again, created_again = request_run(RunKind.FULL_SYNC, integration=integration,
                                           client=client, actor=OPERATOR)
        assert created and not created_again and again.id == first.id
        # Another kind for the same client is separate work.
        _, created_other = request_run(RunKind.TEST_DATA, integration=integration, client=client,
                                       actor=OPERATOR)
        assert created_other
        bulk = request_runs_for_clients(RunKind.FULL_SYNC, clients, actor=OPERATOR)
        assert bulk.queued == 2  # the first client already had one
        assert len(runs(kind=RunKind.FULL_SYNC)) == 3

        # While running it still counts; once finished a new one may be queued.
        assert run_inline(first.id, noop) == RunStatus.SUCCEEDED
        _, created_after = request_run(RunKind.FULL_SYNC, integration=integration,
                                       client=client, actor=OPERATOR)
        assert created_after


def test_manual_runs_go_before_scheduled_ones(app):
    with app.app_context():
        integration_id, clients = make_integration("Prioritet AS", 5)
        enqueue_for_clients(RunKind.INCREMENTAL_SYNC, clients, actor=SCHEDULER,
                            trigger=Trigger.SCHEDULE)
        manual, _ = enqueue(RunKind.FULL_SYNC, integration_id=integration_id,
                            client_id=clients[3], actor=OPERATOR)
        db.session.commit()
        first = claim_next("w1")
        assert first.run_id == manual.id


def test_one_customers_two_thousand_runs_do_not_starve_anothers_ten(app):
    app.config["MAX_RUNNING_PER_INTEGRATION"] = 10_000  # fairness alone, no limit
    with app.app_context():
        _, big = make_integration("Stor Kunde AS", 2000)
        _, small = make_integration("Liten Kunde AS", 10)
        enqueue_for_clients(RunKind.INCREMENTAL_SYNC, big, actor=SCHEDULER,
                            trigger=Trigger.SCHEDULE)
        db.session.commit()
        enqueue_for_clients(RunKind.INCREMENTAL_SYNC, small, actor=SCHEDULER,
                            trigger=Trigger.SCHEDULE)
        db.session.commit()
        claimed = [claim_next("w").run_id for _ in range(20)]
        small_runs = {r.id for r in runs() if r.client_id in set(small)}
        # Round robin: all ten of the small customer's runs are among the first twenty claimed.
        assert small_runs <= set(claimed)


def test_concurrency_is_limited_per_integration(app):
    app.config["MAX_RUNNING_PER_INTEGRATION"] = 2
    with app.app_context():
        _, busy = make_integration("Travel AS", 5)
        _, other = make_integration("Annen AS", 1)
        enqueue_for_clients(RunKind.INCREMENTAL_SYNC, busy, actor=OPERATOR)
        db.session.commit()
        enqueue_for_clients(RunKind.INCREMENTAL_SYNC, other, actor=OPERATOR)
        db.session.commit()
        claims = [claim_next(f"w{n}") for n in range(4)]
        assert claims[3] is None
        owners = [db.session.get(SyncRun, c.run_id).client_id for c in claims[:3]]
        assert sum(1 for o in owners if o in busy) == 2 and other[0] in owners
        execute_claim(claims[0], noop)
        assert claim_next("w5") is not None  # a slot came free


def test_retryable_failures_are_retried_then_fail_with_the_message(app):
    app.config["RUN_RETRY_BACKOFF_SECONDS"] = 0
    with app.app_context():
        integration_id, clients = make_integration("Ustabil AS", 1)
        run, _ = enqueue(RunKind.FULL_SYNC, integration_id=integration_id, client_id=clients[0],
                         actor=OPERATOR)
        db.session.commit()
        attempts = drain(always_failing("Visma.net svarte ikke (503)."))
        assert attempts == [run.id] * 3
        db.session.expire_all()
        run = db.session.get(SyncRun, run.id)
        assert run.status == RunStatus.FAILED and run.attempts == 3
        assert run.error_message == "Visma.net svarte ikke (503). (ga opp etter 3 forsøk)"
        assert run.active_key is None and run.finished_at is not None


def test_a_retry_waits_for_its_back_off(app):
    app.config["RUN_RETRY_BACKOFF_SECONDS"] = 60
    with app.app_context():
        integration_id, clients = make_integration("Vent AS", 1)
        run, _ = enqueue(RunKind.FULL_SYNC, integration_id=integration_id, client_id=clients[0],
                         actor=OPERATOR)
        db.session.commit()
        assert drain(always_failing("Tidsavbrudd")) == [run.id]  # once, then it waits
        db.session.expire_all()
        run = db.session.get(SyncRun, run.id)
        assert run.status == RunStatus.QUEUED and run.error_message == "Tidsavbrudd"
        assert run.due_at > utcnow() + timedelta(seconds=50)
        assert "nytt forsøk kl." in run.current_step


def test_a_non_retryable_failure_fails_at_once(app):
    with app.app_context():
        integration_id, clients = make_integration("Tilgang AS", 1)
        run, _ = enqueue(RunKind.FULL_SYNC, integration_id=integration_id, client_id=clients[0],
                         actor=OPERATOR)
        db.session.commit()
        message = "Tilgangen til Visma.net er trukket tilbake. Koble til på nytt."
        assert run_inline(run.id, always_failing(message, retryable=False)) == RunStatus.FAILED
        db.session.expire_all()
        run = db.session.get(SyncRun, run.id)
        assert run.attempts == 1 and run.error_message == message


def test_an_unexpected_error_is_logged_and_shown_generically(app, caplog):
    app.config["RUN_RETRY_BACKOFF_SECONDS"] = 0
    with app.app_context():
        integration_id, clients = make_integration("Krasj AS", 1)
        run, _ = enqueue(RunKind.FULL_SYNC, integration_id=integration_id, client_id=clients[0],
                         actor=OPERATOR, max_attempts=1)
        db.session.commit()
        with caplog.at_level(logging.ERROR, logger="app.jobs.worker"):
            status = run_inline(run.id, Recorder(fail=KeyError("intern-detalj")))
        assert status == RunStatus.FAILED
        assert "Traceback" in caplog.text and "KeyError" in caplog.text
        db.session.expire_all()
        run = db.session.get(SyncRun, run.id)
        assert run.error_message.startswith("Det oppstod en uventet feil")
        assert "intern-detalj" not in run.error_message


def test_an_expired_lease_goes_back_to_the_queue_and_another_worker_finishes_it(app):
    with app.app_context():
        integration_id, clients = make_integration("Lease AS", 1)
        run, _ = enqueue(RunKind.FULL_SYNC, integration_id=integration_id, client_id=clients[0],
                         actor=OPERATOR)
        db.session.commit()
        dead = claim_next("host:1/dead-worker")
        assert dead.run_id == run.id
        assert requeue_expired_leases() == {"requeued": 0, "failed": 0}  # lease still valid
        # The worker died: no heartbeat, its lease runs out.
        db.session.execute(update(SyncRun).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert requeue_expired_leases() == {"requeued": 1, "failed": 0}
        assert drain(noop, worker_id="host:2/alive") == [run.id]
        db.session.expire_all()
        run = db.session.get(SyncRun, run.id)
        assert run.status == RunStatus.SUCCEEDED and run.attempts == 2
        assert run.worker_id == "host:2/alive"
        # The dead worker's late result is ignored: its claim is fenced off.
        from app.jobs.queue import complete_claim

        assert complete_claim(dead, None) is None


def test_a_run_whose_lease_keeps_expiring_fails_with_a_clear_message(app):
    with app.app_context():
        integration_id, clients = make_integration("Evig AS", 1)
        run, _ = enqueue(RunKind.FULL_SYNC, integration_id=integration_id, client_id=clients[0],
                         actor=OPERATOR, max_attempts=2)
        db.session.commit()
        for _ in range(2):
            assert claim_next("dead") is not None
            db.session.execute(update(SyncRun).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
            db.session.commit()
            requeue_expired_leases()
        db.session.expire_all()
        run = db.session.get(SyncRun, run.id)
        assert run.status == RunStatus.FAILED
        assert "stoppet uten å bli ferdig" in run.error_message and "2 ganger" in run.error_message


@pytest.mark.slow
def test_the_heartbeat_keeps_a_long_waiting_run_leased(app):
    app.config["RUN_LEASE_SECONDS"] = 2
    with app.app_context():
        integration_id, clients = make_integration("Tålmodig AS", 1)
        run, _ = enqueue(RunKind.FULL_SYNC, integration_id=integration_id, client_id=clients[0],
                         actor=OPERATOR)
        db.session.commit()
        seen = {}

        def waits_for_retry_after(run_id, progress):
            import time

            time.sleep(4)  # e.g. Visma said Retry-After; no progress updates meanwhile
            seen["requeued"] = requeue_expired_leases()["requeued"]
            return noop(run_id, progress)

        assert run_inline(run.id, waits_for_retry_after) == RunStatus.SUCCEEDED
        assert seen["requeued"] == 0
        db.session.expire_all()
        assert db.session.get(SyncRun, run.id).attempts == 1


def test_scheduled_runs_of_an_integration_needing_reauthorization_wait(app):
    with app.app_context():
        integration_id, clients = make_integration(
            "Utløpt AS", 2, status=IntegrationStatus.REAUTHORIZATION_REQUIRED
        )
        enqueue_for_clients(RunKind.INCREMENTAL_SYNC, clients[:1], actor=SCHEDULER,
                            trigger=Trigger.SCHEDULE)
        db.session.commit()
        assert claim_next("w") is None
        # A person's run is attempted (and fails with the engine's message at once).
        manual, _ = enqueue(RunKind.FULL_SYNC, integration_id=integration_id,
                            client_id=clients[1], actor=OPERATOR)
        db.session.commit()
        assert claim_next("w").run_id == manual.id


@pytest.mark.parametrize("threads", [4])
def test_several_threads_in_one_process_claim_each_run_once(app, threads):
    from app.jobs.worker import Worker
    from tests.jobs.helpers import finished_all, wait_for

    app.config["MAX_RUNNING_PER_INTEGRATION"] = 100
    with app.app_context():
        _, clients = make_integration("Tråder AS", 60)
        enqueue_for_clients(RunKind.INCREMENTAL_SYNC, clients, actor=OPERATOR)
        db.session.commit()
        recorder = Recorder(seconds=0.01)
        worker = Worker(app, threads=threads, executor=recorder, poll_seconds=0.05).start()
        try:
            wait_for(finished_all, timeout=60)
        finally:
            worker.stop(grace_seconds=5)
        assert sorted(recorder.calls) == sorted(r.id for r in runs())
        assert {r.status for r in runs()} == {RunStatus.SUCCEEDED}
