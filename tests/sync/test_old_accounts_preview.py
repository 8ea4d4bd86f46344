"""«Slett gamle kontoer» follows one rule whoever presses it: a preview read by a worker (never
by the web request), then a deletion of exactly the accounts confirmed from that preview.

The customer page, the admin panel's row and bulk actions and the CLI show the same preview.
"""

from __future__ import annotations

import re

import pytest
from flask import g, url_for
from sqlalchemy import select

from app.accounting.models import Account
from app.demo.seed import seed_demo
from app.extensions import db
from app.jobs.models import RunKind, RunStatus, SyncRun
from app.jobs.worker import run_inline
from tests.conftest import csrf_token_from

KUNDE = ("kunde@regnskap.test", "kunde-demo")
OPERATOR = ("operator@sticos.test", "sticos-demo")
PENDING = "Sammenligner kontoplanen"
STALE = {("8901", "Gammel konto A"), ("8902", "Gammel konto B")}


def drain() -> None:
    """What a worker would do: run every queued run here."""
    for run_id in db.session.scalars(
        select(SyncRun.id).where(SyncRun.status == RunStatus.QUEUED).order_by(SyncRun.id)
    ).all():
        run_inline(run_id)
    db.session.expire_all()


def login(env, who):
    # The test holds an app context that every request shares: forget the last user and their CSRF token.
    g.pop("_login_user", None)
    g.pop("csrf_token", None)
    browser = env.app.test_client()
    page = browser.get("/logg-inn")
    response = browser.post("/logg-inn", data={"email": who[0], "password": who[1],
                                               "csrf_token": csrf_token_from(page.text)})
    assert response.status_code == 302
    return browser


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def preview_rows(html: str) -> set[tuple[str, str]]:
    """(number, description) of each account a preview page lists."""
    return set(re.findall(r"<td[^>]*>(\d{4})(?:<input[^>]*>)?</td>\s*<td[^>]*>([^<]+)</td>", html))


def deletion_runs() -> list[SyncRun]:
    return list(db.session.scalars(
        select(SyncRun).where(SyncRun.kind == RunKind.DELETE_OLD_ACCOUNTS).order_by(SyncRun.id)))


def stored_numbers(client) -> set[str]:
    return set(db.session.scalars(
        select(Account.account_number).where(Account.client_id == client.id)))


@pytest.fixture
def world(env):
    """Two active, synced clients, each holding two accounts Visma.net no longer has."""
    seed_demo()
    integration = env.connect(customer="Regnskapsbyrå Demo AS")
    assert env.run(RunKind.REFRESH_CLIENTS, integration).status == RunStatus.SUCCEEDED
    clients = [env.client_named(integration, "Nordlys Regnskap AS"),
               env.client_named(integration, "Testing")]
    for client in clients:
        env.activate(client)
        for number, description in sorted(STALE):
            env.sim.state.add_account(client.external_id, number, description)
        assert env.run(RunKind.FULL_SYNC, integration, client).status == RunStatus.SUCCEEDED
        for number, _ in STALE:
            env.sim.state.delete_account(client.external_id, number)
    return integration, clients


def test_customer_page_waits_for_a_queued_preview_then_deletes_exactly_the_confirmed(env, world):
    integration, (client, _other) = world
    browser = login(env, KUNDE)
    url = f"/integrasjoner/{integration.id}/klienter/{client.id}/slett-gamle-kontoer"
    env.sim.state.set_faults(error_rate=1.0)  # the page never asks Visma.net itself
    try:
        response = browser.get(url)
        assert response.status_code == 302 and "forhandsvisning=" in response.headers["Location"]
        waiting = browser.get(response.headers["Location"])
        assert waiting.status_code == 200 and PENDING in waiting.text
        assert 'http-equiv="refresh"' in waiting.text
    finally:
        env.sim.state.reset_faults()
    [preview] = db.session.scalars(select(SyncRun).where(
        SyncRun.kind == RunKind.PREVIEW_OLD_ACCOUNTS)).all()
    assert preview.status == RunStatus.QUEUED and preview.requested_by == KUNDE[0]
    drain()
    page = browser.get(response.headers["Location"])
    assert preview_rows(page.text) == STALE
    assert "Disse 2 kontoene finnes hos Sticos, men ikke lenger i Visma.net." in text_of(page.text)
    ids = dict(zip(re.findall(r"<td[^>]*>(\d{4})<input", page.text),
                   re.findall(r'name="account_id" value="(\d+)"', page.text), strict=True))
    assert deletion_runs() == []
    # Only 8901 is confirmed; an id the preview did not list is ignored.
    done = browser.post(url, data={"csrf_token": csrf_token_from(page.text),
                                   "forhandsvisning": preview.id,
                                   "account_id": [ids["8901"], "424242"]}, follow_redirects=True)
    assert "Slett gamle kontoer (Nordlys Regnskap AS): lagt i kø." in text_of(done.text)
    [deletion] = deletion_runs()
    assert deletion.params == {"account_ids": [int(ids["8901"])], "preview_run_id": preview.id}
    drain()
    assert {"8901", "8902"} & stored_numbers(client) == {"8902"}
    # The same preview cannot confirm a second deletion.
    again = browser.post(url, data={"csrf_token": csrf_token_from(page.text),
                                    "forhandsvisning": preview.id, "account_id": [ids["8902"]]},
                         follow_redirects=True)
    assert "forhåndsvisningen er ikke klar eller er for gammel" in text_of(again.text)
    assert len(deletion_runs()) == 1


