"""The integration's grant: safe refresh under a lock, lost grants, revocation, expiry."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from app.extensions import db
from app.integrations import tokens
from app.integrations.models import Integration, IntegrationStatus
from app.integrations.visma import visma_client
from app.visma.errors import AuthorizationLost
from app.visma.simulator.state import DEMO_USER

from .conftest import make_env


def _expire(integration):
    integration.token = {**integration.token, "expires_at": 1}
    db.session.commit()


def test_fresh_token_is_returned_and_expired_one_refreshed_once(env):
    integration = env.connect()
    first = dict(integration.token)
    assert tokens.interactive_token(integration.id) == first
    _expire(integration)
    new = tokens.interactive_token(integration.id)
    assert new["refresh_token"] != first["refresh_token"]
    assert new["expires_at"] > time.time() + 3000
    db.session.expire_all()
    stored = db.session.get(Integration, integration.id)
    assert stored.token == new and stored.token_refreshed_at is not None
    assert tokens.interactive_token(integration.id) == new  # no second refresh


def test_lost_grant_marks_integration_and_is_not_retried(env):
    integration = env.connect()
    env.sim.state.revoke_user_grants(DEMO_USER)
    _expire(integration)
    with pytest.raises(AuthorizationLost):
        tokens.interactive_token(integration.id)
    db.session.expire_all()
    stored = db.session.get(Integration, integration.id)
    assert stored.status == IntegrationStatus.REAUTHORIZATION_REQUIRED
    assert stored.token is None and "revoked" in stored.status_message
    before = visma_client().http.calls["connect"]
    with pytest.raises(AuthorizationLost):
        tokens.interactive_token(integration.id)
    assert visma_client().http.calls["connect"] == before  # no call: nothing to burn


def test_revoke_and_expiry(env, app_config=None):
    integration = env.connect()
    expiry = tokens.refresh_expiry(integration)
    assert timedelta(days=29) < expiry - integration.token_refreshed_at <= timedelta(days=30)
    assert tokens.revoke_grant(integration) is True
    _expire(integration)
    with pytest.raises(AuthorizationLost):
        tokens.interactive_token(integration.id)
    assert tokens.refresh_expiry(db.session.get(Integration, integration.id)) is None


def _race(env, integration_id):
    """Two workers find the token expired at the same moment and both ask for it."""
    visma = visma_client()
    real_refresh = visma.refresh
    calls = []

    def slow_refresh(token, **kwargs):  # widen the window in which a second refresh could start
        calls.append(token["refresh_token"])
        time.sleep(0.3)
        return real_refresh(token, **kwargs)

    visma.refresh = slow_refresh
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        with env.app.app_context():
            try:
                barrier.wait()
                results.append(tokens.interactive_token(integration_id)["access_token"])
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    visma.refresh = real_refresh
    return calls, results, errors


def _check_race(env, integration):
    _expire(integration)
    calls, results, errors = _race(env, integration.id)
    assert not errors, errors
    assert len(calls) == 1  # the old refresh token was spent exactly once
    assert len(set(results)) == 1
    db.session.expire_all()
    stored = db.session.get(Integration, integration.id)
    assert stored.status == IntegrationStatus.CONNECTED
    # the stored token really works (a replay would have revoked the grant)
    _expire(stored)
    assert tokens.interactive_token(stored.id)["access_token"]


def test_concurrent_refreshes_sqlite(env):
    _check_race(env, env.connect())


@pytest.mark.postgres
def test_concurrent_refreshes_postgres(tmp_path, sim, postgres_url):
    env = make_env(tmp_path, sim, SQLALCHEMY_DATABASE_URI=postgres_url)
    with env.app.app_context():
        try:
            _check_race(env, env.connect())
        finally:
            db.session.remove()
            visma_client().close()
            db.engine.dispose()
