"""The fence itself: while a run executes, a commit of its session lands only if its worker
still holds the run, whatever wrote it; a rotated Visma token is kept whoever rotated it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from app.accounting.models import DatasetState
from app.audit.operations import Actor
from app.db_types import utcnow
from app.extensions import db
from app.integrations import tokens
from app.integrations.models import Integration
from app.integrations.visma import visma_client
from app.jobs.fencing import fenced
from app.jobs.models import RunKind, RunStatus, SyncRun
from app.jobs.queue import LeaseLost, claim_run, enqueue, prove_held, requeue_expired_leases
from tests.jobs.helpers import make_integration
from tests.sync.conftest import make_env
from tests.sync.test_sync_faults import _ready

OPERATOR = Actor(label="operator@sticos.test")


def _taken_over(run_id):
    """The run's lease runs out and another worker claims it (attempt 2); its claim."""
    db.session.execute(update(SyncRun).where(SyncRun.id == run_id)
                       .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert requeue_expired_leases()["requeued"] == 1
    return claim_run(run_id, "worker-B")


def _raw_insert(client_id: int, generation: int) -> None:
    """A write below the ORM and Core, as a COPY or driver-level upsert would make it."""
    db.session.connection().exec_driver_sql(
        "INSERT INTO accounting_dataset_state (client_id, dataset, current_generation, "
        f"reserved_generation, figures) VALUES ({client_id}, 'g{generation}', {generation}, "
        f"{generation}, '{{}}')")


def _stored_generations(client_id: int) -> list[int]:
    return list(db.session.scalars(select(DatasetState.current_generation)
                                   .where(DatasetState.client_id == client_id)))


def _full_sync_claimed_by_worker_a():
    """A client's queued full sync, claimed by worker A: (client id, run, A's claim)."""
    integration_id, (client_id,) = make_integration("Gjerde AS", 1)
    run, _ = enqueue(RunKind.FULL_SYNC, integration_id=integration_id,
                     client_id=client_id, actor=OPERATOR)
    db.session.commit()
    return client_id, run, claim_run(run.id, "worker-A")


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_commit_lands_only_while_its_worker_holds_the_run(database, request):
    app = request.getfixturevalue("app" if database == "sqlite" else "pg_app")
    with app.app_context():
        client_id, run, first = _full_sync_claimed_by_worker_a()
        with fenced(first):
            _raw_insert(client_id, 1)
            db.session.commit()  # A holds the run: its write lands
        second = _taken_over(run.id)
        with fenced(first), pytest.raises(LeaseLost):
            _raw_insert(client_id, 2)
            db.session.commit()
        db.session.rollback()
        with fenced(second):
            _raw_insert(client_id, 3)
            db.session.commit()
        assert sorted(_stored_generations(client_id)) == [1, 3]
        held = db.session.get(SyncRun, run.id, populate_existing=True)
        assert (held.status, held.worker_id, held.attempts) == (RunStatus.RUNNING, "worker-B", 2)


@pytest.mark.postgres
def test_a_token_rotated_while_the_run_was_taken_over_is_kept(tmp_path, postgres_url):
    """On PostgreSQL a refresh holds only the integration's row lock, so the run can be taken
    over while Visma answers; the rotated token must still be stored, or the next refresh
    would present a spent one."""
    from app.visma.simulator import SimulatorConfig
    from app.visma.simulator.testing import start_simulator

    sim = start_simulator(SimulatorConfig(journal_lines=50))
    env = make_env(tmp_path, sim, SQLALCHEMY_DATABASE_URI=postgres_url)
    try:
        with env.app.app_context():
            integration, client = _ready(env)
            run, _ = enqueue(RunKind.INCREMENTAL_SYNC, integration_id=integration.id,
                             client_id=client.id, actor=OPERATOR)
            db.session.commit()
            stale = claim_run(run.id, "worker-A")
            integration.token = {**integration.token, "expires_at": 0}  # due for a refresh
            db.session.commit()
            visma = visma_client()
            spend = visma.refresh

            def refresh_while_taken_over(token, **options):
                answer = spend(token, **options)
                other = threading.Thread(target=_take_over_elsewhere, args=(env.app, run.id))
                other.start()
                other.join(timeout=30)
                return answer

            visma.refresh = refresh_while_taken_over
            try:
                with fenced(stale):
                    rotated = tokens.interactive_token(integration.id)
                    with pytest.raises(LeaseLost):  # the run's own next write is refused
                        db.session.commit()
                db.session.rollback()
            finally:
                del visma.refresh
            stored = db.session.get(Integration, integration.id, populate_existing=True)
            assert stored.token["refresh_token"] == rotated["refresh_token"]
            assert stored.token["refresh_token"] != ""
            # The stored token is the live one: the next refresh works.
            fresh = tokens.interactive_token(integration.id, force_refresh=True)
            assert fresh["refresh_token"] != rotated["refresh_token"]
            assert db.session.scalar(select(func.count()).select_from(SyncRun)
                                     .where(SyncRun.worker_id == "worker-B")) == 1
            visma.close()
            db.session.remove()
    finally:
        with env.app.app_context():
            db.engine.dispose()
        sim.stop()


def _take_over_elsewhere(app, run_id):
    with app.app_context():
        try:
            assert _taken_over(run_id) is not None
        finally:
            db.session.remove()


@pytest.mark.postgres
def test_requeueing_skips_a_run_whose_worker_is_committing(pg_app):
    """A worker frozen between its fence and its COMMIT holds the run row's lock: requeueing
    must pass it by, not wait behind it (which would stall every worker that requeues)."""
    with pg_app.app_context():
        integration_id, (client_id,) = make_integration("Frossen AS", 1)
        run, _ = enqueue(RunKind.FULL_SYNC, integration_id=integration_id, client_id=client_id,
                         actor=OPERATOR)
        db.session.commit()
        claim = claim_run(run.id, "worker-A")
        db.session.execute(update(SyncRun).where(SyncRun.id == run.id)
                           .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        fenced_, thawed = threading.Event(), threading.Event()

        def frozen_mid_commit():
            with pg_app.app_context():
                prove_held(claim)
                fenced_.set()
                thawed.wait(timeout=30)
                db.session.commit()
                db.session.remove()

        worker_a = threading.Thread(target=frozen_mid_commit)
        worker_a.start()
        try:
            assert fenced_.wait(timeout=10)
            db.session.execute(text("SET statement_timeout = '5s'"))
            assert requeue_expired_leases() == {"requeued": 0, "failed": 0}
        finally:
            thawed.set()
            worker_a.join(timeout=30)
        held = db.session.get(SyncRun, run.id, populate_existing=True)
        assert (held.status, held.worker_id) == (RunStatus.RUNNING, "worker-A")
        assert held.lease_expires_at > utcnow()  # its commit went through: it still holds it


@pytest.mark.postgres
def test_a_full_syncs_background_page_writer_commits_only_while_its_worker_holds_the_run(pg_app):
    """On PostgreSQL a full sync's pages are committed by the store's PageWriter thread, in
    a session of its own: it carries the run's fence too."""
    from app.accounting import store
    from app.accounting.models import GLBalance
    from app.sync import mapping

    def page(generation, period):
        rows = [mapping.gl_balance_row({"financialPeriod": period, "account": {"number": "1920"},
                                        "periodToDateDebit": 10})]
        return store.write_rows, GLBalance, client_id, generation, rows

    def written(generation):
        return db.session.scalar(select(func.count()).select_from(GLBalance).where(
            GLBalance.client_id == client_id, GLBalance.generation == generation))

    with pg_app.app_context():
        client_id, run, first = _full_sync_claimed_by_worker_a()
        with fenced(first):
            writer = store.PageWriter.for_session()
            writer.write(*page(1, "202501"), now=utcnow())
            writer.finish()
        assert written(1) == 1
        _taken_over(run.id)
        with fenced(first):
            writer = store.PageWriter.for_session()
            writer.write(*page(2, "202501"), now=utcnow())
            with pytest.raises(LeaseLost):
                writer.finish()
            writer.close()
        assert written(2) == 0
