"""Streams: paging, short pages, journal batch merging, parameter names and date format."""

from __future__ import annotations

import datetime as dt
import json
import time
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from hypothesis import given, settings
from hypothesis import strategies as st

from app.visma.errors import MalformedResponse
from app.visma.streams import (
    STREAMS,
    InvalidParameters,
    JournalTransactionsStream,
    format_datetime,
    merge_batches,
    prefetched,
)

from .conftest import API, TENANT, add_service_token, paged_endpoint, query, with_metadata

CUSTOMERS = f"{API}/v1/customer"
JOURNAL = f"{API}/v2/journaltransaction"


def customers(n):
    return [{"internalId": i, "number": f"{10000 + i}", "name": f"Kunde {i}"} for i in range(n)]


def api_calls(mocked, url):
    return [c for c in mocked.calls if c.request.url.split("?")[0] == url]


@pytest.fixture
def api(visma, mocked):
    add_service_token(mocked)
    return visma.tenant_api(TENANT)


def test_paging_sends_page_params_and_stops_on_total_count(api, mocked):
    paged_endpoint(mocked, CUSTOMERS, customers(2500))
    pages = list(api.stream("customers").pages())
    assert [len(p) for p in pages] == [1000, 1000, 500]
    calls = api_calls(mocked, CUSTOMERS)
    assert [(query(c)["pageNumber"], query(c)["pageSize"]) for c in calls] == [
        ("1", "1000"),
        ("2", "1000"),
        ("3", "1000"),
    ]
    numbers = [r["number"] for p in pages for r in p]
    assert len(set(numbers)) == 2500


def test_exact_multiple_stops_without_an_extra_call(api, mocked):
    paged_endpoint(mocked, CUSTOMERS, customers(2000))
    assert sum(len(p) for p in api.stream("customers").pages()) == 2000
    assert len(api_calls(mocked, CUSTOMERS)) == 2  # 2 * 1000 >= totalCount


def test_page_size_clamped_to_max_page_size(api, mocked):
    paged_endpoint(mocked, CUSTOMERS, customers(1100), max_page_size=300)
    pages = list(api.stream("customers").pages())
    assert [len(p) for p in pages] == [300, 300, 300, 200]
    sizes = [query(c)["pageSize"] for c in api_calls(mocked, CUSTOMERS)]
    assert sizes == ["1000", "300", "300", "300"]
    assert len({r["number"] for p in pages for r in p}) == 1100


def test_empty_page_stops(api, mocked):
    mocked.add(responses.GET, CUSTOMERS, json=[])
    assert list(api.stream("customers").pages()) == []
    assert len(api_calls(mocked, CUSTOMERS)) == 1


def test_short_page_that_is_not_the_last_raises(api, mocked):
    rows = customers(2500)
    mocked.add(responses.GET, CUSTOMERS, json=with_metadata(rows[:1000], 2500))
    # page 2 is cut short (and stays short when fetched again)
    mocked.add(responses.GET, CUSTOMERS, json=with_metadata(rows[1000:1700], 2500))
    mocked.add(responses.GET, CUSTOMERS, json=with_metadata(rows[1000:1700], 2500))
    pages = api.stream("customers").pages()
    assert len(next(pages)) == 1000
    with pytest.raises(MalformedResponse, match="totalCount 2500"):
        next(pages)


def test_short_page_recovers_when_fetched_again(api, mocked):
    rows = customers(1500)
    mocked.add(responses.GET, CUSTOMERS, json=with_metadata(rows[:400], 1500))
    mocked.add(responses.GET, CUSTOMERS, json=with_metadata(rows[:1000], 1500))
    mocked.add(responses.GET, CUSTOMERS, json=with_metadata(rows[1000:], 1500))
    pages = list(api.stream("customers").pages())
    assert [len(p) for p in pages] == [1000, 500]


def test_total_count_changing_mid_read_raises(api, mocked):
    rows = customers(2500)
    mocked.add(responses.GET, CUSTOMERS, json=with_metadata(rows[:1000], 2500))
    mocked.add(responses.GET, CUSTOMERS, json=with_metadata(rows[1001:2001], 2499))
    with pytest.raises(MalformedResponse, match="totalCount changed"):
        list(api.stream("customers").pages())


def test_page_longer_than_asked_raises(api, mocked):
    mocked.add(responses.GET, CUSTOMERS, json=with_metadata(customers(1200), 5000))
    with pytest.raises(MalformedResponse, match="more than pageSize"):
        list(api.stream("customers").pages())


