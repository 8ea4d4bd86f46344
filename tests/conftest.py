"""Shared fixtures: an app on a fresh SQLite file, a client that logs in, PostgreSQL when asked.

The app and the schema are built once per test process (one per xdist worker) and each test
gets a cheap fresh copy: SQLite tests a copy of a template file, PostgreSQL tests the worker's
own schema emptied by one TRUNCATE.
"""

import atexit
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from app import create_app
from app.demo.seed import seed_demo
from app.extensions import db
from app.integrations.visma import EXTENSION_KEY as VISMA_CLIENT_KEY
from config import TestConfig

CSRF_META = re.compile(r'name="csrf-token" content="([^"]+)"')
CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_META.search(html) or CSRF_INPUT.search(html)
    assert match, "page has no CSRF token"
    return next(group for group in match.groups() if group)


def pytest_collection_modifyitems(items):
    """Slow tests first, then browser tests, the rest in file order: `make test` hands them
    out one at a time, so the processes start on the long ones and the run ends on short
    ones."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("slow")
               else 1 if item.get_closest_marker("browser") else 2)


_sqlite_template: Path | None = None


def sqlite_database(path: Path) -> str:
    """The URI of a new SQLite database at `path` holding the whole, empty schema.

    `create_all` runs once per process into a template that each call copies; a copy costs
    a fraction of building the tables again.
    """
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix="erp-schema-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        template = folder / "template.db"
        builder = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{template}")
        with builder.app_context():
            db.create_all()
            db.session.remove()
            # Closing the last connection checkpoints the WAL into the file we copy.
            db.engine.dispose()
        _sqlite_template = template
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


class _ReusedApp:
    """One app per test process, handed to each test as if new.

    Building the app (800 URL rules, most of them the admin's) costs more than most tests, so
    the `app` fixture builds it once; before each test its database file is replaced by a
    fresh copy of the template, its config restored and its cached Visma client dropped.
    A test that needs an app of its own (other config at build time, extra routes) calls
    `create_app` itself.
    """

    app = None
    config: dict = {}
    path: Path

    @classmethod
    def fresh(cls):
        if cls.app is None:
            folder = Path(tempfile.mkdtemp(prefix="erp-app-"))
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            cls.path = folder / "test.db"
            cls.app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=sqlite_database(cls.path))
            cls.config = dict(cls.app.config)
            return cls.app
        cls.app.config.clear()
        cls.app.config.update(cls.config)
        client = cls.app.extensions.pop(VISMA_CLIENT_KEY, None)
        if client is not None:
            client.close()
        for leftover in (f"{cls.path}-wal", f"{cls.path}-shm"):
            if os.path.exists(leftover):
                os.remove(leftover)
        # A new file (not the old one rewritten): a connection some thread still holds keeps
        # the old file and cannot touch the next test's data.
        sqlite_database(cls.path.with_suffix(".new"))
        os.replace(cls.path.with_suffix(".new"), cls.path)
        return cls.app


@pytest.fixture
def app():
    app = _ReusedApp.fresh()
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


def _schema_url(schema: str) -> str:
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def _postgres_worker_schema():
    """This process's own PostgreSQL schema with every table, built once; dropped at the end."""
    _require_postgres()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    schema = f"w_{worker}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    builder = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=_schema_url(schema))
    with builder.app_context():
        db.create_all()
        # Claims take advisory locks keyed by integration id, and those are database-wide:
        # test processes (and suites) that all number their integrations from 1 would take
        # each other's locks. Each process numbers them from a base of its own instead.
        base = 1 + int(uuid.uuid4().hex[:6], 16) * 100
        sequence = db.session.scalar(text(
            f"SELECT pg_get_serial_sequence('\"{schema}\".integration', 'id')"))
        db.session.execute(text(f"ALTER SEQUENCE {sequence} START WITH {base} RESTART"))
        db.session.commit()
        tables = ", ".join(f'"{schema}"."{table.name}"' for table in db.metadata.sorted_tables)
        db.session.remove()
        db.engine.dispose()
    yield schema, f"TRUNCATE {tables} RESTART IDENTITY CASCADE"
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def postgres_url(_postgres_worker_schema):
    """A PostgreSQL schema for this test alone: every table there, no rows.

    Threads, subprocess workers and `pg_app` given this URL all see the same database.
    """
    schema, truncate = _postgres_worker_schema
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        # A connection a previous test leaked would block TRUNCATE forever: fail instead.
        conn.execute(text("SET lock_timeout = '10s'"))
        conn.execute(text(truncate))
    engine.dispose()
    return _schema_url(schema)


@pytest.fixture
def empty_postgres_url():
    """A fresh PostgreSQL schema without tables (for migrations); dropped afterwards."""
    _require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield _schema_url(schema)
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def pg_app(postgres_url):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=postgres_url)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# --- the browser ---------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is required in CI (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium through Playwright, launched once per test process (a launch costs
    about a second). Each test opens its own context or page and closes it: no cookies carry
    over."""
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    # Expectations wait as long as the pages' actions do (15 s, not 5): a loaded machine
    # answers late; a page that never shows what is expected still fails.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


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
