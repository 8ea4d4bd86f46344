"""The OpenAPI document against the running app: a schemathesis run (no 500s, responses as
documented, invalid input rejected) and real responses validated against the schemas."""

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from app.api.openapi import document as openapi_document
from tests.api.ledger import small_ledger


@pytest.fixture
def fuzz_key(app, world, make_key):
    app.config["API_RATE_LIMIT_PER_MINUTE"] = 1_000_000
    with app.app_context():
        small_ledger(world.client_a1)
    return make_key("schemathesis")


# The document is built from code alone (no app needed), so it can be loaded at collection.
# (schemathesis.pytest.from_fixture would load it from the app per test, but its lazy loader
# touches a pytest-internal attribute that pytest 9.2 no longer has.)
schema = schemathesis.openapi.from_dict(openapi_document())


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_conforms_to_its_openapi_document(case, app, fuzz_key):
    headers = {"Authorization": f"Bearer {fuzz_key}"}
    case.operation.schema.app = app  # this test's app (and its database) serves the calls
    if (case.query or {}).get("cursor") is not None:
        # A cursor is opaque: any string fits its schema, but only ones the API gave out are
        # accepted (others are a 400). Every other check still applies.
        case.call_and_validate(
            app=app,
            base_url="http://localhost",
            headers=headers,
            excluded_checks=[checks.positive_data_acceptance],
        )
    else:
        case.call_and_validate(app=app, base_url="http://localhost", headers=headers)


def _validator(ref: str):
    document = openapi_document()
    return jsonschema_rs.Draft202012Validator(
        {"$ref": f"#/components/schemas/{ref}", "components": document["components"]},
        validate_formats=True,
    )


def test_real_responses_match_the_documented_schemas(app, api, world):
    """Every endpoint with real rows (tombstones included) against its response schema."""
    with app.app_context():
        small_ledger(world.client_a1)
    document = openapi_document()
    for path, item in document["paths"].items():
        operation = item["get"]
        url = path.replace("/api/v1", "").replace("{client_id}", str(world.client_a1))
        query = {"limit": 2} if any(p["name"] == "limit" for p in operation["parameters"]) else {}
        if any(p["name"] == "changed_since" for p in operation["parameters"]):
            query["changed_since"] = "2000-01-01T00:00:00Z"
        response = api.get("/api/v1" + url, query_string=query)
        assert response.status_code == 200, (path, response.text)
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        body = response.get_json()
        assert body.get("data", [body]), f"{path} returned no rows to check"
        errors = [e.message for e in _validator(ref.rsplit("/", 1)[1]).iter_errors(body)]
        assert not errors, (path, errors)


def test_problem_responses_match_the_problem_schema(api, world):
    validator = _validator("Problem")
    for response in (
        api.get("/api/v1/clients?nope=1"),
        api.get("/api/v1/clients", key=False),
        api.get("/api/v1/clients/424242"),
        api.client.put("/api/v1/clients"),
    ):
        assert response.mimetype == "application/problem+json"
        assert validator.is_valid(response.get_json()), response.get_json()
