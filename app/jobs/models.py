from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import UTCDateTime, utcnow
from app.extensions import db


class RunKind(StrEnum):
    REFRESH_CLIENTS = "refresh_clients"
    INCREMENTAL_SYNC = "incremental_sync"
    FULL_SYNC = "full_sync"
    TEST_DATA = "test_data"
    DELETE_OLD_ACCOUNTS = "delete_old_accounts"
    # Reads which stored accounts the source no longer has; the deletion removes only those
    # a person confirms from this run's ``result``.
    PREVIEW_OLD_ACCOUNTS = "preview_old_accounts"


@dataclass(frozen=True)
class RunKindText:
    """What a run kind is called, and what the buttons that queue it say (a button names what
    a person does, the run what runs)."""

    name: str
    """A run of this kind: run lists, history, the audit trail, filters."""
    button: str = ""
    """The customer page's button; default: the name."""
    panel_button: str = ""
    """The admin panel's button; default: the name."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "button", self.button or self.name)
        object.__setattr__(self, "panel_button", self.panel_button or self.name)


RUN_KIND_TEXTS = {
    RunKind.REFRESH_CLIENTS: RunKindText("Oppdater klientliste"),
    # The panel shows both syncs side by side: the incremental one says what it does.
    RunKind.INCREMENTAL_SYNC: RunKindText("Synkronisering", panel_button="Synkroniser endringer"),
    # The customer's one «Synkroniser» (the seed's FULL SYNKRONISERING column) is a full sync.
    RunKind.FULL_SYNC: RunKindText("Full synkronisering", button="Synkroniser"),
    RunKind.TEST_DATA: RunKindText("Send testdata til Sticos"),
    # Its button queues a preview first (PREVIEW_OLD_ACCOUNTS) and says what it leads to.
    RunKind.DELETE_OLD_ACCOUNTS: RunKindText("Slett gamle kontoer"),
    RunKind.PREVIEW_OLD_ACCOUNTS: RunKindText("Finn gamle kontoer"),
}
"""The one table of run-kind texts; the others are read from it."""
RUN_KIND_LABELS = {kind: text.name for kind, text in RUN_KIND_TEXTS.items()}


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    WARNINGS = "warnings"  # completed, but an accounting check failed
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
FINISHED_STATUSES = (RunStatus.SUCCEEDED, RunStatus.WARNINGS, RunStatus.FAILED, RunStatus.CANCELLED)

RUN_STATUS_LABELS = {
    RunStatus.QUEUED: "I kø",
    RunStatus.RUNNING: "Kjører",
    RunStatus.SUCCEEDED: "Fullført",
    RunStatus.WARNINGS: "Fullført med advarsler",
    RunStatus.FAILED: "Feilet",
    RunStatus.CANCELLED: "Avbrutt",
}


class Trigger(StrEnum):
    MANUAL = "manual"  # a person waits for it: goes before scheduled work
    SCHEDULE = "schedule"
    CLI = "cli"


class SyncRun(db.Model):
    """One piece of background work: both the queue the workers drain and the history users see."""

    __tablename__ = "sync_run"
    __table_args__ = (
        # The claim order (see app.jobs.queue): status, then priority, fair_order, id.
        Index("ix_sync_run_claim", "status", "priority", "fair_order", "id"),
        # Running runs per integration (the concurrency limit in the claim).
        Index("ix_sync_run_integration_status", "integration_id", "status"),
        Index("ix_sync_run_client_created", "client_id", "created_at"),
        Index("ix_sync_run_integration_created", "integration_id", "created_at"),
        # Dashboard counts of runs finished in the last 24 h, and history pruning.
        Index("ix_sync_run_status_finished", "status", "finished_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(20), default=Trigger.MANUAL)
    requested_by: Mapped[str] = mapped_column(String(254))
    requested_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # Extra arguments, e.g. the account ids a confirmed "delete old accounts" may remove.
    params: Mapped[dict] = mapped_column(JSON, default=dict)

    status: Mapped[str] = mapped_column(String(20), default=RunStatus.QUEUED)
    # Set while queued or running, cleared when finished: a unique key that makes
    # "one active run per kind and target" a database guarantee rather than a check.
    active_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    # Lower runs first: manual work before scheduled work.
    priority: Mapped[int] = mapped_column(default=100)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Fair-queueing tag (virtual seconds since the epoch), per integration: see app.jobs.queue.
    fair_order: Mapped[int] = mapped_column(BigInteger, default=0)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker_id: Mapped[str | None] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)

    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None]
    current_step: Mapped[str | None] = mapped_column(String(200))
    # Records per data set, e.g. {"accounts": 312, "journal_lines": 20410}.
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    # Accounting-check findings, e.g. [{"check": "batch_balanced", "detail": "..."}].
    warnings: Mapped[list] = mapped_column(JSON, default=list)
    error_message: Mapped[str | None] = mapped_column(Text)
    # What the run found for a person to act on, e.g. a deletion preview's accounts.
    result: Mapped[list | dict | None] = mapped_column(JSON)

    integration: Mapped["Integration"] = relationship()  # noqa: F821
    client: Mapped["Client | None"] = relationship()  # noqa: F821

    @property
    def kind_label(self) -> str:
        return RUN_KIND_LABELS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return RUN_STATUS_LABELS.get(self.status, self.status)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def __str__(self) -> str:
        return f"{self.kind_label} #{self.id}"


class SchedulerJob(db.Model):
    """The scheduler's periodic jobs as every process sees them (the scheduler runs in one).

    The process holding the scheduler writes next_run_at/last_*; any process (the web admin)
    may set ``paused``, which the scheduler applies within seconds.
    """

    __tablename__ = "scheduler_job"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    paused: Mapped[bool] = mapped_column(default=False)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(20))
    last_message: Mapped[str | None] = mapped_column(Text)
    run_count: Mapped[int] = mapped_column(default=0)
    # Which process (host:pid) holds the scheduler that last ran the job.
    owner: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __str__(self) -> str:
        return self.name
