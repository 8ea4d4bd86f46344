"""Per-key rate limit: a fixed one-minute window counted in the database.

Why the database: gunicorn runs several worker processes (and hosts), so a per-process counter
would multiply the limit by the number of processes. One UPSERT per request
(`INSERT … ON CONFLICT DO UPDATE … RETURNING`, SQLite ≥ 3.35 and PostgreSQL) is atomic, so
concurrent requests of one key are counted exactly. The same row is the key's usage history
(requests per minute) and tells us when to update `ApiKey.last_used_at`: on the first request of
each window, so at most once a minute per key. A fixed window may let through up to twice the
limit across a window boundary; for protecting the database from a runaway consumer that is
good enough, and it costs one small write per request.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, text
from sqlalchemy.dialects import postgresql, sqlite

from app.api.models import ApiKeyUsage
from app.api.operations import touch_last_used
from app.db_types import utcnow
from app.extensions import db

WINDOW_SECONDS = 60
USAGE_RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the window resets


def hit(api_key_id: int, limit: int) -> Verdict:
    """Count one request for the key in the current window and commit."""
    now = utcnow()
    epoch = int(now.timestamp())
    start_epoch = epoch - epoch % WINDOW_SECONDS
    window_start = now.replace(microsecond=0) - timedelta(seconds=epoch - start_epoch)
    if db.engine.dialect.name == "postgresql":
        # A counter lost in a crash is harmless: do not wait for the WAL flush on every request.
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        insert = postgresql.insert
    else:
        insert = sqlite.insert
    stmt = insert(ApiKeyUsage).values(api_key_id=api_key_id, window_start=window_start, requests=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[ApiKeyUsage.api_key_id, ApiKeyUsage.window_start],
        set_={"requests": ApiKeyUsage.requests + 1},
    ).returning(ApiKeyUsage.requests)
    count = db.session.execute(stmt).scalar_one()
    if count == 1:
        # First request of this minute: record the use, and forget old usage of this key.
        touch_last_used(api_key_id)
        db.session.execute(
            delete(ApiKeyUsage).where(
                ApiKeyUsage.api_key_id == api_key_id,
                ApiKeyUsage.window_start < now - USAGE_RETENTION,
            )
        )
    db.session.commit()
    reset_in = max(1, math.ceil(start_epoch + WINDOW_SECONDS - now.timestamp()))
    return Verdict(
        allowed=count <= limit,
        limit=limit,
        remaining=max(0, limit - count),
        retry_after=reset_in,
    )
