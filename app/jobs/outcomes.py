"""Finishing a claimed run: success, retry with back-off, failure, and escalation per client.

The sync engine applies the domain effects of a run (data, client reachability, integration
status); this module owns what happens to the run itself and to the client's schedule.
"""

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import case, select, update

from app.audit.operations import Actor, record
from app.db_types import utcnow
from app.extensions import db
from app.integrations.models import Client, Integration, IntegrationStatus, SyncResult
from app.jobs.models import RunKind, RunStatus, SyncRun, Trigger
from app.jobs.queue import Claim
from app.jobs.runtime import Outcome

log = logging.getLogger(__name__)

SYNC_KINDS = (RunKind.INCREMENTAL_SYNC, RunKind.FULL_SYNC)
UNEXPECTED_ERROR_MESSAGE = (
    "Det oppstod en uventet feil under kjøringen. Feilen er logget hos Sticos. "
    "Prøv igjen senere, eller kontakt Sticos hvis det gjentar seg."
)
MAX_BACKOFF_SECONDS = 3600


def _locked_claim(claim: Claim) -> SyncRun | None:
    """The run if this claim still holds it, row-locked on PostgreSQL."""
    return db.session.scalar(
        select(SyncRun)
        .where(
            SyncRun.id == claim.run_id,
            SyncRun.status == RunStatus.RUNNING,
            SyncRun.worker_id == claim.worker_id,
            SyncRun.attempts == claim.attempt,
        )
        .with_for_update()
    )


def complete_claim(claim: Claim, outcome: Outcome | None) -> str | None:
    """Mark the run succeeded (or 'warnings'); reset the client's escalation. Commits.

    Returns the new status, or None (changing nothing) when this worker no longer holds the
    run. Core statements only: this is the hot path of every run.
    """
    outcome = outcome or Outcome()
    now = utcnow()
    status = RunStatus.WARNINGS if outcome.warnings else RunStatus.SUCCEEDED
    values = {
        "status": status,
        "warnings": list(outcome.warnings),
        "finished_at": now,
        "active_key": None,
        "lease_expires_at": None,
        "error_message": None,
        "current_step": (outcome.message or "Ferdig")[:200],
        "progress_done": case(
            (SyncRun.progress_total.is_not(None), SyncRun.progress_total),
            else_=SyncRun.progress_done,
        ),
    }
    if outcome.counts:
        values["counts"] = dict(outcome.counts)
    table = SyncRun.__table__
    row = db.session.execute(
        update(table)
        .where(
            table.c.id == claim.run_id,
            table.c.status == RunStatus.RUNNING,
            table.c.worker_id == claim.worker_id,
            table.c.attempts == claim.attempt,
        )
        .values(**values)
        .returning(table.c.kind, table.c.client_id)
    ).first()
    if row is None:
        db.session.rollback()
        log.warning("Run %s finished but its claim was lost (lease expired?)", claim.run_id)
        return None
    if row.client_id is not None and row.kind in SYNC_KINDS:
        _reset_client_after_success(row.client_id, claim.run_id, now)
    db.session.commit()
    return status


def _reset_client_after_success(client_id: int, run_id: int, now: datetime) -> None:
    client = db.session.execute(
        select(Client.active, Client.schedule_paused_reason, Integration.sync_interval_minutes)
        .join(Integration, Integration.id == Client.integration_id)
        .where(Client.id == client_id)
    ).first()
    if client is None:
        return
    values = {"consecutive_failures": 0, "needs_attention": False, "schedule_paused_reason": None}
    if client.active:
        values["next_sync_at"] = next_sync_time(
            client_id, sync_interval_seconds(client), now, min_gap=True
        )
    clients = Client.__table__
    db.session.execute(update(clients).where(clients.c.id == client_id).values(**values))
    if client.schedule_paused_reason is not None:
        record(Actor.system("worker"), "schedule_resumed", db.session.get(Client, client_id),
               run_id=run_id, reason="manual_success")


def fail_claim(claim: Claim, message: str, *, retryable: bool) -> str | None:
    """Retry later (back-off) while attempts remain and ``retryable``; else mark failed and
    escalate. Returns the run's new status, or None when the claim was lost. Commits."""
    run = _locked_claim(claim)
    if run is None:
        db.session.rollback()
        log.warning("Run %s failed but its claim was lost (lease expired?)", claim.run_id)
        return None
    now = utcnow()
    run.lease_expires_at = None
    if retryable and run.attempts < run.max_attempts:
        delay = retry_delay_seconds(run.attempts)
        run.status = RunStatus.QUEUED
        run.worker_id = None
        run.due_at = now + timedelta(seconds=delay)
        oslo = run.due_at.astimezone(ZoneInfo(current_app.config["SCHEDULER_TIMEZONE"]))
        run.error_message = message
        run.current_step = (
            f"Forsøk {run.attempts} av {run.max_attempts} feilet; nytt forsøk kl. "
            f"{oslo:%H:%M}"
        )[:200]
        db.session.commit()
        return RunStatus.QUEUED
    if retryable and run.max_attempts > 1:
        message = f"{message} (ga opp etter {run.attempts} forsøk)"
    run.status = RunStatus.FAILED
    run.finished_at = now
    run.active_key = None
    run.error_message = message
    _escalate(run, message)
    db.session.commit()
    return RunStatus.FAILED


def retry_delay_seconds(attempts: int) -> int:
    base = current_app.config["RUN_RETRY_BACKOFF_SECONDS"]
    return min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


def _escalate(run: SyncRun, message: str) -> None:
    """A client's scheduled sync failed for good: count it, flag it, pause it when it keeps on."""
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
    actor = Actor.system("scheduler")
    if failures >= config["FAILURES_BEFORE_ATTENTION"] and not client.needs_attention:
        client.needs_attention = True
        record(actor, "client_needs_attention", client, run_id=run.id, failures=failures,
               error=message)
    if failures >= config["FAILURES_BEFORE_PAUSE"] and client.schedule_paused_reason is None:
        client.schedule_paused_reason = (
            f"Automatisk synkronisering er satt på pause etter {failures} feil på rad. "
            f"Siste feil: {message}"
        )
        record(actor, "schedule_paused", client, run_id=run.id, failures=failures, error=message)


# --- When the next scheduled sync is due ----------------------------------------------------


def sync_interval_seconds(integration: Integration | None) -> int:
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
