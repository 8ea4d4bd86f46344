"""Admin fixtures: an operator's logged-in client and a small world with a known secret."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.operations import Actor
from app.auth.models import User
from app.customers.models import Customer
from app.db_types import utcnow
from app.extensions import db
from app.integrations import operations
from app.integrations.models import IntegrationStatus
from app.jobs.models import RunKind, RunStatus
from tests.conftest import csrf_token_from
from tests.factories import ClientFactory, RunFactory

SECRET_ACCESS = "SUPERHEMMELIG-ACCESS-TOKEN-7f3a9c"
SECRET_REFRESH = "SUPERHEMMELIG-REFRESH-TOKEN-b81d22"


class World:
    customer_id: int
    integration_id: int
    client_ids: list[int]
    failed_run_id: int
    queued_run_id: int


@pytest.fixture
def world(app, demo):
    """A connected integration (token with known secret strings) with 6 clients and runs."""
    with app.app_context():
        customer = db.session.scalar(select(Customer).where(Customer.name == "Regnskapsbyrå Demo AS"))
        integration = operations.create_integration(
            customer.id, description="Hovedkontor", actor=Actor.system("test")
        )
        integration.status = IntegrationStatus.CONNECTED
        integration.token = {"access_token": SECRET_ACCESS, "refresh_token": SECRET_REFRESH,
                             "expires_at": 9999999999}
        integration.authorized_by_name = "Kari Nordmann"
        integration.authorized_by_email = "kari@regnskap.test"
        now = utcnow()
        clients = [
            ClientFactory(integration=integration, external_id=f"t-{n}", name=f"Firma {n} AS",
                          orgnr="974760673" if n == 0 else f"91234567{n}", orgnr_valid=False,
                          active=n < 3, reachable=n != 5, is_new=False,
                          last_sync_at=now - timedelta(days=n) if n != 4 else None,
                          data_as_of=now - timedelta(days=n) if n != 4 else None,
                          last_sync_result="succeeded" if n != 4 else None)
            for n in range(6)
        ]
        failed = RunFactory(
            kind=RunKind.FULL_SYNC, client=clients[0], status=RunStatus.FAILED,
            created_at=now - timedelta(hours=1), started_at=now - timedelta(minutes=59),
            finished_at=now - timedelta(minutes=55), attempts=3, max_attempts=3,
            progress_done=4, progress_total=9, current_step="Henter posteringer",
            counts={"accounts": 312, "journal_lines": 2000},
            warnings=[{"check": "batch_balanced", "detail": "Bilag 17 går ikke i null"}],
            error_message="Visma.net svarte 429: for mange forespørsler (Retry-After 120 s).")
        queued = RunFactory(kind=RunKind.INCREMENTAL_SYNC, client=clients[1],
                            status=RunStatus.QUEUED, active_key=f"incremental_sync:c{clients[1].id}",
                            created_at=now - timedelta(minutes=10))
        db.session.commit()
        w = World()
        w.customer_id = customer.id
        w.integration_id = integration.id
        w.client_ids = [c.id for c in clients]
        w.failed_run_id = failed.id
        w.queued_run_id = queued.id
        return w


@pytest.fixture
def operator(auth):
    response = auth.login("operator@sticos.test", "sticos-demo")
    assert response.status_code == 302
    return auth


@pytest.fixture
def admin_csrf(client, operator):
    """The CSRF token of the operator's session, read from an admin page."""
    return csrf_token_from(client.get("/admin/").text)


def password_hashes(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(User.password_hash)))
