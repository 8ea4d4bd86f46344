"""Point 2 of issue 15: a refresh whose answer never arrives (Visma Connect rotated the token,
the client timed out) must not lock the customer out when Visma allows a grace period, and
must never present the used refresh token again outside it, which would make Visma revoke
every grant of the user. Against the simulator over HTTP, on PostgreSQL."""

import pytest
import requests
import responses

from app import create_app
from app.customers.models import Customer
from app.extensions import db
from app.integrations import tokens
from app.integrations.models import Integration, IntegrationStatus
from app.integrations.visma import visma_client
from app.visma.errors import AuthorizationLost, VismaUnavailable
from app.visma.simulator import SimulatorConfig
from app.visma.simulator.testing import start_simulator
from config import TestConfig
from tests.sync.conftest import make_env

pytestmark = pytest.mark.postgres

LATE_ANSWER_SECONDS = 4  # the simulator answers this late: after the client's read timeout


@pytest.fixture
def connected(request, tmp_path, postgres_url):
    """(env, first integration, second integration of the same Visma user) with the Visma
    Connect app's grace period and the product's setting from the test's parameters."""
    visma_grace, product_grace = request.param
    sim = start_simulator(SimulatorConfig(journal_lines=20, refresh_grace_period=visma_grace))
    env = make_env(tmp_path, sim, SQLALCHEMY_DATABASE_URI=postgres_url,
                   VISMA_REFRESH_GRACE_SECONDS=product_grace, VISMA_HTTP_TIMEOUT_SECONDS=2)
    with env.app.app_context():
        first, second = env.connect(), env.connect(customer="Annen AS")
        yield env, first, second
        db.session.remove()
        visma_client().close()
        db.engine.dispose()
    sim.stop()


def _lose_next_answers(env, count):
    env.sim.state.set_faults(lost_token_answers=count, timeout_seconds=LATE_ANSWER_SECONDS)


def _grants_revoked(env) -> int:
    return sum(grant.revoked for grant in env.sim.state.grants.values())


def _stored(integration_id) -> Integration:
    db.session.expire_all()
    return db.session.get(Integration, integration_id)


@pytest.mark.parametrize("connected", [(6, 6)], indirect=True)
def test_inside_vismas_grace_period_a_lost_answer_is_retried_and_nothing_is_lost(connected):
    env, first, second = connected
    used = first.token["refresh_token"]
    _lose_next_answers(env, 1)
    token = tokens.interactive_token(first.id, force_refresh=True)
    assert token["refresh_token"] != used
    assert _stored(first.id).status == IntegrationStatus.CONNECTED
    assert _grants_revoked(env) == 0
    # The stored token is the live one: the next refresh and the client list work.
    again = tokens.interactive_token(first.id, force_refresh=True)
    assert visma_client().discover_tenants(again)
    assert tokens.interactive_token(second.id, force_refresh=True)


@pytest.mark.parametrize("connected", [(0, 0)], indirect=True)
def test_without_a_grace_period_the_used_token_is_never_presented_again(connected):
    """What locked customers out: the next refresh replayed the used token, and Visma's
    replay detection revoked every grant of the user, other customers' integrations too."""
    env, first, second = connected
    _lose_next_answers(env, 1)
    with pytest.raises((AuthorizationLost, VismaUnavailable)):
        tokens.interactive_token(first.id, force_refresh=True)
    calls = visma_client().http.calls["connect"]
    for _ in range(2):  # later runs: the next sync, the keep-alive job
        with pytest.raises((AuthorizationLost, VismaUnavailable)):
            tokens.interactive_token(first.id, force_refresh=True)
    assert _grants_revoked(env) == 0
    assert visma_client().http.calls["connect"] == calls  # the used token was not sent again
    stored = _stored(first.id)
    assert stored.status == IntegrationStatus.REAUTHORIZATION_REQUIRED
    assert "kom aldri fram" in stored.status_message
    assert tokens.interactive_token(second.id, force_refresh=True)
    assert _stored(second.id).status == IntegrationStatus.CONNECTED


