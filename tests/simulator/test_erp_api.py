"""The ERP API as a client sees it: auth errors, throttling, paging, filters, faults."""

from __future__ import annotations

import json

import pytest

from app.visma.simulator.state import DEMO_CLIENT_ID

from .helpers import claims, d

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
                "X-RateLimit-Policy")


def _get(client, path, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/api" + path, query_string=params, headers=headers)


# ---- auth ----

@pytest.mark.parametrize("token", [None, "not-a-jwt", "a.b.c"])
def test_missing_or_invalid_token_is_401(sim_client, token):
    response = _get(sim_client, "/v1/account", token)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.get_json() == {"Message": "Authorization has been denied for this request."}
    for header in RATE_HEADERS:
        assert header in response.headers


def test_expired_token_is_401(sim_client, sim_state, trekkspill):
    token = sim_state.issue_service_token(trekkspill)
    assert _get(sim_client, "/v1/account", token).status_code == 200
    sim_state.advance_clock(3601)
    assert _get(sim_client, "/v1/account", token).status_code == 401


def test_token_of_another_simulator_is_401(sim_client, trekkspill):
    from app.visma.simulator import SimulatorConfig, SimulatorState

    foreign = SimulatorState(SimulatorConfig(demo_world=False)).issue_service_token(trekkspill)
    assert _get(sim_client, "/v1/account", foreign).status_code == 401


def test_token_without_erp_scope_is_403(sim_client, sim_state, trekkspill):
    token = sim_state.issue_access_token(DEMO_CLIENT_ID, trekkspill, "openid profile", "x",
                                         sub="s")
    response = _get(sim_client, "/v1/account", token)
    assert response.status_code == 403
    assert "Message" in response.get_json()


def _assert_no_license(response):
    assert response.status_code == 403
    body = response.get_json()
    assert body["ExceptionType"] == "IPPException"
    assert body["ExceptionMessage"] == "No license for this company."
    assert body["ExceptionFaultCode"] == "12027"
    assert body["ExceptionMessageID"].startswith("12027_")
    assert body["ExceptionDetails"] == ""


def test_withdrawn_approval_is_403_no_license(sim_client, sim_state, trekkspill, api):
    assert api("/v1/organization").status_code == 200
    sim_state.withdraw(trekkspill)
    _assert_no_license(api("/v1/organization"))
    sim_state.approve(trekkspill)
    assert api("/v1/organization").status_code == 200


def test_customer_tenant_instead_of_company_is_403_no_license(sim_client, sim_state):
    user = sim_state.user("demo@visma.test")
    token = sim_state.issue_service_token(user.customer_tenant_id)
    _assert_no_license(_get(sim_client, "/v1/account", token))


def test_interactive_token_reads_its_tenant(sim_client, user_tokens):
    response = _get(sim_client, "/v1/organization", user_tokens["access_token"])
    assert response.status_code == 200
    assert [org["name"] for org in response.get_json()] == ["TrekkSpill"]
    assert claims(user_tokens["access_token"])["tenant_id"]


# ---- 404, ETag, unknown parameters ----

def test_unknown_path_and_unknown_account_are_404(api):
    response = api("/v1/nothing")
    assert response.status_code == 404
    assert "No HTTP resource was found" in response.get_json()["Message"]
    missing = api("/v1/account/9999")
    assert missing.status_code == 404
    assert missing.get_json()["ExceptionType"] == "IPPException"
    assert "X-RateLimit-Remaining" in missing.headers


def test_single_resources_carry_an_etag(sim_client, sim_state, trekkspill):
    token = sim_state.issue_service_token(trekkspill)
    response = _get(sim_client, "/v1/account/1920", token)
    assert response.get_json()["accountCD"] == "1920"
    etag = response.headers["ETag"]
    again = sim_client.get("/api/v1/account/1920", headers={
        "Authorization": f"Bearer {token}", "If-None-Match": etag})
    assert again.status_code == 304


def test_unknown_query_parameters_are_ignored(api):
    plain = api("/v1/customer", pageSize=1000).get_json()
    odd = api("/v1/customer", pageSize=1000, lastModifiedSince="2099-01-01").get_json()
    assert odd == plain


# ---- throttling ----

def test_rate_limit_headers_and_429(sim_state, api):
    sim_state.set_faults(throttle_limit=3)
    remaining = []
    for _ in range(3):
        response = api("/v1/financialPeriod")
        assert response.status_code == 200
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
        assert response.headers["X-RateLimit-Limit"] == "3"
        assert response.headers["X-RateLimit-Policy"] == "4-fixed-window;w=3600"
        assert 0 < int(response.headers["X-RateLimit-Reset"]) <= 3600
    assert remaining == [2, 1, 0]
    throttled = api("/v1/financialPeriod")
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["Retry-After"]) <= 3600
    assert throttled.headers["X-RateLimit-Remaining"] == "0"
    assert "Rate limit is exceeded" in throttled.get_json()["Message"]
    sim_state.advance_clock(3600)
    assert api("/v1/financialPeriod").status_code == 200


