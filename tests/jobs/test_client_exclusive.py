"""One running run per client: a full and an incremental sync of one client never interleave."""

import pytest

from app.audit.operations import Actor
from app.extensions import db
from app.jobs.models import RunKind
from app.jobs.queue import claim_next, enqueue
from tests.jobs.helpers import make_integration


def _two_kinds_for_one_client_and_one_other(app):
    with app.app_context():
        integration_id, (busy, other) = make_integration("Eksklusiv AS", clients=2)
        actor = Actor.system("test")
        for kind in (RunKind.FULL_SYNC, RunKind.INCREMENTAL_SYNC):
            enqueue(kind, integration_id=integration_id, client_id=busy, actor=actor)
        enqueue(RunKind.INCREMENTAL_SYNC, integration_id=integration_id, client_id=other, actor=actor)
        db.session.commit()
        return busy, other


def _claimed_clients(app, n):
    from app.jobs.models import SyncRun

    with app.app_context():
        claims = [claim_next(f"w{i}") for i in range(n)]
        return [db.session.get(SyncRun, c.run_id).client_id if c else None for c in claims]


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_second_run_of_a_busy_client_waits(request, database):
    app = request.getfixturevalue("app" if database == "sqlite" else "pg_app")
    app.config["MAX_RUNNING_PER_INTEGRATION"] = 5
    busy, other = _two_kinds_for_one_client_and_one_other(app)
    # The first claim takes the busy client's full sync; the next must skip its incremental.
    assert _claimed_clients(app, 3) == [busy, other, None]
