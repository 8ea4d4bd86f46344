"""The customer pages through the Flask test client: what a user sees after each button."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, func, select

from app.audit.models import AuditEvent
from app.extensions import db
from app.integrations.models import Client, Integration, IntegrationStatus
from app.jobs.models import RunKind, RunStatus, SyncRun
from tests.conftest import csrf_token_from
from tests.web.conftest import make_integration


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.text[:500]
    return response.text


def post(client, url, data=None, page_url=None, follow=True):
    token = csrf_token_from(client.get(page_url or "/integrasjoner/").text)
    return client.post(url, data={"csrf_token": token, **(data or {})},
                       follow_redirects=follow)


def text_of(html: str) -> str:
    """Visible text, tags removed and whitespace collapsed."""
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


# --- the start page and the new-integration form ------------------------------------------------


def test_login_lands_on_integrasjoner(client, auth):
    response = auth.login()
    assert response.status_code == 302
    html = client.get("/", follow_redirects=True).text
    assert "<h1>Integrasjoner</h1>" in html
    assert "Legg til Ny integrasjon" in html


def test_start_page_lists_integrations_with_counts(app, logged_in, seeded):
    with app.app_context():
        integration = db.session.get(Integration, seeded.integration_id)
        integration.description = "Hovedkontoret"
        db.session.commit()
    text = text_of(page(logged_in, "/integrasjoner/"))
    assert "Visma.net" in text
    assert "Hovedkontoret" in text
    assert "Tilkoblet" in text
    assert "Aktive klienter: 1 Inaktive klienter: 1" in text


def test_new_integration_form_has_seed_labels(logged_in):
    html = page(logged_in, "/integrasjoner/ny")
    text = text_of(html)
    assert "Ny integrasjon" in text
    assert "Webbaserte regnskapssystem" in text
    assert "lokale integrasjoner" in text
    assert "Visma.net" in text
    assert "Beskrivelse (Ikke fyll inn personopplysninger i feltet)" in text
    assert 'placeholder="Fyll inn egen valgfri beskrivelse"' in html
    assert re.search(r'<button[^>]*type="submit"[^>]*>Opprett</button>', html)
    assert ">Avbryt</a>" in html
    assert "Gå til hjelp og informasjon" in text
    # The registered systems, each one that really works.
    assert re.findall(r'type="radio" value="([a-z_]+)"', html) == ["visma_net", "tripletex"]
    assert "Regnskapskontorets brukernøkkel" in text


def test_help_page_has_app_store_and_admin_instructions(logged_in):
    text = text_of(page(logged_in, "/integrasjoner/hjelp"))
    assert "Oppsett i Visma.net Admin" in text
    assert '"Integration Administrator"' in text and '"API User"' in text
    assert "Angi tillatelser" in text
    assert "Reading items" in text
    assert "https://apps.visma.com/NO/app/regnskapsdata" in text


@pytest.mark.parametrize(
    "description, message",
    [
        ("x" * 201, "høyst 200 tegn"),
        ("Ola Nordmann 01019012345", "fødselsnummer"),
        ("kontakt ola@example.no", "e-postadresse"),
    ],
)
def test_new_integration_rejects_bad_description(app, logged_in, description, message):
    response = post(logged_in, "/integrasjoner/ny",
                    {"system": "visma_net", "description": description}, follow=False)
    assert response.status_code == 400
    assert message in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Integration)) == 0


def test_new_integration_rejects_unknown_system(app, logged_in):
    response = post(logged_in, "/integrasjoner/ny", {"system": "tripletex"}, follow=False)
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Integration)) == 0


# --- the integration page -------------------------------------------------------------------


def test_integration_page_matches_the_seed(logged_in, seeded):
    html = page(logged_in, f"/integrasjoner/{seeded.integration_id}")
    text = text_of(html)
    assert "Visma.net" in text
    assert "Aktive klienter: 1 Inaktive klienter: 1" in text
    assert "<h2 class=\"clients-heading\">Klienter</h2>" in html
    for label in ("Endre system", "Oppdater klientliste", "Aktiver alle", "Deaktiver alle",
                  "Slett system"):
        assert label in text
    assert 'placeholder="Søk..."' in html
    headers = re.findall(r'<th scope="col">([^<]+)</th>', html)
    assert headers == ["NAVN", "ORGNR", "SEND DATA", "FULL SYNKRONISERING", "SLETT KONTOER", "AKTIV"]
    rows = dict(re.findall(r'<tr id="klient-(\d+)".*?</tr>', html, flags=re.S) and
                [(m.group(1), m.group(0)) for m in re.finditer(r'<tr id="klient-(\d+)".*?</tr>', html, flags=re.S)])
    active_row = text_of(rows[str(seeded.client_ids["TrekkSpill"])])
    inactive_row = text_of(rows[str(seeded.client_ids["Testing"])])
    assert "222333444" in active_row
    for label in ("Send testdata til Sticos", "Synkroniser", "Slett gamle kontoer", "Deaktiver"):
        assert label in active_row
    assert "Aktiver" in inactive_row and "Synkroniser" not in inactive_row
    assert "321321321" in inactive_row
    assert "NY" in inactive_row  # new companies are pointed out


def test_invalid_orgnr_unreachable_and_paused_clients_are_flagged(app, logged_in, demo):
    with app.app_context():
        integration = make_integration(clients=[("Feil Orgnr AS", "123456789", True),
                                                ("Borte AS", "974760673", True),
                                                ("Pause AS", "923609016", True)])
        clients = {c.name: c for c in integration.clients}
        clients["Borte AS"].reachable = False
        clients["Borte AS"].unreachable_reason = "Tillatelsen i Visma App Store er trukket tilbake."
        clients["Pause AS"].needs_attention = True
        clients["Pause AS"].schedule_paused_reason = "6 feil på rad"
        clients["Pause AS"].last_sync_result = "failed"
        clients["Pause AS"].last_sync_message = "Visma.net svarer ikke."
        from app.db_types import utcnow
        clients["Pause AS"].last_sync_at = utcnow()
        db.session.commit()
        iid = integration.id
    html = page(logged_in, f"/integrasjoner/{iid}")
    text = text_of(html)
    assert "Ugyldig orgnr" in text
    assert "Ikke tilgjengelig" in text
    # The reason is the badge's title; the explanation and what to do is said once, above.
    assert 'title="Tillatelsen i Visma App Store er trukket tilbake."' in html
    assert text.count("Gi tillatelse i Visma App Store") == 1
    assert "Borte AS : Sticos når ikke denne klienten i Visma.net" in text
    assert "Trenger oppfølging" in text
    assert "Automatisk synkronisering er stoppet: 6 feil på rad" in text
    assert "Siste feil: Visma.net svarer ikke." in text
    assert "Feilet" in text


def test_freshness_is_shown_per_client(app, logged_in, seeded):
    from datetime import UTC, datetime

    with app.app_context():
        client = db.session.get(Client, seeded.client_ids["TrekkSpill"])
        client.last_sync_at = datetime(2026, 3, 1, 11, 30, tzinfo=UTC)
        client.last_sync_result = "succeeded"
        client.data_as_of = datetime(2026, 3, 1, 11, 29, tzinfo=UTC)
        client.next_sync_at = datetime(2099, 3, 1, 12, 30, tzinfo=UTC)
        db.session.commit()
    text = text_of(page(logged_in, f"/integrasjoner/{seeded.integration_id}"))
    assert "Sist synkronisert 01.03.2026 12:30: Fullført" in text
    assert "Data per 01.03.2026 12:29" in text
    assert "Neste automatiske synkronisering 01.03.2099 13:30 (om " in text

    # Overdue (waiting for a worker): "straks", never "for … siden".
    with app.app_context():
        db.session.get(Client, seeded.client_ids["TrekkSpill"]).next_sync_at = datetime(
            2026, 3, 1, 12, 30, tzinfo=UTC)
        db.session.commit()
    text = text_of(page(logged_in, f"/integrasjoner/{seeded.integration_id}"))
    assert "Neste automatiske synkronisering: straks" in text
    assert "siden)" not in text


def test_reauthorization_required_shows_koble_til_pa_nytt(app, logged_in, seeded):
    with app.app_context():
        integration = db.session.get(Integration, seeded.integration_id)
        integration.status = IntegrationStatus.REAUTHORIZATION_REQUIRED
        integration.status_message = "Tilgangen er trukket tilbake i Visma.net."
        db.session.commit()
    html = page(logged_in, f"/integrasjoner/{seeded.integration_id}")
    assert 'role="alert"' in html
    text = text_of(html)
    assert "Koble til på nytt" in text
    assert "Tilgangen er trukket tilbake i Visma.net." in text
    assert "TrekkSpill" in text  # clients stay


def test_awaiting_authorization_offers_koble_til(app, logged_in, demo):
    with app.app_context():
        iid = make_integration(status=IntegrationStatus.AWAITING_AUTHORIZATION).id
    text = text_of(page(logged_in, f"/integrasjoner/{iid}"))
    assert "Ikke koblet til ennå" in text
    assert "Koble til" in text


def test_zero_clients_explains_the_app_store_step(app, logged_in, demo):
    with app.app_context():
        iid = make_integration(clients=[]).id
    text = text_of(page(logged_in, f"/integrasjoner/{iid}"))
    assert "Ingen klienter funnet" in text
    assert "Angi tillatelser" in text
    assert '"Integration Administrator"' in text and '"API User"' in text
    assert "https://apps.visma.com/NO/app/regnskapsdata" in text


def test_expiring_grant_is_announced_days_before(app, logged_in, seeded):
    from datetime import timedelta

    from app.db_types import utcnow
    from app.integrations.tokens import refresh_expiry

    with app.app_context():
        integration = db.session.get(Integration, seeded.integration_id)
        expiry = refresh_expiry(integration)
        assert expiry is not None, "a grant with a refresh time must have a known expiry"
        # Move the last refresh back so that only a few days are left.
        integration.token_refreshed_at = integration.token_refreshed_at - (
            expiry - utcnow() - timedelta(days=3, hours=1)
        )
        db.session.commit()
    text = text_of(page(logged_in, f"/integrasjoner/{seeded.integration_id}"))
    assert "Tilgangen til Visma.net utløper snart" in text
    assert "om 3 dager" in text
    assert "Koble til på nytt" in text


# --- search and paging --------------------------------------------------------------------------


@pytest.fixture
def many(app, demo):
    """2,000 clients: a large accounting firm."""
    with app.app_context():
        integration = make_integration(clients=[])
        db.session.execute(
            Client.__table__.insert(),
            [
                {"integration_id": integration.id, "external_id": f"t{i}",
                 "name": f"Klient {i:04d} AS", "orgnr": f"9{i:08d}", "orgnr_valid": False,
                 "active": i % 3 == 0, "reachable": True, "is_new": False,
                 "first_seen_at": integration.created_at, "last_seen_at": integration.created_at,
                 "consecutive_failures": 0, "needs_attention": False}
                for i in range(2000)
            ],
        )
        db.session.commit()
        return integration.id


def test_server_side_search_by_name_and_orgnr(logged_in, many):
    html = page(logged_in, f"/integrasjoner/{many}?q=Klient 1234")
    assert "Klient 1234 AS" in html and "Klient 1235 AS" not in html
    html = page(logged_in, f"/integrasjoner/{many}?q=900 000 042")
    assert "Klient 0042 AS" in html and "Viser 1–1 av 1" in html
    html = page(logged_in, f"/integrasjoner/{many}?q=%25")  # a literal %, not a wildcard
    assert "Ingen klienter passer" in html


def test_partial_search_returns_only_the_table(logged_in, many):
    html = page(logged_in, f"/integrasjoner/{many}?q=0042&partial=klienter")
    assert "<html" not in html and "Klient 0042 AS" in html


def test_paging_2000_clients_in_constant_queries(app, logged_in, many):
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        html = page(logged_in, f"/integrasjoner/{many}?side=3")
        first_page = len(statements)
        statements.clear()
        page(logged_in, f"/integrasjoner/{many}?vis=aktive&side=2")
        other_page = len(statements)
        statements.clear()
        logged_in.get(f"/integrasjoner/{many}/status?klienter=" + ",".join(str(i) for i in range(1, 101)))
        status_queries = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert "Side 3 av 20" in html
    assert "Viser 201–300 av 2000" in html
    assert html.count('<tr id="klient-') == 100
    print(f"queries: page={first_page} filtered={other_page} status={status_queries}")
    assert first_page <= 12, statements
    assert other_page <= 12
    assert status_queries <= 10


def test_filter_new_and_attention(app, logged_in, seeded):
    html = page(logged_in, f"/integrasjoner/{seeded.integration_id}?vis=nye")
    assert "Testing" in html and ">TrekkSpill<" not in html
    html = page(logged_in, f"/integrasjoner/{seeded.integration_id}?vis=aktive")
    assert ">TrekkSpill<" in html and ">Testing<" not in html


# --- buttons ------------------------------------------------------------------------------------


def runs(app, **where):
    with app.app_context():
        return db.session.scalars(select(SyncRun).filter_by(**where).order_by(SyncRun.id)).all()


def test_aktiver_alle_reports_per_client_results(app, logged_in, demo):
    with app.app_context():
        integration = make_integration(clients=[("A AS", "974760673", False),
                                                ("B AS", "923609016", False),
                                                ("C AS", "222333444", True),
                                                ("D AS", "321321321", False)])
        d = next(c for c in integration.clients if c.name == "D AS")
        d.reachable = False
        db.session.commit()
        iid = integration.id
    response = post(logged_in, f"/integrasjoner/{iid}/aktiver-alle")
    text = text_of(response.text)
    assert ("Aktiver alle: 2 aktivert, 1 ikke tilgjengelige i Visma.net, 1 var allerede aktive, "
            "2 synkroniseringer lagt i kø.") in text
    assert "Aktive klienter: 3 Inaktive klienter: 1" in text
    assert len(runs(app, integration_id=iid, kind=RunKind.FULL_SYNC)) == 2


def test_aktiver_alle_when_reconnect_is_needed(app, logged_in, seeded):
    with app.app_context():
        integration = db.session.get(Integration, seeded.integration_id)
        integration.status = IntegrationStatus.REAUTHORIZATION_REQUIRED
        db.session.commit()
    text = text_of(post(logged_in, f"/integrasjoner/{seeded.integration_id}/aktiver-alle").text)
    assert "Aktiver alle: 1 aktivert, 1 krever ny tilkobling, 1 var allerede aktive." in text


def test_deaktiver_alle_asks_first_then_reports(app, logged_in, seeded):
    iid = seeded.integration_id
    confirm = text_of(page(logged_in, f"/integrasjoner/{iid}/deaktiver-alle"))
    assert "Deaktiver alle klienter?" in confirm and "Avbryt" in confirm
    with app.app_context():
        assert db.session.get(Client, seeded.client_ids["TrekkSpill"]).active  # nothing yet
    text = text_of(post(logged_in, f"/integrasjoner/{iid}/deaktiver-alle").text)
    assert "Deaktiver alle: 1 deaktivert, 1 var allerede inaktive." in text
    assert "Aktive klienter: 0 Inaktive klienter: 2" in text


def test_row_buttons_queue_runs_and_return_at_once(app, logged_in, seeded):
    iid, cid = seeded.integration_id, seeded.client_ids["TrekkSpill"]
    base = f"/integrasjoner/{iid}/klienter/{cid}"
    response = post(logged_in, f"{base}/synkroniser?q=Trekk", follow=False)
    assert response.status_code == 302
    assert response.location.endswith(f"/integrasjoner/{iid}?q=Trekk#klient-{cid}")
    text = text_of(logged_in.get(response.location).text)
    assert "Synkroniser (TrekkSpill): lagt i kø. Fremdriften vises i listen." in text
    assert "Full synkronisering: I kø (nr. 1)" in text
    text = text_of(post(logged_in, f"{base}/synkroniser").text)
    assert "Synkroniser (TrekkSpill): er allerede i kø eller kjører." in text
    text = text_of(post(logged_in, f"{base}/testdata").text)
    assert "Send testdata til Sticos (TrekkSpill): lagt i kø." in text
    kinds = [r.kind for r in runs(app, client_id=cid)]
    assert kinds == [RunKind.FULL_SYNC, RunKind.TEST_DATA]
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "run_requested:full_sync" in actions and "run_requested:test_data" in actions


def test_activate_and_deactivate_one_client(app, logged_in, seeded):
    iid = seeded.integration_id
    testing = seeded.client_ids["Testing"]
    text = text_of(post(logged_in, f"/integrasjoner/{iid}/klienter/{testing}/aktiver").text)
    assert "Testing: aktivert – full synkronisering er lagt i kø." in text
    assert "Aktive klienter: 2 Inaktive klienter: 0" in text
    text = text_of(post(logged_in, f"/integrasjoner/{iid}/klienter/{testing}/deaktiver").text)
    assert "Testing: deaktivert. Data som er hentet, beholdes." in text
    # Deactivating cancelled the queued first sync.
    assert [r.status for r in runs(app, client_id=testing)] == [RunStatus.CANCELLED]


def test_runs_need_an_active_client_and_a_connection(app, logged_in, seeded):
    iid = seeded.integration_id
    testing = seeded.client_ids["Testing"]
    text = text_of(post(logged_in, f"/integrasjoner/{iid}/klienter/{testing}/synkroniser").text)
    assert "Synkroniser (Testing): aktiver klienten først." in text
    with app.app_context():
        integration = db.session.get(Integration, iid)
        integration.status = IntegrationStatus.REAUTHORIZATION_REQUIRED
        db.session.commit()
    text = text_of(post(logged_in, f"/integrasjoner/{iid}/oppdater-klientliste").text)
    assert "Trykk «Koble til på nytt» først." in text
    assert runs(app, integration_id=iid) == []


def test_oppdater_klientliste_queues_a_refresh(app, logged_in, seeded):
    iid = seeded.integration_id
    text = text_of(post(logged_in, f"/integrasjoner/{iid}/oppdater-klientliste").text)
    assert "Oppdater klientliste: lagt i kø" in text
    text = text_of(post(logged_in, f"/integrasjoner/{iid}/oppdater-klientliste").text)
    assert "Oppdater klientliste: kjører allerede" in text
    assert [r.kind for r in runs(app, integration_id=iid)] == [RunKind.REFRESH_CLIENTS]


def test_cancel_a_queued_run(app, logged_in, seeded):
    iid, cid = seeded.integration_id, seeded.client_ids["TrekkSpill"]
    post(logged_in, f"/integrasjoner/{iid}/klienter/{cid}/synkroniser")
    run = runs(app, client_id=cid)[0]
    text = text_of(post(logged_in, f"/integrasjoner/{iid}/kjoringer/{run.id}/avbryt").text)
    assert "Full synkronisering: avbrutt." in text
    assert runs(app, client_id=cid)[0].status == RunStatus.CANCELLED


def test_endre_system_changes_description_and_offers_reconnect(app, logged_in, seeded):
    iid = seeded.integration_id
    html = page(logged_in, f"/integrasjoner/{iid}/endre")
    assert "Koble til på nytt" in html and "annen Visma.net-bruker" in html
    response = post(logged_in, f"/integrasjoner/{iid}/endre", {"description": "  Avdeling Nord "},
                    page_url=f"/integrasjoner/{iid}/endre")
    assert "Beskrivelsen er lagret." in response.text
    with app.app_context():
        assert db.session.get(Integration, iid).description == "Avdeling Nord"
    response = post(logged_in, f"/integrasjoner/{iid}/endre", {"description": "y" * 300},
                    follow=False)
    assert response.status_code == 400


def test_slett_system_asks_first_then_removes(app, logged_in, seeded):
    iid = seeded.integration_id
    confirm = text_of(page(logged_in, f"/integrasjoner/{iid}/slett"))
    assert "Slett system Visma.net?" in confirm and "kan ikke angres" in confirm
    html = page(logged_in, f"/integrasjoner/{iid}")
    assert '<dialog id="dialog-delete"' in html  # the JS version asks in a dialog
    text = text_of(post(logged_in, f"/integrasjoner/{iid}/slett").text)
    assert "Slett system: Visma.net er slettet" in text
    with app.app_context():
        assert db.session.get(Integration, iid) is None
        assert db.session.scalar(select(func.count()).select_from(Client)) == 0
        assert "integration_deleted" in db.session.scalars(select(AuditEvent.action)).all()
    assert logged_in.get(f"/integrasjoner/{iid}").status_code == 404


# --- live status --------------------------------------------------------------------------------


def test_status_json_reports_runs_progress_and_queue_position(app, logged_in, seeded):
    from app.db_types import utcnow

    iid, cid = seeded.integration_id, seeded.client_ids["TrekkSpill"]
    post(logged_in, f"/integrasjoner/{iid}/oppdater-klientliste")
    post(logged_in, f"/integrasjoner/{iid}/klienter/{cid}/synkroniser")
    refresh, sync = runs(app, integration_id=iid)
    with app.app_context():
        run = db.session.get(SyncRun, refresh.id)
        run.status = RunStatus.RUNNING
        run.started_at = utcnow()
        run.current_step = "Henter kontoer"
        run.progress_done, run.progress_total = 3, 12
        run.counts = {"accounts": 312}
        db.session.commit()
    data = logged_in.get(f"/integrasjoner/{iid}/status?klienter={cid}").get_json()
    assert data["busy"] is True and data["active_runs"] == 2
    assert data["integration"]["active_clients"] == 1
    assert data["integration"]["inactive_clients"] == 1
    by_id = {r["id"]: r for r in data["runs"]}
    running = by_id[refresh.id]
    assert running["status"] == "running" and running["percent"] == 25
    assert running["summary"] == "Oppdater klientliste: Kjører – Henter kontoer (25\u00a0%) – 312 kontoer"
    assert by_id[sync.id]["queue_position"] == 1
    assert by_id[sync.id]["client_id"] == cid
    assert str(cid) in data["clients"]

    with app.app_context():
        run = db.session.get(SyncRun, sync.id)
        run.status = RunStatus.FAILED
        run.active_key = None
        run.finished_at = utcnow()
        run.error_message = "Visma.net svarer ikke akkurat nå."
        db.session.commit()
    data = logged_in.get(f"/integrasjoner/{iid}/status?klienter={cid}").get_json()
    failed = {r["id"]: r for r in data["runs"]}[sync.id]
    assert failed["summary"] == "Full synkronisering: Feilet: Visma.net svarer ikke akkurat nå."


def test_page_scripts_are_local(logged_in, seeded):
    html = page(logged_in, f"/integrasjoner/{seeded.integration_id}")
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert scripts == ["/static/integrations.js"]
    js = logged_in.get("/static/integrations.js")
    assert js.status_code == 200 and b"data-confirm-dialog" in js.data
    js.close()
