"""The simulator answers as the brief says Tripletex does: envelopes, errors, limits, minting."""

from __future__ import annotations

import datetime as dt

import pytest

from app.tripletex.simulator.state import (
    DEMO_CONSUMER_TOKEN,
    DEMO_FIRM_KEY,
    DEMO_PROD_KEY,
)

from .conftest import basic

TOMORROW = (dt.date.today() + dt.timedelta(days=2)).isoformat()


def mint(sim_client, *, consumer=DEMO_CONSUMER_TOKEN, employee=DEMO_FIRM_KEY,
         expiration: str | None = TOMORROW):
    params = {"consumerToken": consumer, "employeeToken": employee}
    if expiration:
        params["expirationDate"] = expiration
    return sim_client.put("/v2/token/session/:create", query_string=params)


@pytest.fixture
def get(sim_client, sim_state):
    """GET as the first demo client of the firm key."""
    token = mint(sim_client).get_json()["value"]["token"]
    company = sim_state.company_id("Fjordlys Rørlegger AS")

    def call(path: str, headers: dict | None = None, **params):
        return sim_client.get("/v2" + path, query_string=params,
                              headers={**basic(str(company), token), **(headers or {})})

    return call


def test_mint_answers_201_with_the_token_in_value(sim_client):
    response = mint(sim_client)

    assert response.status_code == 201
    value = response.get_json()["value"]
    assert value["token"].startswith("test-") and value["expirationDate"] == TOMORROW


def test_mint_without_expiration_date_is_422_kan_ikke_vaere_null(sim_client):
    body = mint(sim_client, expiration=None).get_json()

    assert (body["status"], body["code"], body["message"]) == (422, 18000, "Validering feilet.")
    assert body["validationMessages"][0]["field"] == "expirationDate"
    assert body["validationMessages"][0]["message"] == "Kan ikke være null."
    assert body["requestId"] and body["link"] == "https://tripletex.no/v2-docs/"


def test_mint_with_a_key_of_another_environment_blames_the_consumer_token(sim_client):
    body = mint(sim_client, employee=DEMO_PROD_KEY).get_json()

    assert (body["status"], body["code"]) == (422, 18000)
    assert body["validationMessages"] == [{
        "field": "consumerToken",
        "message": "The consumer token is invalid or does not exist."}]


def test_a_session_minted_for_today_is_refused_on_every_call(sim_client, sim_state):
    token = mint(sim_client, expiration=sim_state.today().isoformat()).get_json()
    assert token["value"]["token"]

    response = sim_client.get("/v2/token/session/>whoAmI",
                              headers=basic("0", token["value"]["token"]))
    assert response.status_code == 401 and response.get_json()["code"] == 3000


def test_list_envelope_and_deprecated_full_result_size(get):
    first = get("/customer", count=4).get_json()
    last = get("/customer", **{"from": 8, "count": 4}).get_json()

    assert set(first) == {"fullResultSize", "from", "count", "versionDigest", "values"}
    assert (first["fullResultSize"], first["from"], first["count"]) == (5, 0, 4)
    assert (last["fullResultSize"], last["count"]) == (9, 1)
    assert first["versionDigest"] == "'If-None-Match' header not specified"


def test_if_none_match_gives_304_while_nothing_changed(get):
    digest = get("/customer", headers={"If-None-Match": "x"}).get_json()["versionDigest"]

    assert get("/customer", headers={"If-None-Match": digest}).status_code == 304


def test_references_are_id_and_url_unless_fields_expand_them(get):
    plain = get("/ledger/voucher", dateFrom="2025-01-01", dateTo="2025-02-01").get_json()
    expanded = get("/ledger/voucher", dateFrom="2025-01-01", dateTo="2025-02-01",
                   fields="id,postings(id,amount,account(number))").get_json()

    assert set(plain["values"][0]["postings"][0]) == {"id", "url"}
    assert "/v2/ledger/posting/" in plain["values"][0]["postings"][0]["url"]
    assert set(expanded["values"][0]) == {"id", "postings"}
    assert set(expanded["values"][0]["postings"][0]) == {"id", "amount", "account"}
    assert set(expanded["values"][0]["postings"][0]["account"]) == {"number"}


