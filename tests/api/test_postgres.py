"""The read API on PostgreSQL (production's database): keys, the rate limiter's UPSERT,
REPEATABLE READ snapshots, keyset paging, and the large journal walk during syncs."""

import pytest

from tests.api.ledger import small_ledger
from tests.api.test_paging_concurrent import LINES, walk_while_syncs_write

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(pg_app):
    """Every fixture of tests/api (world, keys, api) on PostgreSQL instead of SQLite."""
    return pg_app


def test_keys_scope_and_rate_limit_on_postgres(app, api, make_key, world):
    scoped = make_key("Kunde A", customer_id=world.customer_a)
    assert api.get(f"/api/v1/clients/{world.client_b1}", key=scoped).status_code == 404
    app.config["API_RATE_LIMIT_PER_MINUTE"] = 3
    statuses = [api.get("/api/v1/clients").status_code for _ in range(7)]
    assert 429 in statuses and statuses[0] == 200


def test_paging_etag_and_changed_since_on_postgres(app, api, world):
    with app.app_context():
        small_ledger(world.client_a1)
    path = f"/api/v1/clients/{world.client_a1}/balances"
    rows = api.walk(path, limit=7)
    assert len(rows) == 120 and len({(r["period"], r["account_number"]) for r in rows}) == 120
    first = api.get(path)
    again = api.get(
        path, headers={"If-None-Match": first.headers["ETag"], "Authorization": f"Bearer {api.key}"}
    )
    assert again.status_code == 304
    since = api.walk(
        f"/api/v1/clients/{world.client_a1}/journal-batches",
        changed_since="2000-01-01T00:00:00+02:00",
        limit=2,
    )
    assert len(since) == 3 and all(len(b["lines"]) == 4 for b in since)


@pytest.mark.slow
def test_walk_while_syncs_write_on_postgres(app, api, world):
    walk_while_syncs_write(app, api, world.client_a1, LINES)


HOSTILE_QUERIES = [
    "/api/v1/clients?orgnr=%00",
    "/api/v1/clients?orgnr=97476%0a0673",
    "/api/v1/clients?customer=2147483648",
    "/api/v1/clients/{client}/balances?account=%00",
    "/api/v1/clients/{client}/periods?year=2147483648",
    "/api/v1/clients/{client}/journal-batches?module=G%09L",
]


@pytest.mark.parametrize("path", HOSTILE_QUERIES)
def test_out_of_range_and_control_characters_are_a_400_on_postgres(api, world, path):
    response = api.get(path.format(client=world.client_a1))
    assert response.status_code == 400, response.text
    assert response.content_type == "application/problem+json"
    assert response.get_json()["invalid_params"][0]["name"] in path


def test_an_id_beyond_32_bits_is_not_found_on_postgres(api):
    response = api.get("/api/v1/clients/2147483648")
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"


def test_the_document_bounds_ids_and_strings_like_the_columns(client):
    document = client.get("/api/v1/openapi.json").get_json()
    parameters = [
        p for item in document["paths"].values() for p in item["get"]["parameters"]
    ]
    integers = [p for p in parameters if p["schema"]["type"] == "integer" and p["name"] != "limit"]
    assert integers and all(p["schema"]["maximum"] == 2**31 - 1 for p in integers)
    strings = [p for p in parameters if p["schema"]["type"] == "string" and "format" not in p["schema"]
               and p["name"] not in ("cursor", "from_period", "to_period")]
    assert strings and all("u0000" in p["schema"]["pattern"] for p in strings)
