"""Fixtures for the Tripletex client tests: a simulator over real HTTP and clients for its keys."""

from __future__ import annotations

import base64

import pytest

from app.tripletex.client import TripletexClient
from app.tripletex.http import RetryPolicy
from app.tripletex.simulator import SimulatorConfig, SimulatorState, create_simulator_app
from app.tripletex.simulator.testing import start_simulator

SMALL = SimulatorConfig(vouchers_per_month=3)


@pytest.fixture
def sim():
    with start_simulator(SMALL) as running:
        yield running


@pytest.fixture
def make_client(sim):
    """``make_client(key=firm key, sleeps=list | None, **overrides)``: a client of ``sim`` whose
    waits are recorded (and cost no time) instead of slept."""
    made = []

    def make(key: str | None = None, *, sleeps: list | None = None, **overrides):
        sleeps = [] if sleeps is None else sleeps
        options = {"retry": RetryPolicy(max_attempts=3, backoff_base=0.01,
                                        max_throttle_retries=3),
                   "sleep": sleeps.append, **overrides}
        client = TripletexClient(consumer_token=sim.consumer_token,
                                 employee_token=key or sim.firm_key, api_url=sim.api_url,
                                 **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def sim_state() -> SimulatorState:
    return SimulatorState(SMALL)


@pytest.fixture
def sim_client(sim_state):
    app = create_simulator_app(state=sim_state)
    app.config["TESTING"] = True
    return app.test_client()


def basic(username: str, token: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{token}".encode()).decode()}