def test_customer_cannot_confirm_from_another_clients_preview(env, world):
    integration, (client, other) = world
    browser = login(env, KUNDE)
    browser.get(f"/integrasjoner/{integration.id}/klienter/{other.id}/slett-gamle-kontoer")
    drain()
    foreign = db.session.scalars(select(SyncRun).where(SyncRun.client_id == other.id,
                                 SyncRun.kind == RunKind.PREVIEW_OLD_ACCOUNTS)).one()
    url = f"/integrasjoner/{integration.id}/klienter/{client.id}/slett-gamle-kontoer"
    page = browser.get(f"/integrasjoner/{integration.id}")
    response = browser.post(url, data={"csrf_token": csrf_token_from(page.text),
                                       "forhandsvisning": foreign.id,
                                       "account_id": [a["id"] for a in foreign.result]})
    assert response.status_code == 404
    assert deletion_runs() == []


def _admin_action(browser, client_ids):
    with env_app_context(browser):
        action = url_for("clients_admin.action_view")
    token = csrf_token_from(browser.get("/admin/").text)
    return browser.post(action, data={"csrf_token": token, "action": "delete_old_accounts",
                                      "rowid": [str(i) for i in client_ids], "url": ""},
                        follow_redirects=True)


def env_app_context(browser):
    return browser.application.test_request_context()


def _admin_confirm(browser, page_html, ticked):
    with env_app_context(browser):
        url = url_for("runs_admin.old_accounts_view",
                      klienter=re.search(r"klienter=([\d%C,]+)", page_html).group(1)
                      .replace("%2C", ","))
    return browser.post(url, data={"csrf_token": csrf_token_from(page_html),
                                   "account_id": ticked}, follow_redirects=True)


def _checkboxes(html: str) -> dict[tuple[int, str], str]:
    """{(preview run id, account number): checkbox value}."""
    found = {}
    for value, number in re.findall(
            r'name="account_id" value="(\d+:\d+)"[^>]*aria-label="Slett konto (\d{4})"', html):
        found[(int(value.split(":")[0]), number)] = value
    return found


def test_admin_row_action_queues_the_same_preview_and_deletes_only_ticked_accounts(env, world):
    _integration, (client, _other) = world
    browser = login(env, OPERATOR)
    env.sim.state.set_faults(error_rate=1.0)  # the admin request never asks Visma.net either
    try:
        waiting = _admin_action(browser, [client.id])
    finally:
        env.sim.state.reset_faults()
    assert waiting.status_code == 200 and PENDING in waiting.text
    assert "Slett gamle kontoer: 1 lagt i kø." in text_of(waiting.text)
    assert deletion_runs() == []
    drain()
    page = browser.get(re.search(r'action="([^"]*gamle-kontoer[^"]*)"', waiting.text).group(1)
                       .replace("&amp;", "&"))
    [preview] = db.session.scalars(select(SyncRun).where(
        SyncRun.kind == RunKind.PREVIEW_OLD_ACCOUNTS)).all()
    boxes = _checkboxes(page.text)
    assert {number for _run, number in boxes} == {n for n, _ in STALE}
    assert preview_rows(page.text) == STALE
    done = _admin_confirm(browser, page.text, [boxes[(preview.id, "8902")]])
    assert "Slett gamle kontoer: 1 lagt i kø, 0 var allerede i kø." in text_of(done.text)
    [deletion] = deletion_runs()
    assert deletion.requested_by == OPERATOR[0]
    assert deletion.params["account_ids"] == [int(boxes[(preview.id, "8902")].split(":")[1])]
    drain()
    assert {"8901", "8902"} & stored_numbers(client) == {"8901"}


