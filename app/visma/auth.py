"""Visma Connect: the interactive OAuth flow's tokens and per-tenant service tokens."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oauth2.client import OAuth2Client
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from .errors import (
    ApiError,
    AuthorizationLost,
    CompanyAccessWithdrawn,
    ConfigurationError,
    MalformedResponse,
    RefreshOutcomeUnknown,
    Throttled,
    TokenExpired,
    VismaError,
    VismaUnavailable,
    parse_error_body,
)
from .http import HttpClient, parse_retry_after

log = logging.getLogger(__name__)

DEFAULT_CONNECT_URL = "https://connect.visma.com"
INTERACTIVE_SCOPES = "openid email profile offline_access tenants vismanet_erp_interactive_api:read"
SERVICE_SCOPE = "vismanet_erp_service_api:read"
DEFAULT_EXPIRES_IN = 3600  # Visma's usual access-token lifetime, used when none is given

Token = dict[str, Any]


@dataclass(frozen=True)
class ConnectEndpoints:
    """Visma Connect's URLs under one base (the real one, or the simulator's)."""

    base: str = DEFAULT_CONNECT_URL

    def _url(self, path: str) -> str:
        return self.base.rstrip("/") + path

    @property
    def authorize(self) -> str:
        """Where the user logs in and consents."""
        return self._url("/connect/authorize")

    @property
    def token(self) -> str:
        """Where codes, refresh tokens and client credentials become tokens."""
        return self._url("/connect/token")

    @property
    def userinfo(self) -> str:
        """The signed-in user's claims."""
        return self._url("/connect/userinfo")

    @property
    def revocation(self) -> str:
        """Where a refresh token is revoked."""
        return self._url("/connect/revocation")

    @property
    def tenants(self) -> str:
        """Our simulator's invented tenant list (no public Visma endpoint exists)."""
        return self._url("/connect/tenants")


def new_state() -> str:
    """A random OAuth ``state`` value."""
    return generate_token(32)


def new_code_verifier() -> str:
    """A random PKCE code verifier (RFC 7636: 43-128 characters)."""
    return generate_token(64)


class _ConnectOAuth(OAuth2Client):
    """Authlib's OAuth 2 client driving our shared ``requests.Session`` (as OAuth2Session does).

    A fresh instance per token call, so no token state is shared between threads or tenants.
    """

    client_auth_class = OAuth2Session.client_auth_class
    token_auth_class = OAuth2Session.token_auth_class
    oauth_error_class = OAuthError
    SESSION_REQUEST_PARAMS = OAuth2Session.SESSION_REQUEST_PARAMS


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached the server (safe to resend anything)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def token_error(response: requests.Response, *, tenant_id: str | None = None) -> VismaError:
    """Map a failed Visma Connect token-endpoint answer to a typed error."""
    status = response.status_code
    message, code = parse_error_body(response.content)
    text = message or f"Visma Connect svarte med feil {status}."
    return _token_error(code, text, status=status, tenant_id=tenant_id,
                        retry_after=response.headers.get("Retry-After"))


def _token_error(
    code: str | None, text: str, *, status: int | None = None, tenant_id: str | None = None,
    retry_after: str | None = None,
) -> VismaError:
    """The one mapping of a token-endpoint error (its OAuth ``error`` code, else its HTTP
    status) to a typed error, for error answers and for errors inside a 2xx answer alike."""
    if code == "invalid_grant":
        return AuthorizationLost(text, status=status, fault_code=code)
    if code == "invalid_tenant":
        return CompanyAccessWithdrawn(text, status=status, fault_code=code, tenant_id=tenant_id)
    if code in ("invalid_client", "unauthorized_client", "invalid_scope"):
        return ConfigurationError(
            f"Visma Connect avviste appens oppsett ({code}): {text}", status=status, fault_code=code
        )
    if status == 429:
        return Throttled(
            text, status=status, fault_code=code, retry_after=parse_retry_after(retry_after)
        )
    if status is not None and status >= 500:
        return VismaUnavailable(text, status=status, fault_code=code)
    return ApiError(text, status=status, fault_code=code)


