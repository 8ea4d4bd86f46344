"""The HTTP contract: problem+json errors, unknown parameters, ETag/304, rate limit, cursors."""

import pytest


def test_unknown_query_parameters_are_400_not_ignored(api, world):
    response = api.get("/api/v1/clients?orgnr=974760673&page=2")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert "page" in problem["detail"] and "Allowed here" in problem["detail"]
    assert problem["invalid_params"] == [{"name": "page", "reason": "unknown parameter"}]
    assert api.get(f"/api/v1/clients/{world.client_a1}?verbose=1").status_code == 400


@pytest.mark.parametrize(
    "query, name",
    [
        ("limit=0", "limit"),
        ("limit=5001", "limit"),
        ("limit=abc", "limit"),
        ("active=maybe", "active"),
        ("customer=-1", "customer"),
        ("limit=1&limit=2", "limit"),
        ("cursor=not-a-cursor", "cursor"),
    ],
)
def test_malformed_parameters_are_400_naming_the_parameter(api, world, query, name):
    response = api.get(f"/api/v1/clients?{query}")
    assert response.status_code == 400, response.text
    assert response.get_json()["invalid_params"][0]["name"] == name


def test_a_cursor_cannot_be_reused_with_other_filters(api, world):
    first = api.get("/api/v1/clients?limit=1&active=true").get_json()
    assert first["next_cursor"]
    response = api.get(f"/api/v1/clients?limit=1&active=false&cursor={first['next_cursor']}")
    assert response.status_code == 400
    assert "other filters" in response.get_json()["detail"]


def test_etag_gives_304_until_the_data_changes(app, api, world):
    from app.extensions import db
    from app.integrations.models import Client

    first = api.get("/api/v1/clients")
    etag = first.headers["ETag"]
    assert etag and first.headers["Cache-Control"] == "private, no-cache"
    again = api.get(
        "/api/v1/clients", headers={"If-None-Match": etag, "Authorization": f"Bearer {api.key}"}
    )
    assert again.status_code == 304 and again.data == b""
    with app.app_context():
        db.session.get(Client, world.client_a1).name = "A1 Nytt Navn AS"
        db.session.commit()
    changed = api.get(
        "/api/v1/clients", headers={"If-None-Match": etag, "Authorization": f"Bearer {api.key}"}
    )
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_not_found_and_method_not_allowed_are_problems(api, world):
    for response, status in (
        (api.get("/api/v1/nothing-here"), 404),
        (api.get("/api/v1/clients/99999"), 404),
        (api.client.post("/api/v1/clients"), 405),
        (api.client.delete(f"/api/v1/clients/{world.client_a1}"), 405),
    ):
        assert response.status_code == status
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["status"] == status and response.get_json()["detail"]


def test_the_rate_limit_gives_429_with_retry_after(app, api, world):
    app.config["API_RATE_LIMIT_PER_MINUTE"] = 5
    responses = [api.get("/api/v1/clients") for _ in range(11)]
    # Even if the minute turns over mid-test, one window gets six or more of the eleven.
    refused = next(r for r in responses if r.status_code == 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.mimetype == "application/problem+json"
    assert "retry in" in refused.get_json()["detail"]


def test_the_rate_limit_is_per_key(app, api, make_key, world):
    app.config["API_RATE_LIMIT_PER_MINUTE"] = 2
    other = make_key("En annen")
    for _ in range(3):
        api.get("/api/v1/clients")
    ok = api.get("/api/v1/clients", key=other)
    assert ok.status_code == 200
    assert ok.headers["RateLimit-Limit"] == "2"


def test_the_openapi_document_is_public_and_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    assert "/api/v1/clients/{client_id}/journal-lines" in document["paths"]


def test_api_is_csrf_exempt_and_unaffected_by_a_session(auth, api, world):
    auth.login("kunde@regnskap.test", "kunde-demo")
    # A logged-in browser session does not replace the key.
    assert api.get("/api/v1/clients", key=False).status_code == 401


def test_an_unexpected_error_is_a_500_problem_without_internals(app, api, world):
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():  # a real failure: the table the query needs is gone
        db.session.execute(text("DROP TABLE accounting_account"))
        db.session.commit()
    response = api.get(f"/api/v1/clients/{world.client_a1}/accounts")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert "accounting_account" not in response.text and "logged" in response.get_json()["detail"]
    # The app is still usable afterwards (the failed transaction was rolled back).
    assert api.get("/api/v1/clients").status_code == 200


def test_head_works_like_get_without_a_body(api, world):
    response = api.client.head("/api/v1/clients", headers={"Authorization": f"Bearer {api.key}"})
    assert response.status_code == 200 and response.data == b"" and response.headers["ETag"]
