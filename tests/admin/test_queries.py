"""With 10,000 clients and 20,000 runs, the busy pages run a fixed number of SQL statements:
the same for 20 rows as for 100 (no N+1). The count does not grow with the run history, so
bench/admin_bench.py, not this test, holds the 100,000 runs a busy year leaves."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.integrations.models import Client
from app.jobs.models import SyncRun
from tests.admin.volume import seed_volume
from tests.conftest import csrf_token_from

CLIENTS = 10_000
RUNS = 20_000
SELECTED = 5_000


@contextmanager
def counted(app):
    statements = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements_for(app, client, path) -> list[str]:
    with counted(app) as statements:
        response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    return list(statements)


@pytest.mark.slow
def test_busy_pages_run_a_bounded_number_of_queries(app, client, operator):
    with app.app_context():
        seed_volume(clients=CLIENTS, runs=RUNS)
        assert db.session.scalar(select(func.count()).select_from(Client)) == CLIENTS
        assert db.session.scalar(select(func.count()).select_from(SyncRun)) >= RUNS

    results = {}
    for name, path in (("clients", "/admin/klienter/"), ("runs", "/admin/kjoringer/"),
                       ("integrations", "/admin/integrasjoner/"),
                       ("audit", "/admin/revisjonslogg/"), ("users", "/admin/brukere/")):
        small = statements_for(app, client, f"{path}?page_size=20")
        large = statements_for(app, client, f"{path}?page_size=100")
        assert len(small) == len(large), (name, small, large)
        assert len(large) <= 5, (name, large)
        # Page 2 and a filter + search do not add statements either.
        assert len(statements_for(app, client, f"{path}?page_size=100&page=3")) <= len(large)
        results[name] = len(large)
    filtered = statements_for(app, client, "/admin/klienter/?page_size=100&search=Klient&flt0_aktiv_er=1")
    assert len(filtered) == results["clients"]

    dashboard = statements_for(app, client, "/admin/")
    assert len(dashboard) <= 14, dashboard

    # Bulk actions on 5,000 selected clients: a handful of set-based statements, not 5,000.
    with app.app_context():
        inactive = list(db.session.scalars(
            select(Client.id).where(Client.active.is_(False), Client.reachable.is_(True))
            .order_by(Client.id).limit(SELECTED)))
    assert len(inactive) == SELECTED
    token = csrf_token_from(client.get("/admin/klienter/?page_size=20").text)
    bulk = {}
    for action in ("activate", "sync"):
        with counted(app) as statements:
            response = client.post("/admin/klienter/action/", data={
                "csrf_token": token, "action": action, "rowid": [str(i) for i in inactive], "url": ""})
        assert response.status_code == 302
        assert len(statements) <= 10, (action, statements)
        bulk[action] = len(statements)
    with app.app_context():
        assert db.session.scalar(
            select(func.count()).where(Client.id.in_(inactive), Client.active.is_(True))) == SELECTED
        assert db.session.scalar(
            select(func.count()).where(SyncRun.client_id.in_(inactive), SyncRun.status == "queued")) == 2 * SELECTED
    print(f"\nSQL statements per page: {results} dashboard={len(dashboard)} bulk on {SELECTED:,}: {bulk}")
