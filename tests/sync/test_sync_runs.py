"""Client-list refresh, test-data send and «Slett gamle kontoer» (with its preview)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.accounting.models import Account, GLBalance, Organization
from app.accounting.queries import current_rows
from app.extensions import db
from app.integrations.models import Client
from app.jobs.models import RunKind, RunStatus


def _clients(integration):
    db.session.expire_all()
    return {c.name: c for c in db.session.scalars(
        select(Client).where(Client.integration_id == integration.id))}


def test_refresh_clients_new_gone_renamed_and_invalid_orgnr(env):
    integration = env.connect()
    run = env.run(RunKind.REFRESH_CLIENTS, integration)
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    clients = _clients(integration)
    assert set(clients) == {"TrekkSpill", "Testing", "Nordlys Regnskap AS"}  # approved ones
    assert all(not c.active and c.is_new and c.reachable for c in clients.values())
    assert clients["TrekkSpill"].orgnr == "222333444" and not clients["TrekkSpill"].orgnr_valid
    assert clients["Nordlys Regnskap AS"].orgnr_valid
    assert run.counts["new_clients"] == 3 and run.counts["invalid_orgnr"] >= 1

    env.activate(clients["Testing"])
    state = env.sim.state
    state.withdraw(env.tenant("TrekkSpill"))
    state.approve(env.tenant("Bakeriet på Hjørnet AS"))
    state.company(env.tenant("Testing")).name = "Testing Omdøpt AS"
    run = env.run(RunKind.REFRESH_CLIENTS, integration)
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    clients = _clients(integration)
    assert clients["TrekkSpill"].reachable is False  # kept, marked
    assert clients["TrekkSpill"].unreachable_since is not None
    assert clients["Bakeriet på Hjørnet AS"].is_new and not clients["Bakeriet på Hjørnet AS"].active
    assert "Testing Omdøpt AS" in clients and clients["Testing Omdøpt AS"].active
    assert run.counts["new_clients"] == 1

    state.approve(env.tenant("TrekkSpill"))
    env.run(RunKind.REFRESH_CLIENTS, integration)
    clients = _clients(integration)
    assert clients["TrekkSpill"].reachable and clients["TrekkSpill"].unreachable_reason is None


def test_test_data_sends_organization_accounts_and_latest_balances(env):
    integration = env.connect()
    env.run(RunKind.REFRESH_CLIENTS, integration)
    client = env.client_named(integration, "Nordlys Regnskap AS")
    env.activate(client)
    run = env.run(RunKind.TEST_DATA, integration, client)
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.counts["accounts"] == 271 and run.counts["gl_balances"] > 0
    assert run.current_step.startswith("Testdata sendt")
    db.session.refresh(client)
    assert client.test_data_sent_at is not None
    assert db.session.scalar(select(Organization.name).where(Organization.client_id == client.id))
    periods = set(db.session.scalars(select(GLBalance.period).where(GLBalance.client_id == client.id)))
    assert len(periods) == 1
    assert len(db.session.scalars(current_rows(Account, client.id)).all()) == 271


def test_inactive_client_is_never_touched(env):
    integration = env.connect()
    env.run(RunKind.REFRESH_CLIENTS, integration)
    client = env.client_named(integration, "Testing")
    run = env.run(RunKind.DELETE_OLD_ACCOUNTS, integration, client)
    assert run.status == RunStatus.FAILED and "ikke aktiv" in run.error_message


def preview_of(env, integration, client) -> list[dict]:
    run = env.run(RunKind.PREVIEW_OLD_ACCOUNTS, integration, client)
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    return run.result


def test_a_deletion_without_confirmed_ids_deletes_nothing(env):
    integration = env.connect()
    env.run(RunKind.REFRESH_CLIENTS, integration)
    client = env.client_named(integration, "Testing")
    env.activate(client)
    env.sim.state.add_account(client.external_id, "8901", "Gammel konto A")
    env.run(RunKind.FULL_SYNC, integration, client)
    env.sim.state.delete_account(client.external_id, "8901")
    run = env.run(RunKind.DELETE_OLD_ACCOUNTS, integration, client)
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.counts == {"accounts_removed": 0, "gl_balances_removed": 0}
    assert [p["number"] for p in preview_of(env, integration, client)] == ["8901"]


def test_delete_old_accounts_preview_and_run(env):
    integration = env.connect()
    env.run(RunKind.REFRESH_CLIENTS, integration)
    client = env.client_named(integration, "Testing")
    env.activate(client)
    state, tenant = env.sim.state, client.external_id
    state.add_account(tenant, "8901", "Gammel konto A")
    state.add_account(tenant, "8902", "Gammel konto B")
    env.run(RunKind.FULL_SYNC, integration, client)
    assert preview_of(env, integration, client) == []
    state.delete_account(tenant, "8901")
    state.delete_account(tenant, "8902")
    preview = preview_of(env, integration, client)
    assert [(p["number"], p["description"]) for p in preview] == [
        ("8901", "Gammel konto A"), ("8902", "Gammel konto B")]
    assert all(p["rows_affected"] >= 1 for p in preview)
    keep = [p["id"] for p in preview if p["number"] == "8901"]
    run = env.run(RunKind.DELETE_OLD_ACCOUNTS, integration, client, params={"account_ids": keep})
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.counts == {"accounts_removed": 1, "gl_balances_removed": 0}
    numbers = set(db.session.scalars(select(Account.account_number).where(
        Account.client_id == client.id)))
    assert "8901" not in numbers and "8902" in numbers
    assert [p["number"] for p in preview_of(env, integration, client)] == ["8902"]
    assert db.session.scalar(select(func.count()).select_from(Account).where(
        Account.client_id == client.id)) == 272
