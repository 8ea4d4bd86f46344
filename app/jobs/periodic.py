"""The scheduler's periodic jobs: module-level functions, no arguments, run in an app context
by ``app.jobs.scheduler.run_job``. They only enqueue or tidy up; workers execute runs."""

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, exists, or_, select, update

from app.audit.operations import Actor
from app.db_types import utcnow
from app.extensions import db
from app.integrations.models import Client, Integration, IntegrationStatus
from app.jobs.models import ACTIVE_STATUSES, RunKind, RunStatus, SyncRun, Trigger
from app.jobs.outcomes import next_sync_time, sync_interval_seconds
from app.jobs.queue import enqueue, enqueue_for_clients, requeue_expired_leases

log = logging.getLogger(__name__)

SCHEDULER = Actor.system("scheduler")
CHUNK = 1000


def due_clients_query(now=None):
    """Active, reachable, unpaused clients of connected integrations whose next sync is due and
    that have no full sync queued or running (an activation's first full sync comes first)."""
    now = now or utcnow()
    full_sync_active = exists().where(
        SyncRun.client_id == Client.id,
        SyncRun.kind == RunKind.FULL_SYNC,
        SyncRun.status.in_(ACTIVE_STATUSES),
    )
    return (
        select(Client.id, Client.integration_id)
        .join(Integration, Integration.id == Client.integration_id)
        .where(
            Client.active.is_(True),
            Client.reachable.is_(True),
            Client.schedule_paused_reason.is_(None),
            Integration.status == IntegrationStatus.CONNECTED,
            or_(Client.next_sync_at.is_(None), Client.next_sync_at <= now),
            ~full_sync_active,
        )
        .order_by(Client.id)
    )


def enqueue_due_syncs() -> dict:
    """Queue an incremental sync for every client that is due, and move its next_sync_at to its
    next staggered slot (set-based, in chunks of 1,000)."""
    now = utcnow()
    rows = db.session.execute(due_clients_query(now)).all()
    intervals = {
        row.id: sync_interval_seconds(row)
        for row in db.session.execute(
            select(Integration.id, Integration.sync_interval_minutes).where(
                Integration.id.in_({r.integration_id for r in rows})
            )
        )
    } if rows else {}
    queued = 0
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        result = enqueue_for_clients(
            RunKind.INCREMENTAL_SYNC, [r.id for r in chunk], actor=SCHEDULER,
            trigger=Trigger.SCHEDULE,
        )
        queued += result.queued
        db.session.execute(
            update(Client),
            [
                {"id": r.id,
                 "next_sync_at": next_sync_time(r.id, intervals[r.integration_id], now)}
                for r in chunk
            ],
        )
        db.session.commit()
    if queued:
        log.info("Queued %d scheduled sync(s) for %d due client(s)", queued, len(rows))
    return {"due": len(rows), "queued": queued}


def enqueue_client_refreshes() -> dict:
    """Queue a client-list refresh for every connected integration (daily by default)."""
    ids = db.session.scalars(
        select(Integration.id).where(Integration.status == IntegrationStatus.CONNECTED)
    ).all()
    queued = 0
    for integration_id in ids:
        _, created = enqueue(
            RunKind.REFRESH_CLIENTS, integration_id=integration_id, actor=SCHEDULER,
            trigger=Trigger.SCHEDULE,
        )
        queued += created
    db.session.commit()
    return {"integrations": len(ids), "queued": queued}


def keep_grants_alive() -> dict:
    """Refresh the grant of every connected integration whose refresh token would run out
    unused within GRANT_KEEPALIVE_DAYS (a customer without active clients keeps its
    connection). At most one forced refresh per integration a day: when the grant's absolute
    lifetime is what runs out, refreshing cannot help and the customer must reconnect. A lost
    authorization is recorded on the integration by the tokens module."""
    from app.integrations import tokens

    now = utcnow()
    horizon = now + timedelta(days=current_app.config["GRANT_KEEPALIVE_DAYS"])
    integrations = db.session.scalars(
        select(Integration).where(
            Integration.status == IntegrationStatus.CONNECTED, Integration.token.is_not(None)
        )
    ).all()
    refreshed = failed = 0
    for integration in integrations:
        expiry = tokens.refresh_expiry(integration)
        last = integration.token_refreshed_at
        if expiry is None or expiry > horizon or (last and now - last < timedelta(days=1)):
            continue
        try:
            tokens.interactive_token(integration.id, force_refresh=True)
            refreshed += 1
        except Exception as exc:
            db.session.rollback()
            failed += 1
            log.warning("Keeping integration %s's grant alive failed: %s", integration.id,
                        type(exc).__name__)
    return {"refreshed": refreshed, "failed": failed}


def reclaim_stale_runs() -> dict:
    """Running runs whose lease expired go back to the queue (or fail after max attempts)."""
    return requeue_expired_leases()


def prune_run_history() -> dict:
    """Delete finished runs: successes after RUN_HISTORY_DAYS_SUCCEEDED, failures after
    RUN_HISTORY_DAYS_FAILED (failures are kept longer: they explain problems)."""
    now = utcnow()
    config = current_app.config
    ok_before = now - timedelta(days=config["RUN_HISTORY_DAYS_SUCCEEDED"])
    failed_before = now - timedelta(days=config["RUN_HISTORY_DAYS_FAILED"])
    ok = db.session.execute(
        delete(SyncRun)
        .where(
            SyncRun.status.in_((RunStatus.SUCCEEDED, RunStatus.WARNINGS, RunStatus.CANCELLED)),
            SyncRun.finished_at < ok_before,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    failed = db.session.execute(
        delete(SyncRun)
        .where(SyncRun.status == RunStatus.FAILED, SyncRun.finished_at < failed_before)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return {"deleted_succeeded": ok, "deleted_failed": failed}
