"""Fixtures for the fault suite: PostgreSQL behind a proxy that can take it away."""

import uuid
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db
from config import TestConfig
from tests.conftest import POSTGRES_URL, _require_postgres
from tests.faults.tcp_proxy import OutageProxy


@pytest.fixture
def pg_behind_proxy():
    """(app, proxy): an app on a fresh PostgreSQL schema reached only through the proxy."""
    _require_postgres()
    target = urlsplit(POSTGRES_URL.replace("postgresql+psycopg", "postgresql"))
    proxy = OutageProxy(target.hostname, target.port or 5432)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    via_proxy = POSTGRES_URL.replace(f":{target.port or 5432}/", f":{proxy.port}/", 1)
    separator = "&" if "?" in via_proxy else "?"
    url = f"{via_proxy}{separator}connect_timeout=2&options=-csearch_path%3D{schema}"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        db.create_all()
    yield app, proxy
    proxy.close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()
