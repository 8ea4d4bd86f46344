"""The panel on PostgreSQL (production's database): pages, filters, bulk actions, exports."""

import pytest
from sqlalchemy import func, select

from app.audit.operations import Actor
from app.customers.models import Customer
from app.demo.seed import seed_demo
from app.extensions import db
from app.integrations import operations
from app.integrations.models import Client, IntegrationStatus
from app.jobs.models import RunStatus, SyncRun
from tests.conftest import AuthActions, csrf_token_from

pytestmark = pytest.mark.postgres


def test_panel_on_postgres(pg_app):
    with pg_app.app_context():
        seed_demo()
        customer = db.session.scalar(select(Customer).limit(1))
        integration = operations.create_integration(customer.id, actor=Actor.system("test"))
        integration.status = IntegrationStatus.CONNECTED
        db.session.add_all([Client(integration=integration, external_id=f"t{n}", name=f"PG {n} AS",
                                   orgnr="974760673") for n in range(5)])
        db.session.add(SyncRun(kind="full_sync", integration_id=integration.id, requested_by="x",
                               status=RunStatus.FAILED, error_message="Visma.net svarte 429"))
        db.session.commit()
    client = pg_app.test_client()
    AuthActions(client).login("operator@sticos.test", "sticos-demo")
    for path in ("/admin/", "/admin/klienter/?search=PG&flt0_aktiv_er=0",
                 "/admin/kjoringer/?flt0_opprettet_etter=2000-01-01+00:00:00&flt1_kundenavn_inneholder=a",
                 "/admin/integrasjoner/?search=Demo", "/admin/revisjonslogg/",
                 "/admin/integrasjoner/export/csv/", "/admin/regnskap/kontoer/?klient=1"):
        assert client.get(path).status_code == 200, path
    token = csrf_token_from(client.get("/admin/").text)
    response = client.post("/admin/klienter/action/?search=PG", data={
        "csrf_token": token, "action": "activate", "rowid": ["1"], "alle_treff": "1", "url": ""},
        follow_redirects=True)
    assert "Aktiver: 5 aktivert" in response.text
    with pg_app.app_context():
        assert db.session.scalar(select(func.count()).where(SyncRun.status == RunStatus.QUEUED)) == 5