def test_non_array_page_raises(api, mocked):
    mocked.add(responses.GET, CUSTOMERS, json={"unexpected": True})
    with pytest.raises(MalformedResponse, match="JSON array"):
        list(api.stream("customers").pages())


def test_unpaged_accounts_detect_truncation(api, mocked):
    rows = [{"accountCD": "1920", "metadata": {"totalCount": 3}}]
    mocked.add(responses.GET, f"{API}/v1/account", json=rows)
    with pytest.raises(MalformedResponse, match="totalCount 3"):
        list(api.stream("accounts").pages())


# -- journal transactions: pages count lines, batches are split across pages ---------------


def make_batches(sizes):
    return [
        {
            "batchNumber": f"{1000 + b}",
            "module": "GL",
            "financialPeriod": "202501",
            "journalTransactionLines": [
                {"lineNumber": n + 1, "accountNumber": "1920", "debitAmount": 1.0}
                for n in range(size)
            ],
        }
        for b, size in enumerate(sizes)
    ]


def journal_endpoint(mocked, batches, max_page_size=1000):
    """Page by lines, as Visma does: a page holds pageSize lines, grouped by batch."""
    flat = [(b, line) for b in batches for line in b["journalTransactionLines"]]

    def callback(request):
        q = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        size = min(int(q["pageSize"]), max_page_size)
        number = int(q["pageNumber"])
        chunk = flat[(number - 1) * size : number * size]
        page = []
        for batch, line in chunk:
            if not page or page[-1]["batchNumber"] != batch["batchNumber"]:
                header = {k: v for k, v in batch.items() if k != "journalTransactionLines"}
                header["metadata"] = {"totalCount": len(flat), "maxPageSize": max_page_size}
                page.append(dict(header, journalTransactionLines=[]))
            page[-1]["journalTransactionLines"].append(line)
        return 200, {}, json.dumps(page)

    mocked.add_callback(responses.GET, JOURNAL, callback=callback)


def test_journal_batches_merged_across_pages(api, mocked):
    batches = make_batches([3, 7, 1, 12, 4, 9])  # 36 lines
    journal_endpoint(mocked, batches, max_page_size=5)
    pages = list(api.stream("journal_transactions").pages({"periodId": "202501"}))
    got = [b for p in pages for b in p]
    assert [b["batchNumber"] for b in got] == [b["batchNumber"] for b in batches]
    for mine, theirs in zip(got, batches, strict=True):
        assert mine["journalTransactionLines"] == theirs["journalTransactionLines"]
    assert len(api_calls(mocked, JOURNAL)) == 8  # ceil(36 / 5): paging counts lines


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=15), min_size=1, max_size=12),
    page_size=st.integers(min_value=1, max_value=20),
)
def test_merge_batches_property(sizes, page_size):
    batches = make_batches(sizes)
    flat = [(b, line) for b in batches for line in b["journalTransactionLines"]]
    pages = []
    for start in range(0, len(flat), page_size):
        page = []
        for batch, line in flat[start : start + page_size]:
            if not page or page[-1]["batchNumber"] != batch["batchNumber"]:
                page.append(
                    {
                        "batchNumber": batch["batchNumber"],
                        "module": "GL",
                        "journalTransactionLines": [],
                    }
                )
            page[-1]["journalTransactionLines"].append(line)
        pages.append(page)
    stream = JournalTransactionsStream(lambda path, params: None)
    merged = [b for p in merge_batches(pages, key=stream.key) for b in p]
    assert [len(b["journalTransactionLines"]) for b in merged] == sizes


def test_merge_batches_refuses_a_batch_that_comes_back():
    a, b = make_batches([2, 2])
    pages = [[a, b], [dict(a, journalTransactionLines=[])]]
    stream = JournalTransactionsStream(lambda path, params: None)
    with pytest.raises(MalformedResponse, match="appeared again"):
        list(merge_batches(pages, key=stream.key))


def test_merge_skips_lines_repeated_by_a_shifting_page():
    (a,) = make_batches([4])
    lines = a["journalTransactionLines"]
    pages = [
        [dict(a, journalTransactionLines=lines[:3])],
        [dict(a, journalTransactionLines=lines[2:])],
    ]
    stream = JournalTransactionsStream(lambda path, params: None)
    (merged,) = [b for p in merge_batches(pages, key=stream.key) for b in p]
    assert [line["lineNumber"] for line in merged["journalTransactionLines"]] == [1, 2, 3, 4]


# -- parameters ------------------------------------------------------------------------------


