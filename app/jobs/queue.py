"""The run queue: every state change of a ``sync_run`` row lives here, and only here.

Enqueue, claim, lease (heartbeat, progress), release, cancel, the outcome (success, retry
with back-off, failure) and pruning old history. Whether a worker still holds a run is one predicate, ``held_by``,
in every statement that changes a claimed run; ``prove_held`` applies it to every other commit
a run makes (``app.jobs.fencing``), so a worker that lost its run changes nothing at all. What
an outcome means for the client (its
next sync, escalation) belongs to the layer above: this module calls the hooks registered
with ``app.jobs.runtime.init_app`` inside the same transaction.

Commit policy: ``enqueue``, ``enqueue_for_clients`` and ``cancel_queued`` leave the commit to
their caller (an operation that also audits); everything a worker calls commits itself.

Enqueueing is deduplicated by ``active_key`` (unique while a run is queued or running).

Claim order: ``(priority, fair_order, id)`` among queued runs that are due, one indexed scan
of ``ix_sync_run_claim (status, priority, fair_order, id)``.

Fairness (start-time fair queueing per integration): every run gets a tag ``fair_order`` in
virtual seconds, ``max(now, the integration's highest queued tag at that priority) + SLOT``,
where SLOT is an hour. An integration that queues 2,000 runs at once gets tags now+1h …
now+2000h; another that queues ten a minute later gets now+1m+1h … now+1m+10h, so the claim
order interleaves them (A1 B1 A2 B2 …): round-robin between integrations without any per-claim
aggregate. An integration that has been idle starts at "now" again (it cannot save up credit),
and a long backlog only pushes its own later runs back. Priority stays the first key, so a
person's manual run goes before every scheduled one.

Limits: at most ``MAX_RUNNING_PER_INTEGRATION`` runs of one integration run at once (the
Visma per-company budget is shared by its clients); scheduled runs of an integration that is
not connected (e.g. "reauthorization required") wait in the queue instead of failing one by
one. On PostgreSQL the claim is ``SELECT … FOR UPDATE SKIP LOCKED`` plus a per-integration
transaction-level advisory lock that makes the limit exact across processes; on SQLite it is
one ``UPDATE … WHERE id = (SELECT …) AND status = 'queued' RETURNING id`` under a process-wide
lock (SQLite serialises writers, so one process's threads are what needs the lock).
"""

import logging
import os
import socket
import threading
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    and_,
    case,
    cast,
    column,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from app.audit.operations import Actor
from app.db_types import utcnow
from app.extensions import db
from app.jobs.executor import FinishedRun, Outcome, hooks
from app.jobs.models import RunStatus, SyncRun, Trigger

log = logging.getLogger(__name__)

PRIORITY = {Trigger.MANUAL: 10, Trigger.CLI: 10, Trigger.SCHEDULE: 100}
FAIR_SLOT_SECONDS = 3600
# First key of the two-int advisory locks that serialise claims per integration.
CLAIM_LOCK_NAMESPACE = 0x5371  # "Sq"

MAX_BACKOFF_SECONDS = 3600

# What the queue knows of the packages above it: the tables a run points at, by name (it
# does not import their models). Scheduled work waits while its integration is not connected.
CONNECTED = "connected"
_integration = table("integration", column("id"), column("status"))
_client = table("client", column("id"), column("integration_id"))

_sqlite_claim_lock = threading.Lock()


def active_key(kind: str, integration_id: int, client_id: int | None) -> str:
    """The dedup key of a queued or running run: its kind and its target."""
    target = f"c{client_id}" if client_id is not None else f"i{integration_id}"
    return f"{kind}:{target}"


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _fair_base(integration_id: int, priority: int, now: datetime) -> int:
    last = db.session.scalar(
        select(func.max(SyncRun.fair_order)).where(
            SyncRun.integration_id == integration_id,
            SyncRun.status == RunStatus.QUEUED,
            SyncRun.priority == priority,
        )
    )
    return max(_epoch(now), last or 0)


