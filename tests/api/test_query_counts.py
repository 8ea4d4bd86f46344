"""The client list costs the same number of queries for 3 clients as for 60 (no N+1)."""

from sqlalchemy import event, insert

from app.extensions import db
from app.integrations.models import Client


def _queries_for(app, api, path):
    statements = []

    def count(*args, **kwargs):
        statements.append(args[2])

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = api.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(statements), response.get_json()["data"]


def test_client_list_queries_do_not_grow_with_the_page(app, api, world):
    api.get("/api/v1/clients")  # the minute's first request also records the key's use
    few, rows = _queries_for(app, api, "/api/v1/clients?limit=500")
    assert len(rows) == 3
    with app.app_context():
        integration_id = db.session.get(Client, world.client_a1).integration_id
        db.session.execute(insert(Client), [
            {"integration_id": integration_id, "external_id": f"mange-{n}",
             "name": f"Mange {n} AS", "active": True, "reachable": True}
            for n in range(57)
        ])
        db.session.commit()
    many, rows = _queries_for(app, api, "/api/v1/clients?limit=500")
    assert len(rows) == 60
    assert all(set(row["freshness"]) for row in rows)
    assert many == few
