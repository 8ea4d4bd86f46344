"""Visma Connect: PKCE login URL, code exchange, single-use refresh, revocation, service tokens."""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses

from app.visma.auth import new_code_verifier, new_state
from app.visma.errors import (
    AuthorizationLost,
    CompanyAccessWithdrawn,
    ConfigurationError,
    TokenExpired,
    VismaUnavailable,
)

from .conftest import API, CLIENT_SECRET, CONNECT, TENANT, TOKEN_URL, add_service_token, form

ORG = f"{API}/v1/organization"
REDIRECT = "https://erp.sticos.test/integrasjoner/visma/callback"
USER_TOKEN = {
    "access_token": "user-access-AAA",
    "refresh_token": "refresh-RRR-1",
    "expires_in": 3600,
    "token_type": "Bearer",
    "scope": "openid offline_access",
    "id_token": "id-token-III",
}


def token_calls(mocked):
    return [c for c in mocked.calls if c.request.url == TOKEN_URL]


# -- the interactive flow ----------------------------------------------------------------------


def test_authorization_url_has_pkce_state_and_offline_access(visma):
    verifier, state = new_code_verifier(), new_state()
    url = visma.authorization_url(REDIRECT, state, verifier)
    parsed = urlparse(url)
    assert f"{parsed.scheme}://{parsed.netloc}{parsed.path}" == f"{CONNECT}/connect/authorize"
    q = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    assert q["response_type"] == "code"
    assert q["client_id"] == "sticos-app"
    assert q["redirect_uri"] == REDIRECT
    assert q["state"] == state
    assert q["code_challenge_method"] == "S256"
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert q["code_challenge"] == expected.decode()
    scopes = q["scope"].split()
    assert {
        "openid",
        "email",
        "profile",
        "offline_access",
        "tenants",
        "vismanet_erp_interactive_api:read",
    } <= set(scopes)
    assert verifier not in url and CLIENT_SECRET not in url
    assert 43 <= len(verifier) <= 128


def test_exchange_code_sends_verifier_and_stores_expires_at(visma, mocked, fake_time):
    mocked.add(responses.POST, TOKEN_URL, json=USER_TOKEN)
    token = visma.exchange_code("the-code", REDIRECT, "v" * 64)
    body = form(token_calls(mocked)[0])
    assert body["grant_type"] == "authorization_code"
    assert body["code"] == "the-code"
    assert body["code_verifier"] == "v" * 64
    assert body["redirect_uri"] == REDIRECT
    assert body["client_id"] == "sticos-app" and body["client_secret"] == CLIENT_SECRET
    assert token["expires_at"] == int(fake_time.now) + 3600
    assert token["refresh_token"] == "refresh-RRR-1"
    assert type(token) is dict


def test_expires_at_defaults_when_visma_gives_no_lifetime(visma, mocked, fake_time):
    mocked.add(
        responses.POST,
        TOKEN_URL,
        json={"access_token": "a", "refresh_token": "r", "token_type": "Bearer"},
    )
    assert visma.exchange_code("c", REDIRECT, "v" * 64)["expires_at"] == int(fake_time.now) + 3600


def test_refresh_returns_the_new_token(visma, mocked):
    new = dict(USER_TOKEN, access_token="user-access-BBB", refresh_token="refresh-RRR-2")
    mocked.add(responses.POST, TOKEN_URL, json=new)
    token = visma.refresh(dict(USER_TOKEN, expires_at=1))
    assert token["access_token"] == "user-access-BBB"
    assert token["refresh_token"] == "refresh-RRR-2"
    body = form(token_calls(mocked)[0])
    assert body["grant_type"] == "refresh_token" and body["refresh_token"] == "refresh-RRR-1"


def test_refresh_keeps_a_reuse_refresh_token(visma, mocked):
    mocked.add(responses.POST, TOKEN_URL, json={"access_token": "x", "expires_in": 60})
    assert visma.refresh("refresh-RRR-1")["refresh_token"] == "refresh-RRR-1"