def test_unknown_parameter_name_is_refused_before_any_call(api, mocked):
    with pytest.raises(InvalidParameters, match="lastModifiedDate"):
        list(api.stream("customers").pages({"lastModifiedDate": "2025-01-01"}))
    with pytest.raises(InvalidParameters, match="pageSize"):
        list(api.stream("customers").pages({"pageSize": 5}))
    with pytest.raises(InvalidParameters):
        list(api.stream("journal_transactions").pages({"lastModifiedDateTimeCondition": ">"}))
    assert not [c for c in mocked.calls if c.request.url.startswith(API)]


def test_required_parameters_and_conditions():
    stream = STREAMS["gl_balances"](lambda path, params: None)
    with pytest.raises(InvalidParameters, match="needs one of"):
        stream.build_params({"ledger": "ACTUAL"})
    assert stream.build_params({"periodId": "202501"}) == {"periodId": "202501"}
    customers_stream = STREAMS["customers"](lambda path, params: None)
    with pytest.raises(InvalidParameters, match="must be one of"):
        customers_stream.build_params(
            {"lastModifiedDateTime": "2025-01-01", "lastModifiedDateTimeCondition": "=>"}
        )


def test_since_uses_cursor_and_condition(api, mocked):
    paged_endpoint(mocked, CUSTOMERS, customers(3))
    since = dt.datetime(2025, 3, 4, 5, 6, 7, 891234, tzinfo=dt.UTC)
    list(api.stream("customers").pages(since=since))
    (call,) = api_calls(mocked, CUSTOMERS)
    assert query(call)["lastModifiedDateTime"] == "2025-03-04T05:06:07.891"
    assert query(call)["lastModifiedDateTimeCondition"] == ">="
    assert "lastModifiedDateTimeCondition=%3E%3D" in call.request.url


def test_journal_since_has_no_condition_param(api, mocked):
    journal_endpoint(mocked, make_batches([2]))
    list(api.stream("journal_transactions").pages(since=dt.datetime(2025, 1, 1)))
    (call,) = api_calls(mocked, JOURNAL)
    assert query(call)["lastModifiedDateTime"] == "2025-01-01T00:00:00.000"
    assert "lastModifiedDateTimeCondition" not in query(call)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.datetime(2025, 1, 2, 3, 4, 5, 678999), "2025-01-02T03:04:05.678"),
        (
            dt.datetime(2025, 6, 1, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2025-06-01T00:00:00.000",
        ),
        (dt.date(2025, 1, 31), "2025-01-31"),
        ("2025-01-02 03:04:05.6", "2025-01-02 03:04:05.6"),
    ],
)
def test_format_datetime(value, expected):
    assert format_datetime(value) == expected


@pytest.mark.parametrize("bad", ["2025-01-02T03:04:05Z", "2025-01-02T03:04:05+01:00", "yesterday"])
def test_format_datetime_refuses_zones_and_garbage(bad):
    with pytest.raises(InvalidParameters):
        format_datetime(bad)


@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1)))
def test_format_datetime_shape(value):
    text = format_datetime(value)
    assert len(text) == 23 and text[10] == "T" and not text.endswith("Z")
    assert dt.datetime.fromisoformat(text) == value.replace(
        microsecond=value.microsecond // 1000 * 1000
    )


# -- prefetching -----------------------------------------------------------------------------


def test_prefetch_yields_same_pages(api, mocked):
    paged_endpoint(mocked, CUSTOMERS, customers(3500))
    plain = list(api.stream("customers").pages())
    ahead = list(api.stream("customers").pages(prefetch=2))
    assert ahead == plain


def test_prefetch_surfaces_errors_in_the_caller():
    def pages():
        yield [1]
        raise MalformedResponse("broken page")

    it = prefetched(pages(), 1)
    assert next(it) == [1]
    with pytest.raises(MalformedResponse, match="broken page"):
        next(it)


@pytest.mark.parametrize("let_go", ["close", "drop"])
def test_prefetch_starts_at_once_and_stops_when_let_go(let_go):
    produced = []

    def pages():
        for n in range(1000):
            produced.append(n)
            yield [n]

    it = prefetched(pages(), 1)
    deadline = time.monotonic() + 5
    while not produced and time.monotonic() < deadline:  # fetching before the first read
        time.sleep(0.01)
    assert produced
    assert next(it) == [0]
    if let_go == "close":
        it.close()
    else:
        del it
    time.sleep(0.3)
    count = len(produced)
    time.sleep(0.3)
    assert len(produced) == count <= 4
