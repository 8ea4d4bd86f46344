"""Nobody but an operator gets anything under /admin: every rule, GET and POST."""

import re

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.extensions import db
from tests.conftest import csrf_token_from

SAMPLE_ARGS = {"export_type": "csv", "job_id": "refresh_clients", "id": "1"}


def admin_urls(app) -> list[tuple[str, set[str]]]:
    """Every /admin rule (static assets aside) with sample values for its arguments."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint.endswith(".static"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: SAMPLE_ARGS.get(m.group(1), "1"), rule.rule)
        urls.append((path, set(rule.methods) & {"GET", "POST"}))
    assert len(urls) > 40, "the admin rules were not found"
    return sorted(urls)


def audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent))


def test_anonymous_is_sent_to_login_everywhere(app, client, world):
    before = audit_count(app)
    for path, methods in admin_urls(app):
        for method in methods:
            response = client.open(path, method=method, data={"rowid": "1", "action": "activate"})
            if method == "POST":
                # No session, no CSRF token: refused before any view runs.
                assert response.status_code in (302, 400, 403), (method, path, response.status_code)
            else:
                assert response.status_code == 302, (method, path, response.status_code)
                assert "/logg-inn" in response.headers["Location"], (method, path)
    # Even with a valid CSRF token for an anonymous session the role check refuses.
    token = csrf_token_from(client.get("/logg-inn").text)
    for path, methods in admin_urls(app):
        if "POST" in methods:
            response = client.post(path, data={"csrf_token": token, "rowid": "1", "action": "activate"})
            assert response.status_code == 302 and "/logg-inn" in response.headers["Location"], path
    assert audit_count(app) == before


@pytest.mark.parametrize("email,password", [
    ("kunde@regnskap.test", "kunde-demo"),
    ("annen@kunde.test", "annen-demo"),
])
def test_customer_user_is_refused_everywhere(app, client, auth, world, email, password):
    auth.login(email, password)
    token = auth.csrf_token("/integrasjoner/")
    before = audit_count(app)
    for path, methods in admin_urls(app):
        for method in methods:
            data = {"csrf_token": token, "rowid": str(world.client_ids[3]), "action": "activate",
                    "id": str(world.queued_run_id)} if method == "POST" else None
            response = client.open(path, method=method, data=data)
            assert response.status_code == 403, (method, path, response.status_code)
            assert "Ingen tilgang" in response.text
    assert audit_count(app) == before


def test_operator_reaches_the_index(client, operator):
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "Oversikt" in response.text
