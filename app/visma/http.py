"""One pooled HTTP session with timeouts, retries, Retry-After and a per-company rate budget."""

from __future__ import annotations

import email.utils
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from http.cookiejar import DefaultCookiePolicy
from typing import Any, Protocol

import orjson
import requests
from requests.adapters import HTTPAdapter

from .errors import (
    ApiError,
    CompanyAccessWithdrawn,
    MalformedResponse,
    Throttled,
    VismaError,
    VismaUnavailable,
    parse_error_body,
)

log = logging.getLogger(__name__)

USER_AGENT = "ErpIntegrasjon/0.1 (+Sticos)"
NO_LICENSE_FAULT = "12027"

Sleep = Callable[[float], None]
Clock = Callable[[], float]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts for transient faults, back-off shape and the longest wait."""

    max_attempts: int = 5  # total tries for 5xx, timeouts, connection errors, non-JSON bodies
    backoff_base: float = 0.5  # seconds; the n-th retry waits up to base * 2**(n-1)
    backoff_cap: float = 30.0  # no single back-off longer than this
    max_throttle_retries: int = 5  # 429s answered by waiting before giving up
    max_wait: float = 300.0  # longest single wait (Retry-After or pacing) we accept

    def backoff(self, retry: int, rng: Callable[[], float]) -> float:
        """Exponential back-off with full jitter for the ``retry``-th retry (1-based)."""
        return rng() * min(self.backoff_cap, self.backoff_base * 2 ** (retry - 1))


@dataclass(frozen=True)
class RateLimitStatus:
    """The last rate-limit headers one company answered with, plus what we did about them."""

    limit: int | None = None
    remaining: int | None = None
    reset_seconds: float | None = None
    policy: str | None = None
    observed_at: float | None = None  # wall-clock time of the response
    throttled: int = 0  # 429 answers seen
    paced_seconds: float = 0.0  # time spent slowing down before a 429


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RateBudget:
    """Paces one company's calls so ``X-RateLimit-Remaining`` lasts until the window resets.

    Above the reserve nothing is delayed. Once ``Remaining`` drops to the reserve, the calls
    left are spread evenly over the seconds left until ``X-RateLimit-Reset``; at zero the next
    call waits for the reset. This slows down *before* Visma answers 429.
    """

    def __init__(self, *, clock: Clock, reserve_min: int = 5, reserve_fraction: float = 0.02):
        self._clock = clock
        self._lock = threading.Lock()
        self.reserve_min = reserve_min
        self.reserve_fraction = reserve_fraction
        self.remaining: int | None = None
        self.limit: int | None = None
        self.reset_at: float | None = None
        self.next_allowed: float = 0.0
        self.in_flight = 0  # calls sent and not yet answered (parallel page fetches)
        self.status = RateLimitStatus()

    def _reserve(self) -> int:
        if self.limit:
            return max(self.reserve_min, math.ceil(self.limit * self.reserve_fraction))
        return self.reserve_min

    def _spacing(self, now: float) -> float:
        """Seconds between calls needed from ``now`` (0 while above the reserve)."""
        if self.remaining is None or self.reset_at is None or now >= self.reset_at:
            return 0.0
        if self.remaining > self._reserve():
            return 0.0
        left = self.reset_at - now
        return left if self.remaining <= 0 else left / self.remaining

    def observe(self, headers: Mapping[str, str]) -> None:
        """Record the rate-limit headers of a response (of a call still counted in flight).

        The other calls in flight may not have been counted in the answer's ``Remaining`` yet:
        they are taken off it, so parallel calls never spend past the budget."""
        remaining = _int_header(headers, "X-RateLimit-Remaining")
        if remaining is None:
            return
        reset = _int_header(headers, "X-RateLimit-Reset")
        with self._lock:
            now = self._clock()
            self.remaining = max(0, remaining - max(0, self.in_flight - 1))
            self.limit = _int_header(headers, "X-RateLimit-Limit") or self.limit
            self.reset_at = now + reset if reset is not None else None
            self.next_allowed = max(self.next_allowed, now + self._spacing(now))
            self.status = replace(
                self.status,
                limit=self.limit,
                remaining=remaining,
                reset_seconds=float(reset) if reset is not None else None,
                policy=headers.get("X-RateLimit-Policy"),
                observed_at=time.time(),
            )

    def reserve(self) -> tuple[float, bool]:
        """Claim the next call slot: ``(seconds to wait before sending, budget spent)``."""
        with self._lock:
            now = self._clock()
            if self.reset_at is not None and now >= self.reset_at:
                self.remaining, self.reset_at, self.next_allowed = None, None, 0.0
            wait = max(0.0, self.next_allowed - now)
            spent = self.remaining is not None and self.remaining <= 0
            send_at = now + wait
            self.in_flight += 1
            if self.remaining is not None:
                self.remaining = max(0, self.remaining - 1)
                self.next_allowed = send_at + self._spacing(send_at)
            return wait, spent

    def answered(self) -> None:
        """A call claimed through ``reserve`` got its answer (or failed to)."""
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)

    def throttled(self) -> None:
        """A 429 arrived: Retry-After now rules, forget the pacing state."""
        with self._lock:
            self.remaining, self.reset_at, self.next_allowed = None, None, 0.0
            self.status = replace(self.status, throttled=self.status.throttled + 1)

    def paced(self, seconds: float) -> None:
        """Count time spent waiting for the rate budget."""
        with self._lock:
            self.status = replace(self.status, paced_seconds=self.status.paced_seconds + seconds)


class TokenProvider(Protocol):
    """Gives the bearer token for requests, and a fresh one after a 401."""

    def access_token(self, reject: str | None = None) -> str | None:
        """The current access token; after a 401 (``reject``) a new one, or None if none can be had."""

    def unauthorized(self, message: str, status: int) -> VismaError:
        """The error to raise when a fresh token is still refused."""


# Waits shorter than this pass unannounced.
THROTTLE_NOTICE_SECONDS = 2.0
_throttle_listeners = threading.local()


@contextmanager
def on_throttle_wait(listener: Callable[[float], None]):
    """In this thread, call ``listener(seconds)`` before each wait Visma's rate limit imposes
    (a 429's Retry-After, or pacing when the budget runs low) and ``listener(0)`` after it."""
    previous = getattr(_throttle_listeners, "listener", None)
    _throttle_listeners.listener = listener
    try:
        yield
    finally:
        _throttle_listeners.listener = previous


def current_throttle_listener() -> Callable[[float], None] | None:
    """This thread's listener (threads fetching on its behalf relay their waits to it)."""
    return getattr(_throttle_listeners, "listener", None)


def adopt_throttle_listener(listener: Callable[[float], None] | None) -> None:
    """Make ``listener`` this thread's for good: for a thread that only ever fetches on behalf
    of another (a stream's prefetch or page thread)."""
    _throttle_listeners.listener = listener


def tell(listener: Callable[[float], None], seconds: float) -> None:
    """Call a throttle listener; its failure is logged, never raised into the calls."""
    try:
        listener(seconds)
    except Exception:  # a status line must never break the calls it describes
        log.warning("Throttle listener failed", exc_info=True)


class HttpClient:
    """The one ``requests.Session`` of a Visma client, with retries, pacing and call counts."""

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 60.0),
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        rng: Callable[[], float] | None = None,
        pool_size: int = 16,
    ) -> None:
        if session is None:
            session = requests.Session()
            session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # stateless
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        session.headers.setdefault("User-Agent", USER_AGENT)
        self.session = session
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.clock = clock
        self.rng = rng or random.Random().random
        self._lock = threading.Lock()
        self._budgets: dict[str, RateBudget] = {}
        self.calls: dict[str, int] = {"api": 0, "connect": 0}

    # -- bookkeeping -----------------------------------------------------------------------

    def count(self, kind: str) -> None:
        """Count one request (``api`` or ``connect``)."""
        with self._lock:
            self.calls[kind] = self.calls.get(kind, 0) + 1

    @property
    def api_calls(self) -> int:
        """ERP API requests made so far (retries included)."""
        return self.calls.get("api", 0)

    def budget(self, key: str) -> RateBudget:
        """The rate budget of one company (Visma counts calls per company and client)."""
        with self._lock:
            budget = self._budgets.get(key)
            if budget is None:
                budget = self._budgets[key] = RateBudget(clock=self.clock)
            return budget

    def rate_limit(self, key: str) -> RateLimitStatus:
        """The last rate-limit headers seen for one company and the throttling we met."""
        return self.budget(key).status

    # -- requests --------------------------------------------------------------------------

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.sleep(seconds)

    def _wait_for_visma(self, seconds: float) -> None:
        """A wait Visma's rate limit imposes: the thread's listener (a run's status) hears of it."""
        listener = current_throttle_listener()
        noticed = listener is not None and seconds >= THROTTLE_NOTICE_SECONDS
        if noticed:
            tell(listener, seconds)
        self._wait(seconds)
        if noticed:
            tell(listener, 0.0)

    def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        token: TokenProvider,
        budget_key: str,
        kind: str = "api",
    ) -> Any:
        """GET a Visma API resource and return its JSON, retrying what is safe to retry."""
        budget = self.budget(budget_key)
        policy = self.retry
        access_token = token.access_token()
        refreshed = False
        failures = 0
        throttles = 0
        while True:
            wait, spent = budget.reserve()
            if spent and wait > policy.max_wait:
                budget.answered()  # never sent
                raise Throttled(
                    "Visma.net sin kvote for dette selskapet er brukt opp.",
                    retry_after=wait,
                    status=429,
                )
            wait = min(wait, policy.max_wait)
            if wait:
                log.info("rate budget low for %s: pausing %.2fs", budget_key, wait)
                budget.paced(wait)
                self._wait_for_visma(wait)

            started = self.clock()
            try:
                response = self.session.get(
                    url,
                    params=params,
                    headers={
                        "Authorization": f"Bearer {access_token}",
                        "Accept": "application/json",
                    },
                    timeout=self.timeout,
                )
                budget.observe(response.headers)
            except (requests.Timeout, requests.ConnectionError) as exc:
                self.count(kind)
                failures += 1
                log.warning("GET %s failed (%s), attempt %d", url, type(exc).__name__, failures)
                if failures >= policy.max_attempts:
                    raise VismaUnavailable(
                        f"Visma.net svarer ikke ({type(exc).__name__})."
                    ) from exc
                self._wait(policy.backoff(failures, self.rng))
                continue
            finally:
                budget.answered()
            self.count(kind)
            status = response.status_code
            log.debug(
                "GET %s %s -> %d in %.3fs",
                url,
                dict(params or {}),  # query parameters carry no secrets: tokens are headers
                status,
                self.clock() - started,
            )

            if status == 429:
                budget.throttled()
                throttles += 1
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                message, fault = parse_error_body(response.content)
                message = message or "Visma.net struper trafikken (429)."
                if retry_after is None:
                    retry_after = policy.backoff(throttles, self.rng) or policy.backoff_base
                if throttles > policy.max_throttle_retries or retry_after > policy.max_wait:
                    raise Throttled(message, retry_after=retry_after, status=429, fault_code=fault)
                log.info("429 from %s: waiting %.2fs (Retry-After)", url, retry_after)
                self._wait_for_visma(retry_after)
                continue

            if status == 401 and not refreshed:
                refreshed = True
                fresh = token.access_token(reject=access_token)
                if fresh and fresh != access_token:
                    access_token = fresh
                    continue

            if status >= 500:
                failures += 1
                if failures >= policy.max_attempts:
                    message, fault = parse_error_body(response.content)
                    raise VismaUnavailable(
                        message or f"Visma.net svarte med feil {status}.",
                        status=status,
                        fault_code=fault,
                    )
                self._wait(policy.backoff(failures, self.rng))
                continue

            if status >= 400:
                raise _client_error(response, token)

            try:
                return _json_body(response)
            except ValueError as exc:
                failures += 1
                log.warning("GET %s: body is not JSON, attempt %d", url, failures)
                if failures >= policy.max_attempts:
                    raise MalformedResponse(
                        "Visma.net svarte med noe som ikke er JSON.", status=status
                    ) from exc
                self._wait(policy.backoff(failures, self.rng))


def _json_body(response: requests.Response) -> Any:
    """The body as JSON. orjson reads a full sync's pages in a fifth of json's CPU and gives the
    same values (floats for decimals, ints for integers); what it refuses goes to requests'
    ``json()`` as before, which reads what json accepts beyond the standard (NaN, a UTF-8 BOM,
    bytes that are not UTF-8) and raises ``ValueError`` for a body that is no JSON at all."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.json()


def _client_error(response: requests.Response, token: TokenProvider) -> VismaError:
    status = response.status_code
    message, fault = parse_error_body(response.content)
    if status == 401:
        return token.unauthorized(message or "Visma.net avviste tilgangen (401).", status)
    if status == 403 and fault == NO_LICENSE_FAULT:
        return CompanyAccessWithdrawn(
            message or "No license for this company.", status=status, fault_code=fault
        )
    return ApiError(
        message or f"Visma.net svarte med feil {status}.", status=status, fault_code=fault
    )
