"""Keyset (cursor) pagination, JSON encoding, and ETag / If-None-Match.

Pages are ordered by a unique sort key and a cursor holds the key of the last row returned,
so the next page is `WHERE key > cursor`. Synced rows are ordered by their natural key
(e.g. module, batch number, line number), NOT by the surrogate `id`: a full sync writes a new
generation of rows with new ids, and a walk that crosses the generation flip must continue at
the same place in the new copy. Keyset on the natural key gives exactly that: every row that
stays visible for the whole walk is returned once (no duplicates, no gaps); rows added or
changed during the walk may or may not be included (read them later with `changed_since`).
"""

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import Response, request
from sqlalchemy import Select, literal, tuple_

from app.api.params import DEFAULT_LIMIT, decode_cursor, encode_cursor, query_fingerprint
from app.extensions import db


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def money(value: Decimal | None) -> str | None:
    """Money as a string with two decimals: JSON numbers would lose precision in many clients."""
    return None if value is None else f"{value:.2f}"


def _default(value: Any):
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return money(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(body: Any, status: int = 200) -> Response:
    """JSON with a strong ETag over the exact bytes; a matching If-None-Match gives 304."""
    payload = json.dumps(body, default=_default, ensure_ascii=False, separators=(",", ":"))
    response = Response(payload, status=status, mimetype="application/json")
    # Another key may see other data: shared caches must not reuse it, clients revalidate.
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Authorization")
    if status == 200:
        response.set_etag(hashlib.sha256(payload.encode()).hexdigest()[:40])
        response = response.make_conditional(request)
    return response


def after_key(columns: Sequence, position: Sequence):
    """`(c1, c2, …) > (v1, v2, …)`: a row-value comparison both SQLite and PostgreSQL run as
    an index range scan on the natural-key index."""
    if len(columns) == 1:
        return columns[0] > position[0]
    return tuple_(*columns) > tuple_(*(literal(v) for v in position))


def page(
    stmt: Select,
    key_columns: Sequence,
    key_types: list[type],
    values: dict[str, Any],
    serialize: Callable[[Any], dict],
    *,
    position_of: Callable[[Any], list],
    fetch: Callable[[Select], list] | None = None,
) -> Response:
    """One page of `stmt` ordered by `key_columns`, after the cursor's position."""
    limit = values.get("limit") or DEFAULT_LIMIT
    fingerprint = query_fingerprint(request.path, values)
    if values.get("cursor"):
        position = decode_cursor(values["cursor"], fingerprint, key_types)
        stmt = stmt.where(after_key(key_columns, position))
    stmt = stmt.order_by(None).order_by(*key_columns).limit(limit + 1)
    rows = fetch(stmt) if fetch else db.session.scalars(stmt).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(position_of(rows[-1]), fingerprint) if has_more else None
    return json_response({"data": [serialize(row) for row in rows], "next_cursor": next_cursor})
