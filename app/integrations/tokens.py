"""An integration's Visma Connect grant: storing it, refreshing it safely, revoking it.

Visma Connect refresh tokens are single use with replay detection: presenting a used one
revokes every grant of the user. So a refresh happens under the integration's row lock
(PostgreSQL ``SELECT … FOR UPDATE``; SQLite: a write that takes the database's write lock),
the holder re-reads the token (someone else may have refreshed it meanwhile), spends the refresh
token once, and commits the new token before anybody uses it. A refused refresh turns the
integration into "reauthorization required" (data kept); it is never retried in a loop.

A refresh whose answer is lost (sent, then a timeout or broken connection) may have rotated the
token. The time it was first sent is committed with the token (``refresh_unconfirmed_since``);
the same refresh token is presented again only while Visma Connect's grace period for used
one-time tokens (``VISMA_REFRESH_GRACE_SECONDS``, the app's setting) certainly still runs, or
when Visma is known to hand out re-use tokens. Outside it the integration asks to be reconnected
rather than replay the token, which would make Visma revoke every grant of the user.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select, text

from app.audit.operations import Actor, record
from app.db_types import utcnow
from app.extensions import db
from app.integrations.models import Integration, IntegrationStatus
from app.integrations.visma import visma_client
from app.jobs.fencing import unfenced
from app.visma.errors import AuthorizationLost, RefreshOutcomeUnknown, VismaError

log = logging.getLogger(__name__)

# Refresh this long before the access token runs out, so a job never starts with a token
# that dies during its first calls.
REFRESH_LEEWAY_SECONDS = 120
# A re-sent refresh reaches Visma at most this long after we decide to send it (it is the
# connect timeout of refresh calls); the grace period must still run then.
RESEND_MARGIN_SECONDS = 2
LOST_ANSWER_MESSAGE = (
    "Svaret fra Visma Connect på fornyelsen av tilgangen kom aldri fram, og Visma.net godtar "
    "ikke at samme fornyelse sendes på nytt nå."
)
SYSTEM_ACTOR = Actor.system("visma-token")


def store_new_grant(integration: Integration, token: dict, userinfo: dict, *, actor: Actor) -> None:
    """Save the first token of a (re)connection and who consented; the integration is connected."""
    now = utcnow()
    integration.token = dict(token)
    integration.token_refreshed_at = now
    integration.authorized_at = now
    given = " ".join(p for p in (userinfo.get("given_name"), userinfo.get("family_name")) if p)
    integration.authorized_by_name = (userinfo.get("name") or given or "")[:200] or None
    integration.authorized_by_email = (userinfo.get("email") or "")[:254] or None
    integration.authorized_by_subject = str(userinfo.get("sub") or "")[:200] or None
    integration.status = IntegrationStatus.CONNECTED
    integration.status_message = None
    record(
        actor,
        "integration_authorized",
        integration,
        authorized_by=integration.authorized_by_email,
        scope=token.get("scope"),
    )
    db.session.commit()


def _expired(token: dict, leeway: float = REFRESH_LEEWAY_SECONDS) -> bool:
    expires_at = token.get("expires_at")
    if expires_at is None:
        return True
    return float(expires_at) - leeway <= utcnow().timestamp()


def _lock(integration_id: int) -> Integration:
    """Commit the session, then hold the integration's write lock until the next commit."""
    db.session.commit()
    query = (
        select(Integration)
        .where(Integration.id == integration_id)
        .execution_options(populate_existing=True)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        return db.session.scalars(query.with_for_update()).one()
    # SQLite has no row locks: the first write of a transaction takes the database write lock,
    # which other writers wait for (busy_timeout), so refreshes serialise across processes.
    db.session.execute(
        text("UPDATE integration SET status = status WHERE id = :id"), {"id": integration_id}
    )
    return db.session.scalars(query).one()


def mark_reauthorization_required(integration: Integration, message: str) -> None:
    """The grant is gone: say so on the integration (data kept) and forget the dead token."""
    integration.status = IntegrationStatus.REAUTHORIZATION_REQUIRED
    integration.status_message = (
        f"Tilgangen til Visma.net er ikke lenger gyldig og må fornyes («Koble til på nytt»). "
        f"Visma.net svarte: {message}"
    )
    integration.token = None
    record(SYSTEM_ACTOR, "integration_authorization_lost", integration, message=message)
    db.session.commit()


def interactive_token(integration_id: int, *, force_refresh: bool = False) -> dict:
    """A valid interactive token for the integration, refreshed (once, under lock) if needed.

    Commits the current session. Raises AuthorizationLost (after marking the integration
    "reauthorization required") when the grant is gone, VismaError for transient trouble.
    """
    integration = db.session.get(Integration, integration_id)
    if integration is None:
        raise LookupError(f"integration {integration_id} does not exist")
    token = integration.token
    usable = integration.status == IntegrationStatus.CONNECTED and token
    if usable and not force_refresh and not _expired(token):
        return token
    db.session.commit()  # the caller's unit of work ends here (a run's is fenced)
    # The token is the integration's, not the run's: a rotated token is kept whichever worker
    # rotated it, even one that lost its run meanwhile (else the next refresh replays a used one).
    with unfenced():
        return _refresh(integration_id, force_refresh=force_refresh)


def _refresh(integration_id: int, *, force_refresh: bool) -> dict:
    integration = _lock(integration_id)
    token = integration.token
    if integration.status == IntegrationStatus.REAUTHORIZATION_REQUIRED:
        message = integration.status_message or "Tilgangen må fornyes."
        db.session.commit()
        raise AuthorizationLost(message)
    if not token or not token.get("refresh_token"):
        mark_reauthorization_required(integration, "Integrasjonen har ingen gyldig tilgang.")
        raise AuthorizationLost("Integrasjonen har ingen gyldig tilgang.")
    if not _expired(token) and not force_refresh:
        db.session.commit()  # another worker refreshed it while we waited for the lock
        return token
    new = _spend_refresh_token(integration, token)
    if new is integration.token:
        return new
    integration.token = new
    integration.token_refreshed_at = utcnow()
    if integration.status != IntegrationStatus.CONNECTED:
        integration.status = IntegrationStatus.CONNECTED
        integration.status_message = None
    db.session.commit()
    return new


def _spend_refresh_token(integration: Integration, token: dict) -> dict:
    """Refresh under the caller's lock; a lost answer is retried only inside the grace period."""
    grace = current_app.config["VISMA_REFRESH_GRACE_SECONDS"]
    reusable = bool(token.get("refresh_token_reused"))
    # Leave room for a second try inside the grace period after a first one timed out.
    timeout = (RESEND_MARGIN_SECONDS, max(grace / 3, 1.0)) if grace else None
    while True:
        since = token.get("refresh_unconfirmed_since")
        if since is not None and not reusable and not _inside_grace(since, grace):
            mark_reauthorization_required(integration, LOST_ANSWER_MESSAGE)
            raise AuthorizationLost(LOST_ANSWER_MESSAGE)
        sent_at = utcnow().timestamp()
        try:
            return visma_client().refresh(token, timeout=timeout)
        except AuthorizationLost as exc:
            mark_reauthorization_required(integration, exc.message)
            raise
        except RefreshOutcomeUnknown as exc:
            # Visma may have spent the token: remember since when, before anything else.
            lost = {**token, "refresh_unconfirmed_since": since or sent_at}
            integration.token = lost
            db.session.commit()
            current_app.logger.warning(
                "Integration %s: refresh answer lost (%s)", integration.id, exc.message
            )
            integration = _lock(integration.id)
            current = integration.token
            if integration.status == IntegrationStatus.REAUTHORIZATION_REQUIRED or not current:
                db.session.commit()
                raise AuthorizationLost(integration.status_message or LOST_ANSWER_MESSAGE) from exc
            if current.get("refresh_token") != lost["refresh_token"]:
                db.session.commit()  # another worker's refresh got through meanwhile
                return current
            token = lost
        except VismaError:
            db.session.rollback()
            raise


def _inside_grace(since: float, grace: float) -> bool:
    return utcnow().timestamp() - since + RESEND_MARGIN_SECONDS <= grace


def revoke_grant(integration: Integration) -> bool:
    """Revoke the refresh token at Visma Connect (best effort); True when Visma confirmed."""
    token = integration.token
    if not token or not token.get("refresh_token"):
        return False
    try:
        error = visma_client().revoke(token)
    except VismaError as exc:  # revoke() reports rather than raises; belt and braces
        error = exc.message
    if error:
        current_app.logger.warning("Revoking integration %s's grant failed: %s", integration.id, error)
    return error is None


def refresh_expiry(integration: Integration) -> datetime | None:
    """When the grant dies if left unused (sliding) or at the latest (absolute), or None."""
    token = integration.token
    if not token or not token.get("refresh_token"):
        return None
    config = current_app.config
    candidates = []
    refreshed = integration.token_refreshed_at or integration.authorized_at
    if refreshed is not None:
        candidates.append(_aware(refreshed) + timedelta(days=config["VISMA_REFRESH_SLIDING_DAYS"]))
    if integration.authorized_at is not None:
        candidates.append(
            _aware(integration.authorized_at) + timedelta(days=config["VISMA_REFRESH_ABSOLUTE_DAYS"])
        )
    return min(candidates) if candidates else None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def keep_grants_alive() -> dict:
    """Refresh the grant of every connected integration whose refresh token would run out
    unused within GRANT_KEEPALIVE_DAYS (a customer without active clients keeps its
    connection). At most one forced refresh per integration a day: when the grant's absolute
    lifetime is what runs out, refreshing cannot help and the customer must reconnect. A lost
    authorization is recorded on the integration by ``interactive_token``. A scheduler job."""
    now = utcnow()
    horizon = now + timedelta(days=current_app.config["GRANT_KEEPALIVE_DAYS"])
    integrations = db.session.scalars(
        select(Integration).where(
            Integration.status == IntegrationStatus.CONNECTED, Integration.token.is_not(None)
        )
    ).all()
    refreshed = failed = 0
    for integration in integrations:
        expiry = refresh_expiry(integration)
        last = integration.token_refreshed_at
        if expiry is None or expiry > horizon or (last and now - last < timedelta(days=1)):
            continue
        try:
            interactive_token(integration.id, force_refresh=True)
            refreshed += 1
        except Exception as exc:
            db.session.rollback()
            failed += 1
            log.warning("Keeping integration %s's grant alive failed: %s", integration.id,
                        type(exc).__name__)
    return {"refreshed": refreshed, "failed": failed}
