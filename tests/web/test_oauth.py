"""The web OAuth flow against the Visma Connect simulator (real HTTP on loopback)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.integrations.models import Integration, IntegrationStatus
from app.jobs.models import RunKind, SyncRun
from tests.conftest import AuthActions, csrf_token_from
from tests.web.conftest import make_integration
from tests.web.test_pages import text_of

SIM_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(sim_app):
    """Every test here talks to the simulator."""
    sim_app.config["SERVER_NAME"] = "127.0.0.1:5000"  # a loopback redirect URI the app accepts
    return sim_app


@pytest.fixture
def browser(app):
    """The customer's browser on our side: logged in as kunde."""
    client = app.test_client()
    AuthActions(client).login()
    return client


def query(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def visma(authorize_url: str, decision: str = "accept", email: str = "demo@visma.test") -> str:
    """The user at Visma: log in, then Accept or Cancel; returns where Visma sends them back."""
    sim = requests.Session()
    page = sim.get(authorize_url, timeout=10)
    assert "Sign in" in page.text
    page = sim.post(page.url, data={
        "email": email, "password": "visma-demo",
        "next": query(page.url)["next"], "csrf_token": SIM_CSRF.search(page.text).group(1),
    }, timeout=10)
    assert "would like to get access to" in page.text, page.text[:300]
    assert "Organization data for" in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields["decision"] = decision
    answer = sim.post(authorize_url.split("?")[0], data=fields, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    return answer.headers["Location"]


def start(browser, description="Hovedkontor") -> str:
    page = browser.get("/integrasjoner/ny")
    response = browser.post("/integrasjoner/ny", data={
        "system": "visma_net", "description": description,
        "csrf_token": csrf_token_from(page.text),
    })
    assert response.status_code == 302
    return response.location


def back(browser, callback_url: str):
    parts = urlsplit(callback_url)
    return browser.get(f"{parts.path}?{parts.query}", follow_redirects=True)


def only_integration(app) -> Integration:
    with app.app_context():
        return db.session.scalars(select(Integration)).one()


def test_opprett_authorizes_with_pkce_state_nonce_and_offline_access(app, browser, simulator):
    authorize_url = start(browser)
    assert authorize_url.startswith(simulator.url + "/connect/authorize?")
    params = query(authorize_url)
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert "offline_access" in params["scope"].split()
    assert params["state"] and params["nonce"]
    assert params["redirect_uri"] == "http://127.0.0.1:5000/integrasjoner/oauth/callback"
    integration = only_integration(app)
    assert integration.status == IntegrationStatus.AWAITING_AUTHORIZATION
    assert integration.description == "Hovedkontor"

    page = back(browser, visma(authorize_url))
    text = text_of(page.text)
    assert "Visma.net er koblet til som Demo Bruker (demo@visma.test)." in text
    assert f"/integrasjoner/{integration.id}" in page.request.path
    with app.app_context():
        integration = db.session.get(Integration, integration.id)
        assert integration.status == IntegrationStatus.CONNECTED
        assert integration.token["refresh_token"]
        assert integration.authorized_by_email == "demo@visma.test"
        kinds = db.session.scalars(select(SyncRun.kind)).all()
        assert kinds == [RunKind.REFRESH_CLIENTS]  # the client list is fetched at once
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert {"integration_created", "integration_authorized"} <= set(actions)


def test_replayed_callback_changes_nothing(app, browser):
    authorize_url = start(browser)
    callback = visma(authorize_url)
    back(browser, callback)
    with app.app_context():
        token_before = db.session.scalars(select(Integration)).one().token
    page = back(browser, callback)
    text = text_of(page.text)
    assert "lenken er ugyldig, utløpt eller allerede brukt. Ingenting er endret." in text
    with app.app_context():
        assert db.session.scalars(select(Integration)).one().token == token_before
        assert len(db.session.scalars(select(SyncRun)).all()) == 1


def test_forged_state_is_refused(app, browser):
    authorize_url = start(browser)
    callback = visma(authorize_url)
    forged = re.sub(r"state=[^&]+", "state=forged-by-someone", callback)
    text = text_of(back(browser, forged).text)
    assert "Ingenting er endret" in text
    assert only_integration(app).status == IntegrationStatus.AWAITING_AUTHORIZATION
    # Another logged-in user cannot use kunde's callback either (their session has no state).
    other = app.test_client()
    AuthActions(other).login("annen@kunde.test", "annen-demo")
    assert "Ingenting er endret" in text_of(back(other, callback).text)
    assert only_integration(app).status == IntegrationStatus.AWAITING_AUTHORIZATION
    # The real browser still can: nothing was used up.
    assert "er koblet til som" in text_of(back(browser, callback).text)


def test_cancel_at_visma_keeps_a_retryable_integration(app, browser, simulator):
    authorize_url = start(browser)
    callback = visma(authorize_url, decision="cancel")
    assert query(callback)["error"] == "access_denied"
    page = back(browser, callback)
    text = text_of(page.text)
    assert "Tilkoblingen ble avbrutt i Visma.net" in text
    assert "Koble til" in text
    integration = only_integration(app)
    assert integration.status == IntegrationStatus.AWAITING_AUTHORIZATION
    # Koble til starts again, and this time the user accepts.
    response = browser.post(f"/integrasjoner/{integration.id}/koble-til",
                            data={"csrf_token": csrf_token_from(page.text)})
    assert response.location.startswith(simulator.url)
    text = text_of(back(browser, visma(response.location)).text)
    assert "er koblet til som" in text
    assert only_integration(app).status == IntegrationStatus.CONNECTED


def test_visma_error_is_shown_and_nothing_is_stored(app, browser):
    authorize_url = start(browser)
    state = query(authorize_url)["state"]
    page = browser.get(
        f"/integrasjoner/oauth/callback?error=server_error&error_description=Visma+er+nede&state={state}",
        follow_redirects=True,
    )
    text = text_of(page.text)
    assert "Visma.net svarte med en feil: Visma er nede." in text
    assert "trykk «Koble til» for å prøve igjen" in text
    assert only_integration(app).token is None


def test_code_rejected_by_visma_is_shown(app, browser):
    authorize_url = start(browser)
    callback = visma(authorize_url)
    bad = re.sub(r"code=[^&]+", "code=not-a-real-code", callback)
    text = text_of(back(browser, bad).text)
    assert "Visma.net godtok ikke tilkoblingen: The authorization code is invalid." in text
    assert only_integration(app).status == IntegrationStatus.AWAITING_AUTHORIZATION


def test_reconnect_with_another_visma_user_keeps_clients(app, browser, simulator):
    with app.app_context():
        integration = make_integration(clients=[("TrekkSpill", "222333444", True)])
        iid = integration.id
    page = browser.get(f"/integrasjoner/{iid}/endre")
    response = browser.post(f"/integrasjoner/{iid}/koble-til",
                            data={"csrf_token": csrf_token_from(page.text)})
    text = text_of(back(browser, visma(response.location, email="revisor@visma.test")).text)
    assert "koblet til som Rita Revisor (revisor@visma.test)" in text
    assert "TrekkSpill" in text
    with app.app_context():
        integration = db.session.get(Integration, iid)
        assert integration.authorized_by_email == "revisor@visma.test"
        assert [c.name for c in integration.clients] == ["TrekkSpill"]
        assert integration.clients[0].active


def test_cancel_while_reconnecting_keeps_the_old_grant(app, browser):
    with app.app_context():
        iid = make_integration(clients=[]).id
    page = browser.get(f"/integrasjoner/{iid}")
    response = browser.post(f"/integrasjoner/{iid}/koble-til",
                            data={"csrf_token": csrf_token_from(page.text)})
    text = text_of(back(browser, visma(response.location, decision="cancel")).text)
    assert "Den eksisterende tilkoblingen er uendret." in text
    with app.app_context():
        integration = db.session.get(Integration, iid)
        assert integration.status == IntegrationStatus.CONNECTED
        assert integration.token["refresh_token"] == "r"


def test_slett_system_revokes_the_grant_at_visma(app, browser, simulator):
    authorize_url = start(browser)
    page = back(browser, visma(authorize_url))
    integration = only_integration(app)
    refresh_token = integration.token["refresh_token"]
    browser.post(f"/integrasjoner/{integration.id}/slett",
                 data={"csrf_token": csrf_token_from(page.text)})
    with app.app_context():
        assert db.session.scalars(select(Integration)).all() == []
    answer = requests.post(simulator.token_url, data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": simulator.client_id, "client_secret": simulator.client_secret,
    }, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_slett_gamle_kontoer_previews_then_queues_only_the_previewed(app, browser, simulator):
    from app.integrations.models import Client
    from app.jobs.models import RunStatus
    from app.jobs.worker import run_inline

    sim = simulator.state
    tenant = sim.tenant_id("TrekkSpill")
    sim.add_account(tenant, "9990", "Gammel konto", "Expense", True)
    back(browser, visma(start(browser)))

    def drain():
        with app.app_context():
            for run_id in db.session.scalars(
                select(SyncRun.id).where(SyncRun.status == RunStatus.QUEUED)
            ).all():
                run_inline(run_id)

    drain()  # the client list
    with app.app_context():
        client = db.session.scalars(select(Client).where(Client.name == "TrekkSpill")).one()
        iid, cid = client.integration_id, client.id
    page = browser.get(f"/integrasjoner/{iid}")
    browser.post(f"/integrasjoner/{iid}/klienter/{cid}/aktiver",
                 data={"csrf_token": csrf_token_from(page.text)})
    drain()  # the first full sync
    url = f"/integrasjoner/{iid}/klienter/{cid}/slett-gamle-kontoer"

    def preview_page():
        """Each visit queues a fresh preview; a worker reads Visma.net, then the page shows it."""
        waiting = browser.get(url)
        assert waiting.status_code == 302
        drain()
        return browser.get(waiting.headers["Location"])

    assert "Ingen gamle kontoer å slette" in text_of(preview_page().text)

    sim.delete_account(tenant, "9990")
    preview = preview_page()
    text = text_of(preview.text)
    assert "Disse 1 kontoene finnes hos Sticos, men ikke lenger i Visma.net." in text
    assert "9990 Gammel konto" in text
    ids = re.findall(r'name="account_id" value="(\d+)"', preview.text)
    assert len(ids) == 1
    with app.app_context():
        assert not db.session.scalars(
            select(SyncRun).where(SyncRun.kind == RunKind.DELETE_OLD_ACCOUNTS)).all()
    # Confirming with an extra, unpreviewed id only sends the previewed one.
    preview_id = re.search(r'name="forhandsvisning" value="(\d+)"', preview.text).group(1)
    response = browser.post(url, data={"csrf_token": csrf_token_from(preview.text),
                                       "forhandsvisning": preview_id,
                                       "account_id": [ids[0], "424242"]}, follow_redirects=True)
    assert "Slett gamle kontoer (TrekkSpill): lagt i kø." in text_of(response.text)
    with app.app_context():
        run = db.session.scalars(
            select(SyncRun).where(SyncRun.kind == RunKind.DELETE_OLD_ACCOUNTS)).one()
        assert run.params == {"account_ids": [int(ids[0])], "preview_run_id": int(preview_id)}
    drain()
    data = browser.get(f"/integrasjoner/{iid}/status?klienter={cid}").get_json()
    done = next(r for r in data["runs"] if r["kind"] == "delete_old_accounts")
    assert done["status"] == "succeeded"
    assert done["summary"].startswith("Slett gamle kontoer: Fullført – 1 kontoer fjernet")