def test_throttle_is_per_client_and_tenant(sim_client, sim_state, api):
    sim_state.set_faults(throttle_limit=1)
    assert api("/v1/financialPeriod").status_code == 200
    assert api("/v1/financialPeriod").status_code == 429
    other = sim_state.issue_service_token(sim_state.tenant_id("Testing"))
    assert _get(sim_client, "/v1/financialPeriod", other).status_code == 200


# ---- paging ----

def test_paging_totals_default_page_and_clamping(sim_state, api):
    sim_state.set_faults(default_page_size=3, max_page_size=5)
    total = len(sim_state.truth(sim_state.tenant_id("TrekkSpill"))["customers"])
    assert total > 5
    default = api("/v1/customer").get_json()
    assert len(default) == 3
    assert all(row["metadata"] == {"totalCount": total, "maxPageSize": 5} for row in default)
    clamped = api("/v1/customer", pageSize=1000).get_json()
    assert len(clamped) == 5
    seen = []
    page = 1
    while True:
        rows = api("/v1/customer", pageSize=1000, pageNumber=page).get_json()
        if not rows:
            break
        seen += [r["number"] for r in rows]
        page += 1
    assert len(seen) == len(set(seen)) == total


@pytest.mark.parametrize("params", [{"pageNumber": 0}, {"pageSize": "x"}, {"pageSize": -1}])
def test_bad_paging_is_400(api, params):
    response = api("/v1/customer", **params)
    assert response.status_code == 400
    assert response.get_json()["ExceptionType"] == "IPPException"


def test_accounts_and_periods_are_unpaged(sim_state, api, trekkspill):
    sim_state.set_faults(default_page_size=5)
    accounts = api("/v1/account", pageSize=5).get_json()
    assert len(accounts) == len(sim_state.truth(trekkspill)["accounts"]) > 200
    assert accounts[0]["metadata"]["totalCount"] == len(accounts)
    periods = api("/v1/financialPeriod").get_json()
    assert [p["period"] for p in periods][:2] == ["202501", "202502"]
    assert len(periods) == 24
    assert [p["period"] for p in api("/v1/financialPeriod", greaterThanValue="2025").get_json()][
        0] == "202601"
    assert len(api("/v1/financialPeriod", greaterThanValue="202610").get_json()) == 2


def _read_journal(api, page_size, **params):
    pages = []
    page = 1
    while True:
        rows = api("/v2/journaltransaction", pageSize=page_size, pageNumber=page, **params)
        assert rows.status_code == 200
        rows = rows.get_json()
        if not rows:
            break
        pages.append(rows)
        total = rows[0]["metadata"]["totalCount"]
        if page * page_size >= total:
            break
        page += 1
    return pages


def _merge(pages):
    merged: dict[str, dict] = {}
    for page in pages:
        for piece in page:
            piece = {k: v for k, v in piece.items() if k != "metadata"}
            if piece["batchNumber"] in merged:
                merged[piece["batchNumber"]]["journalTransactionLines"] += piece[
                    "journalTransactionLines"]
            else:
                merged[piece["batchNumber"]] = piece
    return list(merged.values())


def test_journal_pages_by_lines_and_splits_batches(sim_state, api, trekkspill):
    truth = [b for b in sim_state.truth(trekkspill)["journalTransactions"]
             if b["financialPeriod"] == "202503"]
    lines = sum(len(b["journalTransactionLines"]) for b in truth)
    pages = _read_journal(api, 7, periodId="202503")
    for page in pages:
        assert sum(len(b["journalTransactionLines"]) for b in page) <= 7
        assert page[0]["metadata"]["totalCount"] == lines
    pieces = [b["batchNumber"] for page in pages for b in page]
    assert len(pieces) > len(set(pieces))  # at least one batch was split across pages
    assert _merge(pages) == truth


