"""A simulator of Visma Connect and the Visma.net ERP API: a Flask app of its own."""

from __future__ import annotations

import secrets

from flask import Flask

from .config import SimulatorConfig
from .state import SimulatorState

__all__ = ["SimulatorConfig", "SimulatorState", "create_simulator_app"]


def create_simulator_app(config: SimulatorConfig | None = None,
                         state: SimulatorState | None = None) -> Flask:
    """A Flask app serving the identity provider at /, the ERP API at /api and control at /_sim."""
    state = state or SimulatorState(config)
    app = Flask(__name__)
    configure(app, state)
    register_blueprints(app)
    return app


def configure(app: Flask, state: SimulatorState) -> None:
    app.extensions["visma_simulator"] = state
    app.config.update(
        SECRET_KEY=state.config.secret_key or secrets.token_hex(32),
        # the product runs on the same host; cookies ignore ports, so the name must differ
        SESSION_COOKIE_NAME="visma_sim_session",
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.json.sort_keys = False
    app.json.ensure_ascii = False


def register_blueprints(app: Flask) -> None:
    from . import control, erp, identity

    app.register_blueprint(identity.bp)
    app.register_blueprint(erp.bp)
    app.register_blueprint(control.bp)
