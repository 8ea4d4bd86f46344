"""PostgreSQL (COPY + merge) and SQLite (executemany) write the same store: the same source,
synced through the same sequence of full, killed-full and in-place syncs, leaves identical rows
(values, hashes, generations, ``changed_at``, tombstones) and reports the same changes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.accounting import store
from app.accounting.models import (
    SYNCED_MODELS,
    DatasetState,
    GLBalance,
    JournalBatch,
    JournalLine,
    LedgerCustomer,
)
from app.customers.models import Customer
from app.extensions import db
from app.integrations.models import Client, Integration
from app.sync import mapping

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
PERIODS = ("202501", "202502")
AMOUNTS = ("0", "100", "250.5", "99.99")

customers = st.dictionaries(st.sampled_from(["10001", "10002", "10003", "10004"]),
                            st.sampled_from(["Alfa AS", "Beta AS", "Gamma AS"]), max_size=4)
balances = st.dictionaries(
    st.tuples(st.sampled_from(PERIODS), st.sampled_from(["1920", "3000", "6300"])),
    st.tuples(st.sampled_from(AMOUNTS), st.sampled_from(AMOUNTS)), max_size=5)
lines = st.dictionaries(st.integers(1, 3),
                        st.tuples(st.sampled_from(["1920", "3000"]), st.sampled_from(AMOUNTS),
                                  st.sampled_from(["", "Husleie"])), min_size=1, max_size=3)
batches = st.dictionaries(
    st.sampled_from(["0001", "0002", "0003", "0004"]),
    st.tuples(st.sampled_from(["Posted", "Posted", "Voided"]), st.sampled_from(PERIODS), lines),
    max_size=4)
snapshots = st.fixed_dictionaries({"customers": customers, "balances": balances,
                                   "batches": batches})
steps = st.lists(st.tuples(snapshots, st.sampled_from(["full", "incremental", "killed"]),
                           st.integers(1, 3)), min_size=1, max_size=5)


def source(snapshot: dict, stamp: str) -> dict[str, list[dict]]:
    """The snapshot as Visma records."""
    return {
        "customers": [{"number": n, "name": name, "status": "Active",
                       "lastModifiedDateTime": stamp}
                      for n, name in sorted(snapshot["customers"].items())],
        "balances": [{"financialPeriod": p, "account": {"number": a, "type": "Asset"},
                      "periodToDateDebit": d, "periodToDateCredit": c,
                      "lastModifiedDateTime": stamp}
                     for (p, a), (d, c) in sorted(snapshot["balances"].items())],
        "batches": [{"batchNumber": b, "module": "GL", "status": status, "financialPeriod": p,
                     "transactionDate": f"{p[:4]}-{p[4:]}-03", "description": "Bilag",
                     "lastModifiedDateTime": stamp,
                     "journalTransactionLines": [
                         {"lineNumber": n, "accountNumber": account, "debitAmount": amount,
                          "creditAmount": 0, "description": text}
                         for n, (account, amount, text) in sorted(batch_lines.items())]}
                    for b, (status, p, batch_lines) in sorted(snapshot["batches"].items())],
    }


def pages(items: list, size: int) -> list[list]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def full_sync(client_id: int, records: dict, now: datetime, size: int, *, killed: bool
              ) -> list:
    """What the engine's full sync does with the store, page by page (a killed one stops
    before its flip, after half of the journal)."""
    results = []
    old, new = store.begin_full_sync(client_id)
    for page in pages(records["customers"], size):
        results.append(store.write_rows(LedgerCustomer, client_id, new,
                                        [mapping.party_row(r) for r in page], now=now,
                                        carry_from=old))
    for page in pages(records["balances"], size):
        results.append(store.write_rows(GLBalance, client_id, new,
                                        [mapping.gl_balance_row(r) for r in page], now=now,
                                        carry_from=old))
    journal = pages(records["batches"], size)
    for page in journal[: len(journal) // 2] if killed else journal:
        headers = [mapping.journal_batch_row(r, now=now) for r in page]
        live = [(b, r) for b, r in zip(headers, page, strict=True) if b["deleted_at"] is None]
        results.append(store.write_rows(JournalBatch, client_id, new, [b for b, _ in live],
                                        now=now, carry_from=old))
        results.append(store.write_journal_lines(
            client_id, new, store.journal_line_rows(
                (b, mapping.journal_line_values(b, r["journalTransactionLines"])) for b, r in live),
            now=now, carry_from=old))
    db.session.commit()
    if not killed:
        results.append(store.finish_full_sync(client_id, old=old, new=new, now=now,
                                              bookmarks={}))
    return results


def incremental_sync(client_id: int, records: dict, now: datetime, size: int) -> list:
    """In place: upserts reporting what changed, and tombstones for what vanished."""
    results = []
    generation = store.current_generation(client_id, "journal_batches")
    seen = set()
    for page in pages(records["customers"], size):
        rows = [mapping.party_row(r) for r in page]
        changed: list[dict] = []
        results.append(store.write_rows(LedgerCustomer, client_id, generation, rows, now=now,
                                        changed=changed))
        results.append(sorted(row["number"] for row in changed))
        seen.update((row["number"],) for row in rows)
        db.session.commit()
    results.append(sorted(store.tombstone_missing(LedgerCustomer, client_id, generation, seen,
                                                  now=now)))
    for page in pages(records["balances"], size):
        results.append(store.write_rows(GLBalance, client_id, generation,
                                        [mapping.gl_balance_row(r) for r in page], now=now))
    for page in pages(records["batches"], size):
        pairs = [mapping.journal_rows(r, now=now) for r in page]
        changed = []
        results.append(store.write_rows(JournalBatch, client_id, generation,
                                        [b for b, _ in pairs], now=now))
        results.append(store.write_rows(JournalLine, client_id, generation,
                                        [x for _, found in pairs for x in found], now=now,
                                        changed=changed))
        results.append(sorted((x["batch_number"], x["line_number"]) for x in changed))
        db.session.commit()
    db.session.commit()
    return results


def new_client() -> int:
    owner = Customer(name=f"Paritet {uuid.uuid4().hex[:8]}")
    db.session.add(owner)
    db.session.flush()
    integration = Integration(customer_id=owner.id, description="")
    db.session.add(integration)
    db.session.flush()
    client = Client(integration_id=integration.id, external_id=uuid.uuid4().hex, name="P")
    db.session.add(client)
    db.session.commit()
    return client.id


def dump(client_id: int) -> dict:
    """Every stored row of the client (all generations, tombstones too) without surrogate ids,
    and the visible generation and row count per data set."""
    out = {}
    for name, model in SYNCED_MODELS.items():
        columns = [c for c in model.__table__.columns if c.name not in ("id", "client_id")]
        rows = db.session.execute(select(*columns).where(model.client_id == client_id)).all()
        out[name] = sorted(tuple(row) for row in rows)
    out["state"] = sorted(db.session.execute(
        select(DatasetState.dataset, DatasetState.current_generation, DatasetState.row_count)
        .where(DatasetState.client_id == client_id)).all())
    return out


def run_steps(app, plan: list) -> tuple[list, dict]:
    with app.app_context():
        client_id = new_client()
        results = []
        for number, (snapshot, kind, size) in enumerate(plan):
            now = NOW + timedelta(hours=number)
            records = source(snapshot, (now - timedelta(minutes=5)).strftime(
                "%Y-%m-%dT%H:%M:%S.000"))
            if kind == "incremental" and store.current_generation(client_id, "accounts"):
                results.append(incremental_sync(client_id, records, now, size))
            else:
                results.append(full_sync(client_id, records, now, size,
                                         killed=kind == "killed"))
        return results, dump(client_id)


@pytest.fixture
def both(app, pg_app):
    return app, pg_app


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=steps)
def test_postgres_and_sqlite_store_the_same(both, plan):
    sqlite_app, postgres_app = both
    on_sqlite, sqlite_rows = run_steps(sqlite_app, plan)
    on_postgres, postgres_rows = run_steps(postgres_app, plan)
    assert on_postgres == on_sqlite
    for name in sqlite_rows:
        assert postgres_rows[name] == sqlite_rows[name], name