def test_full_journal_reassembled_equals_truth(sim_state, api, trekkspill):
    truth = sim_state.truth(trekkspill)["journalTransactions"]
    merged = []
    for period in sim_state.ledger(trekkspill).periods:
        merged += _merge(_read_journal(api, 1000, periodId=period))
    assert merged == truth
    assert sum(len(b["journalTransactionLines"]) for b in merged) == 600


def test_period_is_required_unless_last_modified(api):
    for path in ("/v2/journaltransaction", "/v2/generalLedgerBalance"):
        response = api(path)
        assert response.status_code == 400
        assert "periodId" in response.get_json()["ExceptionMessage"]
        assert api(path, periodId="2025-01").status_code == 400
        assert api(path, lastModifiedDateTime="2020-01-01").status_code == 200


def test_gl_balance_paging_and_filters(sim_state, api, trekkspill):
    rows = api("/v2/generalLedgerBalance", periodId="202502", pageSize=1000).get_json()
    assert rows and all(r["financialPeriod"] == "202502" for r in rows)
    one = api("/v2/generalLedgerBalance", periodId="202502", account="1920").get_json()
    assert len(one) == 1 and one[0]["account"]["number"] == "1920"
    assert one[0]["metadata"]["totalCount"] == 1


# ---- incremental filters ----

@pytest.mark.parametrize("value", ["2025-01-01", "2025-01-01 00:00:00", "2025-01-01T00:00:00",
                                   "2025-01-01T00:00:00.5", "2025-01-01 00:00:00.123"])
def test_accepted_timestamp_formats(api, value):
    assert api("/v1/account", lastModifiedDateTime=value).status_code == 200


@pytest.mark.parametrize("value", ["2025-01-01T00:00:00Z", "2025-01-01T00:00:00+01:00",
                                   "2025-01-01T00:00:00.000Z", "01.01.2025", "2025-13-01",
                                   "2025-01-01T00:00:00.1234"])
def test_rejected_timestamp_formats(api, value):
    for path in ("/v1/account", "/v1/customer", "/v2/journaltransaction"):
        response = api(path, lastModifiedDateTime=value)
        assert response.status_code == 400, (path, value)
        body = response.get_json()
        assert body["ExceptionType"] == "IPPException" and body["ExceptionMessage"]


