"""The operator dashboard's figures: a fixed handful of aggregate queries, whatever the volume."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, load_only

from app.customers.models import Customer
from app.db_types import utcnow
from app.extensions import db
from app.integrations.models import (
    INTEGRATION_STATUS_LABELS,
    Client,
    Integration,
    IntegrationStatus,
)
from app.integrations.queries import all_client_counts
from app.jobs import queries as jobs_queries
from app.jobs.models import RunStatus, SyncRun

# Words a run's error text has when Visma throttled it (Throttled / HTTP 429).
THROTTLE_MARKERS = ("%begrenser antall kall%", "%429%", "%for mange forespørsler%", "%throttl%",
                    "%rate limit%")


@dataclass
class SchedulerJob:
    id: str
    name: str
    next_run_time: datetime | None
    paused: bool
    last_run_at: datetime | None = None
    last_status: str = ""


def scheduler_jobs() -> list[SchedulerJob]:
    """The scheduler's periodic jobs as the scheduler process last recorded them."""
    return [
        SchedulerJob(
            id=job["id"],
            name=job["name"],
            next_run_time=job.get("next_run_at"),
            paused=bool(job.get("paused")),
            last_run_at=job.get("last_run_at"),
            last_status=job.get("last_status") or "",
        )
        for job in jobs_queries.scheduler_jobs()
    ]


@dataclass
class Dashboard:
    integrations_by_status: list[tuple[str, str, int]] = field(default_factory=list)
    integrations_total: int = 0
    clients_active: int = 0
    clients_inactive: int = 0
    clients_unreachable: int = 0
    clients_attention: int = 0
    runs_queued: int = 0
    runs_running: int = 0
    runs_failed_24h: int = 0
    runs_succeeded_24h: int = 0
    oldest_queued: SyncRun | None = None
    needs_reauthorization: list[Integration] = field(default_factory=list)
    recent_failures: list[SyncRun] = field(default_factory=list)
    throttling: list[tuple] = field(default_factory=list)
    runs_due: int = 0
    jobs: list[SchedulerJob] = field(default_factory=list)


def build_dashboard() -> Dashboard:
    now = utcnow()
    since = now - timedelta(hours=24)
    board = Dashboard()

    by_status = dict(
        db.session.execute(select(Integration.status, func.count()).group_by(Integration.status)).all()
    )
    board.integrations_by_status = [
        (str(status), label, by_status.get(status, 0))
        for status, label in INTEGRATION_STATUS_LABELS.items()
    ]
    board.integrations_total = sum(by_status.values())

    clients = all_client_counts()
    board.clients_active, board.clients_inactive = clients.active, clients.inactive
    board.clients_unreachable, board.clients_attention = clients.unreachable, clients.attention

    stats = jobs_queries.queue_stats()
    board.runs_queued = stats["queued"]
    board.runs_due = stats["due"]
    board.runs_running = stats["running"]
    board.runs_failed_24h = stats["failed_last_24h"]
    board.runs_succeeded_24h = stats["succeeded_last_24h"]

    board.oldest_queued = db.session.scalar(
        select(SyncRun)
        .options(*_run_loads())
        .where(SyncRun.status == RunStatus.QUEUED)
        .order_by(SyncRun.created_at, SyncRun.id)
        .limit(1)
    )
    board.needs_reauthorization = list(
        db.session.scalars(
            select(Integration)
            .options(load_only(*INTEGRATION_COLUMNS), joinedload(Integration.customer))
            .where(Integration.status == IntegrationStatus.REAUTHORIZATION_REQUIRED)
            .order_by(Integration.updated_at.desc())
            .limit(25)
        )
    )
    board.recent_failures = list(
        db.session.scalars(
            select(SyncRun)
            .options(*_run_loads())
            .where(SyncRun.status == RunStatus.FAILED, SyncRun.finished_at >= since)
            .order_by(SyncRun.finished_at.desc())
            .limit(10)
        )
    )
    board.throttling = throttling_seen(since)

    board.jobs = scheduler_jobs()
    return board


def throttling_seen(since: datetime) -> list[tuple]:
    """Per company (client; the integration for client-list refreshes): how many runs since
    ``since`` Visma throttled (HTTP 429 / its rate budget), and when last. The Visma client
    keeps the rate-limit headers in process memory only, so across processes the panel sees
    what the runs recorded: the engine's error text, kept on failed and retried runs."""
    when = func.coalesce(SyncRun.finished_at, SyncRun.heartbeat_at, SyncRun.created_at)
    rows = db.session.execute(
        select(Customer.id, Customer.name, Client.id, Client.name,
               func.count(SyncRun.id), func.max(when))
        .select_from(SyncRun)
        .join(Integration, SyncRun.integration_id == Integration.id)
        .join(Customer, Integration.customer_id == Customer.id)
        .outerjoin(Client, SyncRun.client_id == Client.id)
        .where(
            # Successful runs carry no error text; failed and retried (queued/running) ones do.
            SyncRun.status.in_((RunStatus.FAILED, RunStatus.QUEUED, RunStatus.RUNNING)),
            when >= since,
            or_(*(func.lower(SyncRun.error_message).like(m) for m in THROTTLE_MARKERS)),
        )
        .group_by(Customer.id, Customer.name, Client.id, Client.name)
        .order_by(func.count(SyncRun.id).desc())
        .limit(20)
    ).all()
    return [tuple(r) for r in rows]


# Never load the encrypted token: not needed, and decrypting it per row costs time.
INTEGRATION_COLUMNS = (
    Integration.id, Integration.customer_id, Integration.system, Integration.description,
    Integration.status, Integration.status_message, Integration.updated_at,
    Integration.authorized_by_name, Integration.authorized_by_email,
)


def _run_loads():
    return (
        joinedload(SyncRun.client).load_only(Client.id, Client.name, Client.orgnr),
        joinedload(SyncRun.integration)
        .load_only(*INTEGRATION_COLUMNS)
        .joinedload(Integration.customer),
    )
