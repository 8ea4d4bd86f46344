"""Visma Connect as simulated: authorization code + PKCE, refresh rotation, client credentials."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.visma.simulator.state import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_SERVICE_CLIENT_ID,
    DEMO_SERVICE_CLIENT_SECRET,
    SECOND_USER,
)

from .helpers import (
    REDIRECT,
    authorize_params,
    claims,
    csrf,
    exchange,
    get_code,
    login,
    pkce,
    query_of,
    refresh,
)


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_discovery_and_jwks_verify_an_access_token(sim_client, user_tokens):
    config = sim_client.get("/.well-known/openid-configuration").get_json()
    assert config["token_endpoint"].endswith("/connect/token")
    assert config["code_challenge_methods_supported"] == ["S256"]
    jwks = sim_client.get(config["jwks_uri"].replace("http://localhost", "")).get_json()
    key = jwks["keys"][0]
    public = rsa.RSAPublicNumbers(int.from_bytes(_b64(key["e"]), "big"),
                                  int.from_bytes(_b64(key["n"]), "big")).public_key()
    header, payload, signature = user_tokens["access_token"].split(".")
    public.verify(_b64(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(),
                  hashes.SHA256())


def test_code_flow_shows_the_seed_consent_and_issues_tokens(sim_client, sim_state):
    verifier, challenge = pkce()
    login(sim_client)
    page = sim_client.get("/connect/authorize", query_string=authorize_params(challenge))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for text in ("SticosRegnskapsdataTest would like to get access to:",
                 "Your user account information", "Profile information (firstname, lastname)",
                 "Email address", "User identifier", "Organization data for TrekkSpill",
                 "reading items", "Accept", "Cancel"):
        assert text in html
    response = sim_client.post("/connect/authorize", data={
        **authorize_params(challenge), "decision": "accept", "csrf_token": csrf(html)})
    code = query_of(response.headers["Location"])["code"]
    tokens = exchange(sim_client, code, verifier).get_json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["refresh_token"] and tokens["id_token"]
    access = claims(tokens["access_token"])
    assert access["tenant_id"] == sim_state.tenant_id("TrekkSpill")
    assert access["client_id"] == DEMO_CLIENT_ID
    assert access["scope"] == tokens["scope"]
    assert "vismanet_erp_interactive_api:read" in access["scope"].split()
    assert {"sub", "aud", "exp", "iss", "iat"} <= set(access)
    assert claims(tokens["id_token"])["nonce"] == "n-1"


def test_consent_is_remembered(sim_client):
    verifier, challenge = pkce()
    get_code(sim_client, challenge)
    again = sim_client.get("/connect/authorize", query_string=authorize_params(pkce()[1]))
    assert again.status_code == 302 and "code=" in again.headers["Location"]


def test_login_is_required_and_wrong_password_refused(sim_client):
    response = sim_client.get("/connect/authorize", query_string=authorize_params(pkce()[1]))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert login(sim_client, password="nope").status_code == 401


def test_session_cookie_has_its_own_name(sim_client):
    login(sim_client)
    assert sim_client.get_cookie("visma_sim_session") is not None
    assert sim_client.get_cookie("session") is None


def test_cancel_returns_access_denied_with_state(sim_client):
    login(sim_client)
    params = authorize_params(pkce()[1])
    page = sim_client.get("/connect/authorize", query_string=params).get_data(as_text=True)
    response = sim_client.post("/connect/authorize",
                               data={**params, "decision": "cancel", "csrf_token": csrf(page)})
    query = query_of(response.headers["Location"])
    assert response.headers["Location"].startswith(REDIRECT)
    assert query["error"] == "access_denied" and query["state"] == "xyz"


@pytest.mark.parametrize("overrides, error", [
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
    ({"scope": "openid vismanet_erp_service_api:read"}, "invalid_scope"),
    ({"response_type": "token"}, "unsupported_response_type"),
])
def test_authorize_errors_redirect_back(sim_client, overrides, error):
    login(sim_client)
    response = sim_client.get("/connect/authorize",
                              query_string=authorize_params(pkce()[1], **overrides))
    assert response.status_code == 302
    assert query_of(response.headers["Location"])["error"] == error


def test_unregistered_redirect_uri_is_not_followed(sim_client):
    login(sim_client)
    response = sim_client.get("/connect/authorize", query_string=authorize_params(
        pkce()[1], redirect_uri="https://evil.example/cb"))
    assert response.status_code == 400 and "Location" not in response.headers


def test_client_secret_basic_is_accepted(sim_client):
    verifier, challenge = pkce()
    response = exchange(sim_client, get_code(sim_client, challenge), verifier, basic=True)
    assert response.status_code == 200


def test_wrong_verifier_is_rejected(sim_client):
    verifier, challenge = pkce()
    response = exchange(sim_client, get_code(sim_client, challenge), pkce()[0])
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_plain_verifier_equal_to_challenge_is_rejected(sim_client):
    _, challenge = pkce()
    response = exchange(sim_client, get_code(sim_client, challenge), challenge)
    assert response.get_json()["error"] == "invalid_grant"


def test_reused_code_is_rejected_and_revokes_its_grant(sim_client):
    verifier, challenge = pkce()
    code = get_code(sim_client, challenge)
    first = exchange(sim_client, code, verifier).get_json()
    second = exchange(sim_client, code, verifier)
    assert second.status_code == 400 and second.get_json()["error"] == "invalid_grant"
    assert refresh(sim_client, first["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_wrong_redirect_uri_at_exchange_is_rejected(sim_client):
    verifier, challenge = pkce()
    response = exchange(sim_client, get_code(sim_client, challenge), verifier,
                        redirect_uri="http://127.0.0.1:5000/other")
    assert response.get_json()["error"] == "invalid_grant"


def test_bad_client_secret_is_invalid_client(sim_client):
    response = sim_client.post("/connect/token", data={
        "grant_type": "client_credentials", "tenant_id": "x", "client_id": DEMO_CLIENT_ID,
        "client_secret": "wrong"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_no_offline_access_means_no_refresh_token(sim_client):
    verifier, challenge = pkce()
    code = get_code(sim_client, challenge,
                    scope="openid profile tenants vismanet_erp_interactive_api:read")
    tokens = exchange(sim_client, code, verifier).get_json()
    assert "refresh_token" not in tokens


def test_refresh_rotates_and_replay_revokes_every_grant(sim_client, sim_state):
    sim_state.set_faults(refresh_grace_period=0)  # a Visma Connect app without a grace period
    first = refresh_token = None
    verifier, challenge = pkce()
    first = exchange(sim_client, get_code(sim_client, challenge), verifier).get_json()
    # a second, independent grant of the same user and client
    verifier2, challenge2 = pkce()
    other = exchange(sim_client, get_code(sim_client, challenge2), verifier2).get_json()

    rotated = refresh(sim_client, first["refresh_token"]).get_json()
    refresh_token = rotated["refresh_token"]
    assert refresh_token != first["refresh_token"]
    assert claims(rotated["access_token"])["sub"] == claims(first["access_token"])["sub"]

    replay = refresh(sim_client, first["refresh_token"])
    assert replay.status_code == 400
    body = replay.get_json()
    assert body["error"] == "invalid_grant" and body["error_description"]
    # the whole family and the other grant of this client+user are gone
    assert refresh(sim_client, refresh_token).get_json()["error"] == "invalid_grant"
    assert refresh(sim_client, other["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_grace_period_tolerates_a_retried_refresh(sim_client, sim_state, user_tokens):
    sim_state.set_faults(refresh_grace_period=30)
    first = refresh(sim_client, user_tokens["refresh_token"])
    retried = refresh(sim_client, user_tokens["refresh_token"])
    assert first.status_code == retried.status_code == 200
    sim_state.advance_clock(31)
    assert refresh(sim_client, user_tokens["refresh_token"]).status_code == 400
    assert refresh(sim_client, retried.get_json()["refresh_token"]).status_code == 400


def test_refresh_token_sliding_expiry(sim_client, sim_state, user_tokens):
    sim_state.advance_clock(29 * 86400)
    rotated = refresh(sim_client, user_tokens["refresh_token"]).get_json()
    sim_state.advance_clock(30 * 86400 + 1)
    response = refresh(sim_client, rotated["refresh_token"])
    assert response.get_json()["error"] == "invalid_grant"


def test_revoking_a_users_grants_stops_refresh(sim_client, sim_state, user_tokens):
    assert sim_state.revoke_user_grants("demo@visma.test") == 1
    assert refresh(sim_client, user_tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_revocation_endpoint_revokes_the_refresh_token(sim_client, user_tokens):
    auth = base64.b64encode(f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}".encode()).decode()
    response = sim_client.post("/connect/revocation", data={
        "token": user_tokens["refresh_token"], "token_type_hint": "refresh_token"},
        headers={"Authorization": f"Basic {auth}"})
    assert response.status_code == 200
    assert refresh(sim_client, user_tokens["refresh_token"]).status_code == 400


def test_userinfo(sim_client, user_tokens):
    response = sim_client.get("/connect/userinfo", headers={
        "Authorization": f"Bearer {user_tokens['access_token']}"})
    body = response.get_json()
    assert body["email"] == "demo@visma.test"
    assert (body["name"], body["given_name"], body["family_name"]) == (
        "Demo Bruker", "Demo", "Bruker")
    assert body["sub"] == claims(user_tokens["access_token"])["sub"]


def test_tenant_discovery_lists_reachable_approved_companies(sim_client, sim_state, user_tokens):
    headers = {"Authorization": f"Bearer {user_tokens['access_token']}"}
    body = sim_client.get("/connect/tenants", headers=headers).get_json()
    assert [t["name"] for t in body] == ["TrekkSpill", "Testing", "Nordlys Regnskap AS"]
    assert body[0] == {"tenantId": sim_state.tenant_id("TrekkSpill"), "name": "TrekkSpill",
                       "corporateId": "222333444"}
    sim_state.withdraw(sim_state.tenant_id("Testing"))
    sim_state.approve(sim_state.tenant_id("Havbris Eiendom AS"))
    names = [t["name"] for t in sim_client.get("/connect/tenants", headers=headers).get_json()]
    assert names == ["TrekkSpill", "Nordlys Regnskap AS", "Havbris Eiendom AS"]


def test_tenant_discovery_needs_a_valid_token(sim_client, sim_state):
    response = sim_client.get("/connect/tenants", headers={"Authorization": "Bearer junk"})
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_token"
    sim_state.set_faults(access_token_lifetime=60)
    token = sim_state.issue_access_token(DEMO_CLIENT_ID, None, "openid", "x", sub="s")
    sim_state.advance_clock(61)
    response = sim_client.get("/connect/tenants", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_second_user_reaches_a_different_set(sim_client, sim_state):
    verifier, challenge = pkce()
    tokens = exchange(sim_client, get_code(sim_client, challenge, email=SECOND_USER),
                      verifier).get_json()
    names = [t["name"] for t in sim_client.get("/connect/tenants", headers={
        "Authorization": f"Bearer {tokens['access_token']}"}).get_json()]
    assert names == ["Testing", "Sjøbris Sjømat AS", "Fjordhandel Gruppen AS"]
    assert claims(tokens["access_token"])["tenant_id"] == sim_state.tenant_id("Testing")


def _cc(client, tenant_id, client_id=DEMO_SERVICE_CLIENT_ID,
        client_secret=DEMO_SERVICE_CLIENT_SECRET):
    return client.post("/connect/token", data={
        "grant_type": "client_credentials", "tenant_id": tenant_id,
        "client_id": client_id, "client_secret": client_secret})


def test_interactive_and_service_applications_are_separate(sim_client, sim_state):
    """As Visma's Developer Portal's application types: the interactive app cannot use
    client_credentials, the service app cannot sign a user in."""
    tenant = sim_state.tenant_id("TrekkSpill")
    refused = _cc(sim_client, tenant, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "unauthorized_client"
    code = sim_client.post("/connect/token", data={
        "grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT,
        "client_id": DEMO_SERVICE_CLIENT_ID, "client_secret": DEMO_SERVICE_CLIENT_SECRET})
    assert code.get_json()["error"] == "unauthorized_client"
    _, challenge = pkce()
    page = sim_client.get("/connect/authorize", query_string=authorize_params(
        challenge, client_id=DEMO_SERVICE_CLIENT_ID))
    assert "a service application cannot sign users in" in page.get_data(as_text=True)
    # one App Store approval covers both applications of the integration
    sim_state.withdraw(tenant)
    assert not {DEMO_CLIENT_ID, DEMO_SERVICE_CLIENT_ID} & sim_state.companies[tenant].approved
    sim_state.approve(tenant)
    assert _cc(sim_client, tenant).status_code == 200


def test_client_credentials_per_tenant(sim_client, sim_state):
    approved = sim_state.tenant_id("TrekkSpill")
    not_approved = sim_state.tenant_id("Bakeriet på Hjørnet AS")
    tokens = _cc(sim_client, approved).get_json()
    access = claims(tokens["access_token"])
    assert access["tenant_id"] == approved
    assert access["scope"] == tokens["scope"] == "vismanet_erp_service_api:read"
    assert "refresh_token" not in tokens

    for tenant in (not_approved, "00000000-0000-4000-8000-000000000000"):
        response = _cc(sim_client, tenant)
        assert response.status_code == 400
        assert response.get_json()["error"] == "invalid_tenant"
    missing = _cc(sim_client, "")
    assert missing.status_code == 400 and missing.get_json()["error"] == "invalid_request"

    sim_state.approve(not_approved)
    assert _cc(sim_client, not_approved).status_code == 200


def test_unsupported_grant_type(sim_client):
    response = sim_client.post("/connect/token", data={
        "grant_type": "password", "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET})
    assert response.get_json()["error"] == "unsupported_grant_type"


def test_app_store_grants_and_withdraws_reading_items(sim_client, sim_state):
    assert sim_client.get("/appstore").status_code == 302  # login first
    login(sim_client)
    page = sim_client.get("/appstore").get_data(as_text=True)
    assert "Angi tillatelser" in page and "Integrer" in page and "Avbryt" in page
    bakeriet = sim_state.tenant_id("Bakeriet på Hjørnet AS")
    trekkspill = sim_state.tenant_id("TrekkSpill")
    # keep TrekkSpill and Bakeriet ON, everything else OFF
    confirm = sim_client.post("/appstore", data={
        "step": "integrer", "tenant": [trekkspill, bakeriet], "csrf_token": csrf(page)})
    html = confirm.get_data(as_text=True)
    assert "Aksepter" in html
    assert sim_state.companies[bakeriet].approved == set()  # nothing changes before Aksepter
    done = sim_client.post("/appstore", data={
        "step": "aksepter", "tenant": [trekkspill, bakeriet], "csrf_token": csrf(html)})
    assert done.status_code == 302
    assert DEMO_CLIENT_ID in sim_state.companies[bakeriet].approved
    assert DEMO_CLIENT_ID not in sim_state.companies[sim_state.tenant_id("Testing")].approved
    assert "Tillatelsene er lagret" in sim_client.get(done.headers["Location"]).get_data(
        as_text=True)


def test_forms_need_the_csrf_token(sim_client):
    login(sim_client)
    response = sim_client.post("/appstore", data={"step": "aksepter", "tenant": []})
    assert response.status_code == 400


def test_challenge_helper_is_s256():
    verifier, challenge = pkce()
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    assert challenge == expected.rstrip(b"=").decode()


def test_expired_code_is_rejected(sim_client, sim_state):
    verifier, challenge = pkce()
    code = get_code(sim_client, challenge)
    sim_state.advance_clock(301)
    assert exchange(sim_client, code, verifier).get_json()["error"] == "invalid_grant"


def test_login_page_offers_the_simulated_users(sim_client):
    html = sim_client.get("/login").get_data(as_text=True)
    assert "demo@visma.test" in html and "Sign in as Demo Bruker" in html
    assert "TrekkSpill, Testing" in html


def test_user_without_approved_company_gets_the_customer_tenant(sim_client, sim_state):
    sim_state.add_user("ny@visma.test", "visma-demo", "Ny", "Bruker",
                       [sim_state.tenant_id("Bakeriet på Hjørnet AS")])
    verifier, challenge = pkce()
    login(sim_client, "ny@visma.test")
    page = sim_client.get("/connect/authorize", query_string=authorize_params(challenge))
    assert "None of your organizations has granted" in page.get_data(as_text=True)
    tokens = exchange(sim_client, get_code(sim_client, challenge, email="ny@visma.test"),
                      verifier).get_json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert sim_client.get("/connect/tenants", headers=headers).get_json() == []
    assert claims(tokens["access_token"])["tenant_id"] == sim_state.user(
        "ny@visma.test").customer_tenant_id
    assert sim_client.get("/api/v1/organization", headers=headers).status_code == 403