@pytest.mark.slow
@pytest.mark.parametrize("connected", [(6, 6)], indirect=True)
def test_answers_lost_until_the_grace_period_ends_stop_before_a_replay(connected):
    env, first, second = connected
    _lose_next_answers(env, 10)
    with pytest.raises(AuthorizationLost):
        tokens.interactive_token(first.id, force_refresh=True)
    assert _stored(first.id).status == IntegrationStatus.REAUTHORIZATION_REQUIRED
    env.sim.state.reset_faults()
    assert _grants_revoked(env) == 0  # every presentation fell inside Visma's grace period
    assert tokens.interactive_token(second.id, force_refresh=True)


@pytest.mark.parametrize("connected", [(0, 6)], indirect=True)
def test_a_product_grace_longer_than_the_apps_is_what_replays(connected):
    """The README's warning, shown: VISMA_REFRESH_GRACE_SECONDS must not exceed the app's."""
    env, first, _ = connected
    _lose_next_answers(env, 1)
    with pytest.raises(AuthorizationLost):
        tokens.interactive_token(first.id, force_refresh=True)
    assert _grants_revoked(env) == 2


# --- re-use refresh tokens (the other Visma Connect setting), with `responses` ---------------

CONNECT = "https://connect.visma.test"


@pytest.fixture
def reuse_app(tmp_path):
    env_app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'reuse.db'}",
        VISMA_CONNECT_URL=CONNECT, VISMA_REFRESH_GRACE_SECONDS=0, VISMA_BACKOFF_SECONDS=0.01,
    )
    with env_app.app_context():
        db.create_all()
        integration = Integration(description="Reuse", status=IntegrationStatus.CONNECTED,
                                  customer=Customer(name="Reuse AS"))
        integration.token = {"access_token": "a1", "refresh_token": "same", "expires_at": 1}
        db.session.add(integration)
        db.session.commit()
        yield integration.id


def _token_answer(refresh_token="same"):
    return {"access_token": "a2", "refresh_token": refresh_token, "expires_in": 3600,
            "token_type": "Bearer"}


@responses.activate
def test_a_reuse_token_is_retried_after_a_lost_answer_even_without_grace(reuse_app):
    url = f"{CONNECT}/connect/token"
    responses.post(url, json=_token_answer())
    first = tokens.interactive_token(reuse_app, force_refresh=True)
    assert first["refresh_token_reused"] is True
    responses.post(url, body=requests.ReadTimeout("answer lost"))
    responses.post(url, json=_token_answer())
    assert tokens.interactive_token(reuse_app, force_refresh=True)["access_token"] == "a2"
    assert _stored(reuse_app).status == IntegrationStatus.CONNECTED
    assert len(responses.calls) == 3


@responses.activate
def test_a_one_time_token_whose_answer_was_lost_is_not_sent_twice(reuse_app):
    url = f"{CONNECT}/connect/token"
    responses.post(url, body=requests.ReadTimeout("answer lost"))
    with pytest.raises(AuthorizationLost):
        tokens.interactive_token(reuse_app, force_refresh=True)
    assert len(responses.calls) == 1
    assert _stored(reuse_app).status == IntegrationStatus.REAUTHORIZATION_REQUIRED


@responses.activate
def test_a_refused_connection_is_not_a_lost_answer(reuse_app):
    """Nothing reached Visma: the token is unspent and the integration stays connected."""
    responses.post(f"{CONNECT}/connect/token", body=requests.ConnectTimeout("no route"))
    with pytest.raises(VismaUnavailable):
        tokens.interactive_token(reuse_app, force_refresh=True)
    stored = _stored(reuse_app)
    assert stored.status == IntegrationStatus.CONNECTED
    assert "refresh_unconfirmed_since" not in stored.token
