"""Tripletex for the app: a client for a pasted key, its client list, and what its errors mean.

The key (the accounting firm's "Regnskapskontorets brukernøkkel", an employee token) is the
integration's credential, stored encrypted in ``Integration.token`` as ``{"key": …}``;
session tokens are minted from it per client object and never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app

from app.integrations.systems import Effect, Failure, SourceClient
from app.tripletex.client import ClientCompany, TripletexClient
from app.tripletex.errors import (
    AccessDenied,
    ApiError,
    ConsumerTokenRejected,
    KeyRejected,
    MalformedResponse,
    SessionRejected,
    Throttled,
    TripletexError,
    TripletexUnavailable,
)
from app.tripletex.http import RetryPolicy

KEY_MAX_LENGTH = 500
NO_KEY = "Integrasjonen har ingen nøkkel til Tripletex; lim inn en ny under «Endre system»."


def client_for_key(key: str, config: Mapping[str, Any] | None = None) -> TripletexClient:
    config = current_app.config if config is None else config
    if not config.get("TRIPLETEX_CONSUMER_TOKEN"):
        raise ConsumerTokenRejected("TRIPLETEX_CONSUMER_TOKEN is not set.")
    retry = RetryPolicy(max_attempts=int(config.get("TRIPLETEX_MAX_ATTEMPTS", 5)),
                        backoff_base=float(config.get("TRIPLETEX_BACKOFF_SECONDS", 0.5)))
    return TripletexClient.from_settings(config, key, retry=retry)


def client_for(integration) -> TripletexClient:
    key = (integration.token or {}).get("key")
    if not key:
        raise SessionRejected(NO_KEY)
    return client_for_key(key)


def check_key(key: str) -> list[ClientCompany]:
    """The companies a pasted key reaches; raises TripletexError (``user_message``) if none can
    be listed, so nothing is created for a wrong, revoked or wrong-environment key."""
    with client_for_key(key) as client:
        return client.clients()


def list_clients(integration) -> list[SourceClient]:
    with client_for(integration) as client:
        companies = client.clients()
    return [SourceClient(c.external_id, c.name, c.organization_number or None)
            for c in companies]


def ensure_connection(integration) -> None:
    """Nothing to renew ahead: sessions are minted per run from the key."""
    if not (integration.token or {}).get("key"):
        raise SessionRejected(NO_KEY)


def failure(exc: Exception) -> Failure:
    """A Tripletex error's effect on the integration or client, with a Norwegian message."""
    if not isinstance(exc, TripletexError):
        return Failure(Effect.RETRY, "Feil mot Tripletex; prøver igjen senere.")
    said = exc.user_message
    if isinstance(exc, KeyRejected | SessionRejected):
        return Failure(Effect.CONNECTION_LOST,
                       "Tripletex godtar ikke lenger regnskapskontorets brukernøkkel: lim inn en "
                       "ny nøkkel under «Endre system». Data som allerede er hentet, beholdes. "
                       + said)
    if isinstance(exc, AccessDenied):
        return Failure(Effect.CLIENT_UNREACHABLE,
                       "Sticos har ikke lenger tilgang til denne klienten i Tripletex. Gi "
                       "brukeren nøkkelen er laget for klienttilgang igjen. Data som allerede er "
                       "hentet, beholdes. " + said)
    if isinstance(exc, ConsumerTokenRejected):
        return Failure(Effect.SETUP, "Sticos sin kobling til Tripletex er feil satt opp; "
                                     "driften er varslet.")
    if isinstance(exc, Throttled | TripletexUnavailable | MalformedResponse):
        return Failure(Effect.RETRY, said)
    if isinstance(exc, ApiError) and exc.status is not None and exc.status >= 500:
        return Failure(Effect.RETRY, said)
    return Failure(Effect.REJECTED, "Tripletex avviste forespørselen. " + said)
