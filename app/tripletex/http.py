"""One pooled HTTP session to Tripletex: timeouts, retries with back-off, 429 handling, pacing.

Retries: 5xx, timeouts and connection errors get exponential back-off with jitter; a 429 waits
for ``Retry-After`` when Tripletex sends one, else for ``X-Rate-Limit-Reset`` of the last
answer, else backs off (Tripletex's 429 carries no reset header). Once ``X-Rate-Limit-Remaining``
reaches 0 every further call in the window would be a 429, so the next call waits for the reset.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from app.visma.http import RetryPolicy, parse_retry_after

from .errors import (
    MalformedResponse,
    Throttled,
    TripletexError,
    TripletexUnavailable,
    parse_error_body,
)

log = logging.getLogger(__name__)

USER_AGENT = "ErpIntegrasjon/0.1 (+Sticos)"
DEFAULT_API_URL = "https://tripletex.no/v2"

__all__ = ["DEFAULT_API_URL", "HttpClient", "RateLimitStatus", "RetryPolicy"]


@dataclass(frozen=True)
class RateLimitStatus:
    """The last ``X-Rate-Limit-*`` headers (counted per employee and consumer) and 429s met."""

    limit: int | None = None
    remaining: int | None = None
    reset_seconds: float | None = None
    observed_at: float | None = None  # monotonic clock of the answer
    throttled: int = 0


def _number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return None


class HttpClient:
    """The ``requests.Session`` of one Tripletex client, with retries and call counts."""

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 60.0),
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] | None = None,
        pool_size: int = 16,
    ) -> None:
        if session is None:
            session = requests.Session()
            session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # stateless
            adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        session.headers.setdefault("User-Agent", USER_AGENT)
        self.api_url = api_url.rstrip("/")
        self.session = session
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.clock = clock
        self.rng = rng or random.Random().random
        self._lock = threading.Lock()
        self.rate_limit = RateLimitStatus()
        self.calls = 0

    def _count(self) -> None:
        with self._lock:
            self.calls += 1

    def _observe(self, headers: Mapping[str, str]) -> None:
        remaining = _number(headers, "X-Rate-Limit-Remaining")
        if remaining is None:
            return
        limit = _number(headers, "X-Rate-Limit-Limit")
        with self._lock:
            self.rate_limit = replace(
                self.rate_limit,
                limit=int(limit) if limit is not None else self.rate_limit.limit,
                remaining=int(remaining),
                reset_seconds=_number(headers, "X-Rate-Limit-Reset"),
                observed_at=self.clock(),
            )

    def _budget_wait(self) -> float:
        """Seconds until the window resets when the last answer said none are left."""
        status = self.rate_limit
        if status.remaining != 0 or status.reset_seconds is None or status.observed_at is None:
            return 0.0
        return max(0.0, status.observed_at + status.reset_seconds - self.clock())

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        auth: tuple[str, str] | None = None,
        log_params: bool = True,
    ) -> requests.Response:
        """Send one request, retrying what is safe to retry; answers below 500 (but 429) return.

        ``log_params=False`` for calls whose query carries secrets (minting a session).
        """
        url = self.api_url + path
        policy = self.retry
        failures = throttles = 0
        while True:
            wait = self._budget_wait()
            if wait > policy.max_wait:
                raise Throttled("Tripletex sin kvote er brukt opp.", retry_after=wait, status=429)
            if wait:
                log.info("Tripletex rate budget spent: pausing %.2fs", wait)
                self.sleep(wait)
            try:
                response = self.session.request(
                    method, url, params=params, auth=auth, timeout=self.timeout,
                    headers={"Accept": "application/json"},
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                self._count()
                failures += 1
                log.warning("%s %s failed (%s), attempt %d", method, path, type(exc).__name__,
                            failures)
                if failures >= policy.max_attempts:
                    raise TripletexUnavailable(
                        f"Tripletex svarer ikke ({type(exc).__name__})."
                    ) from exc
                self.sleep(policy.backoff(failures, self.rng))
                continue
            self._count()
            self._observe(response.headers)
            status = response.status_code
            log.debug("%s %s %s -> %d", method, path, dict(params or {}) if log_params else "",
                      status)
            if status == 429:
                throttles += 1
                with self._lock:
                    self.rate_limit = replace(self.rate_limit,
                                              throttled=self.rate_limit.throttled + 1)
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is None:
                    retry_after = (_number(response.headers, "X-Rate-Limit-Reset")
                                   or policy.backoff(throttles, self.rng) or policy.backoff_base)
                if throttles > policy.max_throttle_retries or retry_after > policy.max_wait:
                    raise Throttled(**_fields(response, "Tripletex struper trafikken (429)."),
                                    retry_after=retry_after, status=429)
                log.info("429 from Tripletex on %s: waiting %.2fs", path, retry_after)
                self.sleep(retry_after)
                continue
            if status >= 500:
                failures += 1
                if failures >= policy.max_attempts:
                    raise TripletexUnavailable(
                        **_fields(response, f"Tripletex svarte med feil {status}."), status=status)
                self.sleep(policy.backoff(failures, self.rng))
                continue
            return response


def _fields(response: requests.Response, default: str) -> dict[str, Any]:
    fields = parse_error_body(response.content)
    fields["tripletex_message"] = fields.get("message") or None
    fields["message"] = fields["tripletex_message"] or default
    return fields


def error_from(response: requests.Response, cls: type[TripletexError]) -> TripletexError:
    """``cls`` built from a Tripletex error answer."""
    return cls(**_fields(response, f"Tripletex svarte med feil {response.status_code}."),
               status=response.status_code)


def json_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise MalformedResponse("Tripletex svarte med noe som ikke er JSON.",
                                status=response.status_code) from exc
