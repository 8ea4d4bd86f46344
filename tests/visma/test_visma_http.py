"""The HTTP layer: retries, back-off, Retry-After, the rate budget, typed errors."""

from __future__ import annotations

import pytest
import requests
import responses

from app.visma.errors import (
    ApiError,
    CompanyAccessWithdrawn,
    MalformedResponse,
    Throttled,
    VismaUnavailable,
    parse_error_body,
)
from app.visma.http import RateBudget, RetryPolicy, parse_retry_after

from .conftest import API, TENANT, TOKEN_URL, add_service_token

ORG = f"{API}/v1/organization"
ORG_BODY = {"name": "Fjord AS", "corporateId": "912345674"}
IPP_500 = {
    "ExceptionType": "IPPException",
    "ExceptionMessage": "An error has occurred on the server.",
    "ExceptionFaultCode": "10000",
}


@pytest.fixture
def api(visma, mocked):
    add_service_token(mocked)
    return visma.tenant_api(TENANT)


def org_calls(mocked):
    return [c for c in mocked.calls if c.request.url.startswith(ORG)]


def test_429_waits_exactly_retry_after_then_succeeds(api, mocked, fake_time):
    mocked.add(
        responses.GET,
        ORG,
        status=429,
        json={"Message": "API calls quota exceeded!"},
        headers={
            "Retry-After": "7",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "7",
            "X-RateLimit-Limit": "500",
        },
    )
    mocked.add(responses.GET, ORG, json=[ORG_BODY])
    assert api.organization() == ORG_BODY
    assert fake_time.sleeps == [7.0]  # exactly Retry-After, no extra pacing on top
    assert api.rate_limit.throttled == 1
    assert api.rate_limit.remaining == 0  # what the 429 said, for the "throttling seen" view


def test_429_gives_up_with_throttled_and_visma_message(make_client, mocked, fake_time):
    visma = make_client(retry=RetryPolicy(max_throttle_retries=2))
    add_service_token(mocked)
    for _ in range(3):
        mocked.add(
            responses.GET,
            ORG,
            status=429,
            headers={"Retry-After": "3"},
            json={"Message": "API calls quota exceeded! maximum admitted 500 per 1h."},
        )
    with pytest.raises(Throttled) as info:
        visma.tenant_api(TENANT).organization()
    assert info.value.retry_after == 3.0
    assert "quota exceeded" in info.value.message
    assert fake_time.sleeps == [3.0, 3.0]
    assert len(org_calls(mocked)) == 3


def test_429_with_a_retry_after_beyond_max_wait_is_not_slept(api, mocked, fake_time):
    mocked.add(responses.GET, ORG, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(Throttled) as info:
        api.organization()
    assert info.value.retry_after == 3600
    assert fake_time.sleeps == []


def test_backoff_on_500_then_success(api, mocked, fake_time):
    mocked.add(responses.GET, ORG, status=500, json=IPP_500)
    mocked.add(responses.GET, ORG, status=503, body="")
    mocked.add(responses.GET, ORG, json=[ORG_BODY])
    assert api.organization() == ORG_BODY
    # full jitter with rng() == 1.0: base 0.5 * 2**(n-1)
    assert fake_time.sleeps == [0.5, 1.0]


def test_backoff_is_jittered_and_capped():
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=5.0)
    assert policy.backoff(10, lambda: 1.0) == 5.0
    assert policy.backoff(3, lambda: 0.25) == 1.0
    assert policy.backoff(1, lambda: 0.0) == 0.0


def test_500_give_up_carries_visma_message(api, mocked, fake_time):
    for _ in range(4):
        mocked.add(responses.GET, ORG, status=500, json=IPP_500)
    with pytest.raises(VismaUnavailable) as info:
        api.organization()
    assert info.value.message == "An error has occurred on the server."
    assert info.value.status == 500 and info.value.fault_code == "10000"
    assert len(org_calls(mocked)) == 4
    assert fake_time.sleeps == [0.5, 1.0, 2.0]


