"""VismaClient: the one facade the app uses for Visma Connect and the Visma.net ERP API."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from .auth import (
    DEFAULT_CONNECT_URL,
    INTERACTIVE_SCOPES,
    SERVICE_SCOPE,
    ServiceTokens,
    Token,
    VismaConnect,
)
from .errors import AmbiguousOrganization, CompanyAccessWithdrawn, MalformedResponse
from .http import HttpClient, RateLimitStatus, RetryPolicy
from .streams import STREAMS, OrganizationStream, Stream

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.finance.visma.net"


@dataclass(frozen=True)
class Tenant:
    """One company the authorization reaches, as tenant discovery found it."""

    tenant_id: str
    name: str
    corporate_id: str | None
    access_withdrawn: bool = False
    """True when the tenant is listed but its data cannot be read (permission withdrawn)."""
    message: str | None = None
    """Visma's own words on why, when ``access_withdrawn``."""


class TenantApi:
    """The ERP API for one tenant, with its service token and its streams."""

    def __init__(self, *, http: HttpClient, api_url: str, tokens: ServiceTokens, tenant_id: str,
                 concurrency: int = 1):
        self.http = http
        self.api_url = api_url.rstrip("/")
        self.tenant_id = tenant_id
        self._token = tokens.provider(tenant_id)
        # calls in flight for this tenant, whichever streams make them
        self._slots = threading.BoundedSemaphore(max(1, concurrency))

    def __repr__(self) -> str:
        return f"TenantApi({self.tenant_id!r})"

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` under the API base for this tenant; returns the parsed JSON."""
        with self._slots:
            return self.http.get_json(
                self.api_url + path, params=params, token=self._token, budget_key=self.tenant_id
            )

    def stream(self, name: str) -> Stream:
        """A stream by name (see ``streams.STREAMS``) bound to this tenant."""
        try:
            return STREAMS[name](self.get)
        except KeyError:
            raise KeyError(f"unknown stream {name!r}; known: {sorted(STREAMS)}") from None

    def organizations(self) -> list[dict[str, Any]]:
        """``/v1/organization``: every organization the tenant holds (name, corporateId...)."""
        return [org for page in OrganizationStream(self.get).pages() for org in page]

    def organization(
        self, *, corporate_id: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        """The tenant's own company among ``/v1/organization``'s answer.

        One organization: that one. Several: the one whose ``corporateId`` is the company's
        orgnr (digits compared), else the one with the company's name; when that does not
        single one out, ``AmbiguousOrganization`` (retrying cannot help: an operator must see
        which orgnr the client has). None at all is a ``MalformedResponse``.
        """
        orgs = self.organizations()
        if len(orgs) == 1:
            return orgs[0]
        if not orgs:
            raise MalformedResponse("Visma.net oppga ingen organisasjon for selskapet.")
        wanted = _digits(corporate_id)
        chosen = [o for o in orgs if wanted and _digits(o.get("corporateId")) == wanted]
        if not chosen and name:
            chosen = [o for o in orgs if str(o.get("name") or "").strip().casefold()
                      == name.strip().casefold()]
        if len(chosen) == 1:
            return chosen[0]
        listed = ", ".join(f"{o.get('name') or '?'} ({o.get('corporateId') or 'uten orgnr'})"
                           for o in orgs[:5])
        raise AmbiguousOrganization(
            f"Selskapet har {len(orgs)} organisasjoner i Visma.net ({listed}), og ingen av dem "
            f"kan velges entydig med organisasjonsnummer {corporate_id or '(ukjent)'}."
        )

    @property
    def rate_limit(self) -> RateLimitStatus:
        """The last rate-limit headers this tenant answered with and the throttling seen."""
        return self.http.rate_limit(self.tenant_id)


class VismaClient:
    """Visma Connect (login, tokens, tenants) and the ERP API, over one pooled HTTP session.

    Two Developer Portal applications: the interactive one (``client_id``: authorization code,
    refresh, userinfo, tenant listing) and the service one (``service_client_id``:
    client_credentials per tenant for the ERP API). The service pair defaults to the
    interactive pair. Plain settings in, no Flask: the app's sync engine builds one per
    process or job.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        service_client_id: str | None = None,
        service_client_secret: str | None = None,
        service_scope: str = SERVICE_SCOPE,
        connect_url: str = DEFAULT_CONNECT_URL,
        api_url: str = DEFAULT_API_URL,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        token_auth_method: str = "client_secret_post",
        service_token_margin: float = 60.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: Callable[[], float] | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.http = HttpClient(
            session=session,
            timeout=(connect_timeout, read_timeout),
            retry=retry,
            sleep=sleep,
            clock=clock,
            rng=rng or random.Random().random,
        )
        self.connect = VismaConnect(
            http=self.http,
            client_id=client_id,
            client_secret=client_secret,
            connect_url=connect_url,
            token_auth_method=token_auth_method,
            clock=wall_clock,
        )
        self.service_connect = VismaConnect(
            http=self.http,
            client_id=service_client_id or client_id,
            client_secret=service_client_secret if service_client_id else client_secret,
            connect_url=connect_url,
            token_auth_method=token_auth_method,
            clock=wall_clock,
        )
        self.service_tokens = ServiceTokens(
            self.service_connect, margin=service_token_margin, scope=service_scope
        )

    def __repr__(self) -> str:
        return f"VismaClient(connect={self.connect.endpoints.base!r}, api={self.api_url!r})"

    def close(self) -> None:
        """Close the pooled connections."""
        self.http.session.close()

    def __enter__(self) -> VismaClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the interactive flow -------------------------------------------------------------

    def authorization_url(
        self, redirect_uri: str, state: str, code_verifier: str, *, scope: str = INTERACTIVE_SCOPES
    ) -> str:
        """Where to send the user to log in and consent (authorization code + PKCE S256)."""
        return self.connect.authorization_url(redirect_uri, state, code_verifier, scope=scope)

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str) -> Token:
        """The first token (with ``refresh_token`` and ``expires_at``) for an authorization code."""
        return self.connect.exchange_code(code, redirect_uri, code_verifier)

    def refresh(
        self, token: Mapping[str, Any] | str, *, timeout: tuple[float, float] | None = None
    ) -> Token:
        """Spend the refresh token once; persist the returned token before using it."""
        return self.connect.refresh(token, timeout=timeout)

    def revoke(self, token: Mapping[str, Any] | str) -> str | None:
        """Revoke the refresh token; returns Visma's error text, or None when it worked."""
        return self.connect.revoke(token)

    def userinfo(self, token: Mapping[str, Any] | str) -> dict[str, Any]:
        """The signed-in user's claims."""
        return self.connect.userinfo(_access_token(token))

    # -- tenants ----------------------------------------------------------------------------

    def discover_tenants(self, interactive_token: Mapping[str, Any] | str) -> list[Tenant]:
        """The companies this authorization reaches, named by their own ``/v1/organization``.

        Tenant listing is not public in Visma; this is the one place that knows how (our
        simulator's ``GET /connect/tenants``). A tenant whose organization cannot be read
        because access was withdrawn is returned flagged, not dropped. Other errors propagate
        (a transient failure must not look like a lost company).
        """
        listed = self.connect.tenants(_access_token(interactive_token))
        tenants: list[Tenant] = []
        for item in listed:
            tenant_id = str(item["tenantId"])
            try:
                org = self.tenant_api(tenant_id).organization(
                    corporate_id=item.get("corporateId"), name=item.get("name")
                )
            except CompanyAccessWithdrawn as exc:
                log.info("tenant %s listed but not readable: %s", tenant_id, exc.message)
                tenants.append(
                    Tenant(
                        tenant_id=tenant_id,
                        name=item.get("name") or "",
                        corporate_id=item.get("corporateId"),
                        access_withdrawn=True,
                        message=exc.message,
                    )
                )
                continue
            name = org.get("name") or item.get("name")
            if not name:
                raise MalformedResponse(f"tenant {tenant_id}: organization has no name")
            tenants.append(
                Tenant(
                    tenant_id=tenant_id,
                    name=name,
                    corporate_id=org.get("corporateId") or item.get("corporateId"),
                )
            )
        return tenants

    def tenant_api(self, tenant_id: str, *, concurrency: int = 1) -> TenantApi:
        """The ERP API for one tenant (service token cached, refreshed once after a 401), with
        at most ``concurrency`` calls in flight."""
        return TenantApi(
            http=self.http, api_url=self.api_url, tokens=self.service_tokens, tenant_id=tenant_id,
            concurrency=concurrency,
        )

    # -- figures --------------------------------------------------------------------------

    @property
    def api_calls(self) -> int:
        """ERP API requests made so far (retries included)."""
        return self.http.api_calls

    def rate_limit(self, tenant_id: str) -> RateLimitStatus:
        """The last rate-limit headers seen for one tenant and the throttling met."""
        return self.http.rate_limit(tenant_id)


def _digits(value: Any) -> str:
    return "".join(ch for ch in str(value or "") if ch.isdigit())


def _access_token(token: Mapping[str, Any] | str) -> str:
    if isinstance(token, str):
        return token
    value = token.get("access_token")
    if not value:
        raise ValueError("token has no access_token")
    return str(value)
