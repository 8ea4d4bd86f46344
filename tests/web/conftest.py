"""Fixtures for the customer pages: integrations with clients, a logged-in customer, the
simulator for the OAuth flow, and (for the browser test) the whole app served over HTTP."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from app.customers.models import Customer
from app.db_types import utcnow
from app.extensions import db
from app.integrations.models import Integration, IntegrationStatus
from tests.conftest import sqlite_database
from tests.factories import ClientFactory, IntegrationFactory

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

KUNDE = ("kunde@regnskap.test", "kunde-demo")
ANNEN = ("annen@kunde.test", "annen-demo")


def customer_id(name: str = "Regnskapsbyrå Demo AS") -> int:
    return db.session.scalar(select(Customer.id).where(Customer.name == name))


def make_integration(
    *,
    customer: str = "Regnskapsbyrå Demo AS",
    status: str = IntegrationStatus.CONNECTED,
    clients: list[tuple[str, str | None, bool]] | None = None,
    description: str = "",
) -> Integration:
    """An integration with clients (name, orgnr, active) as a refresh would have left it."""
    integration = IntegrationFactory(
        customer=db.session.get(Customer, customer_id(customer)),
        description=description,
        status=status,
        connected=status == IntegrationStatus.CONNECTED,
        authorized_by_name="Demo Bruker",
        authorized_by_email="demo@visma.test",
        authorized_at=utcnow(),
        clients_refreshed_at=utcnow() if clients is not None else None,
    )
    for index, (name, orgnr, active) in enumerate(clients or []):
        ClientFactory(
            integration=integration,
            external_id=f"tenant-{integration.id}-{index}",
            name=name,
            orgnr=orgnr,
            active=active,
            is_new=not active,
        )
    db.session.commit()
    return integration


@dataclass
class Seeded:
    integration_id: int
    client_ids: dict[str, int]


@pytest.fixture
def seeded(app, demo) -> Seeded:
    """Kunde's Visma.net integration with the seed's two clients: Testing (inactive) and
    TrekkSpill (active)."""
    with app.app_context():
        integration = make_integration(
            clients=[("TrekkSpill", "222333444", True), ("Testing", "321321321", False)]
        )
        ids = {c.name: c.id for c in integration.clients}
        return Seeded(integration.id, ids)


@pytest.fixture
def logged_in(client, auth):
    auth.login(*KUNDE)
    return client


@pytest.fixture
def simulator():
    """A Visma Connect + ERP simulator on a free loopback port (the demo world)."""
    from app.visma.simulator.config import SimulatorConfig
    from app.visma.simulator.testing import start_simulator

    # A little latency per ERP call, so a browser sees a sync's progress before it ends.
    sim = start_simulator(SimulatorConfig(journal_lines=300, latency=0.05))
    yield sim
    sim.stop()


@pytest.fixture
def sim_app(tmp_path, simulator):
    """The app configured to talk to the simulator."""
    from app import create_app
    from config import TestConfig

    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=sqlite_database(tmp_path / "sim.db"),
        VISMA_CONNECT_URL=simulator.url,
        VISMA_API_URL=simulator.api_url,
        VISMA_CLIENT_ID=simulator.client_id,
        VISMA_CLIENT_SECRET=simulator.client_secret,
        VISMA_SIMULATOR=True,
    )
    with app.app_context():
        from app.demo.seed import seed_demo

        seed_demo()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# --- the browser test's live app ---------------------------------------------------------------


@dataclass
class LiveApp:
    url: str
    app: object
    simulator: object


@pytest.fixture
def live_app(tmp_path, simulator):
    """The app on a fresh SQLite file (demo seeded, talking to the simulator) served over HTTP
    in a background thread, with an in-process worker draining the run queue."""
    from app import create_app
    from config import TestConfig

    app = create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=sqlite_database(tmp_path / "live.db"),
        VISMA_CONNECT_URL=simulator.url,
        VISMA_API_URL=simulator.api_url,
        VISMA_CLIENT_ID=simulator.client_id,
        VISMA_CLIENT_SECRET=simulator.client_secret,
        VISMA_SIMULATOR=True,
        WORKER_THREADS=2,
        WORKER_POLL_SECONDS=0.1,
    )
    with serve_live(app, simulator) as live:
        yield live


@contextmanager
def serve_live(app, simulator):
    """The app (demo seeded) served over HTTP in a background thread, with an in-process worker
    draining the run queue; a LiveApp while the block runs."""
    from werkzeug.serving import make_server

    from app.demo.seed import seed_demo

    with app.app_context():
        seed_demo()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="live-app", daemon=True)
    thread.start()
    worker = start_worker(app)
    try:
        yield LiveApp(f"http://127.0.0.1:{server.server_port}", app, simulator)
    finally:
        stop_worker(worker)
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def start_worker(app):
    """The issue-5 worker, in this process (not the process-wide background singleton)."""
    from app.jobs.worker import Worker

    return Worker(app, threads=2, poll_seconds=0.1, name="test-worker").start()


def stop_worker(worker) -> None:
    worker.stop(grace_seconds=10)


@pytest.fixture
def screenshots():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


