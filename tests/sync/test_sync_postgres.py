"""The same engine on PostgreSQL: its own upsert dialect, row locks and generation flip."""

from __future__ import annotations

import random

import pytest

from app.extensions import db
from app.integrations.visma import visma_client
from app.jobs.models import RunKind, RunStatus

from .conftest import make_env
from .mutations import mutate

pytestmark = pytest.mark.postgres


@pytest.mark.slow
def test_full_then_incremental_rounds_on_postgres(tmp_path, sim, postgres_url):
    env = make_env(tmp_path, sim, SQLALCHEMY_DATABASE_URI=postgres_url)
    with env.app.app_context():
        try:
            integration = env.connect()
            assert env.run(RunKind.REFRESH_CLIENTS, integration).status == RunStatus.SUCCEEDED
            client = env.client_named(integration, "Nordlys Regnskap AS")
            env.activate(client)
            run = env.run(RunKind.FULL_SYNC, integration, client)
            assert run.status == RunStatus.SUCCEEDED, run.error_message
            env.assert_equal_to_truth(client)
            rng = random.Random(4)
            for _ in range(3):
                mutate(sim.state, client.external_id, rng, changes=15)
                run = env.run(RunKind.INCREMENTAL_SYNC, integration, client)
                assert run.status in (RunStatus.SUCCEEDED, RunStatus.WARNINGS), run.error_message
                env.assert_equal_to_truth(client)
            run = env.run(RunKind.FULL_SYNC, integration, client)
            assert run.status in (RunStatus.SUCCEEDED, RunStatus.WARNINGS), run.error_message
            env.assert_equal_to_truth(client)
        finally:
            db.session.remove()
            visma_client().close()
            db.engine.dispose()
