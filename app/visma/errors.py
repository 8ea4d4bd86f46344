"""Typed Visma.net errors, each carrying Visma's own human message."""

from __future__ import annotations

import json
from typing import Any

# Keys Visma (ERP API and Visma Connect) uses for a human message, best first.
_MESSAGE_KEYS = ("ExceptionMessage", "Message", "message", "error_description", "title", "error")


class VismaError(Exception):
    """Base of every error the Visma client raises.

    ``message`` is Visma's own wording when it gave one (show it to users), ``status`` the HTTP
    status (``None`` for transport errors), ``fault_code`` the ERP ``ExceptionFaultCode`` or the
    OAuth ``error`` code.
    """

    def __init__(
        self, message: str, *, status: int | None = None, fault_code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.fault_code = fault_code

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status={self.status!r}, "
            f"fault_code={self.fault_code!r})"
        )


class AuthorizationLost(VismaError):
    """The user's grant is gone (revoked, expired or replayed refresh token): reconnect needed."""


class TokenExpired(VismaError):
    """An interactive access token was rejected (401): refresh it, persist it, then retry."""


class CompanyAccessWithdrawn(VismaError):
    """This one company (tenant) can no longer be read; other tenants are unaffected."""

    def __init__(self, message: str, *, tenant_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.tenant_id = tenant_id


class ConfigurationError(VismaError):
    """Our app registration is wrong (``invalid_client``, bad scope): an operator must fix it."""


class Throttled(VismaError):
    """Visma kept answering 429 (or the rate budget is spent); try again after ``retry_after``."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ApiError(VismaError):
    """Any other 4xx/5xx answer that retrying will not fix."""


class MalformedResponse(VismaError):
    """The answer was not JSON, had the wrong shape, or paging did not add up."""


class AmbiguousOrganization(VismaError):
    """``/v1/organization`` lists several organizations and none is the tenant's company by
    orgnr (nor, failing that, by name); retrying cannot help. ``message`` is Norwegian."""


class VismaUnavailable(VismaError):
    """Timeouts, connection errors or 5xx that outlasted every retry."""


class RefreshOutcomeUnknown(VismaUnavailable):
    """A refresh request reached Visma Connect but its answer never came back: the refresh
    token may have been spent (and a new one issued) or may still be unused."""


def parse_error_body(body: bytes | str | None) -> tuple[str | None, str | None]:
    """Return ``(message, fault_code)`` from any Visma error body, or ``(None, None)``.

    Understands ERP errors (``ExceptionMessage`` / ``ExceptionFaultCode``), ``{"Message": ...}``,
    OAuth errors (``error`` / ``error_description``) and short plain-text bodies.
    """
    if body is None:
        return None, None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = text.strip()
    if not text:
        return None, None
    try:
        data = json.loads(text)
    except ValueError:
        # Plain text or an HTML error page: keep short text, never a whole page.
        if text.startswith("<") or len(text) > 300:
            return None, None
        return text, None
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]
    if not isinstance(data, dict):
        return None, None
    fault = data.get("ExceptionFaultCode") or data.get("error")
    fault_code = str(fault) if fault not in (None, "") else None
    for key in _MESSAGE_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip(), fault_code
    return None, fault_code


def error_message(body: bytes | str | None, default: str) -> str:
    """Visma's message from an error body, or ``default`` when it gave none."""
    message, _ = parse_error_body(body)
    return message or default
