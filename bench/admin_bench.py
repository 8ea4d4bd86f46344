"""Benchmark of the operator panel on SQLite with 10,000 clients and 100,000 runs.

Prints JSON: the median render time (ms) of the client list, the run list and the dashboard,
their SQL statement counts, and the time of a bulk "Aktiver" on 5,000 clients.
Run from the repository root: ``.venv/bin/python bench/admin_bench.py``.
"""

import json
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, select  # noqa: E402

from app import create_app  # noqa: E402
from app.demo.seed import seed_demo  # noqa: E402
from app.extensions import db  # noqa: E402
from app.integrations.models import Client  # noqa: E402
from config import TestConfig  # noqa: E402
from tests.admin.volume import seed_volume  # noqa: E402
from tests.conftest import csrf_token_from  # noqa: E402

PAGES = {
    "client_list": "/admin/clients_admin/",
    "run_list": "/admin/runs_admin/",
    "dashboard": "/admin/",
}
REPEATS = 9
TARGET_MS = 300


@contextmanager
def counted(engine):
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp}/bench.db")
        with app.app_context():
            db.create_all()
            seed_demo()
            started = time.perf_counter()
            seed_volume(clients=10_000, runs=100_000)
            seed_seconds = time.perf_counter() - started
            engine = db.engine

        client = app.test_client()
        login = client.get("/logg-inn")
        client.post("/logg-inn", data={"email": "operator@sticos.test", "password": "sticos-demo",
                                       "csrf_token": csrf_token_from(login.text)})
        result = {"database": "sqlite", "clients": 10_000, "runs": 100_000,
                  "seed_seconds": round(seed_seconds, 2), "pages": {}}
        for name, path in PAGES.items():
            client.get(path)  # warm caches (templates, SQLite pages)
            timings = []
            for _ in range(REPEATS):
                with counted(engine) as statements:
                    started = time.perf_counter()
                    response = client.get(path)
                    timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            median = statistics.median(timings)
            result["pages"][name] = {
                "path": path, "median_ms": round(median, 1), "min_ms": round(min(timings), 1),
                "max_ms": round(max(timings), 1), "sql_statements": len(statements),
                "under_target": median < TARGET_MS,
            }

        # Bulk "Aktiver" on 5,000 inactive clients, through the admin action endpoint.
        with app.app_context():
            ids = list(db.session.scalars(
                select(Client.id).where(Client.active.is_(False), Client.reachable.is_(True))
                .order_by(Client.id).limit(5000)
            ))
        token = csrf_token_from(client.get("/admin/clients_admin/").text)
        with counted(engine) as statements:
            started = time.perf_counter()
            response = client.post("/admin/clients_admin/action/", data={
                "csrf_token": token, "action": "activate", "rowid": [str(i) for i in ids], "url": "",
            })
            activate_ms = (time.perf_counter() - started) * 1000
        assert response.status_code == 302, response.status_code
        with app.app_context():
            activated = db.session.scalar(
                select(func.count()).where(Client.id.in_(ids), Client.active.is_(True))
            )
        result["bulk_activate"] = {
            "selected": len(ids), "activated": activated, "ms": round(activate_ms, 1),
            "sql_statements": len(statements),
        }
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2, ensure_ascii=False))
