"""The per-client resources: content, filters, changed_since with tombstones, and that a
reader sees the previous complete copy until a full sync has committed the new one."""

from datetime import timedelta
from decimal import Decimal

import pytest

from app.accounting.models import Account, JournalLine
from app.accounting.store import begin_full_sync, finish_full_sync, tombstone_missing, write_rows
from app.db_types import utcnow
from app.extensions import db
from tests.api.ledger import ACCOUNTS, line_values, small_ledger


@pytest.fixture
def ledger(app, world):
    with app.app_context():
        small_ledger(world.client_a1)
    return world


def test_clients_carry_freshness_and_filters(app, api, ledger):
    rows = api.get("/api/v1/clients?orgnr=NO 974 760 673 MVA").get_json()["data"]
    assert [r["id"] for r in rows] == [ledger.client_a1]
    assert set(rows[0]["freshness"]) >= {"accounts", "journal_lines", "gl_balances"}
    active = api.get(f"/api/v1/clients?customer={ledger.customer_a}&active=false").get_json()
    assert [r["id"] for r in active["data"]] == [ledger.client_a2]


@pytest.mark.parametrize(
    "path, count",
    [
        ("accounts", 10),
        ("periods", 12),
        ("balances", 120),
        ("journal-lines", 12),
        ("journal-batches", 3),
        ("customers", 5),
        ("suppliers", 5),
        ("customer-balances", 5),
        ("supplier-balances", 5),
    ],
)
def test_every_data_set_is_readable_and_paged(api, ledger, path, count):
    rows = api.walk(f"/api/v1/clients/{ledger.client_a1}/{path}", limit=4)
    assert len(rows) == count
    assert all(row["deleted"] is False for row in rows)


def test_money_is_a_decimal_string_and_lines_sit_in_their_batch(api, ledger):
    body = api.get(f"/api/v1/clients/{ledger.client_a1}/journal-batches?limit=1").get_json()
    batch = body["data"][0]
    assert batch["batch_number"] == "0000000" and len(batch["lines"]) == 4
    assert [line["line_number"] for line in batch["lines"]] == [1, 2, 3, 4]
    assert Decimal(batch["lines"][0]["debit"]) == line_values(0, 1)["debit"]
    assert batch["lines"][0]["debit"].endswith(".25")


def test_balances_by_period_range_and_account(api, ledger):
    base = f"/api/v1/clients/{ledger.client_a1}/balances"
    rows = api.walk(base, account="3000", from_period="202403", to_period="202405")
    assert [(r["period"], r["account_number"]) for r in rows] == [
        ("202403", "3000"),
        ("202404", "3000"),
        ("202405", "3000"),
    ]
    assert rows[0]["ytd_balance"] == "103.00"
    assert api.get(base + "?from_period=2024-01").status_code == 400


def test_journal_by_period_and_date_range(api, ledger):
    base = f"/api/v1/clients/{ledger.client_a1}"
    by_period = api.walk(base + "/journal-lines", from_period="202402", to_period="202402")
    assert {r["batch_number"] for r in by_period} == {"0000001"}
    by_date = api.walk(base + "/journal-batches", from_date="2024-02-01", to_date="2024-03-31")
    assert [b["batch_number"] for b in by_date] == ["0000001", "0000002"]
    lines = api.walk(base + "/journal-lines", from_date="2024-03-01")
    assert {r["batch_number"] for r in lines} == {"0000002"}


def test_changed_since_includes_tombstones(app, api, ledger):
    client_id = ledger.client_a1
    before = utcnow()
    with app.app_context():
        now = utcnow() + timedelta(seconds=1)
        # An incremental sync: one account changed, one gone from the source.
        write_rows(
            Account,
            client_id,
            0,
            [
                {
                    "account_number": "3000",
                    "account_id": 5,
                    "description": "Salgsinntekt",
                    "type": "Income",
                    "active": True,
                }
            ],
            now=now,
        )
        seen = {(n,) for n in ACCOUNTS if n != "8050"}
        tombstone_missing(Account, client_id, 0, seen, now=now)
        db.session.commit()
    since = before.isoformat().replace("+00:00", "Z")
    rows = api.walk(f"/api/v1/clients/{client_id}/accounts", changed_since=since)
    assert {(r["account_number"], r["deleted"]) for r in rows} == {("3000", False), ("8050", True)}
    normal = api.walk(f"/api/v1/clients/{client_id}/accounts")
    assert "8050" not in {r["account_number"] for r in normal} and len(normal) == 9
    assert (
        api.get(f"/api/v1/clients/{client_id}/accounts?changed_since=2024-01-01").status_code == 400
    )


def test_a_reader_sees_the_old_copy_until_the_full_sync_commits(app, api, ledger):
    client_id = ledger.client_a1
    path = f"/api/v1/clients/{client_id}/journal-lines"
    old_rows = api.walk(path)
    with app.app_context():
        old, new = begin_full_sync(client_id)
        now = utcnow()
        # Half of the new copy is written (and committed page by page) …
        write_rows(
            JournalLine,
            client_id,
            new,
            [line_values(0, n, note=" (ny)") for n in (1, 2)],
            now=now,
            carry_from=old,
        )
        db.session.commit()
    # … readers still see the complete old copy.
    assert api.walk(path) == old_rows
    with app.app_context():
        write_rows(
            JournalLine,
            client_id,
            new,
            [line_values(1, n, note=" (ny)") for n in (1, 2)],
            now=now,
            carry_from=old,
        )
        db.session.commit()
        finish_full_sync(client_id, old=old, new=new, now=now, bookmarks={})
    rows = api.walk(path)
    assert [(r["batch_number"], r["line_number"]) for r in rows] == [
        ("0000000", 1),
        ("0000000", 2),
        ("0000001", 1),
        ("0000001", 2),
    ]
    assert all(r["description"].endswith("(ny)") for r in rows)


def test_per_client_resources_respect_the_key_scope(api, make_key, ledger):
    from app.api.resources import endpoints

    key = make_key("Kunde B", customer_id=ledger.customer_b)
    # Every endpoint that names a client, so a new one cannot forget the scope check.
    paths = [e.path for e in endpoints() if "{client_id}" in e.path]
    assert len(paths) >= 10
    for path in paths:
        url = "/api/v1" + path.replace("{client_id}", str(ledger.client_a1))
        response = api.get(url, key=key)
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"
        own = api.get("/api/v1" + path.replace("{client_id}", str(ledger.client_b1)), key=key)
        assert own.status_code == 200, path
