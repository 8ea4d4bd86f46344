"""Bulk and row actions: POST + CSRF, do what they say, leave audit events naming the operator."""

import re

import pytest
from flask import url_for
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.extensions import db
from app.integrations.models import Client, Integration
from app.jobs.models import RunKind, RunStatus, SyncRun


def post_action(client, view, action, ids, token, **extra):
    data = {"csrf_token": token, "action": action, "rowid": [str(i) for i in ids], "url": ""}
    data.update(extra)
    return client.post(action_url(client, view), data=data, follow_redirects=True)


def action_url(client, view: str) -> str:
    with client.application.test_request_context():
        return url_for(f"{view}.action_view")


def events(app, action):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def clients_by_id(app, ids):
    with app.app_context():
        rows = db.session.scalars(select(Client).where(Client.id.in_(ids))).all()
        db.session.expunge_all()
        return {c.id: c for c in rows}


def runs_for(app, client_ids, kind):
    with app.app_context():
        return list(db.session.scalars(
            select(SyncRun).where(SyncRun.client_id.in_(client_ids), SyncRun.kind == kind,
                                  SyncRun.status == RunStatus.QUEUED)
        ))


def test_activate_and_deactivate(app, client, world, admin_csrf):
    inactive = world.client_ids[3:5]  # reachable, inactive
    unreachable = world.client_ids[5]
    response = post_action(client, "clients_admin", "activate", [*inactive, unreachable, world.client_ids[0]], admin_csrf)
    assert response.status_code == 200
    assert "Aktiver: 2 aktivert, 1 ikke tilgjengelige i Visma.net, 1 var allerede aktive, 2 synkroniseringer lagt i kø." in response.text
    rows = clients_by_id(app, world.client_ids)
    assert all(rows[i].active for i in inactive) and not rows[unreachable].active
    assert {r.client_id for r in runs_for(app, inactive, RunKind.FULL_SYNC)} == set(inactive)
    [event] = events(app, "clients_activated")
    assert event.actor == "operator@sticos.test" and sorted(event.details["client_ids"]) == sorted(inactive)

    response = post_action(client, "clients_admin", "deactivate", inactive, admin_csrf)
    assert "Deaktiver: 2 deaktivert." in response.text
    rows = clients_by_id(app, inactive)
    assert not any(r.active for r in rows.values())
    assert runs_for(app, inactive, RunKind.FULL_SYNC) == []  # queued runs cancelled
    assert events(app, "clients_deactivated")[0].actor == "operator@sticos.test"


@pytest.mark.parametrize("action,kind,label", [
    ("sync", RunKind.INCREMENTAL_SYNC, "Synkroniser endringer"),
    ("full_sync", RunKind.FULL_SYNC, "Full synkronisering"),
    ("test_data", RunKind.TEST_DATA, "Send testdata til Sticos"),
    # Deleting old accounts starts with a preview per client (tests/sync/test_old_accounts_preview).
    ("delete_old_accounts", RunKind.PREVIEW_OLD_ACCOUNTS, "Slett gamle kontoer"),
])
def test_run_actions_queue_one_run_per_active_client(app, client, world, admin_csrf, action, kind, label):
    active = world.client_ids[:3]
    inactive = world.client_ids[3]
    response = post_action(client, "clients_admin", action, [*active, inactive], admin_csrf)
    queued = runs_for(app, world.client_ids, kind)
    expected = set(active) - ({world.client_ids[1]} if kind == RunKind.INCREMENTAL_SYNC else set())
    assert {r.client_id for r in queued if r.requested_by == "operator@sticos.test"} == expected
    assert (f"{label}: {len(expected)} lagt i kø, 1 ikke aktive eller ikke tilgjengelige "
            "(hoppet over)") in response.text
    [event] = events(app, f"runs_requested:{kind}")
    assert event.actor == "operator@sticos.test" and event.details["queued"] == len(expected)


def test_row_buttons_are_post_forms_with_csrf(client, world, operator):
    page = client.get("/admin/klienter/").text
    forms = re.findall(r'<form class="row-action" method="post" action="([^"]+)">(.*?)</form>', page, re.S)
    assert len(forms) == 6 * 0 + 3 * 5 + 3  # 3 active clients x 5 buttons, 3 inactive x 1
    for action_url, body in forms:
        assert action_url == "/admin/klienter/action/"
        assert 'name="csrf_token"' in body and 'name="rowid"' in body
    # No GET link performs an action.
    assert not re.search(r'href="[^"]*/action/', page)