class VismaConnect:
    """Talks to Visma Connect's endpoints through the client's one HTTP session."""

    def __init__(
        self,
        *,
        http: HttpClient,
        client_id: str,
        client_secret: str,
        connect_url: str = DEFAULT_CONNECT_URL,
        token_auth_method: str = "client_secret_post",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.http = http
        self.client_id = client_id
        self._client_secret = client_secret
        self.endpoints = ConnectEndpoints(connect_url)
        self.token_auth_method = token_auth_method
        self.clock = clock

    def __repr__(self) -> str:
        return f"VismaConnect({self.endpoints.base!r}, client_id={self.client_id!r})"

    def _oauth(self, **kwargs: Any) -> _ConnectOAuth:
        oauth = _ConnectOAuth(
            self.http.session,
            client_id=self.client_id,
            client_secret=self._client_secret,
            token_endpoint_auth_method=self.token_auth_method,
            revocation_endpoint_auth_method="client_secret_basic",
            **kwargs,
        )
        return oauth

    def _token_call(
        self, call: Callable[[_ConnectOAuth], Any], *, tenant_id: str | None = None, **kwargs: Any
    ) -> Token:
        """Run one token-endpoint request through Authlib, mapping every failure to our errors."""
        oauth = self._oauth(**kwargs)

        def check(response: requests.Response) -> requests.Response:
            self.http.count("connect")
            if not response.ok:
                raise token_error(response, tenant_id=tenant_id)
            return response

        oauth.register_compliance_hook("access_token_response", check)
        oauth.register_compliance_hook("refresh_token_response", check)
        try:
            token = call(oauth)
        except OAuthError as exc:  # an error object in a 200 answer
            raise token_error_from_oauth(exc, tenant_id=tenant_id) from None
        except ValueError as exc:  # not a JSON object
            raise MalformedResponse("Visma Connect svarte med noe som ikke er et token.") from exc
        if not isinstance(token, Mapping) or not token.get("access_token"):
            raise MalformedResponse("Visma Connect svarte uten access_token.")
        return self.normalise(token)

    def normalise(self, token: Mapping[str, Any]) -> Token:
        """A plain dict token that always carries ``expires_at`` (epoch seconds)."""
        result = dict(token)
        expires_in = result.get("expires_in")
        if expires_in is not None:
            result["expires_at"] = int(self.clock() + int(expires_in))
        elif result.get("expires_at") is None:
            result["expires_at"] = int(self.clock() + DEFAULT_EXPIRES_IN)
        else:
            result["expires_at"] = int(result["expires_at"])
        return result

    # -- the interactive flow -------------------------------------------------------------

    def authorization_url(
        self,
        redirect_uri: str,
        state: str,
        code_verifier: str,
        *,
        scope: str = INTERACTIVE_SCOPES,
        **extra: str,
    ) -> str:
        """The Visma Connect login URL (authorization code + PKCE S256)."""
        oauth = self._oauth(scope=scope, redirect_uri=redirect_uri, code_challenge_method="S256")
        url, _ = oauth.create_authorization_url(
            self.endpoints.authorize, state=state, code_verifier=code_verifier, **extra
        )
        return url

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str) -> Token:
        """Trade the authorization code (with the PKCE verifier) for the first token."""
        return self._transport(
            lambda: self._token_call(
                lambda oauth: oauth.fetch_token(
                    self.endpoints.token,
                    grant_type="authorization_code",
                    code=code,
                    redirect_uri=redirect_uri,
                    code_verifier=code_verifier,
                    timeout=self.http.timeout,
                ),
                redirect_uri=redirect_uri,
            ),
            resend=False,
        )

    def refresh(
        self, token: Mapping[str, Any] | str, *, timeout: tuple[float, float] | None = None
    ) -> Token:
        """Use the refresh token once and return the NEW token; persist it before use.

        Visma's refresh tokens are single use with replay detection, so a refresh that got any
        answer is never repeated: ``invalid_grant`` raises :class:`AuthorizationLost`; a request
        that was sent but never answered raises :class:`RefreshOutcomeUnknown` (the token may
        have been rotated: only Visma's grace period makes presenting it again safe).
        ``timeout`` (connect, read) replaces the client's, so a retry fits in that grace period.
        The result carries ``refresh_token_reused: True`` when Visma kept the same refresh
        token (the app's "re-use" setting), which is always safe to present again.
        """
        refresh_token = token if isinstance(token, str) else token.get("refresh_token")
        if not refresh_token:
            raise AuthorizationLost("Integrasjonen mangler refresh token; koble til på nytt.")
        read_timeout = timeout or self.http.timeout
        try:
            new = self._transport(
                lambda: self._token_call(
                    lambda oauth: oauth.refresh_token(
                        self.endpoints.token, refresh_token=refresh_token, timeout=read_timeout
                    )
                ),
                resend=False,
            )
        except VismaUnavailable as exc:
            cause = exc.__cause__
            if isinstance(cause, requests.RequestException) and not _never_sent(cause):
                raise RefreshOutcomeUnknown(
                    f"Visma Connect svarte ikke på fornyelsen av tilgangen ({type(cause).__name__})."
                ) from cause
            raise
        reused = new.get("refresh_token") in (None, refresh_token)
        new.setdefault("refresh_token", refresh_token)  # a re-use token may not be re-sent
        new["refresh_token_reused"] = reused
        return new

    def revoke(self, token: Mapping[str, Any] | str) -> str | None:
        """Revoke a refresh token (RFC 7009). Never raises: returns the error text, or None."""
        refresh_token = token if isinstance(token, str) else token.get("refresh_token")
        if not refresh_token:
            return None
        try:
            response = self._oauth().revoke_token(
                self.endpoints.revocation,
                token=refresh_token,
                token_type_hint="refresh_token",
                timeout=self.http.timeout,
            )
        except requests.RequestException as exc:
            self.http.count("connect")
            log.warning("token revocation failed: %s", type(exc).__name__)
            return f"Visma Connect svarte ikke ({type(exc).__name__})."
        self.http.count("connect")
        if response.ok:
            return None
        error = token_error(response)
        log.warning("token revocation refused (%s): %s", response.status_code, error.message)
        return error.message

    def userinfo(self, access_token: str) -> dict[str, Any]:
        """The signed-in user's claims (``sub``, ``email``, ``name``...)."""
        data = self._get_with_user_token(self.endpoints.userinfo, access_token)
        if not isinstance(data, dict):
            raise MalformedResponse("Visma Connect userinfo er ikke et JSON-objekt.")
        return data

    def tenants(self, access_token: str) -> list[dict[str, Any]]:
        """The simulator's tenant list for the user: ``[{tenantId, name, corporateId}]``."""
        data = self._get_with_user_token(self.endpoints.tenants, access_token)
        if not isinstance(data, list) or not all(
            isinstance(item, dict) and item.get("tenantId") for item in data
        ):
            raise MalformedResponse("Visma Connect sin klientliste har feil form.")
        return data

    def _get_with_user_token(self, url: str, access_token: str) -> Any:
        return self.http.get_json(
            url, token=_UserToken(access_token), budget_key="connect", kind="connect"
        )

    # -- service tokens -------------------------------------------------------------------

    def service_token(self, tenant_id: str, *, scope: str = SERVICE_SCOPE) -> Token:
        """A fresh ``client_credentials`` token for one tenant (uncached; see ServiceTokens)."""
        return self._transport(
            lambda: self._token_call(
                lambda oauth: oauth.fetch_token(
                    self.endpoints.token,
                    grant_type="client_credentials",
                    tenant_id=tenant_id,
                    timeout=self.http.timeout,
                ),
                tenant_id=tenant_id,
                scope=scope,
            ),
            resend=True,
        )

    def _transport(self, call: Callable[[], Token], *, resend: bool) -> Token:
        """Run a token call; resend it on transient faults only when that is safe.

        ``resend=True`` (client_credentials): retry 5xx, 429 and network faults with back-off.
        ``resend=False`` (refresh, code exchange): only a request that never left is resent.
        """
        policy = self.http.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except (requests.Timeout, requests.ConnectionError) as exc:
                self.http.count("connect")
                if attempt >= policy.max_attempts or not (resend or _never_sent(exc)):
                    raise VismaUnavailable(
                        f"Visma Connect svarer ikke ({type(exc).__name__})."
                    ) from exc
                wait = policy.backoff(attempt, self.http.rng)
            except Throttled as exc:
                if not resend or attempt >= policy.max_attempts:
                    raise
                wait = (
                    exc.retry_after
                    if exc.retry_after is not None
                    else policy.backoff(attempt, self.http.rng)
                )
                if wait > policy.max_wait:
                    raise
            except VismaUnavailable:
                if not resend or attempt >= policy.max_attempts:
                    raise
                wait = policy.backoff(attempt, self.http.rng)
            log.info("Visma Connect token call failed, retrying in %.2fs", wait)
            if wait > 0:
                self.http.sleep(wait)


