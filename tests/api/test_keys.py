"""API keys: they work, revoked ones are refused, a customer-scoped key stays in its scope,
operators create (shown once) and revoke them in the admin panel, and it is all audited."""

import re
from datetime import UTC, datetime

from sqlalchemy import select, update

from app.api.models import ApiKey, ApiKeyUsage
from app.audit.models import AuditEvent
from app.extensions import db
from tests.conftest import csrf_token_from


def test_a_key_reads_clients(api, world):
    response = api.get("/api/v1/clients")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    names = [c["name"] for c in response.get_json()["data"]]
    assert names == ["A1 Regnskap AS", "A2 Holding AS", "B1 Drift AS"]


def test_missing_or_wrong_key_is_401_problem(api, world):
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwdw=="},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer erpi_not-a-real-key-at-all-0123456789"},
    ):
        response = api.get("/api/v1/clients", key=False, headers=headers)
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["status"] == 401 and problem["detail"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_tampered_key_with_a_real_prefix_is_refused(api, world):
    tampered = api.key[:-4] + ("AAAA" if not api.key.endswith("AAAA") else "BBBB")
    assert api.get("/api/v1/clients", key=tampered).status_code == 401


def test_a_revoked_key_is_refused(app, client, auth, make_key, world):
    key = make_key("Sticos Oversikt")
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/clients", headers=headers).status_code == 200

    auth.login("operator@sticos.test", "sticos-demo")
    with app.app_context():
        key_id = db.session.scalar(select(ApiKey.id).where(ApiKey.prefix == key[:13]))
    page = client.get("/admin/api-nokler/")
    assert page.status_code == 200 and key[:13] in page.text and key not in page.text
    response = client.post(
        "/admin/api-nokler/action/",
        data={"action": "revoke", "rowid": str(key_id), "csrf_token": csrf_token_from(page.text)},
    )
    assert response.status_code == 302

    refused = client.get("/api/v1/clients", headers=headers)
    assert refused.status_code == 401
    assert "revoked" in refused.get_json()["detail"]
    with app.app_context():
        revoked = db.session.get(ApiKey, key_id)
        assert revoked.revoked_at is not None and revoked.revoked_by == "operator@sticos.test"
        actions = db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_type == "ApiKey", AuditEvent.object_id == key_id
            )
        ).all()
        assert actions == ["api_key.created", "api_key.revoked"]


def test_operator_creates_a_key_shown_once_and_stored_hashed(app, client, auth, world):
    auth.login("operator@sticos.test", "sticos-demo")
    form = client.get("/admin/api-nokler/new/")
    assert form.status_code == 200
    created = client.post(
        "/admin/api-nokler/new/",
        data={
            "name": "Sticos Rapport prod",
            "customer_id": str(world.customer_b),
            "csrf_token": csrf_token_from(form.text),
        },
    )
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    key = re.search(r"(erpi_[A-Za-z0-9_\-]+)", created.text).group(1)

    listing = client.get("/admin/api-nokler/")
    assert key[:13] in listing.text and key not in listing.text
    with app.app_context():
        row = db.session.scalar(select(ApiKey).where(ApiKey.prefix == key[:13]))
        assert key not in (row.key_hash, row.prefix) and len(row.key_hash) == 64
        assert row.customer_id == world.customer_b and row.created_by == "operator@sticos.test"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api_key.created"))
        assert event.actor == "operator@sticos.test" and key not in str(event.details)

    # The new key sees only customer B's client.
    response = client.get("/api/v1/clients", headers={"Authorization": f"Bearer {key}"})
    assert [c["id"] for c in response.get_json()["data"]] == [world.client_b1]


def test_customers_cannot_reach_the_key_admin(client, auth, world):
    auth.login("kunde@regnskap.test", "kunde-demo")
    assert client.get("/admin/api-nokler/").status_code == 403
    assert client.get("/admin/api-nokler/new/").status_code == 403


def test_a_customer_scoped_key_never_reads_another_customers_client(api, make_key, world):
    key = make_key("Kunde A sitt eget verktøy", customer_id=world.customer_a)
    listed = api.get("/api/v1/clients", key=key).get_json()["data"]
    assert {c["id"] for c in listed} == {world.client_a1, world.client_a2}
    # Asking for customer B explicitly does not widen the scope.
    assert api.get(f"/api/v1/clients?customer={world.customer_b}", key=key).get_json()["data"] == []
    response = api.get(f"/api/v1/clients/{world.client_b1}", key=key)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    # …indistinguishable from a client that does not exist.
    assert api.get("/api/v1/clients/999999", key=key).status_code == 404
    assert api.get(f"/api/v1/clients/{world.client_a1}", key=key).status_code == 200


def test_a_key_without_read_scope_is_403(api, make_key, world):
    key = make_key("Ingen lesetilgang", scope="none")
    response = api.get("/api/v1/clients", key=key)
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


def test_last_used_is_recorded_at_most_once_a_minute(app, api, world):
    with app.app_context():
        assert db.session.scalar(select(ApiKey.last_used_at)) is None
    for _ in range(3):
        assert api.get("/api/v1/clients").status_code == 200
    with app.app_context():
        first = db.session.scalar(select(ApiKey.last_used_at))
        assert first is not None
        usage = db.session.scalars(select(ApiKeyUsage.requests)).all()
        assert sum(usage) == 3
        # A marker: a write on the next request would replace it.
        marker = datetime(2000, 1, 1, tzinfo=UTC)
        db.session.execute(update(ApiKey).values(last_used_at=marker))
        db.session.commit()
    api.get("/api/v1/clients")
    with app.app_context():
        minutes = len(db.session.scalars(select(ApiKeyUsage.id)).all())
        last_used = db.session.scalar(select(ApiKey.last_used_at))
        # Within the same minute nothing is written; a new minute records the use once.
        assert (last_used == marker) if minutes == 1 else (last_used > first)
