"""Putting work on the run queue (the sync_run table), deduplicated per kind and target."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, cast, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from app.audit.operations import Actor
from app.db_types import utcnow
from app.extensions import db
from app.integrations.models import Client
from app.jobs.models import RunStatus, SyncRun, Trigger

PRIORITY = {Trigger.MANUAL: 10, Trigger.CLI: 10, Trigger.SCHEDULE: 100}


def active_key(kind: str, integration_id: int, client_id: int | None) -> str:
    target = f"c{client_id}" if client_id is not None else f"i{integration_id}"
    return f"{kind}:{target}"


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
        priority=PRIORITY[trigger],
        due_at=due_at or utcnow(),
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
    queued: int
    already_queued: int


def enqueue_for_clients(
    kind: str, client_ids, *, actor: Actor, trigger: Trigger = Trigger.MANUAL
) -> BulkEnqueueResult:
    """Queue one run per client in a single INSERT … SELECT; existing active runs are kept.

    ``client_ids`` is a list of ids or a SELECT of ids (5,000 selected clients is one statement).
    The caller commits.
    """
    if isinstance(client_ids, list | tuple | set):
        client_ids = list(client_ids)
        if not client_ids:
            return BulkEnqueueResult(0, 0)
    now = utcnow().replace(tzinfo=None)
    dialect = db.session.get_bind().dialect.name

    def json_literal(text: str):
        # PostgreSQL will not put varchar into json; SQLite would turn CAST(… AS JSON) into 0.
        return cast(literal(text), JSON) if dialect == "postgresql" else literal(text)

    key = literal(f"{kind}:c") + Client.id.cast(db.String)
    source = select(
        literal(kind),
        Client.integration_id,
        Client.id,
        literal(str(trigger)),
        literal(actor.label),
        literal(actor.user_id, db.Integer),
        json_literal("{}"),
        literal(str(RunStatus.QUEUED)),
        key,
        literal(PRIORITY[trigger]),
        literal(now, db.DateTime),
        literal(now, db.DateTime),
        literal(0),
        literal(_max_attempts()),
        literal(0),
        json_literal("{}"),
        json_literal("[]"),
    ).where(Client.id.in_(client_ids))
    columns = [
        "kind", "integration_id", "client_id", "trigger", "requested_by",
        "requested_by_user_id", "params", "status", "active_key", "priority",
        "due_at", "created_at", "attempts", "max_attempts", "progress_done", "counts", "warnings",
    ]
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    statement = (
        insert(SyncRun.__table__)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=["active_key"])
    )
    total = db.session.scalar(select(db.func.count()).select_from(source.subquery()))
    queued = db.session.execute(statement).rowcount
    return BulkEnqueueResult(queued=queued, already_queued=total - queued)


def _max_attempts() -> int:
    from flask import current_app

    return current_app.config["RUN_MAX_ATTEMPTS"]
