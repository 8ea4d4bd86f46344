"""Bulk data for the admin's performance tests and benchmark: Core inserts, seconds not minutes."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from app.customers.models import Customer
from app.extensions import db
from app.integrations.models import Client, Integration, IntegrationStatus
from app.jobs.models import RunKind, RunStatus, SyncRun

KINDS = [RunKind.INCREMENTAL_SYNC, RunKind.FULL_SYNC, RunKind.TEST_DATA, RunKind.REFRESH_CLIENTS]
STATUSES = [RunStatus.SUCCEEDED] * 6 + [RunStatus.FAILED, RunStatus.WARNINGS, RunStatus.CANCELLED]


def _naive(value: datetime) -> datetime:
    # Core inserts bypass nothing: UTCDateTime still converts, so pass aware values.
    return value


def seed_volume(*, customers: int = 100, clients: int = 10_000, runs: int = 100_000) -> None:
    """``customers`` customers with one integration each, ``clients`` clients spread over them,
    ``runs`` finished runs (plus a few queued/running), all with Core bulk inserts."""
    now = datetime.now(UTC)
    start = db.session.scalar(select(db.func.count()).select_from(Customer)) or 0
    db.session.execute(insert(Customer), [
        {"name": f"Volumkunde {start + i:05d} AS", "orgnr": None, "created_at": now}
        for i in range(customers)
    ])
    customer_ids = list(db.session.scalars(
        select(Customer.id).where(Customer.name.like("Volumkunde %")).order_by(Customer.id)
    ))[-customers:]
    db.session.execute(insert(Integration), [
        {"customer_id": cid, "system": "visma_net", "description": f"Volum {cid}",
         "status": IntegrationStatus.CONNECTED if i % 10 else IntegrationStatus.REAUTHORIZATION_REQUIRED,
         "created_at": now, "updated_at": now}
        for i, cid in enumerate(customer_ids)
    ])
    integration_ids = list(db.session.scalars(
        select(Integration.id).where(Integration.customer_id.in_(customer_ids)).order_by(Integration.id)
    ))
    db.session.execute(insert(Client), [
        {"integration_id": integration_ids[i % len(integration_ids)], "external_id": f"tenant-{i}",
         "name": f"Klient {i:05d} AS", "orgnr": f"{900000000 + i}", "orgnr_valid": False,
         "active": i % 2 == 0, "reachable": i % 50 != 0, "is_new": False,
         "first_seen_at": now, "last_seen_at": now,
         "last_sync_at": now - timedelta(hours=i % 200) if i % 7 else None,
         "last_sync_result": "succeeded" if i % 7 else None,
         "data_as_of": now - timedelta(hours=i % 200) if i % 7 else None,
         "consecutive_failures": 0, "needs_attention": i % 97 == 0}
        for i in range(clients)
    ])
    client_rows = db.session.execute(
        select(Client.id, Client.integration_id).where(Client.integration_id.in_(integration_ids))
    ).all()
    batch = []
    for i in range(runs):
        client_id, integration_id = client_rows[i % len(client_rows)]
        created = now - timedelta(minutes=runs - i)
        status = STATUSES[i % len(STATUSES)]
        batch.append({
            "kind": KINDS[i % len(KINDS)], "integration_id": integration_id, "client_id": client_id,
            "trigger": "schedule", "requested_by": "scheduler", "params": {},
            "status": status, "active_key": None, "priority": 100, "due_at": created,
            "created_at": created, "started_at": created, "finished_at": created + timedelta(seconds=30),
            "attempts": 1, "max_attempts": 3, "progress_done": 10, "progress_total": 10,
            "counts": {"accounts": 300}, "warnings": [],
            "error_message": "Visma.net svarte 429: for mange forespørsler" if status == RunStatus.FAILED else None,
        })
        if len(batch) == 10_000:
            db.session.execute(insert(SyncRun), batch)
            batch = []
    if batch:
        db.session.execute(insert(SyncRun), batch)
    # A few active runs, as a live system has.
    db.session.execute(insert(SyncRun), [
        {"kind": RunKind.INCREMENTAL_SYNC, "integration_id": integration_id, "client_id": client_id,
         "trigger": "schedule", "requested_by": "scheduler", "params": {},
         "status": RunStatus.QUEUED if n % 2 else RunStatus.RUNNING,
         "active_key": f"incremental_sync:c{client_id}", "priority": 100, "due_at": now,
         "created_at": now - timedelta(minutes=n), "attempts": 0, "max_attempts": 3,
         "progress_done": 0, "counts": {}, "warnings": []}
        for n, (client_id, integration_id) in enumerate(client_rows[:50])
    ])
    db.session.commit()
