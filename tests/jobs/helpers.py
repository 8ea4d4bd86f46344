"""Building integrations and clients for queue tests, and running workers until idle."""

import time

from sqlalchemy import func, insert, select

from app.extensions import db
from app.integrations.models import Client, IntegrationStatus
from app.jobs.models import RunStatus, SyncRun
from app.jobs.queue import claim_next
from app.jobs.worker import execute_claim
from tests.factories import IntegrationFactory


def make_integration(name, clients=0, *, status=IntegrationStatus.CONNECTED, active=True,
                     next_sync_at=None):
    """A customer with one integration and ``clients`` clients (bulk-inserted); returns
    (integration_id, [client ids])."""
    integration = IntegrationFactory(customer__name=name, status=status, description=name)
    if clients:
        db.session.execute(
            insert(Client),
            [
                {"integration_id": integration.id, "external_id": f"{name}-{n}",
                 "name": f"{name} klient {n}", "active": active, "reachable": True,
                 "is_new": False, "next_sync_at": next_sync_at}
                for n in range(clients)
            ],
        )
    db.session.commit()
    ids = list(db.session.scalars(
        select(Client.id).where(Client.integration_id == integration.id).order_by(Client.id)
    ))
    return integration.id, ids


def drain(executor, *, worker_id="test-worker", limit=10_000):
    """Claim and execute runs in this thread until none is claimable; returns run ids."""
    done = []
    for _ in range(limit):
        claim = claim_next(worker_id)
        if claim is None:
            return done
        execute_claim(claim, executor)
        done.append(claim.run_id)
    raise AssertionError("queue did not drain")


def count(status):
    return db.session.scalar(select(func.count()).where(SyncRun.status == status))


def wait_for(predicate, timeout=30.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def finished_all():
    db.session.rollback()
    return count(RunStatus.QUEUED) == 0 and count(RunStatus.RUNNING) == 0