def test_date_to_is_exclusive(get, sim_state):
    books = sim_state.books(sim_state.company_id("Fjordlys Rørlegger AS"))
    day = min(v.date for v in books.vouchers.values())

    ending_that_day = get("/ledger/voucher", dateFrom="2025-01-01", dateTo=day.isoformat())
    including = get("/ledger/voucher", dateFrom="2025-01-01",
                    dateTo=(day + dt.timedelta(days=1)).isoformat())

    assert ending_that_day.get_json()["values"] == []
    assert day.isoformat() in {v["date"] for v in including.get_json()["values"]}


def test_required_date_range_and_count_limit(get):
    missing = get("/ledger/posting", dateTo="2025-02-01").get_json()
    too_many = get("/ledger/account", count=10001)

    assert missing["status"] == 422
    assert missing["validationMessages"][0]["field"] == "dateFrom"
    assert too_many.status_code == 422


def test_money_is_a_plain_json_number_debit_positive(get):
    values = get("/ledger/posting", dateFrom="2025-01-01", dateTo="2025-02-01",
                 fields="amount").get_json()["values"]

    amounts = [v["amount"] for v in values]
    assert all(isinstance(a, int | float) for a in amounts)
    assert any(a > 0 for a in amounts) and any(a < 0 for a in amounts)


def test_rate_limit_headers_and_a_429_without_reset(get, sim_state):
    ok = get("/token/session/>whoAmI")
    assert ok.headers["X-Rate-Limit-Limit"] == str(sim_state.faults.rate_limit)
    assert int(ok.headers["X-Rate-Limit-Remaining"]) == sim_state.faults.rate_limit - 1
    assert 1 <= int(ok.headers["X-Rate-Limit-Reset"]) <= sim_state.faults.rate_window
    assert ok.headers["x-tlx-request-id"]

    sim_state.set_faults(rate_limit=1)
    get("/token/session/>whoAmI")
    throttled = get("/token/session/>whoAmI")

    assert throttled.status_code == 429
    assert "X-Rate-Limit-Reset" not in throttled.headers
    assert throttled.headers["X-Rate-Limit-Remaining"] == "0"


def test_firm_session_as_username_0_only_lists_clients(sim_client):
    token = mint(sim_client).get_json()["value"]["token"]

    listed = sim_client.get("/v2/company/>withLoginAccess", headers=basic("0", token))
    refused = sim_client.get("/v2/ledger/account", headers=basic("0", token))

    assert [c["name"] for c in listed.get_json()["values"]] == [
        "Fjordlys Rørlegger AS", "Nordkapp Bakeri AS", "Tindeklatring Utstyr AS"]
    assert set(listed.get_json()["values"][0]) >= {"id", "name", "organizationNumber",
                                                   "customerCompanyId"}
    assert refused.status_code == 403 and refused.get_json()["code"] == 9000


def test_control_api_posts_only_balanced_vouchers(sim_client, sim_state, get):
    company = sim_state.company_id("Fjordlys Rørlegger AS")
    unbalanced = sim_client.post(f"/_sim/companies/{company}/vouchers", json={
        "date": "2026-05-05", "postings": [{"accountNumber": 1920, "amount": 100},
                                           {"accountNumber": 3000, "amount": -90}]})
    balanced = sim_client.post(f"/_sim/companies/{company}/vouchers", json={
        "date": "2026-05-05", "description": "Kontantsalg",
        "postings": [{"accountNumber": 1920, "amount": 100.5},
                     {"accountNumber": 3000, "amount": -100.5}]})

    assert unbalanced.status_code == 422
    assert balanced.status_code == 201
    found = get("/ledger/voucher", dateFrom="2026-05-05", dateTo="2026-05-06",
                fields="description,postings(amount)").get_json()["values"]
    assert {"description": "Kontantsalg", "postings": [{"amount": 100.5},
                                                       {"amount": -100.5}]} in found