def test_timeouts_are_retried_then_typed(api, mocked, fake_time):
    mocked.add(responses.GET, ORG, body=requests.ReadTimeout("read timed out"))
    mocked.add(responses.GET, ORG, body=requests.ConnectionError("reset"))
    mocked.add(responses.GET, ORG, json=[ORG_BODY])
    assert api.organization() == ORG_BODY
    for _ in range(4):
        mocked.add(responses.GET, ORG, body=requests.ConnectTimeout("no route"))
    with pytest.raises(VismaUnavailable, match="ConnectTimeout"):
        api.organization()


def test_timeouts_are_passed_to_requests(make_client, mocked):
    visma = make_client(connect_timeout=2.5, read_timeout=33)
    add_service_token(mocked)
    mocked.add(responses.GET, ORG, json=[ORG_BODY])
    visma.tenant_api(TENANT).organization()
    assert all(c.request.req_kwargs["timeout"] == (2.5, 33) for c in mocked.calls)


def test_4xx_is_not_retried_and_keeps_visma_message(api, mocked, fake_time):
    mocked.add(
        responses.GET,
        ORG,
        status=400,
        json={
            "ExceptionType": "IPPException",
            "ExceptionMessage": "Invalid periodId 2025-13",
            "ExceptionFaultCode": "12006",
            "ExceptionMessageID": "12006_abc",
            "ExceptionDetails": "",
        },
    )
    with pytest.raises(ApiError) as info:
        api.organization()
    assert info.value.message == "Invalid periodId 2025-13"
    assert info.value.status == 400 and info.value.fault_code == "12006"
    assert len(org_calls(mocked)) == 1 and fake_time.sleeps == []


def test_403_no_license_is_company_access_withdrawn(api, mocked):
    mocked.add(
        responses.GET,
        ORG,
        status=403,
        json={
            "ExceptionType": "IPPException",
            "ExceptionMessage": "No license for this company.",
            "ExceptionFaultCode": "12027",
        },
    )
    with pytest.raises(CompanyAccessWithdrawn, match="No license for this company."):
        api.organization()


def test_401_refreshes_the_service_token_once(api, mocked):
    add_service_token(mocked, "svc-token-2")
    mocked.add(responses.GET, ORG, status=401, body="")
    mocked.add(responses.GET, ORG, json=[ORG_BODY])
    assert api.organization() == ORG_BODY
    auths = [c.request.headers["Authorization"] for c in org_calls(mocked)]
    assert auths == ["Bearer svc-token-1", "Bearer svc-token-2"]


def test_401_twice_is_company_access_withdrawn(api, mocked):
    add_service_token(mocked, "svc-token-2")
    mocked.add(responses.GET, ORG, status=401, body="")
    mocked.add(responses.GET, ORG, status=401, json={"Message": "Authorization has been denied."})
    with pytest.raises(CompanyAccessWithdrawn, match="Authorization has been denied."):
        api.organization()
    assert len(org_calls(mocked)) == 2
    assert len([c for c in mocked.calls if c.request.url == TOKEN_URL]) == 2


def test_non_json_body_is_retried_then_malformed(api, mocked):
    mocked.add(responses.GET, ORG, body="<html>oops</html>")
    mocked.add(responses.GET, ORG, json=[ORG_BODY])
    assert api.organization() == ORG_BODY
    for _ in range(4):
        mocked.add(responses.GET, ORG, body='{"name": "trunc')
    with pytest.raises(MalformedResponse, match="Visma.net svarte med noe som ikke er JSON."):
        api.organization()


def test_answers_are_read_with_their_types_and_as_leniently_as_before(api, mocked):
    """Answers are read with orjson: floats for decimals, ints for integers; a body it refuses
    but requests' json() reads (a byte that is not UTF-8) still reads, the byte replaced."""
    mocked.add(responses.GET, ORG, json=[{"name": "Fjord AS", "balance": 15625.63, "count": 3}])
    found = api.organization()
    assert found == {"name": "Fjord AS", "balance": 15625.63, "count": 3}
    assert (type(found["balance"]), type(found["count"])) == (float, int)
    mocked.add(responses.GET, ORG, body=b'[{"name": "Fjord \xff AS"}]',
               content_type="application/json; charset=utf-8")
    assert api.organization() == {"name": "Fjord \ufffd AS"}