def test_refresh_invalid_grant_is_authorization_lost_and_never_retried(visma, mocked, fake_time):
    mocked.add(
        responses.POST,
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "The refresh token was revoked"},
    )
    with pytest.raises(AuthorizationLost) as info:
        visma.refresh(USER_TOKEN)
    assert info.value.message == "The refresh token was revoked"
    assert info.value.fault_code == "invalid_grant"
    assert len(token_calls(mocked)) == 1
    assert fake_time.sleeps == []


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500, "json": {"error": "server_error"}},
        {"status": 503, "body": "Service Unavailable"},
        {"body": requests.ReadTimeout("read timed out")},
        {"status": 429, "headers": {"Retry-After": "1"}, "json": {"error": "slow_down"}},
    ],
)
def test_refresh_that_may_have_reached_visma_is_never_repeated(visma, mocked, failure):
    mocked.add(responses.POST, TOKEN_URL, **failure)
    with pytest.raises(Exception) as info:
        visma.refresh(USER_TOKEN)
    assert not isinstance(info.value, AuthorizationLost)
    assert len(token_calls(mocked)) == 1


def test_refresh_that_never_left_is_resent(visma, mocked):
    mocked.add(responses.POST, TOKEN_URL, body=requests.ConnectTimeout("connect timed out"))
    mocked.add(responses.POST, TOKEN_URL, json=dict(USER_TOKEN, refresh_token="refresh-RRR-2"))
    assert visma.refresh(USER_TOKEN)["refresh_token"] == "refresh-RRR-2"
    assert len(token_calls(mocked)) == 2


def test_refresh_without_refresh_token_is_authorization_lost(visma, mocked):
    with pytest.raises(AuthorizationLost):
        visma.refresh({"access_token": "a"})
    assert len(mocked.calls) == 0


def test_invalid_client_is_a_configuration_error(visma, mocked):
    mocked.add(responses.POST, TOKEN_URL, status=401, json={"error": "invalid_client"})
    with pytest.raises(ConfigurationError, match="invalid_client"):
        visma.refresh(USER_TOKEN)


def test_revoke_uses_basic_auth_and_swallows_errors(visma, mocked, caplog):
    url = f"{CONNECT}/connect/revocation"
    mocked.add(responses.POST, url, status=200)
    assert visma.revoke(USER_TOKEN) is None
    call = mocked.calls[0]
    expected = base64.b64encode(f"sticos-app:{CLIENT_SECRET}".encode()).decode()
    assert call.request.headers["Authorization"] == f"Basic {expected}"
    assert form(call) == {"token": "refresh-RRR-1", "token_type_hint": "refresh_token"}

    mocked.add(responses.POST, url, status=400, json={"error": "unsupported_token_type"})
    assert visma.revoke(USER_TOKEN) == "unsupported_token_type"
    mocked.add(responses.POST, url, body=requests.ConnectionError("down"))
    assert "ConnectionError" in visma.revoke(USER_TOKEN)
    assert visma.revoke({"access_token": "only"}) is None


def test_userinfo_and_expired_user_token(visma, mocked):
    url = f"{CONNECT}/connect/userinfo"
    mocked.add(responses.GET, url, json={"sub": "u1", "email": "kari@example.no"})
    assert visma.userinfo(USER_TOKEN)["email"] == "kari@example.no"
    assert mocked.calls[0].request.headers["Authorization"] == "Bearer user-access-AAA"
    mocked.add(responses.GET, url, status=401, json={"Message": "Token expired"})
    with pytest.raises(TokenExpired, match="Token expired"):
        visma.userinfo(USER_TOKEN)
    assert len(mocked.calls) == 2  # a rejected user token is not retried


# -- service tokens ----------------------------------------------------------------------------


def test_service_token_request_shape(visma, mocked):
    add_service_token(mocked)
    mocked.add(responses.GET, ORG, json=[{"name": "Fjord AS"}])
    visma.tenant_api(TENANT).organization()
    body = form(token_calls(mocked)[0])
    assert body["grant_type"] == "client_credentials"
    assert body["tenant_id"] == TENANT
    assert body["scope"] == "vismanet_erp_service_api:read"


