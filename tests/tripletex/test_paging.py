"""Paging by from/count until a short page, over the simulator (fullResultSize is not a total)."""

from __future__ import annotations

import datetime as dt

import pytest

from app.tripletex import datasets
from app.tripletex.errors import MalformedResponse
from app.tripletex.streams import (
    CustomersStream,
    InvalidParameters,
    VouchersStream,
    exclusive_range,
    month_windows,
)


def _reads(client, name: str, page_size: int, params=None):
    api = client.company_api(client.clients()[0])
    before = client.api_calls
    records = list(api.stream(name, page_size=page_size).records(params))
    return records, client.api_calls - before


def test_short_last_page_ends_the_read(make_client, sim):
    client = make_client()
    company = client.clients()[0]
    active = [p for p in sim.state.books(company.id).customers.values() if not p.is_inactive]
    assert len(active) == 9

    records, calls = _reads(client, "customers", 4)

    assert sorted(r["id"] for r in records) == sorted(sim.state.books(company.id).customers)
    assert calls == 3 + 1  # active: 4, 4, 1 (short: done); inactive: 1


def test_exact_multiple_costs_one_empty_page(make_client):
    client = make_client()

    records, calls = _reads(client, "customers", 3)

    assert len(records) == 10 and len({r["id"] for r in records}) == 10
    assert calls == 4 + 1  # active: 3, 3, 3, then 0; inactive: 1


def test_full_result_size_is_never_trusted(make_client, sim):
    client = make_client()
    api = client.company_api(client.clients()[0])
    first = api.get("/customer", {"from": 0, "count": 4})

    assert first["fullResultSize"] == 5  # "from + count + 1", as Tripletex now answers
    assert len(list(api.stream("customers", page_size=4).records())) == 10


def test_vouchers_read_by_exclusive_date_range(make_client, sim):
    client = make_client()
    company = client.clients()[0]
    books = sim.state.books(company.id)
    january = [v for v in books.vouchers.values() if v.date.year == 2025 and v.date.month == 1]

    records = list(client.company_api(company).stream("vouchers", page_size=2).records(
        exclusive_range(dt.date(2025, 1, 1), dt.date(2025, 1, 31))))

    assert sorted(r["id"] for r in records) == sorted(v.id for v in january)
    assert all(r["postings"][0]["account"]["number"] for r in records)  # expanded, not {id,url}


def test_gl_balances_are_read_one_month_at_a_time(make_client):
    client = make_client()
    api = client.company_api(client.clients()[0])

    rows = list(api.stream("gl_balances").records(
        {"dateFrom": "2025-01-01", "dateTo": "2025-04-01"}))

    assert {(r["startDate"], r["endDate"]) for r in rows} == {
        ("2025-01-01", "2025-02-01"), ("2025-02-01", "2025-03-01"), ("2025-03-01", "2025-04-01")}


def test_month_windows_cover_a_range_exactly():
    windows = list(month_windows(dt.date(2025, 1, 15), dt.date(2025, 3, 2)))

    assert windows == [(dt.date(2025, 1, 15), dt.date(2025, 2, 1)),
                       (dt.date(2025, 2, 1), dt.date(2025, 3, 1)),
                       (dt.date(2025, 3, 1), dt.date(2025, 3, 2))]


def test_required_dates_and_unknown_filters_are_refused_before_any_call():
    calls = []

    with pytest.raises(InvalidParameters):
        list(CustomersStream(lambda path, params: calls.append(path)).pages({"dateFrom": "2025"}))
    with pytest.raises(InvalidParameters, match="dateTo"):
        list(VouchersStream(lambda path, params: calls.append(path)).pages(
            {"dateFrom": "2025-01-01"}))
    with pytest.raises(InvalidParameters, match="exclusive"):
        list(VouchersStream(lambda path, params: calls.append(path)).pages(
            {"dateFrom": "2025-01-01", "dateTo": "2025-01-01"}))
    assert calls == []


@pytest.mark.parametrize("answer", [{"value": {}}, {"values": "x"}, [],
                                    {"values": [{"id": i} for i in range(3)]}])
def test_a_page_that_is_not_the_envelope_is_malformed(answer):
    stream = CustomersStream(lambda path, params: answer, page_size=2)

    with pytest.raises(MalformedResponse):
        list(stream.pages())


def test_changed_since_is_sent_as_utc_with_z():
    sent = []

    def fetch(path, params):
        sent.append(params)
        return {"values": []}

    since = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    list(CustomersStream(fetch).pages(since=since))

    assert [p["changedSince"] for p in sent] == ["2026-03-01T11:00:00Z"] * 2
    assert [p["isInactive"] for p in sent] == ["false", "true"]
    assert sent[0]["sorting"] == "id" and sent[0]["fields"] == "*,changes"


def test_changed_since_reads_only_parties_changed_after_it(make_client, sim):
    client = make_client()
    company = client.clients()[0]
    api = client.company_api(company)
    books = sim.state.books(company.id)
    renamed = sorted(books.customers)[2]
    since = sim.state.now() - dt.timedelta(seconds=5)
    sim.state.update_party(company.id, "customer", renamed, name="Nytt Navn AS")

    pages = list(datasets.read(api, "customers", since=since))
    everyone = list(datasets.read(api, "customers"))

    assert [(r["internal_id"], r["name"]) for p in pages for r in p] == [(renamed, "Nytt Navn AS")]
    assert sum(len(p) for p in everyone) == 10
    with pytest.raises(ValueError, match="first_day"):
        list(datasets.read(api, "journal"))
