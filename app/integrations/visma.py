"""The app's one VismaClient, built from the app's config and reused by every request and job."""

from __future__ import annotations

import threading

from flask import Flask, current_app

from app.visma.client import VismaClient
from app.visma.http import RetryPolicy

EXTENSION_KEY = "visma_client"
_lock = threading.Lock()


def build_visma_client(config) -> VismaClient:
    """A VismaClient from a config mapping (``VISMA_*`` keys, see config.py)."""
    timeout = float(config.get("VISMA_HTTP_TIMEOUT_SECONDS") or 30)
    return VismaClient(
        client_id=config.get("VISMA_CLIENT_ID") or "",
        client_secret=config.get("VISMA_CLIENT_SECRET") or "",
        service_client_id=config.get("VISMA_SERVICE_CLIENT_ID") or None,
        service_client_secret=config.get("VISMA_SERVICE_CLIENT_SECRET") or None,
        service_scope=config.get("VISMA_SERVICE_SCOPE") or "vismanet_erp_service_api:read",
        connect_url=config["VISMA_CONNECT_URL"],
        api_url=config["VISMA_API_URL"],
        connect_timeout=min(5.0, timeout),
        read_timeout=timeout,
        retry=RetryPolicy(
            max_attempts=int(config.get("VISMA_MAX_ATTEMPTS", 5)),
            backoff_base=float(config.get("VISMA_BACKOFF_SECONDS", 0.5)),
            max_wait=float(config.get("VISMA_MAX_WAIT_SECONDS", 300)),
        ),
    )


def visma_client(app: Flask | None = None) -> VismaClient:
    """The app's VismaClient (one per app: one connection pool, one service-token cache)."""
    app = app or current_app._get_current_object()
    client = app.extensions.get(EXTENSION_KEY)
    if client is None:
        with _lock:
            client = app.extensions.get(EXTENSION_KEY)
            if client is None:
                client = app.extensions[EXTENSION_KEY] = build_visma_client(app.config)
    return client


def list_clients(integration) -> list:
    """The tenants the integration's grant reaches (the registry's client list for Visma.net)."""
    from app.integrations import tokens
    from app.integrations.systems import SourceClient
    from app.visma.errors import TokenExpired

    visma = visma_client()
    try:
        # Always spend the refresh token: the access token is a JWT that stays valid after the
        # user revokes the grant in Visma.net, and only a refresh tells us so.
        tenants = visma.discover_tenants(tokens.interactive_token(integration.id, force_refresh=True))
    except TokenExpired:  # the access token was refused early: refresh once and try again
        tenants = visma.discover_tenants(
            tokens.interactive_token(integration.id, force_refresh=True))
    return [SourceClient(t.tenant_id, t.name, t.corporate_id, t.access_withdrawn, t.message)
            for t in tenants]


def ensure_connection(integration) -> None:
    """Refresh the grant if it is due (AuthorizationLost when it is gone)."""
    from app.integrations import tokens

    tokens.interactive_token(integration.id)