def enqueue(
    kind: str,
    *,
    integration_id: int,
    client_id: int | None = None,
    actor: Actor,
    trigger: Trigger = Trigger.MANUAL,
    params: dict | None = None,
    due_at: datetime | None = None,
    max_attempts: int | None = None,
) -> tuple[SyncRun, bool]:
    """Queue a run, or return the one already queued or running for the same kind and target.

    Returns (run, created). The caller commits.
    """
    key = active_key(kind, integration_id, client_id)
    existing = db.session.scalar(select(SyncRun).where(SyncRun.active_key == key))
    if existing is not None:
        return existing, False
    now = utcnow()
    priority = PRIORITY[trigger]
    run = SyncRun(
        kind=kind,
        integration_id=integration_id,
        client_id=client_id,
        trigger=trigger,
        requested_by=actor.label,
        requested_by_user_id=actor.user_id,
        params=params or {},
        status=RunStatus.QUEUED,
        active_key=key,
        priority=priority,
        due_at=due_at or now,
        fair_order=_fair_base(integration_id, priority, now) + FAIR_SLOT_SECONDS,
        max_attempts=max_attempts or _max_attempts(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(run)
    except IntegrityError:
        # Another process queued the same work between our check and insert.
        return db.session.scalar(select(SyncRun).where(SyncRun.active_key == key)), False
    return run, True


@dataclass
class BulkEnqueueResult:
    """How many runs a bulk enqueue created, and how many were already queued or running."""

    queued: int
    already_queued: int


def enqueue_for_clients(
    kind: str, client_ids, *, actor: Actor, trigger: Trigger = Trigger.MANUAL,
    max_attempts: int | None = None,
) -> BulkEnqueueResult:
    """Queue one run per client in a single INSERT … SELECT; existing active runs are kept.

    ``client_ids`` is a list of ids or a SELECT of ids (5,000 selected clients is one statement).
    Fair-queueing tags are numbered per integration in the same statement. The caller commits.
    """
    if isinstance(client_ids, list | tuple | set):
        client_ids = list(client_ids)
        if not client_ids:
            return BulkEnqueueResult(0, 0)
    aware_now = utcnow()
    now = aware_now.replace(tzinfo=None)
    dialect = db.session.get_bind().dialect.name
    priority = PRIORITY[trigger]

    def json_literal(text_: str):
        # PostgreSQL will not put varchar into json; SQLite would turn CAST(… AS JSON) into 0.
        return cast(literal(text_), JSON) if dialect == "postgresql" else literal(text_)

    queued = aliased(SyncRun)
    last_tag = func.coalesce(
        select(func.max(queued.fair_order))
        .where(
            queued.integration_id == _client.c.integration_id,
            queued.status == RunStatus.QUEUED,
            queued.priority == priority,
        )
        .scalar_subquery(),
        0,
    )
    now_tag = literal(_epoch(aware_now), BigInteger)
    base = case((last_tag > now_tag, last_tag), else_=now_tag)
    rank = func.row_number().over(partition_by=_client.c.integration_id, order_by=_client.c.id)
    fair = base + rank * FAIR_SLOT_SECONDS

    key = literal(f"{kind}:c") + _client.c.id.cast(db.String)
    source = select(
        literal(kind),
        _client.c.integration_id,
        _client.c.id,
        literal(str(trigger)),
        literal(actor.label),
        literal(actor.user_id, db.Integer),
        json_literal("{}"),
        literal(str(RunStatus.QUEUED)),
        key,
        literal(priority),
        literal(now, db.DateTime),
        cast(fair, BigInteger),
        literal(now, db.DateTime),
        literal(0),
        literal(max_attempts or _max_attempts()),
        literal(0),
        json_literal("{}"),
        json_literal("[]"),
    ).where(_client.c.id.in_(client_ids))
    columns = [
        "kind", "integration_id", "client_id", "trigger", "requested_by",
        "requested_by_user_id", "params", "status", "active_key", "priority",
        "due_at", "fair_order", "created_at", "attempts", "max_attempts", "progress_done",
        "counts", "warnings",
    ]
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    statement = (
        insert(SyncRun.__table__)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=["active_key"])
        .returning(SyncRun.__table__.c.id)  # rowcount is -1 for INSERT … SELECT on psycopg
    )
    total = db.session.scalar(
        select(func.count()).select_from(select(_client.c.id).where(_client.c.id.in_(client_ids)).subquery())
    )
    inserted = len(db.session.execute(statement).all())
    return BulkEnqueueResult(queued=inserted, already_queued=total - inserted)


def _max_attempts() -> int:
    return current_app.config["RUN_MAX_ATTEMPTS"]


# --- Claiming -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A run this worker holds, and the fencing token of everything it writes (``held_by``):
    the run, the worker and the attempt."""

    run_id: int
    worker_id: str
    attempt: int


def worker_identity(suffix: str | None = None) -> str:
    """host:pid/thread, what the run's worker_id column shows."""
    name = suffix or threading.current_thread().name
    return f"{socket.gethostname()}:{os.getpid()}/{name}"[:120]


def _claimable(run, now: datetime, limit: int):
    """The claim filter on ``run`` (SyncRun or an alias of it)."""
    other = aliased(SyncRun)
    running = (
        select(func.count())
        .where(other.integration_id == run.integration_id, other.status == RunStatus.RUNNING)
        .scalar_subquery()
    )
    connected = exists().where(
        _integration.c.id == run.integration_id, _integration.c.status == CONNECTED
    )
    same_client = aliased(SyncRun)
    client_busy = exists().where(
        same_client.client_id == run.client_id, same_client.status == RunStatus.RUNNING
    )
    return and_(
        run.status == RunStatus.QUEUED,
        run.due_at <= now,
        running < limit,
        # One run at a time per client: a full and an incremental sync must not interleave.
        ~client_busy,
        # Scheduled work for an integration that lost its authorization waits for a reconnect.
        or_(run.trigger != Trigger.SCHEDULE, connected),
    )


def _running_values(worker_id: str, now: datetime) -> dict:
    return {
        "status": RunStatus.RUNNING,
        "worker_id": worker_id,
        "attempts": SyncRun.attempts + 1,
        "started_at": now,
        "heartbeat_at": now,
        "lease_expires_at": _lease_until(now),
        "finished_at": None,
        "error_message": None,
        "current_step": None,
    }


def claim_next(worker_id: str | None = None) -> Claim | None:
    """Claim the next due run for this worker (marks it running, with a lease); commits.

    Call it with no transaction of your own open: it begins and ends its own.
    """
    worker_id = worker_id or worker_identity()
    if db.session.get_bind().dialect.name == "postgresql":
        return _claim_next_postgres(worker_id)
    with _sqlite_claim_lock:
        return _claim_next_sqlite(worker_id)


def _claim_next_sqlite(worker_id: str) -> Claim | None:
    now = utcnow()
    limit = current_app.config["MAX_RUNNING_PER_INTEGRATION"]
    candidate = aliased(SyncRun)
    next_id = (
        select(candidate.id)
        .where(_claimable(candidate, now, limit))
        .order_by(candidate.priority, candidate.fair_order, candidate.id)
        .limit(1)
        .scalar_subquery()
    )
    row = db.session.execute(
        update(SyncRun)
        .where(SyncRun.id == next_id, SyncRun.status == RunStatus.QUEUED)
        .values(**_running_values(worker_id, now))
        .returning(SyncRun.id, SyncRun.attempts)
        .execution_options(synchronize_session=False)
    ).first()
    db.session.commit()
    return Claim(row.id, worker_id, row.attempts) if row else None


# The PostgreSQL claim, as SQL for readability (and to keep the hot path cheap). The target
# list takes the per-integration transaction-level advisory lock of the row it returns (and,
# harmlessly, of rows SKIP LOCKED passes over: released at commit a moment later).
_PG_CLAIM = text(f"""
SELECT r.id, r.integration_id, r.client_id,
       pg_try_advisory_xact_lock({CLAIM_LOCK_NAMESPACE}, r.integration_id) AS locked
FROM sync_run r
WHERE r.status = '{RunStatus.QUEUED}'
  AND r.due_at <= :now
  AND (SELECT count(*) FROM sync_run x
       WHERE x.integration_id = r.integration_id AND x.status = '{RunStatus.RUNNING}') < :limit
  AND NOT EXISTS (SELECT 1 FROM sync_run y
                  WHERE y.client_id = r.client_id AND y.status = '{RunStatus.RUNNING}')
  AND (r.trigger <> '{Trigger.SCHEDULE}'
       OR EXISTS (SELECT 1 FROM integration i
                  WHERE i.id = r.integration_id AND i.status = '{CONNECTED}'))
  AND NOT (r.integration_id = ANY(CAST(:skipped AS integer[])))
ORDER BY r.priority, r.fair_order, r.id
LIMIT 1
FOR UPDATE OF r SKIP LOCKED
""")
# Runs in a new snapshot, after the advisory lock: the limit holds across processes.
_PG_MARK_RUNNING = text(f"""
UPDATE sync_run
SET status = '{RunStatus.RUNNING}', worker_id = :worker_id, attempts = attempts + 1,
    started_at = :now, heartbeat_at = :now, lease_expires_at = :lease_expires_at,
    finished_at = NULL, error_message = NULL, current_step = NULL
WHERE id = :id
  AND (SELECT count(*) FROM sync_run x
       WHERE x.integration_id = :integration_id AND x.status = '{RunStatus.RUNNING}') < :limit
  AND NOT EXISTS (SELECT 1 FROM sync_run y
                  WHERE y.client_id = :client_id AND y.status = '{RunStatus.RUNNING}')
RETURNING attempts
""")


def _claim_next_postgres(worker_id: str) -> Claim | None:
    """Two statements and a commit: pick, row-lock and advisory-lock the first claimable run;
    mark it running if its integration is still below the limit."""
    limit = current_app.config["MAX_RUNNING_PER_INTEGRATION"]
    lease = timedelta(seconds=current_app.config["RUN_LEASE_SECONDS"])
    skipped: list[int] = []
    for _ in range(20):
        now = utcnow().replace(tzinfo=None)  # the columns hold naive UTC
        connection = db.session.connection()
        row = connection.execute(
            _PG_CLAIM, {"now": now, "limit": limit, "skipped": skipped}
        ).first()
        if row is None:
            db.session.rollback()
            return None
        claimed = connection.execute(_PG_MARK_RUNNING, {
            "id": row.id, "integration_id": row.integration_id, "client_id": row.client_id,
            "limit": limit,
            "worker_id": worker_id, "now": now, "lease_expires_at": now + lease,
        }).first() if row.locked else None
        if claimed is None:
            # Another process is claiming for this integration, or it is at its limit.
            db.session.rollback()
            skipped.append(row.integration_id)
            continue
        db.session.commit()
        return Claim(row.id, worker_id, claimed.attempts)
    db.session.rollback()
    return None


def claim_run(run_id: int, worker_id: str | None = None) -> Claim | None:
    """Claim one specific queued run (``flask sync run``, tests), ignoring due time and limits.

    Returns None when it is not queued (already running elsewhere, finished, cancelled).
    """
    worker_id = worker_id or worker_identity()
    now = utcnow()
    with _sqlite_claim_lock:
        row = db.session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id, SyncRun.status == RunStatus.QUEUED)
            .values(**_running_values(worker_id, now))
            .returning(SyncRun.attempts)
            .execution_options(synchronize_session=False)
        ).first()
        db.session.commit()
    return Claim(run_id, worker_id, row.attempts) if row else None