def test_row_button_activates_one_client(app, client, world, admin_csrf):
    target = world.client_ids[3]
    response = post_action(client, "clients_admin", "activate", [target], admin_csrf)
    assert "Aktiver: 1 aktivert" in response.text
    assert clients_by_id(app, [target])[target].active


def test_actions_without_csrf_token_are_refused(app, client, world, operator):
    target = world.client_ids[3]
    for view, action in (("clients_admin", "activate"), ("integrations_admin", "activate_all"),
                         ("runs_admin", "cancel")):
        response = client.post(action_url(client, view), data={"action": action, "rowid": [str(target)]})
        assert response.status_code == 400
    for path in ("/admin/kjoringer/avbryt/", "/admin/kjoringer/prov-igjen/"):
        response = client.post(path, data={"id": str(world.queued_run_id)})
        assert response.status_code == 400
    response = client.post("/admin/klienter/action/",
                           data={"action": "activate", "rowid": [str(target)], "csrf_token": "forfalsket"})
    assert response.status_code == 400
    assert not clients_by_id(app, [target])[target].active
    assert events(app, "clients_activated") == [] and events(app, "run_cancelled") == []
    # GET on an action endpoint is not allowed at all.
    assert client.get("/admin/klienter/action/").status_code == 405


def test_all_matches_applies_to_the_filtered_search(app, client, world, admin_csrf):
    """'Alle treff' acts on every client matching the list's filters, not just the ticked ones."""
    response = client.post(
        "/admin/klienter/action/?flt0_aktiv_er=0&flt1_tilgjengelig_er=1",
        data={"csrf_token": admin_csrf, "action": "activate", "rowid": [str(world.client_ids[3])],
              "alle_treff": "1", "url": ""},
        follow_redirects=True,
    )
    assert "Aktiver: 2 aktivert" in response.text
    rows = clients_by_id(app, world.client_ids)
    assert rows[world.client_ids[3]].active and rows[world.client_ids[4]].active
    assert not rows[world.client_ids[5]].active


def test_integration_bulk_actions(app, client, world, admin_csrf):
    iid = world.integration_id
    response = post_action(client, "integrations_admin", "activate_all", [iid], admin_csrf)
    assert "Aktiver alle klienter: 2 aktivert, 1 ikke tilgjengelige i Visma.net, 3 var allerede aktive" in response.text
    response = post_action(client, "integrations_admin", "refresh_clients", [iid], admin_csrf)
    assert "Oppdater klientliste: 1 lagt i kø" in response.text
    with app.app_context():
        run = db.session.scalar(select(SyncRun).where(SyncRun.kind == RunKind.REFRESH_CLIENTS))
        assert run.integration_id == iid and run.client_id is None and run.requested_by == "operator@sticos.test"
    response = post_action(client, "integrations_admin", "deactivate_all", [iid], admin_csrf)
    assert "Deaktiver alle klienter: 5 deaktivert, 1 var allerede inaktive." in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Client.active.is_(True))) == 0
    actions = {e.action for e in events(app, "clients_activated") + events(app, "clients_deactivated")
               + events(app, f"run_requested:{RunKind.REFRESH_CLIENTS}")}
    assert actions == {"clients_activated", "clients_deactivated", f"run_requested:{RunKind.REFRESH_CLIENTS}"}
    assert {e.actor for e in events(app, "clients_deactivated")} == {"operator@sticos.test"}


def test_delete_system(app, client, world, admin_csrf):
    response = post_action(client, "integrations_admin", "delete_system", [world.integration_id], admin_csrf)
    assert "Slett system: 1 slettet" in response.text
    with app.app_context():
        assert db.session.get(Integration, world.integration_id) is None
        assert db.session.scalar(select(func.count()).select_from(Client)) == 0
    [event] = events(app, "integration_deleted")
    assert event.actor == "operator@sticos.test"


