"""The customer pages' SQL on PostgreSQL too (aggregates, the queue-position window, search)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.demo.seed import seed_demo
from app.extensions import db
from app.jobs.models import SyncRun
from tests.conftest import AuthActions, csrf_token_from
from tests.web.conftest import make_integration
from tests.web.test_pages import text_of

pytestmark = pytest.mark.postgres


def test_pages_search_buttons_and_status_on_postgres(pg_app):
    with pg_app.app_context():
        seed_demo()
        integration = make_integration(clients=[("TrekkSpill", "222333444", True),
                                                ("Testing", "321321321", False),
                                                ("100% Regnskap AS", "974760673", False)])
        iid = integration.id
        cid = next(c.id for c in integration.clients if c.name == "TrekkSpill")
    client = pg_app.test_client()
    AuthActions(client).login()
    assert "Aktive klienter: 1 Inaktive klienter: 2" in text_of(client.get("/integrasjoner/").text)
    page = client.get(f"/integrasjoner/{iid}?q=100%25")
    assert "Viser 1–1 av 1" in page.text and "100% Regnskap AS" in page.text
    assert "Viser 1–1 av 1" in client.get(f"/integrasjoner/{iid}?q=3213&vis=inaktive").text
    token = csrf_token_from(page.text)
    client.post(f"/integrasjoner/{iid}/klienter/{cid}/synkroniser", data={"csrf_token": token})
    response = client.post(f"/integrasjoner/{iid}/aktiver-alle", data={"csrf_token": token},
                           follow_redirects=True)
    text = text_of(response.text)
    assert "Aktiver alle: 2 aktivert, 1 var allerede aktive" in text
    # Never a negative count, whatever the driver reports for INSERT … SELECT.
    assert "-1" not in text
    with pg_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 3
    data = client.get(f"/integrasjoner/{iid}/status?klienter={cid}").get_json()
    assert data["active_runs"] == 3
    assert [r["queue_position"] for r in data["runs"]] == [1]
    with pg_app.app_context():
        db.session.remove()
