"""The web OAuth flow with Visma Connect: authorization code + PKCE (S256) + nonce.

``start_authorization`` keeps ``state``, the PKCE verifier and the nonce in the Flask session,
keyed by integration id; ``finish_authorization`` consumes that entry exactly once (a replayed
or forged callback finds nothing and changes nothing), trades the code for the first token,
reads who consented and stores the grant through ``tokens.store_new_grant``.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass

from authlib.common.security import generate_token
from flask import session, url_for

from app.audit.operations import Actor
from app.integrations.models import Integration, IntegrationStatus
from app.visma.auth import new_code_verifier, new_state
from app.visma.errors import VismaError

SESSION_KEY = "visma_oauth"
# A login at Visma that takes longer than this must be started again.
PENDING_MAX_AGE_SECONDS = 30 * 60


class AuthorizationFailed(Exception):
    """The callback could not complete the connection; ``message`` is for the customer."""

    def __init__(self, message: str, *, cancelled: bool = False):
        super().__init__(message)
        self.message = message
        self.cancelled = cancelled


@dataclass(frozen=True)
class Pending:
    integration_id: int
    state: str
    code_verifier: str
    nonce: str


def redirect_uri() -> str:
    return url_for("integrations.oauth_callback", _external=True)


def start_authorization(integration: Integration) -> str:
    """Remember a fresh state/verifier/nonce for this integration; return Visma's login URL."""
    from app.integrations.visma import visma_client

    state, verifier, nonce = new_state(), new_code_verifier(), generate_token(32)
    pending = _live_entries()
    pending[str(integration.id)] = {
        "state": state, "verifier": verifier, "nonce": nonce, "started": int(time.time()),
    }
    session[SESSION_KEY] = pending
    client = visma_client()
    # The nonce travels through VismaConnect's extra authorize parameters and comes back in
    # the id_token, binding that token to this browser's login.
    return client.connect.authorization_url(redirect_uri(), state, verifier, nonce=nonce)


def pop_pending(state: str | None) -> Pending | None:
    """The pending authorization this ``state`` belongs to, removed so it works only once."""
    if not state:
        return None
    pending = _live_entries()
    found = None
    for integration_id, entry in pending.items():
        if secrets.compare_digest(entry["state"], state):
            found = Pending(int(integration_id), entry["state"], entry["verifier"], entry["nonce"])
    if found is not None:
        pending.pop(str(found.integration_id), None)
    session[SESSION_KEY] = pending
    return found


def finish_authorization(
    integration: Integration, pending: Pending, args, *, actor: Actor
) -> dict:
    """Complete the flow from the callback's query ``args``; returns the user's claims.

    Raises AuthorizationFailed (nothing stored) when the user cancelled, Visma sent an error,
    or the code, token or nonce do not check out.
    """
    from app.integrations.tokens import store_new_grant
    from app.integrations.visma import visma_client

    error = args.get("error")
    if error == "access_denied":
        raise AuthorizationFailed(_cancelled_message(integration), cancelled=True)
    if error:
        detail = args.get("error_description") or error
        raise AuthorizationFailed(f"Visma.net svarte med en feil: {detail}. {_unchanged(integration)}")
    code = args.get("code")
    if not code:
        raise AuthorizationFailed(f"Visma.net sendte ingen godkjenning tilbake. {_unchanged(integration)}")
    client = visma_client()
    try:
        token = client.exchange_code(code, redirect_uri(), pending.code_verifier)
        _check_nonce(token, pending.nonce)
        userinfo = client.userinfo(token)
    except VismaError as exc:
        raise AuthorizationFailed(
            f"Visma.net godtok ikke tilkoblingen: {exc.message} {_unchanged(integration)}"
        ) from exc
    store_new_grant(integration, token, userinfo, actor=actor)
    return userinfo


def _check_nonce(token: dict, nonce: str) -> None:
    """The id_token came straight from the token endpoint over TLS (OIDC Core 3.1.3.7), so its
    claims can be read without a signature check; its nonce must be ours."""
    id_token = token.get("id_token")
    if not id_token:
        return
    try:
        payload = id_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        raise AuthorizationFailed("Visma.net sendte et ugyldig id_token.") from None
    if claims.get("nonce") is not None and not secrets.compare_digest(str(claims["nonce"]), nonce):
        raise AuthorizationFailed("Svaret fra Visma.net hørte til en annen innlogging.")


def _live_entries() -> dict:
    now = time.time()
    return {
        key: entry
        for key, entry in (session.get(SESSION_KEY) or {}).items()
        if now - entry.get("started", 0) < PENDING_MAX_AGE_SECONDS
    }


def _unchanged(integration: Integration) -> str:
    if integration.status == IntegrationStatus.CONNECTED:
        return "Den eksisterende tilkoblingen er uendret."
    return "Ingenting er endret; trykk «Koble til» for å prøve igjen."


def _cancelled_message(integration: Integration) -> str:
    if integration.status == IntegrationStatus.CONNECTED:
        return "Tilkoblingen ble avbrutt i Visma.net. Den eksisterende tilkoblingen er uendret."
    return (
        "Tilkoblingen ble avbrutt i Visma.net, så Sticos har ikke fått tilgang ennå. "
        "Trykk «Koble til» når du vil prøve igjen."
    )
