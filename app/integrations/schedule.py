"""A client's schedule and escalation, in one place.

When a client's next scheduled sync is due (a staggered slot per client), what a run's end
does to it (success resets, a scheduled failure counts towards "krever oppfølging" and then a
paused schedule), resuming, and whether the source can reach the client at all. The queue
calls ``after_run_succeeded`` / ``after_run_failed`` inside a run's final transaction (wired
by the app factory); the operations call ``start``, ``stop`` and ``resume``; the scheduler
calls ``enqueue_due_syncs`` and ``enqueue_client_refreshes``.

Commit policy: the state changes here join their caller's transaction; the two scheduler
entry points commit (they are the outermost call of a scheduler job).
"""

import hashlib
import logging
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import exists, or_, select, update

from app.audit.operations import Actor, record
from app.db_types import utcnow
from app.extensions import db
from app.integrations.models import Client, Integration, IntegrationStatus, SyncResult
from app.jobs.executor import FinishedRun
from app.jobs.models import ACTIVE_STATUSES, RunKind, SyncRun, Trigger
from app.jobs.queue import enqueue, enqueue_for_clients

log = logging.getLogger(__name__)

SCHEDULER = Actor.system("scheduler")
SYNC_KINDS = (RunKind.INCREMENTAL_SYNC, RunKind.FULL_SYNC)
CHUNK = 1000
# Escalation and pause are cleared together: a client starts afresh.
_AFRESH = {"schedule_paused_reason": None, "needs_attention": False, "consecutive_failures": 0}


# --- when the next scheduled sync is due -----------------------------------------------------


def sync_interval_seconds(integration: Integration | None) -> int:
    """The sync interval of ``integration`` (or any row with ``sync_interval_minutes``)."""
    minutes = getattr(integration, "sync_interval_minutes", None)
    return 60 * (minutes or current_app.config["SYNC_INTERVAL_MINUTES"])


def client_phase(client_id: int, interval_seconds: int) -> int:
    """A deterministic offset within the interval, spreading clients evenly (a hash of the id)."""
    digest = hashlib.blake2b(str(client_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % max(interval_seconds, 1)


def next_sync_time(
    client_id: int, interval_seconds: int, now: datetime, *, min_gap: bool = False
) -> datetime:
    """The client's next slot after ``now``: slots are ``phase + k * interval`` (epoch seconds).

    Each client keeps its own minute within the interval forever (staggered, no drift).
    ``min_gap`` (after a manual sync) skips a slot less than half an interval away.
    """
    phase = client_phase(client_id, interval_seconds)
    t = int(now.timestamp())
    slot = phase + ((t - phase) // interval_seconds + 1) * interval_seconds
    if min_gap and slot - t < interval_seconds // 2:
        slot += interval_seconds
    return datetime.fromtimestamp(slot, UTC)


# --- the state changes the operations make ---------------------------------------------------


def start(client_ids: list[int]) -> None:
    """Newly activated clients: due at once, escalation and pause cleared."""
    db.session.execute(
        update(Client)
        .where(Client.id.in_(client_ids))
        .values(next_sync_at=utcnow(), **_AFRESH)
        .execution_options(synchronize_session=False)
    )


def stop(client_ids: list[int]) -> None:
    """Deactivated clients have no next sync."""
    db.session.execute(
        update(Client)
        .where(Client.id.in_(client_ids))
        .values(next_sync_at=None)
        .execution_options(synchronize_session=False)
    )


def resume(client_ids: list[int]) -> list[int]:
    """Resume paused schedules and clear "krever oppfølging": due at once. Returns the ids
    of the clients that were paused or flagged."""
    stuck = list(db.session.scalars(
        select(Client.id).where(
            Client.id.in_(client_ids),
            Client.schedule_paused_reason.is_not(None) | Client.needs_attention.is_(True),
        )
    )) if client_ids else []
    if stuck:
        db.session.execute(
            update(Client)
            .where(Client.id.in_(stuck))
            .values(next_sync_at=utcnow(), **_AFRESH)
            .execution_options(synchronize_session=False)
        )
    return stuck


def mark_unreachable(client: Client, reason: str, *, actor: Actor) -> None:
    """The source no longer reaches the client: it waits until a refresh finds it again."""
    if client.reachable:
        client.unreachable_since = utcnow()
    client.reachable = False
    client.unreachable_reason = reason
    record(actor, "client_unreachable", client, reason=reason)


def mark_reachable(client: Client) -> None:
    """The source reaches the client (again)."""
    client.reachable = True
    client.unreachable_since = None
    client.unreachable_reason = None


# --- what a run's end does to the client (hooks the queue calls) -----------------------------


def after_run_succeeded(run: FinishedRun, now: datetime) -> None:
    """A sync succeeded: escalation and pause cleared, the next slot set (at least half an
    interval away)."""
    if run.client_id is None or run.kind not in SYNC_KINDS:
        return
    client = db.session.execute(
        select(Client.active, Client.schedule_paused_reason, Integration.sync_interval_minutes)
        .join(Integration, Integration.id == Client.integration_id)
        .where(Client.id == run.client_id)
    ).first()
    if client is None:
        return
    values = dict(_AFRESH)
    if client.active:
        values["next_sync_at"] = next_sync_time(
            run.client_id, sync_interval_seconds(client), now, min_gap=True
        )
    clients = Client.__table__
    db.session.execute(update(clients).where(clients.c.id == run.client_id).values(**values))
    if client.schedule_paused_reason is not None:
        record(Actor.system("worker"), "schedule_resumed", db.session.get(Client, run.client_id),
               run_id=run.id, reason="manual_success")


def after_run_failed(run: FinishedRun, message: str) -> None:
    """A client's sync failed for good: count a scheduled failure, flag the client, pause its
    schedule when it keeps on failing."""
    if run.client_id is None or run.kind not in SYNC_KINDS:
        return
    client = db.session.get(Client, run.client_id)
    if client is None:
        return
    client.last_sync_result = SyncResult.FAILED
    client.last_sync_message = message
    if run.kind != RunKind.INCREMENTAL_SYNC or run.trigger != Trigger.SCHEDULE:
        return
    # A lost authorization is the integration's problem, shown there; its clients wait for it.
    status = db.session.scalar(select(Integration.status).where(Integration.id == run.integration_id))
    if status == IntegrationStatus.REAUTHORIZATION_REQUIRED:
        return
    db.session.execute(
        update(Client)
        .where(Client.id == client.id)
        .values(consecutive_failures=Client.consecutive_failures + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(client, ["consecutive_failures"])
    failures = client.consecutive_failures
    config = current_app.config
    if failures >= config["FAILURES_BEFORE_ATTENTION"] and not client.needs_attention:
        client.needs_attention = True
        record(SCHEDULER, "client_needs_attention", client, run_id=run.id, failures=failures,
               error=message)
    if failures >= config["FAILURES_BEFORE_PAUSE"] and client.schedule_paused_reason is None:
        client.schedule_paused_reason = (
            f"Automatisk synkronisering er satt på pause etter {failures} feil på rad. "
            f"Siste feil: {message}"
        )
        record(SCHEDULER, "schedule_paused", client, run_id=run.id, failures=failures,
               error=message)


# --- the scheduler's entry points --------------------------------------------------------------


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
    next staggered slot (set-based, in chunks of 1,000). Commits per chunk."""
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
    for start_at in range(0, len(rows), CHUNK):
        chunk = rows[start_at:start_at + CHUNK]
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
    """Queue a client-list refresh for every connected integration (daily by default). Commits."""
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
