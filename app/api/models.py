"""API keys for the read API, and their per-minute usage (which is also the rate-limit counter)."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import UTCDateTime, utcnow
from app.extensions import db


class ApiKey(db.Model):
    """A key a Sticos product sends as `Authorization: Bearer <key>`; only its hash is stored."""

    __tablename__ = "api_key"
    __table_args__ = (
        UniqueConstraint("prefix", name="uq_api_key_prefix"),
        UniqueConstraint("key_hash", name="uq_api_key_key_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The key's first characters, shown in the admin panel and logs to tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    # sha256 (hex) of the whole key: the key is high-entropy, so no slow hash is needed.
    key_hash: Mapped[str] = mapped_column(String(64))
    # Space-separated scopes; only "read" exists.
    scope: Mapped[str] = mapped_column(String(100), default="read")
    # Set: the key reads only this customer's clients. None: every client (Sticos products).
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(254))
    # Updated at most once a minute per key (on the first request of each rate-limit window).
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped["Customer | None"] = relationship()  # noqa: F821

    @property
    def scopes(self) -> set[str]:
        return set(self.scope.split())

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ApiKeyUsage(db.Model):
    """Requests per key per minute: the rate limiter's counter and the key's usage history."""

    __tablename__ = "api_key_usage"
    __table_args__ = (
        UniqueConstraint("api_key_id", "window_start", name="uq_api_key_usage_key_window"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id", ondelete="CASCADE"))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    requests: Mapped[int] = mapped_column(default=0)
