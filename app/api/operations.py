"""State changes for API keys (create, revoke), audited; and the check of a presented key.

Commit policy: ``create_api_key`` and ``revoke_api_keys`` are their entry point's whole unit of
work and commit, like every operations module. ``touch_last_used`` is part of a request's
rate-limit transaction and leaves the commit to it.
"""

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from sqlalchemy import select, update

from app.api.models import ApiKey
from app.audit.operations import Actor, record
from app.db_types import utcnow
from app.extensions import db

KEY_MARKER = "erpi_"
# "erpi_" + 8 random characters: unique, shown to operators, never enough to use the key.
PREFIX_LENGTH = len(KEY_MARKER) + 8


def hash_key(key: str) -> str:
    """The stored form of a key (SHA-256, hex)."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    name: str, *, actor: Actor, customer_id: int | None = None, scope: str = "read"
) -> tuple[ApiKey, str]:
    """Make a key; returns (row, the key itself). The key is shown once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ValueError("An API key needs a name (who uses it, for what).")
    while True:
        key = KEY_MARKER + secrets.token_urlsafe(32)
        prefix = key[:PREFIX_LENGTH]
        if db.session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            break
    api_key = ApiKey(
        name=name[:200],
        prefix=prefix,
        key_hash=hash_key(key),
        scope=scope,
        customer_id=customer_id,
        created_by=actor.label,
    )
    db.session.add(api_key)
    db.session.flush()
    record(
        actor,
        "api_key.created",
        api_key,
        prefix=prefix,
        scope=scope,
        limited_to_customer_id=customer_id,
    )
    db.session.commit()
    return api_key, key


def revoke_api_keys(ids: Iterable[int], *, actor: Actor) -> int:
    """Revoke the given keys (already revoked ones are left as they are); returns how many."""
    keys = db.session.scalars(
        select(ApiKey).where(ApiKey.id.in_(list(ids)), ApiKey.revoked_at.is_(None))
    ).all()
    now = utcnow()
    for api_key in keys:
        api_key.revoked_at = now
        api_key.revoked_by = actor.label
        record(actor, "api_key.revoked", api_key, prefix=api_key.prefix)
    db.session.commit()
    return len(keys)


def find_active_key(presented: str) -> ApiKey | None:
    """The unrevoked key matching `presented`, compared in constant time; None otherwise."""
    if not presented.startswith(KEY_MARKER) or len(presented) < PREFIX_LENGTH + 16:
        return None
    api_key = db.session.scalar(select(ApiKey).where(ApiKey.prefix == presented[:PREFIX_LENGTH]))
    if api_key is None or not hmac.compare_digest(api_key.key_hash, hash_key(presented)):
        return None
    if api_key.revoked_at is not None:
        return None
    return api_key


def touch_last_used(api_key_id: int) -> None:
    """Note that the key was used now (once a minute, from the rate limiter)."""
    db.session.execute(update(ApiKey).where(ApiKey.id == api_key_id).values(last_used_at=utcnow()))