def token_error_from_oauth(exc: OAuthError, *, tenant_id: str | None = None) -> VismaError:
    """Map an Authlib OAuthError (an ``error`` in a 2xx token answer) to a typed error."""
    code = getattr(exc, "error", None)
    text = getattr(exc, "description", None) or code or "Ukjent feil fra Visma Connect."
    return _token_error(code, text, tenant_id=tenant_id)


class _UserToken:
    """A fixed interactive access token; a 401 means it needs a refresh by the caller."""

    def __init__(self, access_token: str) -> None:
        self._token = access_token

    def access_token(self, reject: str | None = None) -> str | None:
        return None if reject is not None else self._token  # only the caller can refresh it

    def unauthorized(self, message: str, status: int) -> VismaError:
        return TokenExpired(message, status=status)


class ServiceTokens:
    """Per-tenant service tokens, cached in memory until shortly before they expire.

    Thread-safe: one lock per tenant, so concurrent callers for the same tenant cause a single
    token request while other tenants proceed.
    """

    def __init__(
        self,
        connect: VismaConnect,
        *,
        margin: float = 60.0,
        clock: Callable[[], float] | None = None,
        scope: str = SERVICE_SCOPE,
    ) -> None:
        self.connect = connect
        self.margin = margin
        self.scope = scope
        self.clock = clock or connect.clock
        self._tokens: dict[str, Token] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, tenant_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(tenant_id, threading.Lock())

    def get(self, tenant_id: str, *, reject: str | None = None) -> str:
        """The tenant's access token; a new one when cached is near expiry or is ``reject``."""
        with self._lock(tenant_id):
            token = self._tokens.get(tenant_id)
            if (
                token is None
                or token["access_token"] == reject
                or token["expires_at"] - self.margin <= self.clock()
            ):
                try:
                    token = self.connect.service_token(tenant_id, scope=self.scope)
                except VismaError:
                    self._tokens.pop(tenant_id, None)
                    raise
                self._tokens[tenant_id] = token
            return token["access_token"]

    def forget(self, tenant_id: str) -> None:
        """Drop a tenant's cached token (e.g. after its access was withdrawn)."""
        with self._lock(tenant_id):
            self._tokens.pop(tenant_id, None)

    def provider(self, tenant_id: str) -> TenantToken:
        """The TokenProvider of one tenant's requests."""
        return TenantToken(self, tenant_id)


class TenantToken:
    """The TokenProvider of one tenant: cached service token, refreshed once after a 401."""

    def __init__(self, tokens: ServiceTokens, tenant_id: str) -> None:
        self.tokens = tokens
        self.tenant_id = tenant_id

    def access_token(self, reject: str | None = None) -> str:
        """The cached service token; a new one when ``reject`` (refused after a 401) is it."""
        return self.tokens.get(self.tenant_id, reject=reject)

    def unauthorized(self, message: str, status: int) -> VismaError:
        """A brand-new token for exactly this tenant is refused: the company is out of reach
        (access withdrawn)."""
        return CompanyAccessWithdrawn(message, status=status, tenant_id=self.tenant_id)
