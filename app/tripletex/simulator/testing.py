"""Serve a Tripletex simulator on a free loopback port in a background thread.

    with start_simulator() as sim:
        client = TripletexClient(consumer_token=sim.consumer_token,
                                 employee_token=sim.firm_key, api_url=sim.api_url)
        sim.state.set_faults(error_rate=0.2)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

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


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:  # noqa: ARG002 - werkzeug's signature
        pass


@dataclass
class RunningSimulator:
    """A simulator served over real HTTP; stop() it (or use it as a context manager)."""

    url: str
    app: Flask
    state: SimulatorState
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    consumer_token: str = DEMO_CONSUMER_TOKEN
    firm_key: str = DEMO_FIRM_KEY
    company_key: str = DEMO_COMPANY_KEY
    wrong_environment_key: str = DEMO_PROD_KEY

    @property
    def api_url(self) -> str:
        """What TRIPLETEX_API_URL names (https://tripletex.no/v2 in production)."""
        return self.url + "/v2"

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_simulator(config: SimulatorConfig | None = None) -> RunningSimulator:
    """A simulator for ``config`` (the demo world by default) on 127.0.0.1:<free port>."""
    state = SimulatorState(config)
    app = create_simulator_app(state=state)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    # A short poll interval: stop() returns within it (serve_forever's default is half a second).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="tripletex-simulator", daemon=True)
    thread.start()
    return RunningSimulator(f"http://127.0.0.1:{server.server_port}", app, state, server, thread)
