"""TripletexClient: the one facade the app uses for a pasted key (no Flask).

    client = TripletexClient(consumer_token=..., employee_token=key, api_url=...)
    me = client.who_am_i()                  # the connection test: a bad key raises KeyRejected
    for company in client.clients():        # a firm's clients, or the key's own company
        api = client.company_api(company)   # Basic auth with the client's id as username
        for page in api.stream("vouchers").pages(exclusive_range(first, last)): ...
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from .auth import SessionTokens, oslo_now
from .errors import AccessDenied, ApiError, SessionRejected
from .http import DEFAULT_API_URL, HttpClient, RateLimitStatus, RetryPolicy, error_from, json_body
from .streams import STREAMS, Stream, value_of, values_of

OWN_COMPANY = "0"
"""The Basic-auth username meaning "the key owner's own company"."""


@dataclass(frozen=True)
class ClientCompany:
    """One company the key reaches (``GET /company/>withLoginAccess`` or the key's own)."""

    id: int
    name: str
    organization_number: str
    username: str
    """The Basic-auth username to read it with (its id, or ``"0"`` for the key's own company)."""
    type: str | None = None
    currency: str | None = None

    @property
    def external_id(self) -> str:
        return str(self.id)


@dataclass(frozen=True)
class WhoAmI:
    employee_id: int | None
    company_id: int
    is_proxy: bool


def username_for(company_id: int | str, own_company_id: int | None) -> str:
    """The Basic-auth username for a company: the key owner's own company is ``0`` (the one form
    the spec promises for it); an accountant firm's client is its ``withLoginAccess`` id. Whether
    ``customerCompanyId`` would be the right id instead is unknown; this is the one place to
    change if it were."""
    if own_company_id is not None and str(company_id) == str(own_company_id):
        return OWN_COMPANY
    return str(company_id)


class CompanyApi:
    """The Tripletex API as one company (Basic auth: its username, the session token)."""

    def __init__(self, client: TripletexClient, username: str) -> None:
        self.client = client
        self.username = username

    def __repr__(self) -> str:
        return f"CompanyApi({self.username!r})"

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.client.get(path, params, username=self.username)

    def stream(self, name: str, **kwargs: Any) -> Stream:
        try:
            return STREAMS[name](self.get, **kwargs)
        except KeyError:
            raise KeyError(f"unknown stream {name!r}; known: {sorted(STREAMS)}") from None


class TripletexClient:
    """Session minting and the API for every company one employee token reaches."""

    def __init__(
        self,
        *,
        consumer_token: str,
        employee_token: str,
        api_url: str = DEFAULT_API_URL,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = oslo_now,
        rng: Callable[[], float] | None = None,
        session_valid_days: int = 2,
    ) -> None:
        self.http = HttpClient(api_url, session=session, timeout=(connect_timeout, read_timeout),
                               retry=retry, sleep=sleep, clock=clock,
                               rng=rng or random.Random().random)
        self.tokens = SessionTokens(self.http, consumer_token=consumer_token,
                                    employee_token=employee_token,
                                    valid_days=session_valid_days, now=now)
        self._own_company_id: int | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], employee_token: str,
                      **overrides: Any) -> TripletexClient:
        """Build from ``TRIPLETEX_CONSUMER_TOKEN`` / ``TRIPLETEX_API_URL`` (e.g. ``app.config``)."""
        kwargs: dict[str, Any] = {"consumer_token": settings["TRIPLETEX_CONSUMER_TOKEN"],
                                  "employee_token": employee_token}
        if settings.get("TRIPLETEX_API_URL"):
            kwargs["api_url"] = settings["TRIPLETEX_API_URL"]
        return cls(**{**kwargs, **overrides})

    def __repr__(self) -> str:
        return f"TripletexClient(api={self.http.api_url!r})"

    def close(self) -> None:
        self.http.session.close()

    def __enter__(self) -> TripletexClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- calls ------------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, Any] | None = None, *,
            username: str = OWN_COMPANY) -> Any:
        """GET as ``username``; a 401 mints a new session once, then raises SessionRejected."""
        token = self.tokens.token()
        renewed = False
        while True:
            response = self.http.request("GET", path, params=params, auth=(username, token))
            if response.status_code == 401 and not renewed:
                renewed = True
                token = self.tokens.token(reject=token)
                continue
            if response.status_code >= 400:
                raise error_from(response, {401: SessionRejected, 403: AccessDenied}.get(
                    response.status_code, ApiError))
            return json_body(response)

    # -- who and which clients --------------------------------------------------------------

    def who_am_i(self) -> WhoAmI:
        """``GET /token/session/>whoAmI``: mints a session, so it tests the key end to end."""
        value = value_of(self.get("/token/session/>whoAmI"), "whoAmI")
        company_id = value.get("companyId")
        if not isinstance(company_id, int):
            company_id = (value.get("company") or {}).get("id")
        if not isinstance(company_id, int):
            raise ApiError("whoAmI svarte uten companyId.")
        self._own_company_id = company_id
        return WhoAmI(value.get("employeeId"), company_id, bool(value.get("employeeIsProxy")))

    def clients(self) -> list[ClientCompany]:
        """The companies this key reaches. An accountant firm's key lists its clients from
        ``/company/>withLoginAccess``; a key for a single company lists nothing there, and then
        its own company (``/company/{whoAmI.companyId}``) is the one client."""
        me = self.who_am_i()
        listed = []
        start, count = 0, 1000
        while True:
            page = values_of(self.get("/company/>withLoginAccess", {
                "from": start, "count": count, "sorting": "id",
                "fields": "id,name,displayName,organizationNumber,type,currency(code)"}),
                "/company/>withLoginAccess")
            listed.extend(page)
            if len(page) < count:
                break
            start += len(page)
        if not listed:
            listed = [value_of(self.get(f"/company/{me.company_id}"), "/company")]
        return [self._client_company(row, me.company_id) for row in listed]

    @staticmethod
    def _client_company(row: Mapping[str, Any], own_company_id: int) -> ClientCompany:
        company_id = row.get("id")
        if not isinstance(company_id, int):
            raise ApiError(f"Klient uten id fra Tripletex: {str(row)[:200]}")
        currency = row.get("currency")
        return ClientCompany(
            id=company_id,
            name=str(row.get("name") or row.get("displayName") or "").strip(),
            organization_number="".join(str(row.get("organizationNumber") or "").split()),
            username=username_for(company_id, own_company_id),
            type=row.get("type"),
            currency=currency.get("code") if isinstance(currency, dict) else None,
        )

    def company_api(self, company: ClientCompany | int | str) -> CompanyApi:
        """The API as one company: a ClientCompany, or a company id (the integration's stored
        external id; the key owner's own id becomes username ``0``)."""
        if isinstance(company, ClientCompany):
            return CompanyApi(self, company.username)
        if self._own_company_id is None:
            self.who_am_i()
        return CompanyApi(self, username_for(company, self._own_company_id))

    # -- figures ----------------------------------------------------------------------------

    @property
    def api_calls(self) -> int:
        return self.http.calls

    @property
    def rate_limit(self) -> RateLimitStatus:
        return self.http.rate_limit
