"""Fixtures for the simulator's own tests: a small world, its Flask test client, OAuth helpers."""

from __future__ import annotations

import pytest

from app.visma.simulator import SimulatorConfig, SimulatorState, create_simulator_app

from .helpers import exchange, get_code, pkce


@pytest.fixture
def sim_state() -> SimulatorState:
    """The demo world with small companies (600 journal lines each)."""
    return SimulatorState(SimulatorConfig(journal_lines=600, seed=3))


@pytest.fixture
def sim_app(sim_state):
    app = create_simulator_app(state=sim_state)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def sim_client(sim_app):
    return sim_app.test_client()


@pytest.fixture
def trekkspill(sim_state) -> str:
    return sim_state.tenant_id("TrekkSpill")


@pytest.fixture
def api(sim_client, sim_state, trekkspill):
    """GET an ERP API path with a fresh service token of the demo app for TrekkSpill."""

    def get(path: str, **params):
        token = sim_state.issue_service_token(trekkspill)
        return sim_client.get("/api" + path, query_string=params,
                              headers={"Authorization": f"Bearer {token}"})

    return get


@pytest.fixture
def user_tokens(sim_client):
    """The demo user's token response from a full authorization code + PKCE flow."""
    verifier, challenge = pkce()
    response = exchange(sim_client, get_code(sim_client, challenge), verifier)
    assert response.status_code == 200, response.get_json()
    return response.get_json()
