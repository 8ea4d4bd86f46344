"""Visma Connect: OpenID discovery, authorize (+ login and consent pages), token, userinfo,
revocation, the invented tenant discovery endpoint, and the App Store permissions page."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import secrets
import time
from urllib.parse import unquote_plus, urlencode, urlsplit, urlunsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)

from . import pages
from .state import (
    INTERACTIVE_SCOPES,
    SERVICE_READ,
    SERVICE_SCOPES,
    Grant,
    SimulatorState,
    TokenError,
)
from .tokens import InvalidToken, b64url

bp = Blueprint("identity", __name__)

AUTHORIZE_PARAMS = ("response_type", "client_id", "redirect_uri", "scope", "state",
                    "code_challenge", "code_challenge_method", "nonce", "prompt", "response_mode")
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def state() -> SimulatorState:
    return current_app.extensions["visma_simulator"]


def issuer() -> str:
    return (state().config.issuer or request.url_root).rstrip("/")


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(16)
    return session["csrf"]


def check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        abort(400, "The form expired; go back and try again.")


def current_user():
    sub = session.get("user")
    if not sub:
        return None
    return next((u for u in state().users.values() if u.sub == sub), None)


def oauth_error(exc: TokenError) -> Response:
    response = jsonify(error=exc.error, error_description=exc.description)
    response.status_code = exc.status
    response.headers["Cache-Control"] = "no-store"
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Visma Connect"'
    return response


def bearer_error(status: int, error: str, description: str) -> Response:
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    response.headers["WWW-Authenticate"] = f'Bearer error="{error}"'
    return response


def with_query(uri: str, **params) -> str:
    parts = urlsplit(uri)
    query = parts.query + ("&" if parts.query else "") + urlencode(
        {k: v for k, v in params.items() if v is not None})
    return urlunsplit(parts._replace(query=query))


# ---- discovery ----

@bp.get("/")
def home():
    return pages.render(pages.HOME, "Home")


@bp.get("/.well-known/openid-configuration")
def discovery():
    base = issuer()
    return jsonify({
        "issuer": base,
        "authorization_endpoint": base + "/connect/authorize",
        "token_endpoint": base + "/connect/token",
        "userinfo_endpoint": base + "/connect/userinfo",
        "revocation_endpoint": base + "/connect/revocation",
        "jwks_uri": base + "/.well-known/openid-configuration/jwks",
        "scopes_supported": sorted(INTERACTIVE_SCOPES | SERVICE_SCOPES),
        "claims_supported": ["sub", "name", "given_name", "family_name", "email", "tenant_id",
                             "client_id", "scope"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic",
                                                       "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    })


@bp.get("/.well-known/openid-configuration/jwks")
def jwks():
    return jsonify(state().signer.jwks())


# ---- login ----

@bp.route("/login", methods=["GET", "POST"])
def login():
    sim = state()
    target = request.values.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("identity.home")
    error = None
    email = ""
    if request.method == "POST":
        check_csrf()
        email = request.form.get("email", "")
        user = sim.login(email, request.form.get("password", ""))
        if user:
            session["user"] = user.sub
            return redirect(target)
        error = "The email or password is incorrect."
    users = [{"email": u.email, "name": u.name, "password": u.password,
              "companies": [sim.companies[t].name for t in u.companies]}
             for u in sim.users.values()]
    status = 401 if error else 200
    return pages.render(pages.LOGIN, "Sign in", error=error, next=target, email=email,
                        users=users, csrf_token=csrf_token()), status


@bp.get("/logout")
def logout():
    session.pop("user", None)
    target = request.args.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("identity.login")
    return redirect(target)


# ---- authorize ----

def _error_page(heading: str, message: str, status: int = 400):
    return pages.render(pages.ERROR, heading, heading=heading, message=message), status


@bp.route("/connect/authorize", methods=["GET", "POST"])
def authorize():
    sim = state()
    params = {k: request.values[k] for k in AUTHORIZE_PARAMS if k in request.values}
    app = sim.apps.get(params.get("client_id", ""))
    if app is None:
        return _error_page("Sorry, there was an error", "unauthorized_client: unknown client_id.")
    if not app.allows("authorization_code"):
        return _error_page("Sorry, there was an error",
                           "unauthorized_client: a service application cannot sign users in.")
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri or not app.redirect_allowed(redirect_uri):
        return _error_page("Sorry, there was an error",
                           "invalid_request: redirect_uri is not registered for this client.")
    client_state = params.get("state")

    def fail(error: str, description: str):
        return redirect(with_query(redirect_uri, error=error, error_description=description,
                                   state=client_state))

    if params.get("response_type") != "code":
        return fail("unsupported_response_type", "Only response_type=code is supported.")
    scopes = params.get("scope", "").split()
    unknown = [s for s in scopes if s not in INTERACTIVE_SCOPES]
    if unknown or "openid" not in scopes:
        return fail("invalid_scope", "Invalid scope: " + (" ".join(unknown) or "openid missing"))
    challenge = params.get("code_challenge", "")
    if not challenge:
        return fail("invalid_request", "code_challenge is required.")
    if params.get("code_challenge_method") != "S256":
        return fail("invalid_request", "code_challenge_method must be S256.")
    if not _VERIFIER.match(challenge):
        return fail("invalid_request", "code_challenge is malformed.")

    authorize_url = url_for("identity.authorize") + "?" + urlencode(params)
    user = current_user()
    if user is None:
        return redirect(url_for("identity.login", next=authorize_url))

    if request.method == "POST":
        check_csrf()
        decision = request.form.get("decision")
        if decision != "accept":
            return fail("access_denied", "The user denied the request.")
        with sim.lock:
            sim.consents.add((user.sub, app.client_id))
    elif (user.sub, app.client_id) not in sim.consents or params.get("prompt") == "consent":
        companies = sim.approved_companies(user, app.client_id)
        return pages.render(pages.CONSENT, "Consent", app=app, scopes=scopes, user=user,
                            companies=companies, params=params, authorize_url=authorize_url,
                            erp=any(s.startswith("vismanet_erp") for s in scopes),
                            csrf_token=csrf_token())

    code = secrets.token_urlsafe(32)
    with sim.lock:
        sim.codes[code] = {
            "client_id": app.client_id, "redirect_uri": redirect_uri, "sub": user.sub,
            "scope": " ".join(scopes), "challenge": challenge, "nonce": params.get("nonce"),
            "expires": sim.now() + dt.timedelta(seconds=sim.config.code_lifetime), "used": False,
            "grant_id": None,
        }
    return redirect(with_query(redirect_uri, code=code, scope=" ".join(scopes),
                               state=client_state))


# ---- token ----

def client_credentials_from_request() -> tuple[str | None, str | None]:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        client_id, _, secret = decoded.partition(":")
        return unquote_plus(client_id), unquote_plus(secret)
    return request.form.get("client_id"), request.form.get("client_secret")


@bp.post("/connect/token")
def token():
    sim = state()
    try:
        client_id, secret = client_credentials_from_request()
        app = sim.authenticate_client(client_id, secret)
        grant_type = request.form.get("grant_type")
        if grant_type in ("authorization_code", "refresh_token", "client_credentials") \
                and not app.allows(grant_type):
            raise TokenError("unauthorized_client",
                             f"The client is not allowed to use grant type {grant_type!r}.")
        if grant_type == "authorization_code":
            body = _exchange_code(sim, app.client_id)
        elif grant_type == "refresh_token":
            body = _refresh(sim, app.client_id)
            if sim.take_lost_token_answer():  # the token has rotated; the answer comes too late
                time.sleep(sim.faults.timeout_seconds)
        elif grant_type == "client_credentials":
            body = _client_credentials(sim, app)
        else:
            raise TokenError("unsupported_grant_type", f"Unsupported grant_type {grant_type!r}.")
    except TokenError as exc:
        return oauth_error(exc)
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _interactive_tokens(sim: SimulatorState, grant, scope: str) -> dict:
    user = sim.user(grant.sub)
    scopes = scope.split()
    tenant = sim.interactive_tenant(user, grant.client_id) if "tenants" in scopes else None
    body = {
        "access_token": sim.issue_access_token(grant.client_id, tenant, scope, issuer(),
                                               sub=user.sub),
        "expires_in": sim.faults.access_token_lifetime,
        "token_type": "Bearer",
        "scope": scope,
    }
    if "openid" in scopes:
        now = sim.epoch()
        claims = {"iss": issuer(), "aud": grant.client_id, "sub": user.sub, "iat": now,
                  "exp": now + sim.faults.access_token_lifetime, "auth_time": now,
                  "idp": "Visma Connect"}
        if grant.nonce:
            claims["nonce"] = grant.nonce
        if "email" in scopes:
            claims.update(email=user.email, email_verified=True)
        if "profile" in scopes:
            claims.update(name=user.name, given_name=user.given_name,
                          family_name=user.family_name)
        if tenant:
            claims["tenant_id"] = tenant
        body["id_token"] = sim.signer.sign(claims)
    if "offline_access" in scopes:
        body["refresh_token"] = sim.new_refresh_token(grant.grant_id)
    return body


def _exchange_code(sim: SimulatorState, client_id: str) -> dict:
    code = request.form.get("code", "")
    with sim.lock:
        record = sim.codes.get(code)
        if record is None or record["client_id"] != client_id:
            raise TokenError("invalid_grant", "The authorization code is invalid.")
        if record["used"]:
            if record["grant_id"] in sim.grants:
                sim.grants[record["grant_id"]].revoked = True
            raise TokenError("invalid_grant", "The authorization code has already been used.")
        if sim.now() > record["expires"]:
            raise TokenError("invalid_grant", "The authorization code has expired.")
        if request.form.get("redirect_uri") != record["redirect_uri"]:
            raise TokenError("invalid_grant", "redirect_uri does not match the authorize request.")
        verifier = request.form.get("code_verifier", "")
        if not verifier:
            raise TokenError("invalid_grant", "code_verifier is required.")
        computed = b64url(hashlib.sha256(verifier.encode()).digest())
        if not _VERIFIER.match(verifier) or not secrets.compare_digest(computed,
                                                                       record["challenge"]):
            raise TokenError("invalid_grant", "The code_verifier does not match the challenge.")
        record["used"] = True
        grant = Grant(secrets.token_hex(12), client_id, record["sub"], record["scope"], sim.now(),
                      record["nonce"])
        sim.grants[grant.grant_id] = grant
        record["grant_id"] = grant.grant_id
        return _interactive_tokens(sim, grant, grant.scope)


def _refresh(sim: SimulatorState, client_id: str) -> dict:
    with sim.lock:
        grant = sim.use_refresh_token(request.form.get("refresh_token", ""), client_id)
        scope = grant.scope
        if request.form.get("scope"):
            requested = request.form["scope"].split()
            if not set(requested) <= set(grant.scope.split()):
                raise TokenError("invalid_scope", "The requested scope exceeds the grant.")
            scope = " ".join(requested)
        return _interactive_tokens(sim, grant, scope)


def _client_credentials(sim: SimulatorState, app) -> dict:
    tenant_id = request.form.get("tenant_id", "").strip()
    if not tenant_id:
        raise TokenError("invalid_request", "tenant_id is required for client_credentials.")
    requested = request.form.get("scope", "").split() or [SERVICE_READ]
    if not set(requested) <= SERVICE_SCOPES:
        raise TokenError("invalid_scope", "Invalid scope: " + " ".join(requested))
    company = sim.companies.get(tenant_id)
    if company is None or app.client_id not in company.approved:
        raise TokenError("invalid_tenant",
                         f"The tenant {tenant_id} is unknown or has not approved the application.")
    scope = " ".join(requested)
    return {
        "access_token": sim.issue_access_token(app.client_id, tenant_id, scope, issuer()),
        "expires_in": sim.faults.access_token_lifetime,
        "token_type": "Bearer",
        "scope": scope,
    }


# ---- bearer-protected identity endpoints ----

def _bearer_claims() -> dict | Response:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return bearer_error(401, "invalid_token", "A bearer access token is required.")
    try:
        return state().decode_access_token(header[7:].strip())
    except InvalidToken:
        return bearer_error(401, "invalid_token", "The access token is invalid or has expired.")


@bp.route("/connect/userinfo", methods=["GET", "POST"])
def userinfo():
    claims = _bearer_claims()
    if isinstance(claims, Response):
        return claims
    scopes = claims["scope"].split()
    if "sub" not in claims or "openid" not in scopes:
        return bearer_error(403, "insufficient_scope", "The token does not carry openid.")
    user = state().user(claims["sub"])
    body = {"sub": user.sub}
    if "profile" in scopes:
        body.update(name=user.name, given_name=user.given_name, family_name=user.family_name)
    if "email" in scopes:
        body.update(email=user.email, email_verified=True)
    return jsonify(body)


@bp.get("/connect/tenants")
def tenants():
    """Invented: the companies this user reaches that have approved the token's app."""
    claims = _bearer_claims()
    if isinstance(claims, Response):
        return claims
    if "sub" not in claims:
        return bearer_error(403, "insufficient_scope", "Tenant discovery needs a user's token.")
    sim = state()
    with sim.lock:
        user = sim.user(claims["sub"])
        companies = sim.approved_companies(user, claims["client_id"])
        return jsonify([{"tenantId": c.tenant_id, "name": c.name, "corporateId": c.corporate_id}
                        for c in companies])


