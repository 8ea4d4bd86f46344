"""Fixtures for the Visma client tests: HTTP mocked with `responses`, time faked."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from app.visma.client import VismaClient
from app.visma.http import RetryPolicy

CONNECT = "https://connect.test"
API = "https://api.test"
TOKEN_URL = f"{CONNECT}/connect/token"
CLIENT_SECRET = "s3cr3t-client-secret"
TENANT = "11111111-aaaa-bbbb-cccc-000000000001"


class FakeTime:
    """A clock that only moves when something sleeps on it."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def make_client(fake_time):
    def make(**kwargs) -> VismaClient:
        options = {
            "client_id": "sticos-app",
            "client_secret": CLIENT_SECRET,
            "connect_url": CONNECT,
            "api_url": API,
            "sleep": fake_time.sleep,
            "clock": fake_time,
            "wall_clock": fake_time,
            "rng": lambda: 1.0,  # jitter at its maximum: deterministic back-off
            "retry": RetryPolicy(max_attempts=4, backoff_base=0.5, backoff_cap=8.0),
        }
        options.update(kwargs)
        return VismaClient(**options)

    return make


@pytest.fixture
def visma(make_client) -> VismaClient:
    return make_client()


def add_service_token(rsps, access_token: str = "svc-token-1", expires_in: int = 3600, **kw):
    return rsps.add(
        responses.POST,
        TOKEN_URL,
        json={"access_token": access_token, "expires_in": expires_in, "token_type": "Bearer"},
        **kw,
    )


def query(call) -> dict[str, str]:
    """The query string of a recorded call as a flat dict."""
    return {k: v[0] for k, v in parse_qs(urlparse(call.request.url).query).items()}


def form(call) -> dict[str, str]:
    """The form body of a recorded call as a flat dict."""
    body = call.request.body
    if isinstance(body, bytes):
        body = body.decode()
    return {k: v[0] for k, v in parse_qs(body or "").items()}


def with_metadata(records, total, max_page_size=1000):
    """One Visma list page: every element carries metadata."""
    return [dict(r, metadata={"totalCount": total, "maxPageSize": max_page_size}) for r in records]


def paged_endpoint(rsps, url, records, *, max_page_size=1000, default_page_size=100):
    """Serve `records` like Visma: 1-based pageNumber, pageSize clamped to maxPageSize."""

    def callback(request):
        q = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        size = min(int(q.get("pageSize", default_page_size)), max_page_size)
        number = int(q.get("pageNumber", 1))
        chunk = records[(number - 1) * size : number * size]
        body = with_metadata(chunk, len(records), max_page_size)
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    rsps.add_callback(responses.GET, url, callback=callback)
