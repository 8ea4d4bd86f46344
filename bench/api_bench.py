"""Read-API benchmark: rows/s reading a 200,000-line client's journal with the largest page
size, and p50/p99 latency of a balance query. Prints JSON.

    .venv/bin/python bench/api_bench.py [--lines 200000] [--balance-queries 500]
                                        [--database-url postgresql+psycopg://…]

Runs the app in-process (Flask test client: no network, but the full request path: key check,
rate-limit UPSERT, snapshot, query, JSON, ETag). Default database: a temporary SQLite file.
"""

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app import create_app  # noqa: E402
from app.api.operations import create_api_key  # noqa: E402
from app.api.params import MAX_LIMIT  # noqa: E402
from app.audit.operations import Actor  # noqa: E402
from app.customers.models import Customer  # noqa: E402
from app.extensions import db  # noqa: E402
from app.integrations.models import Client, Integration  # noqa: E402
from config import TestConfig  # noqa: E402
from tests.api.ledger import bulk_balances, bulk_journal  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--balance-queries", type=int, default=500)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{os.path.join(tmp.name, 'bench.db')}"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, API_RATE_LIMIT_PER_MINUTE=10**9)
    with app.app_context():
        db.drop_all()
        db.create_all()
        customer = Customer(name="Bench AS")
        integration = Integration(customer=customer)
        client_row = Client(
            integration=integration, external_id="bench", name="Bench Klient AS", active=True
        )
        db.session.add_all([customer, integration, client_row])
        db.session.commit()
        client_id = client_row.id
        started = time.perf_counter()
        bulk_journal(client_id, args.lines)
        accounts = bulk_balances(client_id)
        seed_seconds = time.perf_counter() - started
        _row, key = create_api_key("bench", actor=Actor.system("bench"))
        db.session.commit()

    http = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}

    # 1. The whole journal, largest page size.
    rows, pages, cursor, payload_bytes = 0, 0, None, 0
    started = time.perf_counter()
    while True:
        query = {"limit": MAX_LIMIT, **({"cursor": cursor} if cursor else {})}
        response = http.get(
            f"/api/v1/clients/{client_id}/journal-lines", query_string=query, headers=headers
        )
        assert response.status_code == 200, response.text
        body = response.get_json()
        rows += len(body["data"])
        payload_bytes += len(response.data)
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    journal_seconds = time.perf_counter() - started
    assert rows == args.lines, (rows, args.lines)

    # 2. A balance query: one account over a year (12 periods × 2 branches = 24 rows).
    rng = random.Random(8)
    latencies = []
    for _ in range(args.balance_queries):
        account = rng.choice(accounts)
        started = time.perf_counter()
        response = http.get(
            f"/api/v1/clients/{client_id}/balances",
            query_string={"account": account, "from_period": "202401", "to_period": "202412"},
            headers=headers,
        )
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and len(response.get_json()["data"]) == 24

    print(
        json.dumps(
            {
                "database": url.split(":", 1)[0],
                "journal": {
                    "lines": rows,
                    "page_size": MAX_LIMIT,
                    "pages": pages,
                    "seconds": round(journal_seconds, 3),
                    "rows_per_second": round(rows / journal_seconds),
                    "mb_per_second": round(payload_bytes / journal_seconds / 1e6, 2),
                },
                "balance_query": {
                    "queries": len(latencies),
                    "rows_per_response": 24,
                    "gl_balance_rows_in_client": len(accounts) * 12 * 2,
                    "p50_ms": round(statistics.median(latencies), 2),
                    "p99_ms": round(percentile(latencies, 0.99), 2),
                },
                "seed_seconds": round(seed_seconds, 1),
                "cpu_count": os.cpu_count(),
            },
            indent=2,
        )
    )
    tmp.cleanup()


if __name__ == "__main__":
    main()
