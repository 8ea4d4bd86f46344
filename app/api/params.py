"""Declared query parameters: one list per endpoint parses the request AND documents it in the
OpenAPI document, so the two cannot drift apart. Unknown or repeated parameters are a 400."""

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from app.api.problems import ApiProblem

MAX_LIMIT = 5000
DEFAULT_LIMIT = 500
PERIOD_RE = re.compile(r"^[0-9]{4}(0[1-9]|1[0-9])$")
PERIOD_PATTERN = "^[0-9]{4}(0[1-9]|1[0-9])$"
# Ids and years are 32-bit columns (PostgreSQL INTEGER): a larger value can match nothing.
MAX_INT = 2**31 - 1
# No control characters in free text: PostgreSQL refuses NUL in a string, and no stored value
# holds a tab or newline.
NO_CONTROL_PATTERN = "^[^\\u0000-\\u001f\\u007f]*$"
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # integer | boolean | string | date | date-time | period | cursor | limit
    description: str
    minimum: int | None = None
    maximum: int | None = None  # for "limit": a smaller cap than MAX_LIMIT
    max_length: int = 200
    schema_extra: dict = field(default_factory=dict)

    def schema(self) -> dict:
        if self.kind == "integer":
            schema = {
                "type": "integer",
                "minimum": self.minimum if self.minimum is not None else 1,
                "maximum": MAX_INT,
            }
        elif self.kind == "limit":
            schema = {
                "type": "integer",
                "minimum": 1,
                "maximum": self.maximum or MAX_LIMIT,
                "default": DEFAULT_LIMIT,
            }
        elif self.kind == "boolean":
            schema = {"type": "boolean"}
        elif self.kind == "date":
            schema = {"type": "string", "format": "date"}
        elif self.kind == "date-time":
            schema = {"type": "string", "format": "date-time"}
        elif self.kind == "period":
            schema = {"type": "string", "pattern": PERIOD_PATTERN, "examples": ["202401"]}
        elif self.kind == "cursor":
            schema = {"type": "string", "maxLength": 500}
        else:
            schema = {
                "type": "string",
                "maxLength": self.max_length,
                "pattern": NO_CONTROL_PATTERN,
            }
        return schema | self.schema_extra

    def openapi(self) -> dict:
        return {
            "name": self.name,
            "in": "query",
            "required": False,
            "description": self.description,
            "schema": self.schema(),
        }

    def parse(self, raw: str) -> Any:
        if self.kind in ("integer", "limit"):
            if not re.fullmatch(r"[+]?[0-9]{1,10}", raw.strip()):
                raise _bad(self.name, f"'{self.name}' must be a whole number.")
            value = int(raw)
            low = 1 if self.kind == "limit" else (self.minimum if self.minimum is not None else 1)
            high = (self.maximum or MAX_LIMIT) if self.kind == "limit" else MAX_INT
            if not low <= value <= high:
                raise _bad(self.name, f"'{self.name}' must be between {low} and {high}.")
            return value
        if self.kind == "boolean":
            lowered = raw.strip().lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0"):
                return False
            raise _bad(self.name, f"'{self.name}' must be true or false.")
        if self.kind == "date":
            try:
                return date.fromisoformat(raw.strip())
            except ValueError:
                raise _bad(self.name, f"'{self.name}' must be a date like 2024-01-31.") from None
        if self.kind == "date-time":
            return parse_datetime(self.name, raw)
        if self.kind == "period":
            if not PERIOD_RE.fullmatch(raw.strip()):
                raise _bad(
                    self.name, f"'{self.name}' must be a financial period YYYYPP, e.g. 202401."
                )
            return raw.strip()
        if len(raw) > (500 if self.kind == "cursor" else self.max_length):
            raise _bad(self.name, f"'{self.name}' is too long.")
        if CONTROL_RE.search(raw):
            raise _bad(self.name, f"'{self.name}' must not contain control characters.")
        return raw


def parse_datetime(name: str, raw: str) -> datetime:
    """RFC 3339 date-time with an offset (Z or ±hh:mm); a leap second counts as :59."""
    text = raw.strip()
    match = re.fullmatch(
        r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", text
    )
    if not match:
        raise _bad(
            name,
            f"'{name}' must be an RFC 3339 date-time with a time zone, e.g. 2024-01-31T12:00:00Z.",
        )
    day, hour, minute, second, fraction, offset = match.groups()
    second = min(int(second), 59)
    fraction = (fraction or "")[:7].ljust(7, "0") if fraction else ""
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        value = datetime.fromisoformat(f"{day}T{hour}:{minute}:{second:02d}{fraction}{offset}")
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _bad(name, f"'{name}' is not a valid date-time.") from None


def _bad(name: str, detail: str) -> ApiProblem:
    return ApiProblem(
        400, detail, type_="invalid-parameter", invalid_params=[{"name": name, "reason": detail}]
    )


def parse_args(args: MultiDict, declared: list[Param]) -> dict[str, Any]:
    """The declared parameters, parsed; 400 for unknown, repeated or malformed ones."""
    by_name = {param.name: param for param in declared}
    unknown = sorted(set(args.keys()) - set(by_name))
    if unknown:
        allowed = ", ".join(sorted(by_name)) or "none"
        detail = f"Unknown query parameter(s): {', '.join(unknown)}. Allowed here: {allowed}."
        raise ApiProblem(
            400,
            detail,
            type_="invalid-parameter",
            invalid_params=[{"name": n, "reason": "unknown parameter"} for n in unknown],
        )
    values: dict[str, Any] = {}
    for name, param in by_name.items():
        raws = args.getlist(name)
        if len(raws) > 1:
            raise _bad(name, f"'{name}' was given more than once.")
        values[name] = param.parse(raws[0]) if raws else None
    return values


# --- cursors --------------------------------------------------------------------------------


def query_fingerprint(path: str, values: dict[str, Any]) -> str:
    """Ties a cursor to the query it came from (path and filters; not cursor or limit)."""
    filters = {
        k: str(v)
        for k, v in sorted(values.items())
        if k not in ("cursor", "limit") and v is not None
    }
    blob = json.dumps([path, filters], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def encode_cursor(position: list, fingerprint: str) -> str:
    """An opaque cursor: the sort key of the last row returned, and the query it belongs to."""
    raw = json.dumps([1, position, fingerprint], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str, types: list[type]) -> list:
    """The sort key after which the next page starts; 400 if garbled or from another query."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        version, position, cursor_fp = json.loads(base64.urlsafe_b64decode(padded.encode()))
        valid = (
            version == 1
            and isinstance(position, list)
            and len(position) == len(types)
            and all(type(value) is kind for value, kind in zip(position, types, strict=True))
            and all(abs(value) <= MAX_INT for value in position if isinstance(value, int))
        )
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        valid = False
    if not valid:
        raise _bad("cursor", "'cursor' is not a cursor this API gave out; start without one.")
    if cursor_fp != fingerprint:
        raise _bad(
            "cursor",
            "'cursor' belongs to a query with other filters; "
            "keep the filters the same while paging, or start without a cursor.",
        )
    return position