def test_conditions_partition_the_accounts(sim_state, api, trekkspill):
    accounts = sim_state.truth(trekkspill)["accounts"]
    pivot = sorted(a["lastModifiedDateTime"] for a in accounts)[len(accounts) // 2]

    def numbers(condition=None):
        params = {"lastModifiedDateTime": pivot}
        if condition:
            params["lastModifiedDateTimeCondition"] = condition
        return {a["accountCD"] for a in api("/v1/account", **params).get_json()}

    after, before = numbers(">"), numbers("<")
    at_or_after, at_or_before = numbers(">="), numbers("<=")
    assert numbers() == at_or_after
    at = at_or_after - after
    assert at and at == at_or_before - before
    assert after | before | at == {a["accountCD"] for a in accounts}
    assert not after & before
    assert api("/v1/account", lastModifiedDateTime=pivot,
               lastModifiedDateTimeCondition="==").status_code == 400


def test_incremental_reader_sees_changes_since_its_bookmark(sim_state, api, trekkspill):
    bookmark = max(a["lastModifiedDateTime"] for a in api("/v1/account").get_json())
    assert api("/v1/account", lastModifiedDateTime=bookmark,
               lastModifiedDateTimeCondition=">").get_json() == []
    sim_state.update_account(trekkspill, "6300", description="Husleie")
    changed = api("/v1/account", lastModifiedDateTime=bookmark,
                  lastModifiedDateTimeCondition=">").get_json()
    assert [(a["accountCD"], a["description"]) for a in changed] == [("6300", "Husleie")]
    assert changed[0]["lastModifiedDateTime"] > bookmark
    assert "Z" not in changed[0]["lastModifiedDateTime"]


def test_customers_filter_by_status_and_modified(sim_state, api, trekkspill):
    inactive = api("/v1/customer", status="Inactive", pageSize=1000).get_json()
    assert all(c["status"] == "Inactive" for c in inactive)
    sim_state.advance_clock(1)
    stamp = sim_state.now().isoformat(timespec="milliseconds")
    sim_state.update_customer(trekkspill, "10001", name="Nytt Navn AS")
    rows = api("/v1/customer", lastModifiedDateTime=stamp).get_json()
    assert [r["number"] for r in rows] == ["10001"]


def test_party_balances(sim_state, api, trekkspill):
    rows = api("/v2/customer/balance", fromFinPeriod="202501", toFinPeriod="202612",
               pageSize=1000).get_json()
    truth = sim_state.truth(trekkspill)
    assert len(rows) == len(truth["customers"])
    assert rows == truth["customerBalances"]
    assert {"customer", "branchNumber", "beginBalance", "sales", "yearToDateBalance"} <= set(
        rows[0])
    assert "metadata" not in rows[0]  # Visma's balance DTOs declare none
    suppliers = api("/v2/supplier/balance", fromFinPeriod="202601", toFinPeriod="202603").get_json()
    assert suppliers and "supplier" in suppliers[0]
    for row in suppliers:
        assert d(row["beginBalance"]) + d(row["purchases"]) - d(row["paymentsAndPrepayments"]) \
            == d(row["yearToDateBalance"])
    assert api("/v2/customer/balance", fromFinPeriod="2026", toFinPeriod="202612"
               ).status_code == 400
    missing = api("/v2/customer/balance", fromFinPeriod="202601")
    assert missing.status_code == 400
    assert "toFinPeriod is required" in missing.get_json()["ExceptionMessage"]


# ---- faults ----

def test_error_share_is_deterministic(sim_state, api):
    def run():
        sim_state.reset_faults()
        sim_state.set_faults(error_rate=0.5)
        return [api("/v1/financialPeriod").status_code for _ in range(20)]

    first = run()
    assert 500 in first and 200 in first
    assert run() == first
    sim_state.reset_faults()
    assert api("/v1/financialPeriod").status_code == 200


def test_error_body_is_visma_json(sim_state, api):
    sim_state.set_faults(error_rate=1.0)
    response = api("/v1/account")
    assert response.status_code == 500
    assert response.get_json() == {"Message": "An error has occurred."}


def test_malformed_page_once(sim_state, api):
    sim_state.set_faults(malformed_pages=1)
    broken = api("/v1/customer")
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.get_data(as_text=True))
    assert isinstance(api("/v1/customer").get_json(), list)


def test_timeout_and_latency_sleep(sim_state, api, monkeypatch):
    from types import SimpleNamespace

    from app.visma.simulator import erp

    # The simulator's own clock: each reading 0.1 s later, as if its work took that long.
    readings = iter(range(1_000))
    slept = []
    monkeypatch.setattr(erp, "time", SimpleNamespace(sleep=slept.append,
                                                     monotonic=lambda: next(readings) / 10))
    sim_state.set_faults(timeout_seconds=30, timeout_calls=1, latency=0.25)
    assert api("/v1/financialPeriod").status_code == 200
    assert api("/v1/financialPeriod").status_code == 200
    # a call takes at least the latency: the simulator sleeps what its own work left of it
    # (the first call times out first: its latency is slept after the 30 s)
    assert slept[0] == 30
    assert slept[1:] == [pytest.approx(0.15), pytest.approx(0.15)]


def test_token_lifetime_knob(sim_client, sim_state, trekkspill):
    sim_state.set_faults(access_token_lifetime=5)
    token = sim_state.issue_service_token(trekkspill)
    assert claims(token)["exp"] - claims(token)["iat"] == 5
    sim_state.advance_clock(6)
    assert _get(sim_client, "/v1/account", token).status_code == 401


def test_writes_are_not_allowed(sim_client, sim_state, trekkspill):
    token = sim_state.issue_service_token(trekkspill)
    response = sim_client.post("/api/v1/account", json={},
                               headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 405
    assert "does not support http method 'POST'" in response.get_json()["Message"]
    assert "X-RateLimit-Limit" in response.headers
    assert sim_client.get("/connect/token").status_code == 405
