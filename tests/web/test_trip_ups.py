"""Where a customer tripped (issue 14): abandoned connections, the same connection twice, the
test send after a reload, unreachable clients, invalid orgnrs, one status renderer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.audit.operations import Actor
from app.db_types import utcnow
from app.extensions import db
from app.integrations import operations
from app.integrations.models import Client, Integration, IntegrationStatus
from app.jobs.models import RunKind, SyncRun
from tests.web.conftest import customer_id, make_integration
from tests.web.test_pages import page, post, text_of

TEST = Actor.system("test")


def _integrations(app) -> list[Integration]:
    with app.app_context():
        return list(db.session.scalars(select(Integration).order_by(Integration.id)))


# --- 1. abandoned "Venter på tilgang" ---------------------------------------------------------


def test_opprett_again_takes_over_the_abandoned_attempt(app, logged_in):
    for description in ("Første forsøk", "Andre forsøk"):
        form = page(logged_in, "/integrasjoner/ny")
        response = post(logged_in, "/integrasjoner/ny",
                        {"system": "visma_net", "description": description},
                        page_url="/integrasjoner/ny", follow=False)
        assert response.status_code == 302  # on to the Visma login
        assert form  # the form was there to press
    [integration] = _integrations(app)
    assert integration.status == IntegrationStatus.AWAITING_AUTHORIZATION
    assert integration.description == "Andre forsøk"

    text = text_of(page(logged_in, "/integrasjoner/"))
    assert text.count("Venter på tilgang") == 2  # the explanation and the one row
    assert "Fortsett tilkobling" in text and "Slett" in text


def test_a_connected_or_used_integration_is_never_taken_over(app, logged_in):
    with app.app_context():
        make_integration(status=IntegrationStatus.CONNECTED)
        make_integration(status=IntegrationStatus.REAUTHORIZATION_REQUIRED, clients=[
            ("TrekkSpill", "222333444", True)])
    post(logged_in, "/integrasjoner/ny", {"system": "visma_net", "description": "Ny"},
         page_url="/integrasjoner/ny", follow=False)
    assert [i.description for i in _integrations(app)] == ["", "", "Ny"]


def test_slett_on_an_abandoned_attempt_says_nothing_else_goes(app, logged_in):
    with app.app_context():
        iid = operations.create_integration(customer_id(), description="Glemt", actor=TEST).id
    text = text_of(page(logged_in, f"/integrasjoner/{iid}/slett"))
    assert "ble aldri koblet til Visma.net" in text
    post(logged_in, f"/integrasjoner/{iid}/slett")
    assert _integrations(app) == []


def test_the_scheduled_job_removes_attempts_abandoned_for_a_day(app, demo):
    from app.jobs.scheduler import JOBS, resolve

    with app.app_context():
        old = operations.create_integration(customer_id(), actor=TEST)
        old.created_at = utcnow() - timedelta(hours=25)
        fresh = operations.create_integration(customer_id(), actor=TEST)
        connected_long_ago = make_integration(status=IntegrationStatus.CONNECTED)
        connected_long_ago.created_at = utcnow() - timedelta(days=30)
        lost = make_integration(status=IntegrationStatus.REAUTHORIZATION_REQUIRED)
        lost.created_at = utcnow() - timedelta(days=30)
        db.session.commit()
        kept = {fresh.id, connected_long_ago.id, lost.id}
        job = resolve(JOBS["prune_abandoned_integrations"].func)
        assert job() == {"deleted_abandoned": 1}
        assert set(db.session.scalars(select(Integration.id))) == kept
        [event] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "integration_abandoned_deleted"))
        assert event.actor == "scheduler"


# --- 2. the same connection twice ---------------------------------------------------------------


def _twin_integrations(app, *, first_active=True, same_user=True):
    """Two integrations of one customer reaching TrekkSpill (the same Visma tenant)."""
    with app.app_context():
        first = make_integration(description="Hovedkontor",
                                 clients=[("TrekkSpill", "222333444", first_active)])
        second = make_integration(clients=[("TrekkSpill", "222333444", False),
                                           ("Nordlys Regnskap AS", "915233112", False)])
        first.authorized_by_subject = "sub-demo"
        second.authorized_by_subject = "sub-demo" if same_user else "sub-other"
        second.clients[0].external_id = first.clients[0].external_id
        db.session.commit()
        return first.id, second.id, {c.name: c.id for c in second.clients}


def test_the_same_visma_user_twice_is_pointed_out(app, logged_in):
    first, second, _ = _twin_integrations(app)
    text = text_of(page(logged_in, f"/integrasjoner/{second}"))
    assert "Samme Visma.net-bruker er koblet til to ganger" in text
    assert "«Visma.net – Hovedkontor»" in text
    other_user = _twin_integrations(app, same_user=False)[1]
    assert "Samme Visma.net-bruker" not in text_of(page(logged_in, f"/integrasjoner/{other_user}"))


def test_a_company_active_elsewhere_is_not_activated_twice(app, logged_in):
    first, second, ids = _twin_integrations(app)
    html = page(logged_in, f"/integrasjoner/{second}")
    assert "Synkroniseres i Visma.net – Hovedkontor" in text_of(html)
    assert 'disabled title="Synkroniseres allerede i «Visma.net – Hovedkontor»"' in html

    text = text_of(post(logged_in, f"/integrasjoner/{second}/aktiver-alle").text)
    assert ("Aktiver alle: 1 aktivert, 1 synkroniseres allerede i en annen integrasjon"
            in text)
    with app.app_context():
        assert not db.session.get(Client, ids["TrekkSpill"]).active
        assert db.session.get(Client, ids["Nordlys Regnskap AS"]).active
        queued = db.session.scalars(select(SyncRun.client_id)).all()
        assert ids["TrekkSpill"] not in queued


def test_two_inactive_twins_selected_together_activate_once(app, demo):
    first, second, ids = _twin_integrations(app, first_active=False)
    with app.app_context():
        every = list(db.session.scalars(select(Client.id)))
        result = operations.activate_clients(every, actor=TEST)
        active = db.session.scalars(
            select(Client.external_id).where(Client.active.is_(True))).all()
        assert len(active) == len(set(active)) == 2  # TrekkSpill once, Nordlys
        assert result.elsewhere == 1


# --- 3. the test send after a reload --------------------------------------------------------


def test_the_last_test_send_shows_after_a_reload(app, logged_in, seeded):
    from datetime import UTC, datetime

    with app.app_context():
        client = db.session.get(Client, seeded.client_ids["TrekkSpill"])
        operations.record_test_send(client, {"organization": 1, "accounts": 312,
                                             "gl_balances": 1480}, "202611")
        client.test_data_sent_at = datetime(2026, 12, 1, 9, 15, tzinfo=UTC)
        db.session.commit()
    text = text_of(page(logged_in, f"/integrasjoner/{seeded.integration_id}"))
    assert ("Testdata sendt 01.12.2026 10:15: firmaopplysninger, 312 kontoer og "
            "1 480 saldoer for 2026-11") in text  # text_of turns the no-break space into one


# --- 6. unreachable clients -------------------------------------------------------------------


def test_unreachable_clients_cannot_be_run_and_say_so_once(app, logged_in):
    with app.app_context():
        integration = make_integration(clients=[("Borte AS", "974760673", True),
                                                ("Borte To AS", "923609016", True),
                                                ("Her AS", "915233112", True)])
        for client in integration.clients[:2]:
            client.reachable = False
            client.unreachable_reason = "Tillatelsen er trukket tilbake."
        db.session.commit()
        iid = integration.id
        gone = integration.clients[0].id
        here = integration.clients[2].id
    html = page(logged_in, f"/integrasjoner/{iid}")
    text = text_of(html)
    assert text.count("Gi tillatelse i Visma App Store") == 1
    assert "Borte AS, Borte To AS" in text
    row = html.split(f'id="klient-{gone}"')[1].split("</tr>")[0]
    assert row.count(" disabled title=") == 3  # testdata, synkroniser, slett gamle kontoer
    other = html.split(f'id="klient-{here}"')[1].split("</tr>")[0]
    assert " disabled" not in other

    text = text_of(post(logged_in, f"/integrasjoner/{iid}/klienter/{gone}/synkroniser").text)
    assert "Synkroniser (Borte AS): Sticos når ikke klienten i Visma.net" in text
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 0
        client = db.session.get(Client, gone)
        with pytest.raises(operations.ClientUnreachable, match="Oppdater klientliste"):
            operations.request_run(RunKind.TEST_DATA, integration=client.integration,
                                   client=client, actor=TEST)
        result = operations.request_runs_for_clients(RunKind.FULL_SYNC, [gone, here], actor=TEST)
        assert (result.queued, result.unchanged) == (1, 1)


# --- 8. an orgnr that fails mod-11 --------------------------------------------------------------


def test_invalid_orgnr_tells_what_it_means_and_what_to_do(app, logged_in, seeded):
    text = text_of(page(logged_in, f"/integrasjoner/{seeded.integration_id}"))
    assert "Ugyldig orgnr" in text
    assert "Organisasjonsnummeret til TrekkSpill har feil kontrollsiffer" in text
    assert "Regnskapsdata synkroniseres likevel" in text
    assert "Rett organisasjonsnummeret i firmaopplysningene i Visma.net" in text


# --- 4. one renderer for a run's status line ------------------------------------------------


def test_first_render_and_polling_show_the_same_status_line(app, logged_in, seeded):
    iid, cid = seeded.integration_id, seeded.client_ids["TrekkSpill"]
    with app.app_context():
        client = db.session.get(Client, cid)
        client.next_sync_at = utcnow() - timedelta(minutes=3)
        db.session.commit()
    post(logged_in, f"/integrasjoner/{iid}/klienter/{cid}/synkroniser")
    text = text_of(page(logged_in, f"/integrasjoner/{iid}"))
    line = "Full synkronisering: I kø (nr. 1)"
    assert line in text
    # Queued: its own line says what happens next, no "Neste … (for … siden)".
    assert "Neste automatiske synkronisering" not in text
    data = logged_in.get(f"/integrasjoner/{iid}/status?klienter={cid}").get_json()
    assert line in text_of(data["clients"][str(cid)]["html"])
    assert "Avbryt" in text_of(data["clients"][str(cid)]["html"])


# --- 11. the help page in demo mode --------------------------------------------------------------


def test_help_links_the_simulators_app_store_in_demo_mode(app, logged_in):
    assert "https://apps.visma.com/NO/app/regnskapsdata" in page(logged_in, "/integrasjoner/hjelp")
    app.config.update(VISMA_SIMULATOR=True, VISMA_CONNECT_URL="http://127.0.0.1:5999")
    html = page(logged_in, "/integrasjoner/hjelp")
    assert 'href="http://127.0.0.1:5999/appstore"' in html
    assert "apps.visma.com" not in html


def test_operator_retry_of_an_unreachable_clients_run_says_why_not(app, demo):
    from app.admin.runs import retry
    from app.jobs.models import RunStatus

    with app.app_context():
        integration = make_integration(clients=[("Borte AS", "974760673", True)])
        client = integration.clients[0]
        client.reachable = False
        failed = SyncRun(kind=RunKind.FULL_SYNC, integration_id=integration.id,
                         client_id=client.id, requested_by="test", status=RunStatus.FAILED)
        db.session.add(failed)
        db.session.commit()
        new_run, created, message = retry(failed)
        assert (new_run, created) == (None, False)
        assert "Sticos når ikke klienten i Visma.net" in message
        assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 1
