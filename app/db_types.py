"""Column types shared by the models: UTC timestamps and encrypted JSON."""

import json
from datetime import UTC, datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import DateTime, Text
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC, so SQLite and PostgreSQL behave the same."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime; use app.db_types.utcnow().")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def token_cipher(keys: str | None = None) -> MultiFernet:
    """The cipher for secrets at rest; the first key encrypts, every key decrypts."""
    raw = keys if keys is not None else current_app.config["TOKEN_ENCRYPTION_KEY"]
    return MultiFernet([Fernet(key.strip().encode()) for key in raw.split(",") if key.strip()])


class EncryptedJSON(TypeDecorator):
    """A JSON document encrypted with Fernet; the column never holds plain text."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        plain = json.dumps(value, separators=(",", ":")).encode()
        return token_cipher().encrypt(plain).decode()

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        try:
            return json.loads(token_cipher().decrypt(value.encode()))
        except InvalidToken:
            # A rotated-away key: treat as no token, so the integration asks to reconnect.
            current_app.logger.error("Stored token could not be decrypted with any configured key")
            return None
