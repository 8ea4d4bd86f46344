from datetime import datetime
from enum import StrEnum

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.db_types import UTCDateTime, utcnow
from app.extensions import db


class Role(StrEnum):
    OPERATOR = "operator"
    CUSTOMER = "customer"


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default=Role.CUSTOMER)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    is_active_user: Mapped[bool] = mapped_column(default=True)
    # Set when an operator created the account with a one-time password.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Part of the id in every session and remember cookie: raising it ends them all (logout,
    # password change), including copies of the cookies.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    customer: Mapped["Customer | None"] = relationship(back_populates="users")  # noqa: F821

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def end_sessions(self) -> None:
        """Every session and remember cookie issued so far stops working at its next request."""
        self.session_version = (self.session_version or 1) + 1

    @property
    def is_active(self) -> bool:
        return self.is_active_user

    @property
    def is_operator(self) -> bool:
        return self.role == Role.OPERATOR

    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def __str__(self) -> str:
        return self.email


class LoginAttempt(db.Model):
    """Failed logins, counted per (e-mail, IP) pair and per IP address to throttle guessing."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
