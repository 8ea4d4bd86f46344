"""Shared fixtures: an app on a fresh SQLite file, a client that logs in, PostgreSQL when asked."""

import os
import re
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from app import create_app
from app.demo.seed import seed_demo
from app.extensions import db
from config import TestConfig

CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_META.search(html) or CSRF_INPUT.search(html)
    assert match, "page has no CSRF token"
    return next(group for group in match.groups() if group)


@pytest.fixture
def app(tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'test.db'}")
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo(app):
    """The demo customers and logins."""
    with app.app_context():
        seed_demo()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email="kunde@regnskap.test", password="kunde-demo"):
        page = self._client.get("/logg-inn")
        return self._client.post(
            "/logg-inn",
            data={"email": email, "password": password, "csrf_token": csrf_token_from(page.text)},
        )

    def logout(self):
        page = self._client.get("/", follow_redirects=True)
        return self._client.post("/logg-ut", data={"csrf_token": csrf_token_from(page.text)})

    def csrf_token(self, path="/"):
        return csrf_token_from(self._client.get(path, follow_redirects=True).text)


@pytest.fixture
def auth(client, demo):
    return AuthActions(client)


# --- PostgreSQL -------------------------------------------------------------------------

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _require_postgres() -> None:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect():
            pass
        engine.dispose()
    except OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and unreachable at {POSTGRES_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}")


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL schema for one test; dropped afterwards."""
    _require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def pg_app(postgres_url):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=postgres_url)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def simulator():
    """A Visma.net simulator (demo world, 400 journal lines per company) on a free loopback port.

    A RunningSimulator: .url, .api_url, .token_url, .state (control it directly), .stop().
    See app/visma/simulator/README.md.
    """
    from app.visma.simulator import SimulatorConfig
    from app.visma.simulator.testing import start_simulator

    running = start_simulator(SimulatorConfig(journal_lines=400))
    yield running
    running.stop()