def held_by(claim: Claim) -> ColumnElement[bool]:
    """The one test that ``claim``'s worker still holds its run: running, same worker, same attempt.

    Every statement that changes a claimed run (outcome, heartbeat, progress, release) filters
    on it, and ``prove_held`` checks it before every other commit of a running run; a worker
    whose lease expired and whose run was claimed again changes nothing.
    """
    return and_(
        SyncRun.id == claim.run_id,
        SyncRun.status == RunStatus.RUNNING,
        SyncRun.worker_id == claim.worker_id,
        SyncRun.attempts == claim.attempt,
    )


def _lease_until(now: datetime) -> datetime:
    return now + timedelta(seconds=current_app.config["RUN_LEASE_SECONDS"])


def extend_lease(claim: Claim) -> bool:
    """Heartbeat: push the lease forward; False when the run is no longer ours. Commits."""
    now = utcnow()
    result = db.session.execute(
        update(SyncRun)
        .where(held_by(claim))
        .values(heartbeat_at=now, lease_expires_at=_lease_until(now))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


class LeaseLost(Exception):
    """This worker no longer holds its run: the lease expired and the run was claimed again
    (or requeued). Nothing the worker had not committed may land; it must stop."""

    def __init__(self, claim: Claim):
        super().__init__(
            f"run {claim.run_id} attempt {claim.attempt} is no longer held by {claim.worker_id}"
        )
        self.claim = claim


def prove_held(claim: Claim, session=None) -> None:
    """The fence: in the caller's open transaction, extend the lease of ``claim``'s run if and
    only if this worker still holds it; raise LeaseLost otherwise (the caller rolls back).

    A conditional UPDATE of the run row: on PostgreSQL it keeps the row locked until the
    transaction ends, so no reclaim can interleave with our commit (``requeue_expired_leases``
    passes a locked row by); on SQLite the write transaction serialises the same way.
    ``app.jobs.fencing`` runs it before every commit a run makes.
    """
    session = session or db.session
    now = utcnow()
    result = session.execute(
        update(SyncRun)
        .where(held_by(claim))
        .values(heartbeat_at=now, lease_expires_at=_lease_until(now))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise LeaseLost(claim)


def record_progress(claim: Claim, values: dict) -> None:
    """Write a running run's step, done/total and counts, and extend its lease. Commits.

    Raises LeaseLost (having rolled back) when this worker no longer holds the run.
    """
    now = utcnow()
    result = db.session.execute(
        update(SyncRun)
        .where(held_by(claim))
        .values(heartbeat_at=now, lease_expires_at=_lease_until(now), **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise LeaseLost(claim)
    db.session.commit()


def release_run(claim: Claim, *, reason: str = "Arbeidsprosessen stoppet; kjøringen venter i kø.") -> bool:
    """Give a run back to the queue without counting the attempt (clean shutdown). Commits."""
    result = db.session.execute(
        update(SyncRun)
        .where(held_by(claim))
        .values(
            status=RunStatus.QUEUED,
            attempts=SyncRun.attempts - 1,
            worker_id=None,
            lease_expires_at=None,
            heartbeat_at=None,
            due_at=utcnow(),
            current_step=reason[:200],
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


# --- Cancelling -----------------------------------------------------------------------------


def cancel_queued(condition, *, reason: str) -> list[int]:
    """Cancel the queued runs matching ``condition`` (running ones finish). The caller commits.

    Returns the ids of the runs cancelled.
    """
    return list(db.session.execute(
        update(SyncRun)
        .where(condition, SyncRun.status == RunStatus.QUEUED)
        .values(status=RunStatus.CANCELLED, active_key=None, finished_at=utcnow(),
                error_message=reason)
        .returning(SyncRun.id)
        .execution_options(synchronize_session=False)
    ).scalars())


# --- Outcomes -------------------------------------------------------------------------------


def complete_claim(claim: Claim, outcome: Outcome | None) -> str | None:
    """Mark the run succeeded (or 'warnings') and call the success hook. Commits.

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
    if outcome.result is not None:
        values["result"] = outcome.result
    row = db.session.execute(
        update(SyncRun)
        .where(held_by(claim))
        .values(**values)
        .returning(SyncRun.id, SyncRun.kind, SyncRun.trigger, SyncRun.integration_id,
                   SyncRun.client_id)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        db.session.rollback()
        log.warning("Run %s finished but its claim was lost (lease expired?)", claim.run_id)
        return None
    hooks().after_success(FinishedRun(*row), now)
    db.session.commit()
    return status


def fail_claim(claim: Claim, message: str, *, retryable: bool) -> str | None:
    """Retry later (back-off) while attempts remain and ``retryable``; else mark failed and call
    the failure hook. Returns the run's new status, or None when the claim was lost. Commits."""
    run = db.session.scalar(select(SyncRun).where(held_by(claim)).with_for_update())
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
    hooks().after_failure(
        FinishedRun(run.id, run.kind, run.trigger, run.integration_id, run.client_id), message
    )
    db.session.commit()
    return RunStatus.FAILED


def retry_delay_seconds(attempts: int) -> int:
    """The back-off before retry number ``attempts``: doubling, capped at an hour."""
    base = current_app.config["RUN_RETRY_BACKOFF_SECONDS"]
    return min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


LEASE_LOST_MESSAGE = (
    "Kjøringen stoppet uten å bli ferdig (arbeidsprosessen svarte ikke) {attempts} ganger "
    "og er gitt opp. Start den på nytt, eller kontakt Sticos hvis det gjentar seg."
)


def requeue_expired_leases() -> dict:
    """Runs whose worker stopped answering go back to the queue, or fail after max_attempts.

    A running run without a lease (should not happen) counts as expired too. Commits.
    """
    now = utcnow()
    expired = and_(
        SyncRun.status == RunStatus.RUNNING,
        or_(SyncRun.lease_expires_at < now, SyncRun.lease_expires_at.is_(None)),
    )
    # A run row locked by its worker's fence (a commit in flight: ``prove_held``) is still
    # held; skip it rather than wait, which would stall this worker behind a frozen one.
    unlocked = SyncRun.id.in_(
        select(SyncRun.id).where(expired).with_for_update(skip_locked=True)
    )
    requeued = db.session.execute(
        update(SyncRun)
        .where(expired, unlocked, SyncRun.attempts < SyncRun.max_attempts)
        .values(
            status=RunStatus.QUEUED,
            worker_id=None,
            lease_expires_at=None,
            due_at=now,
            current_step="Forrige forsøk ble avbrutt; venter på nytt forsøk",
        )
        .returning(SyncRun.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    exhausted = db.session.execute(
        select(SyncRun.id, SyncRun.worker_id, SyncRun.attempts).where(
            expired, unlocked, SyncRun.attempts >= SyncRun.max_attempts
        )
    ).all()
    db.session.commit()
    if requeued:
        log.warning("Requeued %d run(s) whose lease expired: %s", len(requeued), requeued[:20])
    failed = 0
    for row in exhausted:
        claim = Claim(row.id, row.worker_id, row.attempts)
        if fail_claim(claim, LEASE_LOST_MESSAGE.format(attempts=row.attempts), retryable=False):
            failed += 1
    return {"requeued": len(requeued), "failed": failed}


def prune_run_history() -> dict:
    """Delete finished runs: successes after RUN_HISTORY_DAYS_SUCCEEDED, failures after
    RUN_HISTORY_DAYS_FAILED (failures are kept longer: they explain problems). Commits."""
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


def advisory_lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` in this database and schema (PostgreSQL)."""
    where = db.session.execute(text("SELECT current_database(), current_schema()")).one()
    db.session.rollback()
    digest = zlib.crc32(f"{where[0]}.{where[1]}".encode())
    return (zlib.crc32(name.encode()) << 31) ^ digest
