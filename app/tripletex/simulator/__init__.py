"""A simulator of the Tripletex API v2: a Flask app of its own (see README.md)."""

from __future__ import annotations

from flask import Flask

from .config import SimulatorConfig
from .state import SimulatorState

__all__ = ["SimulatorConfig", "SimulatorState", "create_simulator_app"]


def create_simulator_app(config: SimulatorConfig | None = None,
                         state: SimulatorState | None = None) -> Flask:
    """A Flask app serving the API at /v2 and the control API at /_sim."""
    from . import api, control

    state = state or SimulatorState(config)
    app = Flask(__name__)
    app.extensions["tripletex_simulator"] = state
    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)
    return app