@bp.post("/connect/revocation")
def revocation():
    sim = state()
    try:
        client_id, secret = client_credentials_from_request()
        app = sim.authenticate_client(client_id, secret)
    except TokenError as exc:
        return oauth_error(exc)
    token_value = request.form.get("token", "")
    if not token_value:
        return oauth_error(TokenError("invalid_request", "token is required."))
    with sim.lock:
        record = sim.refresh_tokens.get(token_value)
        if record is not None:
            grant = sim.grants[record.grant_id]
            if grant.client_id == app.client_id:
                grant.revoked = True
    return Response(status=200)


# ---- App Store ----

@bp.route("/appstore", methods=["GET", "POST"])
def appstore():
    sim = state()
    user = current_user()
    if user is None:
        return redirect(url_for("identity.login", next=request.full_path.rstrip("?")))
    app = sim.apps.get(request.args.get("app", "")) or next(iter(sim.apps.values()), None)
    if app is None:
        return _error_page("Visma App Store", "No application is registered.", 404)
    companies = [sim.companies[t] for t in user.companies]
    if request.method == "POST":
        check_csrf()
        selected = [t for t in request.form.getlist("tenant") if t in user.companies]
        if request.form.get("step") == "aksepter":
            for company in companies:
                if company.tenant_id in selected:
                    sim.approve(company.tenant_id, app.client_id)
                else:
                    sim.withdraw(company.tenant_id, app.client_id)
            return redirect(url_for("identity.appstore", app=app.client_id, saved=1))
        return pages.render(pages.APPSTORE_CONFIRM, "Aksepter", brand="Visma App Store",
                            lang="nb", app=app, companies=companies, selected=selected,
                            csrf_token=csrf_token())
    return pages.render(pages.APPSTORE, "Angi tillatelser", brand="Visma App Store", lang="nb",
                        app=app, companies=companies, user=user,
                        saved=bool(request.args.get("saved")), csrf_token=csrf_token())