def test_calls_counted_and_rate_headers_recorded(visma, api, mocked):
    headers = {
        "X-RateLimit-Limit": "15000",
        "X-RateLimit-Remaining": "14990",
        "X-RateLimit-Reset": "1800",
        "X-RateLimit-Policy": "15000;w=3600",
    }
    mocked.add(responses.GET, ORG, status=500, json=IPP_500, headers=headers)
    mocked.add(responses.GET, ORG, json=[ORG_BODY], headers=headers)
    api.organization()
    assert visma.api_calls == 2
    assert visma.http.calls["connect"] == 1
    status = visma.rate_limit(TENANT)
    assert (status.limit, status.remaining, status.reset_seconds) == (15000, 14990, 1800.0)
    assert status.policy == "15000;w=3600"
    assert visma.rate_limit("another-tenant").remaining is None


# -- the rate budget ---------------------------------------------------------------------------


def test_rate_budget_slows_down_before_429(api, mocked, fake_time):
    for remaining in (1000, 4, 3, 2):
        mocked.add(
            responses.GET,
            ORG,
            json=[ORG_BODY],
            headers={
                "X-RateLimit-Limit": "15000",
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": "100",
            },
        )
    api.organization()  # remaining 1000: plenty
    api.organization()  # remaining 4 of reserve 300: spread over the 100 s left
    assert fake_time.sleeps == []
    api.organization()
    assert fake_time.sleeps == [pytest.approx(25.0)]  # 100 s / 4 calls
    api.organization()
    assert fake_time.sleeps[1] == pytest.approx(100 / 3)
    assert api.rate_limit.paced_seconds == pytest.approx(25 + 100 / 3)
    assert api.rate_limit.throttled == 0


def test_rate_budget_spent_waits_for_reset_or_raises(visma, mocked, fake_time):
    budget = RateBudget(clock=fake_time)
    budget.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "30"})
    wait, spent = budget.reserve()
    assert spent and wait == pytest.approx(30)
    fake_time.now += 31  # the window reset: back to full speed
    assert budget.reserve() == (0.0, False)

    add_service_token(mocked)
    mocked.add(
        responses.GET,
        ORG,
        json=[ORG_BODY],
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3000"},
    )
    api = visma.tenant_api(TENANT)
    api.organization()
    with pytest.raises(Throttled) as info:
        api.organization()  # the next call would wait 3000 s > max_wait: refuse, save the call
    assert info.value.retry_after == pytest.approx(3000)
    assert len(org_calls(mocked)) == 1


def test_rate_budget_is_per_tenant(visma, mocked, fake_time):
    add_service_token(mocked)
    mocked.add(
        responses.GET,
        ORG,
        json=[ORG_BODY],
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3000"},
    )
    visma.tenant_api(TENANT).organization()
    mocked.add(responses.GET, ORG, json=[ORG_BODY])
    visma.tenant_api("other-tenant").organization()
    assert fake_time.sleeps == []


# -- error bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"ExceptionType":"IPPException","ExceptionMessage":"No license for this company.",'
            b'"ExceptionFaultCode":"12027"}',
            ("No license for this company.", "12027"),
        ),
        (
            b'{"Message":"Authorization has been denied for this request."}',
            ("Authorization has been denied for this request.", None),
        ),
        (
            b'{"error":"invalid_grant","error_description":"Refresh token is expired"}',
            ("Refresh token is expired", "invalid_grant"),
        ),
        (b'{"error":"invalid_tenant"}', ("invalid_tenant", "invalid_tenant")),
        (b"", (None, None)),
        (None, (None, None)),
        (b"<html><body>Bad gateway</body></html>", (None, None)),
        ("Service Unavailable", ("Service Unavailable", None)),
        (b"[1, 2]", (None, None)),
    ],
)
def test_parse_error_body(body, expected):
    assert parse_error_body(body) == expected


def test_parse_retry_after_forms():
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
