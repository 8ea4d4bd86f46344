from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import EncryptedJSON, UTCDateTime, utcnow
from app.extensions import db


class System(StrEnum):
    VISMA_NET = "visma_net"
    TRIPLETEX = "tripletex"


SYSTEM_LABELS = {System.VISMA_NET: "Visma.net", System.TRIPLETEX: "Tripletex"}


class IntegrationStatus(StrEnum):
    AWAITING_AUTHORIZATION = "awaiting_authorization"
    CONNECTED = "connected"
    REAUTHORIZATION_REQUIRED = "reauthorization_required"
    ERROR = "error"


INTEGRATION_STATUS_LABELS = {
    IntegrationStatus.AWAITING_AUTHORIZATION: "Venter på tilgang",
    IntegrationStatus.CONNECTED: "Tilkoblet",
    IntegrationStatus.REAUTHORIZATION_REQUIRED: "Krever ny tilkobling",
    IntegrationStatus.ERROR: "Feil",
}


class Integration(db.Model):
    __tablename__ = "integration"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    system: Mapped[str] = mapped_column(String(30), default=System.VISMA_NET)
    description: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(
        String(40), default=IntegrationStatus.AWAITING_AUTHORIZATION, index=True
    )
    # Plain-Norwegian reason for the status (Visma's own words where it gave some).
    status_message: Mapped[str | None] = mapped_column(Text)

    # Who authorized the connection in the source system.
    authorized_by_name: Mapped[str | None] = mapped_column(String(200))
    authorized_by_email: Mapped[str | None] = mapped_column(String(254))
    authorized_by_subject: Mapped[str | None] = mapped_column(String(200))
    authorized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The credentials, encrypted at rest: Visma.net's OAuth token set (access_token,
    # refresh_token, expires_at, scope …); Tripletex's pasted key ({"key": …}).
    token: Mapped[dict | None] = mapped_column(EncryptedJSON)
    # When the current refresh token was issued: it expires if left unused too long.
    token_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # None means the configured default (SYNC_INTERVAL_MINUTES).
    sync_interval_minutes: Mapped[int | None]

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    clients_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped["Customer"] = relationship(back_populates="integrations")  # noqa: F821
    clients: Mapped[list["Client"]] = relationship(
        back_populates="integration", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def system_label(self) -> str:
        return SYSTEM_LABELS.get(self.system, self.system)

    @property
    def status_label(self) -> str:
        return INTEGRATION_STATUS_LABELS.get(self.status, self.status)

    def __str__(self) -> str:
        suffix = f" – {self.description}" if self.description else ""
        return f"{self.system_label}{suffix} (#{self.id})"


class SyncResult(StrEnum):
    SUCCEEDED = "succeeded"
    WARNINGS = "warnings"
    FAILED = "failed"


class Client(db.Model):
    """One company reachable through an integration (a Visma.net tenant)."""

    __tablename__ = "client"
    __table_args__ = (
        UniqueConstraint("integration_id", "external_id", name="uq_client_integration_external"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("integration.id", ondelete="CASCADE"), index=True
    )
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300), index=True)
    # As the source gave it; never rejected, flagged when the mod-11 check fails.
    orgnr: Mapped[str | None] = mapped_column(String(20), index=True)
    orgnr_valid: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=False, index=True)
    reachable: Mapped[bool] = mapped_column(default=True)
    # Found by a refresh and not yet acknowledged by the customer.
    is_new: Mapped[bool] = mapped_column(default=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    unreachable_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unreachable_reason: Mapped[str | None] = mapped_column(Text)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_result: Mapped[str | None] = mapped_column(String(20))
    last_sync_message: Mapped[str | None] = mapped_column(Text)
    # "Data per": when the store last became equal to the source.
    data_as_of: Mapped[datetime | None] = mapped_column(UTCDateTime)
    test_data_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the last test send sent: {"counts": {...}, "period": "202611"} (operations).
    test_data_summary: Mapped[dict | None] = mapped_column(JSON)

    # Scheduling and escalation.
    next_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    needs_attention: Mapped[bool] = mapped_column(default=False)
    schedule_paused_reason: Mapped[str | None] = mapped_column(Text)

    integration: Mapped[Integration] = relationship(back_populates="clients")

    def __str__(self) -> str:
        return f"{self.name} ({self.orgnr or 'uten orgnr'})"