def test_cancel_queued_and_retry_failed(app, client, world, admin_csrf):
    response = client.post("/admin/kjoringer/avbryt/", data={"csrf_token": admin_csrf, "id": world.queued_run_id},
                           follow_redirects=True)
    assert "avbrutt" in response.text
    with app.app_context():
        assert db.session.get(SyncRun, world.queued_run_id).status == RunStatus.CANCELLED
    assert events(app, "run_cancelled")[0].actor == "operator@sticos.test"

    # A failed run cannot be cancelled, a queued one cannot be retried.
    response = client.post("/admin/kjoringer/avbryt/", data={"csrf_token": admin_csrf, "id": world.failed_run_id},
                           follow_redirects=True)
    assert "kan ikke avbrytes" in response.text

    response = client.post("/admin/kjoringer/prov-igjen/", data={"csrf_token": admin_csrf, "id": world.failed_run_id},
                           follow_redirects=True)
    assert "lagt i kø på nytt" in response.text
    with app.app_context():
        failed = db.session.get(SyncRun, world.failed_run_id)
        new = db.session.scalar(select(SyncRun).where(SyncRun.id > world.queued_run_id))
        assert failed.status == RunStatus.FAILED  # history stays
        assert (new.kind, new.client_id, new.status, new.requested_by) == (
            RunKind.FULL_SYNC, failed.client_id, RunStatus.QUEUED, "operator@sticos.test")
    assert events(app, f"run_requested:{RunKind.FULL_SYNC}")[0].actor == "operator@sticos.test"


def test_failed_run_detail_shows_everything(client, world, operator):
    page = client.get(f"/admin/kjoringer/details/?id={world.failed_run_id}").text
    for text in ("Full synkronisering", "Feilet", "Forsøk: 3 av 3", "Henter posteringer", "4 / 9",
                 "312 kontoer", "posteringer", "Bilag 17 går ikke i null", "for mange forespørsler",
                 "Prøv igjen"):
        assert text in page, text
    assert ">Avbryt</button>" not in page
    queued = client.get(f"/admin/kjoringer/details/?id={world.queued_run_id}").text
    assert ">Avbryt</button>" in queued and "Prøv igjen</button>" not in queued


def test_bulk_cancel_and_retry_on_runs(app, client, world, admin_csrf):
    both = [world.queued_run_id, world.failed_run_id]
    response = post_action(client, "runs_admin", "cancel", both, admin_csrf)
    assert "Avbryt: 1 avbrutt, 1 var ikke i kø." in response.text
    response = post_action(client, "runs_admin", "retry", both, admin_csrf)
    assert "Prøv igjen: 1 lagt i kø, 1 ikke" in response.text
    with app.app_context():
        assert db.session.get(SyncRun, world.queued_run_id).status == RunStatus.CANCELLED
        statuses = db.session.scalars(select(SyncRun.status).where(SyncRun.id > world.queued_run_id)).all()
        assert statuses == [RunStatus.QUEUED]
    # "Alle treff": every failed run matching the filter, nothing else.
    response = client.post("/admin/kjoringer/action/?flt0_status_er=failed", data={
        "csrf_token": admin_csrf, "action": "retry", "rowid": [str(world.failed_run_id)],
        "alle_treff": "1", "url": ""}, follow_redirects=True)
    assert "Prøv igjen: 0 lagt i kø, 1 ikke" in response.text  # already queued again


def test_all_matches_on_integrations_uses_the_search(app, client, world, admin_csrf):
    response = client.post("/admin/integrasjoner/action/?search=Hovedkontor", data={
        "csrf_token": admin_csrf, "action": "activate_all", "rowid": [str(world.integration_id)],
        "alle_treff": "1", "url": ""}, follow_redirects=True)
    assert "Aktiver alle klienter: 2 aktivert" in response.text
    response = client.post("/admin/integrasjoner/action/?search=finnes-ikke", data={
        "csrf_token": admin_csrf, "action": "deactivate_all", "rowid": [str(world.integration_id)],
        "alle_treff": "1", "url": ""}, follow_redirects=True)
    assert "Deaktiver alle klienter: 0 deaktivert." in response.text


def test_resume_schedule_clears_a_paused_client(app, client, world, admin_csrf):
    paused, fine = world.client_ids[0], world.client_ids[1]
    with app.app_context():
        target = db.session.get(Client, paused)
        target.schedule_paused_reason = "Stoppet etter 6 feil på rad: No license for this company."
        target.needs_attention = True
        target.consecutive_failures = 6
        db.session.commit()
    response = post_action(client, "clients_admin", "resume_schedule", [paused, fine], admin_csrf)
    assert "Gjenoppta planlagt synkronisering: 1 klienter gjenopptatt." in response.text
    after = clients_by_id(app, [paused])[paused]
    assert after.schedule_paused_reason is None and not after.needs_attention
    assert after.consecutive_failures == 0 and after.next_sync_at is not None
    [event] = events(app, "schedule_resumed")
    assert event.actor == "operator@sticos.test" and event.details["client_ids"] == [paused]
