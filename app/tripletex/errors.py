"""Typed Tripletex errors, each carrying Tripletex's own message and a Norwegian one for users.

Tripletex answers errors as ``{status, code, message, link, developerMessage,
validationMessages[{field, message}], requestId}``; ``message`` is already in the user's
language. ``user_message`` is what a customer page may show: ours, with Tripletex's words added
where they help.
"""

from __future__ import annotations

import json
from typing import Any

WRONG_ENVIRONMENT_CODE = 18000


class TripletexError(Exception):
    """Base of every error the Tripletex client raises."""

    default_user_message = "Tripletex svarte med en feil."

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        developer_message: str | None = None,
        validation: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
        tripletex_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.tripletex_message = tripletex_message
        """Tripletex's own words, when the answer carried them (``message`` may be ours)."""
        self.status = status
        self.code = code
        self.developer_message = developer_message
        self.validation = validation or []
        self.request_id = request_id

    @property
    def user_message(self) -> str:
        """A Norwegian sentence for the customer, with Tripletex's own message when it differs."""
        ours = self.default_user_message
        theirs = self.detail()
        return f"{ours} (Tripletex: {theirs})" if theirs and theirs not in ours else ours

    def detail(self) -> str:
        """Tripletex's message plus its validation messages, e.g. ``Validering feilet.
        expirationDate: Kan ikke være null.`` ("" when Tripletex said nothing)."""
        parts = [self.tripletex_message] if self.tripletex_message else []
        for item in self.validation:
            field, text = item.get("field"), item.get("message")
            if text:
                parts.append(f"{field}: {text}" if field else str(text))
        return " ".join(parts)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.message!r}, status={self.status!r}, "
                f"code={self.code!r})")


class KeyRejected(TripletexError):
    """Minting a session failed for the employee token (404/422): wrong, revoked or expired key."""

    default_user_message = (
        "Tripletex godtok ikke nøkkelen. Kontroller at du limte inn hele "
        "regnskapskontorets brukernøkkel, og at den ikke er slettet eller utløpt."
    )


class WrongEnvironment(KeyRejected):
    """422 code 18000 on ``consumerToken``: the key belongs to another Tripletex environment."""

    default_user_message = (
        "Nøkkelen hører til et annet Tripletex-miljø (for eksempel testmiljøet). "
        "Lag en ny nøkkel i det Tripletex-miljøet dere fører regnskapet i."
    )


class ConsumerTokenRejected(TripletexError):
    """Our own application token is refused: an operator must fix TRIPLETEX_CONSUMER_TOKEN."""

    default_user_message = (
        "Tilkoblingen til Tripletex er feil satt opp hos Sticos. Kontakt Sticos kundeservice."
    )


class SessionRejected(TripletexError):
    """A freshly minted session is still refused (401): the key no longer works."""

    default_user_message = (
        "Tripletex avviste tilgangen. Nøkkelen kan være slettet eller ha mistet rettigheter; "
        "lim inn en ny nøkkel."
    )


class AccessDenied(TripletexError):
    """403: the key's user lacks a right, or the firm lost access to this client."""

    default_user_message = (
        "Nøkkelen har ikke tilgang til dette i Tripletex. Kontroller klienttilgangen og "
        "rettighetene til brukeren nøkkelen er laget for."
    )


class Throttled(TripletexError):
    """Tripletex kept answering 429; try again after ``retry_after`` seconds."""

    default_user_message = "Tripletex begrenser antall kall akkurat nå. Vi prøver igjen senere."

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class TripletexUnavailable(TripletexError):
    """Timeouts, connection errors or 5xx that outlasted every retry."""

    default_user_message = "Tripletex svarer ikke akkurat nå. Vi prøver igjen senere."


class ApiError(TripletexError):
    """Any other 4xx answer that retrying will not fix."""


class MalformedResponse(TripletexError):
    """The answer was not JSON or not the envelope we expect."""

    default_user_message = "Tripletex svarte med data vi ikke forstår."


def parse_error_body(body: bytes | str | None) -> dict[str, Any]:
    """The fields of a Tripletex error body as keyword arguments for ``TripletexError``."""
    if not body:
        return {"message": ""}
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        short = text.strip()
        return {"message": "" if short.startswith("<") or len(short) > 300 else short}
    if not isinstance(data, dict):
        return {"message": ""}
    code = data.get("code")
    validation = data.get("validationMessages")
    return {
        "message": str(data.get("message") or "").strip(),
        "code": code if isinstance(code, int) else None,
        "developer_message": data.get("developerMessage"),
        "validation": [v for v in validation if isinstance(v, dict)]
        if isinstance(validation, list) else [],
        "request_id": data.get("requestId"),
    }
