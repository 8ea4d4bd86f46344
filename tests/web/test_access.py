"""Who may use which route: another customer gets 404 everywhere, forms need their CSRF token.

The routes are enumerated from ``app.url_map``, so a route added later is covered too.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.integrations.models import Client, Integration
from app.jobs.models import SyncRun
from tests.conftest import csrf_token_from
from tests.web.conftest import ANNEN, KUNDE, make_integration

ID_ARGS = {"integration_id", "client_id", "run_id"}


@pytest.fixture
def kunde_world(app, demo):
    """Kunde's integration with a client and a run; annen has an integration of its own."""
    from app.audit.operations import Actor
    from app.integrations.operations import request_run
    from app.jobs.models import RunKind

    with app.app_context():
        integration = make_integration(clients=[("TrekkSpill", "222333444", True),
                                                ("Testing", "321321321", False)])
        client = integration.clients[0]
        run, _ = request_run(RunKind.FULL_SYNC, integration=integration, client=client,
                             actor=Actor.system("test"))
        other = make_integration(customer="Annen Kunde AS", clients=[("Annen AS", "923609016", True)])
        return {"integration_id": integration.id, "client_id": client.id, "run_id": run.id,
                "other_integration_id": other.id, "other_client_id": other.clients[0].id}


def id_routes(app):
    """Every (rule, method) whose URL names an integration, client or run."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.arguments & ID_ARGS:
            continue
        unknown = rule.arguments - ID_ARGS
        assert not unknown, f"{rule} has arguments this test cannot fill: {unknown}"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule, method))
    return routes


def build(rule, ids):
    url = rule.rule
    for name in rule.arguments:
        url = url.replace(f"<int:{name}>", str(ids[name])).replace(f"<{name}>", str(ids[name]))
    return url


def snapshot(app):
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Integration)),
            sorted(db.session.execute(select(Client.id, Client.active)).all()),
            sorted(db.session.execute(select(SyncRun.id, SyncRun.status)).all()),
        )


def test_the_integration_routes_are_all_enumerated(app):
    endpoints = {rule.endpoint for rule, _ in id_routes(app)}
    assert {
        "integrations.show", "integrations.status", "integrations.edit", "integrations.connect",
        "integrations.refresh_clients", "integrations.activate_all", "integrations.deactivate_all",
        "integrations.delete", "integrations.cancel_run", "integrations.activate",
        "integrations.deactivate", "integrations.send_test_data", "integrations.sync",
        "integrations.delete_old_accounts",
    } <= endpoints


def test_another_customer_gets_404_on_every_route(app, client, auth, kunde_world):
    auth.login(*ANNEN)
    token = auth.csrf_token("/integrasjoner/")
    before = snapshot(app)
    checked = 0
    for rule, method in id_routes(app):
        url = build(rule, kunde_world)
        if method == "GET":
            response = client.get(url)
        else:
            response = client.open(url, method=method, data={"csrf_token": token})
        if rule.endpoint.startswith("integrations."):
            assert response.status_code == 404, f"{method} {url} gave {response.status_code}"
        else:  # other blueprints (admin, API) must refuse too, in their own way
            assert response.status_code in (401, 403, 404), f"{method} {url}"
        checked += 1
    assert checked >= 18
    assert snapshot(app) == before
    # Mixing one's own integration with the other customer's client does not work either.
    mixed = dict(kunde_world, integration_id=kunde_world["other_integration_id"])
    for rule, method in id_routes(app):
        if rule.endpoint.startswith("integrations.") and "client_id" in rule.arguments:
            url = build(rule, mixed)
            response = client.get(url) if method == "GET" else client.open(
                url, method=method, data={"csrf_token": token})
            assert response.status_code == 404, f"{method} {url}"
    assert snapshot(app) == before


def test_the_start_page_shows_only_ones_own_integrations(app, client, auth, kunde_world):
    auth.login(*ANNEN)
    html = client.get("/integrasjoner/").text
    assert f"/integrasjoner/{kunde_world['other_integration_id']}" in html
    assert f"/integrasjoner/{kunde_world['integration_id']}\"" not in html


def test_status_json_of_another_customer_is_404_json(app, client, auth, kunde_world):
    auth.login(*ANNEN)
    response = client.get(f"/integrasjoner/{kunde_world['integration_id']}/status",
                          headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["error"] == "Fant ikke siden"


def test_forms_without_csrf_token_are_refused(app, client, auth, kunde_world):
    auth.login(*KUNDE)
    before = snapshot(app)
    posts = [(rule, m) for rule, m in id_routes(app)
             if m != "GET" and rule.endpoint.startswith("integrations.")]
    assert len(posts) >= 12
    for rule, method in posts:
        response = client.open(build(rule, kunde_world), method=method, data={})
        assert response.status_code == 400, f"{method} {rule.rule}"
        assert "Skjemaet var utløpt eller ugyldig" in response.text
    response = client.post("/integrasjoner/ny", data={"system": "visma_net"})
    assert response.status_code == 400
    # A wrong token is as bad as none.
    response = client.post(build(posts[0][0], kunde_world), data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert snapshot(app) == before


def test_fetch_with_csrf_header_is_accepted(app, client, auth, kunde_world):
    auth.login(*KUNDE)
    token = csrf_token_from(client.get("/integrasjoner/").text)
    url = f"/integrasjoner/{kunde_world['integration_id']}/oppdater-klientliste"
    response = client.post(url, headers={"X-CSRFToken": token})
    assert response.status_code == 302


def test_anonymous_users_are_sent_to_login(app, client, kunde_world):
    for rule, method in id_routes(app):
        if not rule.endpoint.startswith("integrations."):
            continue
        response = client.open(build(rule, kunde_world), method=method)
        # POSTs without a session fail CSRF first (400); both keep the door shut.
        assert response.status_code in (302, 400), f"{method} {rule.rule}"
        if response.status_code == 302:
            assert "/logg-inn" in response.location
    for url in ("/integrasjoner/", "/integrasjoner/ny", "/integrasjoner/hjelp",
                "/integrasjoner/oauth/callback?state=x&code=y"):
        response = client.get(url)
        assert response.status_code == 302 and "/logg-inn" in response.location


def test_operators_use_the_admin_panel_not_the_customer_pages(app, client, auth, kunde_world):
    auth.login("operator@sticos.test", "sticos-demo")
    assert client.get("/integrasjoner/").status_code == 403
    assert client.get(f"/integrasjoner/{kunde_world['integration_id']}").status_code == 403