def test_service_token_cached_for_many_calls_and_renewed_near_expiry(visma, mocked, fake_time):
    add_service_token(mocked, "svc-1", expires_in=3600)
    mocked.add(responses.GET, ORG, json=[{"name": "Fjord AS"}])
    api = visma.tenant_api(TENANT)
    for _ in range(25):
        api.organization()
    assert len(token_calls(mocked)) == 1

    fake_time.now += 3600 - 61  # still outside the 60 s margin
    api.organization()
    assert len(token_calls(mocked)) == 1
    fake_time.now += 2  # inside the margin: renew before it expires
    add_service_token(mocked, "svc-2")
    api.organization()
    assert len(token_calls(mocked)) == 2
    assert mocked.calls[-1].request.headers["Authorization"] == "Bearer svc-2"


def test_service_tokens_are_per_tenant(visma, mocked):
    add_service_token(mocked, "svc-a")
    add_service_token(mocked, "svc-b")
    mocked.add(responses.GET, ORG, json=[{"name": "X"}])
    visma.tenant_api("tenant-a").organization()
    visma.tenant_api("tenant-b").organization()
    visma.tenant_api("tenant-a").organization()
    tenants = [form(c)["tenant_id"] for c in token_calls(mocked)]
    assert tenants == ["tenant-a", "tenant-b"]


def test_concurrent_callers_share_one_token_request(visma, mocked):
    add_service_token(mocked)
    tokens, errors = [], []

    def grab():
        try:
            tokens.append(visma.service_tokens.get(TENANT))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=grab) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and set(tokens) == {"svc-token-1"}
    assert len(token_calls(mocked)) == 1


def test_invalid_tenant_is_company_access_withdrawn(visma, mocked):
    mocked.add(
        responses.POST,
        TOKEN_URL,
        status=400,
        json={
            "error": "invalid_tenant",
            "error_description": "The app has no access to this tenant.",
        },
    )
    with pytest.raises(CompanyAccessWithdrawn) as info:
        visma.tenant_api(TENANT).organization()
    assert info.value.tenant_id == TENANT
    assert info.value.message == "The app has no access to this tenant."
    assert len(token_calls(mocked)) == 1


def test_service_token_retries_transient_failures(visma, mocked, fake_time):
    mocked.add(responses.POST, TOKEN_URL, status=502, body="Bad gateway")
    mocked.add(responses.POST, TOKEN_URL, body=requests.ReadTimeout("slow"))
    add_service_token(mocked)
    assert visma.service_tokens.get(TENANT) == "svc-token-1"
    assert len(token_calls(mocked)) == 3
    assert fake_time.sleeps == [0.5, 1.0]


def test_service_token_gives_up(visma, mocked):
    for _ in range(4):
        mocked.add(
            responses.POST,
            TOKEN_URL,
            status=500,
            json={"error": "server_error", "error_description": "Oops"},
        )
    with pytest.raises(VismaUnavailable, match="Oops"):
        visma.service_tokens.get(TENANT)


# -- secrets stay out of logs ------------------------------------------------------------------


def test_no_secret_or_token_in_logs(visma, mocked, caplog):
    caplog.set_level(logging.DEBUG)
    mocked.add(responses.POST, TOKEN_URL, json=USER_TOKEN)
    token = visma.exchange_code("code-XYZ", REDIRECT, "verifier-" + "q" * 50)
    mocked.add(responses.POST, TOKEN_URL, json=dict(USER_TOKEN, refresh_token="refresh-RRR-2"))
    visma.refresh(token)
    mocked.add(responses.POST, TOKEN_URL, status=400, json={"error": "invalid_grant"})
    with pytest.raises(AuthorizationLost):
        visma.refresh(token)
    mocked.add(responses.POST, f"{CONNECT}/connect/revocation", status=400, json={"error": "x"})
    visma.revoke(token)
    add_service_token(mocked, "svc-secret-token")
    mocked.add(responses.GET, ORG, status=500, json={"Message": "boom"})
    mocked.add(responses.GET, ORG, status=429, headers={"Retry-After": "1"})
    mocked.add(responses.GET, ORG, json=[{"name": "Fjord AS"}])
    visma.tenant_api(TENANT).organization()

    logged = caplog.text + " ".join(repr(r.args) for r in caplog.records)
    assert caplog.records  # something was logged
    for secret in (
        CLIENT_SECRET,
        "user-access-AAA",
        "refresh-RRR-1",
        "refresh-RRR-2",
        "id-token-III",
        "svc-secret-token",
        "code-XYZ",
        "verifier-",
    ):
        assert secret not in logged
    assert CLIENT_SECRET not in repr(visma.connect)
