"""The queue with the real sync engine and the Visma.net simulator on PostgreSQL: a worker
killed mid-run leaves the run to another worker, and the store still equals the truth."""

from datetime import timedelta

import pytest

from app.audit.operations import Actor
from app.extensions import db
from app.jobs.models import RunKind, RunStatus, SyncRun, Trigger
from app.jobs.queue import enqueue
from app.visma.simulator import SimulatorConfig
from app.visma.simulator.testing import start_simulator
from tests.jobs.helpers import wait_for
from tests.jobs.test_processes import start_worker, stop

pytestmark = pytest.mark.slow


@pytest.fixture
def sim():
    running = start_simulator(SimulatorConfig(journal_lines=3000, latency=0.03))
    yield running
    running.stop()


@pytest.mark.postgres
def test_a_worker_killed_mid_run_is_retried_by_another_and_the_store_equals_the_truth(
    postgres_url, tmp_path, sim
):
    from app.integrations.visma import visma_client
    from tests.sync.conftest import make_env

    overrides = {
        "VISMA_CONNECT_URL": sim.url, "VISMA_API_URL": sim.api_url,
        "VISMA_BACKOFF_SECONDS": 0.01, "VISMA_HTTP_TIMEOUT_SECONDS": 10,
        "VISMA_MAX_WAIT_SECONDS": 5, "RUN_LEASE_SECONDS": 2, "WORKER_POLL_SECONDS": 0.2,
    }
    env = make_env(tmp_path, sim, SQLALCHEMY_DATABASE_URI=postgres_url, **overrides)
    with env.app.app_context():
        try:
            integration = env.connect()
            refresh = env.run(RunKind.REFRESH_CLIENTS, integration)
            assert refresh.status == RunStatus.SUCCEEDED, refresh.error_message
            client = env.client_named(integration, "Nordlys Regnskap AS")
            env.activate(client)
            run, _ = enqueue(RunKind.FULL_SYNC, integration_id=integration.id,
                             client_id=client.id, actor=Actor(label="kunde@regnskap.test"),
                             trigger=Trigger.MANUAL)
            db.session.commit()
            run_id = run.id

            def current():
                db.session.rollback()
                return db.session.get(SyncRun, run_id, populate_existing=True)

            first = start_worker(postgres_url, "--threads", "1", "--no-scheduler",
                                 overrides=overrides)
            try:
                wait_for(lambda: current().status == RunStatus.RUNNING
                         and current().progress_done > 0, timeout=60)
            finally:
                first.kill()  # no clean shutdown: the machine is gone
                first.communicate(timeout=10)
            left = current()
            assert left.status == RunStatus.RUNNING and left.attempts == 1

            second = start_worker(postgres_url, "--threads", "1", "--no-scheduler",
                                  overrides=overrides)
            try:
                wait_for(lambda: not current().is_active, timeout=180)
            finally:
                output = stop(second)
            done = current()
            assert done.status == RunStatus.SUCCEEDED, (done.error_message, output)
            assert done.attempts == 2
            assert done.worker_id.split(":")[1].startswith(f"{second.pid}/")
            env.assert_equal_to_truth(client)
        finally:
            db.session.remove()
            visma_client().close()
            db.engine.dispose()


def test_keep_alive_refreshes_only_grants_about_to_expire_unused(tmp_path, sim):
    from sqlalchemy import update

    from app.db_types import utcnow
    from app.integrations.models import Integration
    from app.integrations.tokens import keep_grants_alive
    from app.integrations.visma import visma_client
    from tests.sync.conftest import make_env

    env = make_env(tmp_path, sim)
    with env.app.app_context():
        try:
            integration = env.connect()
            old_refresh = integration.token["refresh_token"]
            assert keep_grants_alive() == {"refreshed": 0, "failed": 0}  # fresh grant
            db.session.execute(
                update(Integration).values(token_refreshed_at=utcnow() - timedelta(days=25))
            )
            db.session.commit()
            assert keep_grants_alive() == {"refreshed": 1, "failed": 0}
            db.session.expire_all()
            integration = db.session.get(Integration, integration.id)
            assert integration.token["refresh_token"] != old_refresh
            assert utcnow() - integration.token_refreshed_at < timedelta(minutes=1)
            assert keep_grants_alive() == {"refreshed": 0, "failed": 0}
        finally:
            db.session.remove()
            visma_client().close()
            db.engine.dispose()
