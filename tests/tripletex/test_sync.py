"""A Tripletex integration through the product's own queue and store: connect by key, refresh
the client list, full and incremental syncs equal to the simulator's ground truth, faults."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounting import store
from app.accounting.models import SYNCED_MODELS, Account, Organization
from app.accounting.queries import current_rows
from app.audit.operations import Actor
from app.db_types import utcnow
from app.extensions import db
from app.integrations import operations
from app.integrations.models import Client, IntegrationStatus, System
from app.jobs.models import RunKind, RunStatus, SyncRun, Trigger
from app.jobs.queue import enqueue
from app.jobs.worker import run_inline
from app.tripletex import mapping
from app.tripletex.errors import KeyRejected, WrongEnvironment
from app.tripletex.simulator.control import ground_truth
from tests.factories import CustomerFactory

ACTOR = Actor.system("test")
SKIP = {"id", "client_id", "generation", "row_hash", "changed_at", "deleted_at"}
TRUTH_SOURCES = {"accounts": "accounts", "periods": "periods", "gl_balances": "balances",
                 "customers": "customers", "suppliers": "suppliers"}


@pytest.fixture
def world(app, sim):
    app.config.update(TRIPLETEX_API_URL=sim.api_url,
                      TRIPLETEX_CONSUMER_TOKEN=sim.consumer_token)
    with app.app_context():
        yield sim


def run(kind, integration, client=None) -> SyncRun:
    queued, _ = enqueue(kind, integration_id=integration.id,
                        client_id=client.id if client else None, actor=ACTOR,
                        trigger=Trigger.CLI)
    db.session.commit()
    run_id = queued.id
    run_inline(run_id)
    db.session.expire_all()
    return db.session.get(SyncRun, run_id)


def connected(sim, key=None):
    customer = CustomerFactory(name="Byrå AS")
    integration, found = operations.connect_with_key(
        customer.id, system=System.TRIPLETEX, key=key or sim.firm_key, actor=ACTOR)
    refreshed = run(RunKind.REFRESH_CLIENTS, integration)
    assert refreshed.status == RunStatus.SUCCEEDED, refreshed.error_message
    return integration, found


def client_named(integration, name) -> Client:
    return db.session.scalar(select(Client).where(Client.integration_id == integration.id,
                                                  Client.name == name))


def active_client(sim, name) -> tuple:
    integration, _ = connected(sim)
    client = client_named(integration, name)
    client.active = True
    db.session.commit()
    return integration, client


def comparable(model, row: dict) -> dict:
    out = {}
    for column in model.__table__.columns:
        if column.name in SKIP:
            continue
        value = row.get(column.name)
        out[column.name] = value.quantize(mapping.CENT) if hasattr(value, "quantize") else value
    return out


def expected(sim, company_id: int) -> dict[str, dict]:
    truth = ground_truth(sim.state, company_id)
    result: dict[str, dict] = {}
    for dataset, source in TRUTH_SOURCES.items():
        model = SYNCED_MODELS[dataset]
        rows = [mapping.ROW_MAPPERS[dataset](r) for r in truth[source]]
        result[dataset] = {tuple(r.get(k, "") for k in model.natural_key): comparable(model, r)
                           for r in rows}
    batches, lines = {}, {}
    for voucher in truth["vouchers"]:
        batch, batch_lines = mapping.journal_rows(voucher)
        batches[(batch["module"], batch["batch_number"])] = comparable(
            SYNCED_MODELS["journal_batches"], batch)
        for line in batch_lines:
            lines[(line["module"], line["batch_number"], line["line_number"])] = comparable(
                SYNCED_MODELS["journal_lines"], line)
    result["journal_batches"], result["journal_lines"] = batches, lines
    return result


def stored(client_id: int, datasets) -> dict[str, dict]:
    result = {}
    for name in datasets:
        model = SYNCED_MODELS[name]
        rows = {}
        for row in db.session.scalars(current_rows(model, client_id)):
            values = {c.name: getattr(row, c.name) for c in model.__table__.columns}
            rows[tuple(values[k] for k in model.natural_key)] = comparable(model, values)
        result[name] = rows
    return result


def assert_store_equals_truth(sim, client: Client) -> None:
    want = expected(sim, int(client.external_id))
    have = stored(client.id, want)
    for name in want:
        missing, extra = set(want[name]) - set(have[name]), set(have[name]) - set(want[name])
        assert not missing and not extra, (name, sorted(missing)[:3], sorted(extra)[:3])
        wrong = [k for k in want[name] if want[name][k] != have[name][k]]
        assert not wrong, (name, wrong[0], want[name][wrong[0]], have[name][wrong[0]])


def test_a_firm_key_lists_its_three_clients_inactive(world):
    integration, found = connected(world)

    clients = db.session.scalars(select(Client).where(Client.integration_id == integration.id)
                                 .order_by(Client.name)).all()
    assert found == 3
    assert [(c.name, c.orgnr, c.active, c.is_new) for c in clients] == [
        ("Fjordlys Rørlegger AS", "911223341", False, True),
        ("Nordkapp Bakeri AS", "987123451", False, True),
        ("Tindeklatring Utstyr AS", "934567897", False, True),
    ]
    assert integration.status == IntegrationStatus.CONNECTED
    assert integration.token == {"key": world.firm_key}


def test_a_single_company_key_gives_a_client_list_of_one(world):
    integration, found = connected(world, key=world.company_key)

    assert found == 1
    assert [c.name for c in integration.clients] == ["Enkeltmannsforetak Demo"]


@pytest.mark.parametrize("key, error", [("test-finnes-ikke", KeyRejected),
                                        ("prod-demo-feil-miljo", WrongEnvironment)])
def test_a_refused_key_creates_nothing(world, key, error):
    customer = CustomerFactory()
    with pytest.raises(error):
        operations.connect_with_key(customer.id, system=System.TRIPLETEX, key=key, actor=ACTOR)
    db.session.rollback()

    assert customer.integrations == []


def test_a_full_sync_stores_exactly_the_ground_truth(world):
    integration, _ = connected(world)
    client = client_named(integration, "Nordkapp Bakeri AS")
    operations.activate_clients([client.id], actor=ACTOR)
    queued = db.session.scalar(select(SyncRun).where(SyncRun.client_id == client.id))
    run_inline(queued.id)
    db.session.expire_all()

    done = db.session.get(SyncRun, queued.id)
    assert done.status == RunStatus.SUCCEEDED, (done.error_message, done.warnings)
    assert_store_equals_truth(world, client)
    organization = db.session.scalar(select(Organization).where(
        Organization.client_id == client.id))
    assert (organization.name, organization.corporate_id) == ("Nordkapp Bakeri AS", "987123451")
    assert client.last_sync_result == "succeeded"
    assert db.session.scalar(select(db.func.count()).select_from(
        SYNCED_MODELS["customer_balances"]).where(
        SYNCED_MODELS["customer_balances"].client_id == client.id)) > 0


def test_an_incremental_sync_finds_new_changed_and_deleted_vouchers(world):
    integration, client = active_client(world, "Fjordlys Rørlegger AS")
    assert run(RunKind.FULL_SYNC, integration, client).status == RunStatus.SUCCEEDED
    company = int(client.external_id)
    truth = ground_truth(world.state, company)
    victim = next(v for v in truth["vouchers"] if v["date"].startswith("2025-03"))
    world.state.delete_voucher(company, victim["id"])
    world.state.add_voucher(company, "2025-06-15", "Etterført kontantsalg",
                            [{"accountNumber": 1920, "amount": 1250},
                             {"accountNumber": 3000, "amount": -1250}])
    customer = truth["customers"][0]
    world.state.update_party(company, "customer", customer["id"], name="Omdøpt Kunde AS")

    synced = run(RunKind.INCREMENTAL_SYNC, integration, client)

    # With three vouchers a month, one deleted moves March's total enough to be pointed out;
    # every accounting check still holds.
    assert synced.status in (RunStatus.SUCCEEDED, RunStatus.WARNINGS), synced.error_message
    assert {w["check"] for w in synced.warnings} <= {"period_total_jump"}
    assert synced.counts.get("journal_batches_removed") == 1
    assert_store_equals_truth(world, client)


def test_a_revoked_key_asks_for_a_new_one_and_keeps_the_data(world):
    integration, client = active_client(world, "Tindeklatring Utstyr AS")
    assert run(RunKind.FULL_SYNC, integration, client).status == RunStatus.SUCCEEDED
    world.state.revoke_key(world.firm_key)

    failed = run(RunKind.INCREMENTAL_SYNC, integration, client)

    assert failed.status == RunStatus.FAILED
    assert "lim inn en ny nøkkel" in failed.error_message
    assert integration.status == IntegrationStatus.REAUTHORIZATION_REQUIRED
    assert integration.token is None
    assert db.session.scalar(current_rows(SYNCED_MODELS["accounts"], client.id).limit(1))


def test_a_client_the_firm_lost_access_to_becomes_unreachable(world):
    integration, client = active_client(world, "Tindeklatring Utstyr AS")
    world.state.set_client_access(world.firm_key, int(client.external_id), False)

    failed = run(RunKind.FULL_SYNC, integration, client)

    assert failed.status == RunStatus.FAILED
    assert client.reachable is False
    assert integration.status == IntegrationStatus.CONNECTED
    refreshed = run(RunKind.REFRESH_CLIENTS, integration)
    assert refreshed.counts["unreachable_clients"] == 1


@pytest.mark.postgres
def test_full_then_incremental_on_postgres(pg_app, sim):
    """The same reader on PostgreSQL (its own upsert dialect and generation flip)."""
    pg_app.config.update(TRIPLETEX_API_URL=sim.api_url,
                         TRIPLETEX_CONSUMER_TOKEN=sim.consumer_token)
    with pg_app.app_context():
        integration, client = active_client(sim, "Nordkapp Bakeri AS")
        assert run(RunKind.FULL_SYNC, integration, client).status == RunStatus.SUCCEEDED
        assert_store_equals_truth(sim, client)
        company = int(client.external_id)
        victim = ground_truth(sim.state, company)["vouchers"][-1]
        sim.state.delete_voucher(company, victim["id"])
        sim.state.add_voucher(company, "2026-02-03", "Kontantkjøp",
                              [{"accountNumber": 6800, "amount": 480},
                               {"accountNumber": 1920, "amount": -480}])

        synced = run(RunKind.INCREMENTAL_SYNC, integration, client)

        assert synced.status in (RunStatus.SUCCEEDED, RunStatus.WARNINGS), synced.error_message
        assert_store_equals_truth(sim, client)


def test_tripletex_down_puts_the_run_back_in_the_queue_and_changes_nothing_else(world, app):
    app.config.update(TRIPLETEX_MAX_ATTEMPTS=2, TRIPLETEX_BACKOFF_SECONDS=0.01)
    integration, client = active_client(world, "Nordkapp Bakeri AS")
    world.state.set_faults(error_rate=1.0)

    failed = run(RunKind.FULL_SYNC, integration, client)

    assert failed.status == RunStatus.QUEUED  # retried later by the queue
    assert "Tripletex svarer ikke akkurat nå" in failed.error_message
    assert integration.status == IntegrationStatus.CONNECTED
    assert client.reachable is True


def test_test_data_and_old_accounts_read_tripletex(world):
    integration, client = active_client(world, "Nordkapp Bakeri AS")

    sent = run(RunKind.TEST_DATA, integration, client)

    assert sent.status == RunStatus.SUCCEEDED, sent.error_message
    assert sent.counts["accounts"] == len(ground_truth(world.state, int(client.external_id))[
        "accounts"])
    assert sent.counts["gl_balances"] > 0
    gone = {"account_number": "9999", "account_id": None, "description": "Nedlagt konto",
            "type": "Expense", "active": True, "source_modified_at": None}
    store.write_rows(Account, client.id, store.current_generation(client.id, "accounts"),
                     [gone], now=utcnow())
    db.session.commit()

    preview = run(RunKind.PREVIEW_OLD_ACCOUNTS, integration, client)

    assert preview.status == RunStatus.SUCCEEDED, preview.error_message
    assert [(a["number"], a["description"]) for a in preview.result] == [("9999", "Nedlagt konto")]
