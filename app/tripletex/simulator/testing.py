"""Serve a Tripletex simulator on a free loopback port in a background thread.

    with start_simulator() as sim:
        client = TripletexClient(consumer_token=sim.consumer_token,
                                 employee_token=sim.firm_key, api_url=sim.api_url)
        sim.state.set_faults(error_rate=0.2)
"""

from __future__ import annotations

from dataclasses import dataclass

from app.visma.simulator.testing import ServedInBackground

from . import create_simulator_app
from .config import SimulatorConfig
from .state import (
    DEMO_COMPANY_KEY,
    DEMO_CONSUMER_TOKEN,
    DEMO_FIRM_KEY,
    DEMO_PROD_KEY,
    SimulatorState,
)

__all__ = ["RunningSimulator", "start_simulator"]


@dataclass
class RunningSimulator(ServedInBackground):
    """A Tripletex simulator served over real HTTP; stop() it (or use it as a context manager)."""

    state: SimulatorState
    consumer_token: str = DEMO_CONSUMER_TOKEN
    firm_key: str = DEMO_FIRM_KEY
    company_key: str = DEMO_COMPANY_KEY
    wrong_environment_key: str = DEMO_PROD_KEY

    @property
    def api_url(self) -> str:
        """What TRIPLETEX_API_URL names (https://tripletex.no/v2 in production)."""
        return self.url + "/v2"


def start_simulator(config: SimulatorConfig | None = None) -> RunningSimulator:
    """A simulator for ``config`` (the demo world by default) on 127.0.0.1:<free port>."""
    state = SimulatorState(config)
    return RunningSimulator.serve(create_simulator_app(state=state), state, "tripletex-simulator")