def test_admin_bulk_action_previews_each_client_and_deletes_per_client(env, world):
    _integration, clients = world
    browser = login(env, OPERATOR)
    waiting = _admin_action(browser, [c.id for c in clients])
    assert "Slett gamle kontoer: 2 lagt i kø." in text_of(waiting.text)
    assert deletion_runs() == []  # nothing is deleted without a preview and exact ids
    drain()
    page = browser.get(re.search(r'action="([^"]*gamle-kontoer[^"]*)"', waiting.text).group(1)
                       .replace("&amp;", "&"))
    previews = {r.client_id: r for r in db.session.scalars(select(SyncRun).where(
        SyncRun.kind == RunKind.PREVIEW_OLD_ACCOUNTS))}
    boxes = _checkboxes(page.text)
    for client in clients:
        assert {n for run, n in boxes if run == previews[client.id].id} == {"8901", "8902"}
    first, second = clients
    done = _admin_confirm(browser, page.text, [boxes[(previews[first.id].id, "8901")],
                                               boxes[(previews[second.id].id, "8901")],
                                               boxes[(previews[second.id].id, "8902")]])
    assert "Slett gamle kontoer: 2 lagt i kø, 0 var allerede i kø." in text_of(done.text)
    drain()
    assert {"8901", "8902"} & stored_numbers(first) == {"8902"}
    assert {"8901", "8902"} & stored_numbers(second) == set()


def test_cli_shows_the_same_preview_and_deletes_exactly_it(env, world):
    _integration, (client, _other) = world
    runner = env.app.test_cli_runner()
    declined = runner.invoke(args=["sync", "run", str(client.id), "--delete-old-accounts"],
                             input="n\n")
    assert declined.exit_code == 1
    listed = set(re.findall(r"^\s+(\d{4}) (.+?) \(\d+ rader\)$", declined.output, re.M))
    assert listed == STALE
    assert deletion_runs() == []
    [preview] = db.session.scalars(select(SyncRun).where(
        SyncRun.kind == RunKind.PREVIEW_OLD_ACCOUNTS)).all()
    assert preview.trigger == "cli" and preview.status == RunStatus.SUCCEEDED
    confirmed = runner.invoke(args=["sync", "run", str(client.id), "--delete-old-accounts",
                                    "--yes"])
    assert confirmed.exit_code == 0, confirmed.output
    assert "Slettet 2 gamle kontoer" in confirmed.output
    [deletion] = deletion_runs()
    assert sorted(deletion.params["account_ids"]) == sorted(a["id"] for a in preview.result)
    assert {"8901", "8902"} & stored_numbers(client) == set()


def test_every_entry_point_shows_the_same_preview(env, world):
    integration, (client, _other) = world
    customer = login(env, KUNDE)
    url = f"/integrasjoner/{integration.id}/klienter/{client.id}/slett-gamle-kontoer"
    location = customer.get(url).headers["Location"]
    drain()
    on_customer_page = preview_rows(customer.get(location).text)
    operator = login(env, OPERATOR)
    waiting = _admin_action(operator, [client.id])
    drain()
    on_admin_page = preview_rows(operator.get(
        re.search(r'action="([^"]*gamle-kontoer[^"]*)"', waiting.text).group(1)
        .replace("&amp;", "&")).text)
    declined = env.app.test_cli_runner().invoke(
        args=["sync", "run", str(client.id), "--delete-old-accounts"], input="n\n")
    on_cli = set(re.findall(r"^\s+(\d{4}) (.+?) \(\d+ rader\)$", declined.output, re.M))
    assert on_customer_page == on_admin_page == on_cli == STALE
    requested_by = db.session.scalars(select(SyncRun.requested_by).where(
        SyncRun.kind == RunKind.PREVIEW_OLD_ACCOUNTS).order_by(SyncRun.id)).all()
    assert requested_by == [KUNDE[0], OPERATOR[0], "cli"]
