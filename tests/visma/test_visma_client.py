"""VismaClient: tenant discovery and the per-tenant API facade."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
import responses

from app.integrations.visma import build_visma_client
from app.visma.client import Tenant, VismaClient
from app.visma.errors import ApiError, TokenExpired, VismaUnavailable

from .conftest import API, CONNECT, TOKEN_URL, form

TENANTS_URL = f"{CONNECT}/connect/tenants"
ORG = f"{API}/v1/organization"
USER_TOKEN = {"access_token": "user-access-AAA", "refresh_token": "r", "expires_at": 10**12}


def service_token_for(mocked, tenant_answers):
    """Token endpoint answering per tenant_id: a token, or an OAuth error."""

    def callback(request):
        tenant = form_body(request)["tenant_id"]
        answer = tenant_answers[tenant]
        if isinstance(answer, str):
            return 200, {}, f'{{"access_token": "{answer}", "expires_in": 3600}}'
        return 400, {}, answer[1]

    mocked.add_callback(responses.POST, TOKEN_URL, callback=callback)


def form_body(request):
    return {k: v[0] for k, v in parse_qs(request.body).items()}


def org_for(mocked, by_token):
    def callback(request):
        token = request.headers["Authorization"].removeprefix("Bearer ")
        status, body = by_token[token]
        return status, {}, body

    mocked.add_callback(responses.GET, ORG, callback=callback)


def test_discover_tenants_names_from_organization_and_flags_withdrawn(visma, mocked):
    mocked.add(
        responses.GET,
        TENANTS_URL,
        json=[
            {"tenantId": "t-1", "name": "Fjord (listed)", "corporateId": "000000000"},
            {"tenantId": "t-2", "name": "Bakeriet AS", "corporateId": "987654321"},
            {"tenantId": "t-3", "name": "Gone AS", "corporateId": "912345674"},
        ],
    )
    service_token_for(
        mocked,
        {
            "t-1": "tok-1",
            "t-2": "tok-2",
            "t-3": (
                "error",
                '{"error":"invalid_tenant","error_description":"Tenant not approved"}',
            ),
        },
    )
    org_for(
        mocked,
        {
            "tok-1": (200, '[{"name": "Fjord Regnskap AS", "corporateId": "912345674"}]'),
            "tok-2": (
                403,
                '{"ExceptionType":"IPPException","ExceptionMessage":'
                '"No license for this company.","ExceptionFaultCode":"12027"}',
            ),
        },
    )
    tenants = visma.discover_tenants(USER_TOKEN)
    assert tenants == [
        Tenant("t-1", "Fjord Regnskap AS", "912345674"),
        Tenant(
            "t-2",
            "Bakeriet AS",
            "987654321",
            access_withdrawn=True,
            message="No license for this company.",
        ),
        Tenant("t-3", "Gone AS", "912345674", access_withdrawn=True, message="Tenant not approved"),
    ]
    (listing,) = [c for c in mocked.calls if c.request.url == TENANTS_URL]
    assert listing.request.headers["Authorization"] == "Bearer user-access-AAA"


def test_discover_tenants_needs_a_live_user_token(visma, mocked):
    mocked.add(responses.GET, TENANTS_URL, status=401, body="")
    with pytest.raises(TokenExpired):
        visma.discover_tenants("user-access-AAA")


def test_discover_tenants_propagates_transient_failures(make_client, mocked):
    visma = make_client()
    mocked.add(responses.GET, TENANTS_URL, json=[{"tenantId": "t-1"}])
    service_token_for(mocked, {"t-1": "tok-1"})
    for _ in range(4):
        mocked.add(responses.GET, ORG, status=500, json={"Message": "Down for maintenance"})
    with pytest.raises(VismaUnavailable, match="Down for maintenance"):
        visma.discover_tenants(USER_TOKEN)


def test_tenant_api_streams_and_unknown_stream(visma):
    api = visma.tenant_api("t-1")
    assert api.stream("accounts").path == "/v1/account"
    with pytest.raises(KeyError, match="unknown stream"):
        api.stream("acounts")


def test_the_apps_client_follows_its_config(mocked):
    visma = build_visma_client(
        {
            "VISMA_CLIENT_ID": "cid",
            "VISMA_CLIENT_SECRET": "sec",
            "VISMA_CONNECT_URL": "http://127.0.0.1:5001/",
            "VISMA_API_URL": "http://127.0.0.1:5001/api/",
            "VISMA_HTTP_TIMEOUT_SECONDS": 12,
        }
    )
    assert visma.connect.endpoints.token == "http://127.0.0.1:5001/connect/token"
    assert visma.api_url == "http://127.0.0.1:5001/api"
    assert visma.http.timeout == (5.0, 12)
    default = VismaClient(client_id="a", client_secret="b")
    assert default.api_url == "https://api.finance.visma.net"
    assert default.connect.endpoints.authorize == "https://connect.visma.com/connect/authorize"


def test_api_error_message_is_visma_own(visma, mocked):
    mocked.add(responses.POST, TOKEN_URL, json={"access_token": "x", "expires_in": 3600})
    mocked.add(
        responses.GET,
        f"{API}/v1/account",
        status=404,
        json={"Message": "No HTTP resource was found that matches the request URI."},
    )
    with pytest.raises(ApiError, match="No HTTP resource"):
        list(visma.tenant_api("t-1").stream("accounts").pages())


def test_service_reads_use_the_service_application_and_scope(mocked):
    visma = build_visma_client({
        "VISMA_CLIENT_ID": "sticos-interactive", "VISMA_CLIENT_SECRET": "i-secret",
        "VISMA_SERVICE_CLIENT_ID": "sticos-service", "VISMA_SERVICE_CLIENT_SECRET": "s-secret",
        "VISMA_SERVICE_SCOPE": "vismanet_erp_service_api:read custom:scope",
        "VISMA_CONNECT_URL": CONNECT, "VISMA_API_URL": API,
    })
    mocked.add(responses.POST, TOKEN_URL, json={"access_token": "svc", "expires_in": 3600})
    mocked.add(responses.GET, ORG, json=[{"name": "Fjord AS"}])
    visma.tenant_api("t-9").organization()
    sent = form(mocked.calls[0])
    assert (sent["client_id"], sent["client_secret"]) == ("sticos-service", "s-secret")
    assert sent["scope"] == "vismanet_erp_service_api:read custom:scope"
    assert sent["tenant_id"] == "t-9"
    assert "client_id=sticos-interactive" in visma.authorization_url(
        "http://127.0.0.1:9/cb", "state", "v" * 43)


def test_service_application_defaults_to_the_interactive_one(mocked):
    visma = VismaClient(client_id="one-app", client_secret="one-secret", connect_url=CONNECT,
                        api_url=API)
    mocked.add(responses.POST, TOKEN_URL, json={"access_token": "svc", "expires_in": 3600})
    mocked.add(responses.GET, ORG, json=[{"name": "Fjord AS"}])
    visma.tenant_api("t-9").organization()
    sent = form(mocked.calls[0])
    assert (sent["client_id"], sent["scope"]) == ("one-app", "vismanet_erp_service_api:read")
