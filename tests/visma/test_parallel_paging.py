"""Parallel page fetch: the same records as sequential paging, in order, with at most
``concurrency`` calls in flight, faults retried midway, and never past the rate budget."""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from app.visma.errors import MalformedResponse, VismaUnavailable

from .conftest import API, TENANT, add_service_token, with_metadata
from .test_visma_streams import make_batches

CUSTOMERS = f"{API}/v1/customer"
JOURNAL = f"{API}/v2/journaltransaction"


class FakeVisma:
    """Serves customers and line-paged journal batches like Visma (metadata on every record),
    counts calls in flight, answers scripted faults once per page, and can enforce a rate
    limit on the test's fake clock."""

    def __init__(self, clock, *, customers=(), batches=(), max_page_size=1000,
                 metadata=True, limit=None, window=60.0, faults=None):
        self.clock = clock
        self.customers = list(customers)
        self.lines = [(b, line) for b in batches for line in b["journalTransactionLines"]]
        self.max_page_size = max_page_size
        self.metadata = metadata
        self.limit, self.window = limit, window
        self.window_start, self.used = clock(), 0
        self.faults = dict(faults or {})  # (path, pageNumber) -> status, answered once
        self.broken: set[tuple[str, int]] = set()  # (path, pageNumber) answering 500 for good
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0
        self.pages_asked: list[int] = []
        self.asked: list[tuple[str, int]] = []
        self.throttled = 0
        self.held: dict[tuple[str, int], threading.Event] = {}  # answered once the event is set

    def mount(self, rsps) -> None:
        rsps.add_callback(responses.GET, CUSTOMERS, callback=self.answer)
        rsps.add_callback(responses.GET, JOURNAL, callback=self.answer)

    def _rate(self) -> tuple[dict, bool]:
        if self.limit is None:
            return {}, True
        now = self.clock()
        if now >= self.window_start + self.window:
            self.window_start, self.used = now, 0
        reset = max(1, round(self.window_start + self.window - now))
        if self.used >= self.limit:
            return {"Retry-After": str(reset)}, False
        self.used += 1
        return {"X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.limit - self.used),
                "X-RateLimit-Reset": str(reset)}, True

    def answer(self, request):
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        path = urlparse(request.url).path
        number = int(query["pageNumber"])
        size = min(int(query["pageSize"]), self.max_page_size)
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.pages_asked.append(number)
            self.asked.append((path, number))
            headers, allowed = self._rate()
            fault = self.faults.pop((path, number), None)
            retry_after = "1"
            if isinstance(fault, tuple):  # (429, Retry-After)
                fault, retry_after = fault
            if (path, number) in self.broken:
                fault = 500
        try:
            time.sleep(0.01)  # long enough for the other threads' calls to overlap this one
            if (path, number) in self.held:
                assert self.held[(path, number)].wait(timeout=30)
            if not allowed:
                self.throttled += 1
                return 429, headers, json.dumps({"message": "Rate limit is exceeded."})
            if fault == 429:
                return 429, {"Retry-After": retry_after}, json.dumps({"message": "Rate limit"})
            if fault is not None:
                return fault, {}, json.dumps({"message": "An error has occurred."})
            body = (self._journal_page(number, size) if path.endswith("journaltransaction")
                    else self._customer_page(number, size))
            return 200, headers, json.dumps(body)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _customer_page(self, number, size):
        chunk = self.customers[(number - 1) * size: number * size]
        if not self.metadata:
            return chunk
        return with_metadata(chunk, len(self.customers), self.max_page_size)

    def _journal_page(self, number, size):
        page = []
        for batch, line in self.lines[(number - 1) * size: number * size]:
            if not page or page[-1]["batchNumber"] != batch["batchNumber"]:
                header = {k: v for k, v in batch.items() if k != "journalTransactionLines"}
                if self.metadata:
                    header["metadata"] = {"totalCount": len(self.lines),
                                          "maxPageSize": self.max_page_size}
                page.append(dict(header, journalTransactionLines=[]))
            page[-1]["journalTransactionLines"].append(line)
        return page


def customers(n):
    return [{"internalId": i, "number": f"{10000 + i}", "name": f"Kunde {i}"} for i in range(n)]


def numbers(records):
    return [record["number"] for record in records]


BATCHES = make_batches([3, 7, 1, 12, 4, 9, 2, 2, 6, 5, 11, 1, 3])  # 66 lines


@pytest.fixture
def api(visma, mocked):
    add_service_token(mocked)
    return visma.tenant_api(TENANT, concurrency=4)


def read(api, stream, concurrency, params=None):
    return [record for page in api.stream(stream).pages(params, concurrency=concurrency)
            for record in page]


@pytest.mark.parametrize("prefetch", [0, 2])
def test_journal_in_parallel_equals_sequential(api, mocked, fake_time, prefetch):
    server = FakeVisma(fake_time, batches=BATCHES, max_page_size=5)  # 14 pages of lines
    server.mount(mocked)
    sequential = read(api, "journal_transactions", 1, {"periodId": "202501"})
    assert server.most_in_flight == 1
    server.pages_asked.clear()
    parallel = [b for page in api.stream("journal_transactions").pages(
        {"periodId": "202501"}, concurrency=4, prefetch=prefetch) for b in page]
    assert parallel == sequential
    assert [b["batchNumber"] for b in parallel] == [b["batchNumber"] for b in BATCHES]
    for mine, theirs in zip(parallel, BATCHES, strict=True):  # split batches merged whole
        assert mine["journalTransactionLines"] == theirs["journalTransactionLines"]
    assert sorted(server.pages_asked) == list(range(1, 15))
    assert server.most_in_flight == 4


@pytest.mark.parametrize("fault", [429, 500, 503])
def test_a_fault_midway_is_retried_and_the_rows_are_the_same(api, mocked, fake_time, fault):
    server = FakeVisma(fake_time, customers=customers(100), batches=BATCHES, max_page_size=5)
    server.mount(mocked)
    expected_customers = read(api, "customers", 1)
    expected_journal = read(api, "journal_transactions", 1, {"periodId": "202501"})
    faulty = [("/v1/customer", 11), ("/v2/journaltransaction", 6), ("/v2/journaltransaction", 7)]
    server.faults = dict.fromkeys(faulty, fault)
    server.asked.clear()
    assert read(api, "customers", 4) == expected_customers
    assert read(api, "journal_transactions", 4, {"periodId": "202501"}) == expected_journal
    assert not server.faults  # every scripted fault was answered, then retried
    assert all(server.asked.count(page) == 2 for page in faulty)
    assert server.asked.count(("/v1/customer", 12)) == 1


def test_a_page_failing_for_good_fails_the_read(api, mocked, fake_time):
    server = FakeVisma(fake_time, customers=customers(50), max_page_size=5)
    server.mount(mocked)
    server.broken = {("/v1/customer", 4)}
    got = []
    with pytest.raises(VismaUnavailable):
        for page in api.stream("customers").pages(concurrency=4):
            got.extend(page)
    assert numbers(got) == numbers(customers(15))  # pages 1-3, in order; nothing after 4
    assert server.pages_asked.count(4) == 4  # RetryPolicy(max_attempts=4)


def test_without_metadata_paging_is_sequential(api, mocked, fake_time):
    server = FakeVisma(fake_time, customers=customers(2300), metadata=False)
    server.mount(mocked)
    assert read(api, "customers", 4) == customers(2300)
    assert server.most_in_flight == 1
    assert server.pages_asked == [1, 2, 3]  # the short third page ends the read


def test_total_count_changing_midway_fails_in_parallel_too(api, mocked, fake_time):
    server = FakeVisma(fake_time, customers=customers(40), max_page_size=5)
    server.mount(mocked)
    pages = api.stream("customers").pages(concurrency=4)
    next(pages)
    server.customers.append({"internalId": 99, "number": "19999", "name": "Ny"})
    with pytest.raises(MalformedResponse, match="totalCount changed"):
        list(pages)


def test_parallel_fetch_never_spends_past_the_rate_budget(api, mocked, fake_time):
    """Visma allows 12 calls a minute here: the 40 pages wait for the window to reset (on the
    fake clock) instead of running into 429s, even with 4 calls in flight."""
    server = FakeVisma(fake_time, customers=customers(200), max_page_size=5, limit=12)
    server.mount(mocked)
    assert numbers(read(api, "customers", 4)) == numbers(customers(200))
    assert server.throttled == 0
    assert api.rate_limit.throttled == 0
    assert fake_time.now - 1_800_000_000.0 >= 3 * 60  # 40 calls: three windows waited out


def test_streams_read_at_once_share_the_tenants_calls_in_flight(api, mocked, fake_time):
    server = FakeVisma(fake_time, customers=customers(100), batches=BATCHES, max_page_size=5)
    server.mount(mocked)
    journal = api.stream("journal_transactions").pages({"periodId": "202501"}, prefetch=2,
                                                       concurrency=4)
    parties = api.stream("customers").pages(prefetch=2, concurrency=4)  # both fetching now
    assert numbers(r for page in parties for r in page) == numbers(customers(100))
    assert [b["batchNumber"] for page in journal for b in page] == [
        b["batchNumber"] for b in BATCHES]
    assert server.most_in_flight == 4


def test_a_tenant_api_without_concurrency_fetches_one_page_at_a_time(visma, mocked, fake_time):
    add_service_token(mocked)
    server = FakeVisma(fake_time, customers=customers(100), max_page_size=5)
    server.mount(mocked)
    assert read(visma.tenant_api(TENANT), "customers", 4) == read(
        visma.tenant_api(TENANT), "customers", 1)
    assert server.most_in_flight == 1


def test_a_slow_page_holds_up_only_its_own_slot(api, mocked, fake_time):
    """While page 2 takes long, the other three calls in flight go on with the pages after
    it, up to twice the concurrency ahead of the page the reader waits for, and no further."""
    server = FakeVisma(fake_time, customers=customers(100), max_page_size=5)  # 20 pages
    server.mount(mocked)
    slow = server.held[("/v1/customer", 2)] = threading.Event()
    got: list = []
    reader = threading.Thread(target=lambda: got.extend(read(api, "customers", 4)))
    reader.start()
    try:
        deadline = time.monotonic() + 10
        while 9 not in server.pages_asked and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # room for a page beyond the window to be asked, were it allowed
        assert sorted(server.pages_asked) == list(range(1, 10))  # page 2 + 7 after it
        assert server.most_in_flight == 4
    finally:
        slow.set()
        reader.join(timeout=30)
    assert numbers(got) == numbers(customers(100))


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_rate_limit_wait_in_a_fetching_thread_is_told_in_the_reading_thread(
        make_client, mocked, fake_time, concurrency):
    """A run shows Visma's rate-limit waits however its pages are fetched: a long wait met by
    a prefetch or page thread reaches the listener of the thread that reads the stream, in
    that thread (whose listener writes the run's status in its own database session), once
    when it begins and once when it ends."""
    from app.visma.http import on_throttle_wait

    def sleep(seconds):
        fake_time.sleep(seconds)
        time.sleep(0.6)  # the wait lasts while the reader waits for its next page

    add_service_token(mocked)
    api = make_client(sleep=sleep).tenant_api(TENANT, concurrency=4)
    server = FakeVisma(fake_time, customers=customers(40), max_page_size=5)
    server.mount(mocked)
    server.faults = {("/v1/customer", 3): (429, "30")}
    reader, heard = threading.current_thread(), []
    with on_throttle_wait(lambda s: heard.append((s, threading.current_thread() is reader))):
        pages = api.stream("customers").pages(prefetch=2, concurrency=concurrency)
        assert numbers(record for page in pages for record in page) == numbers(customers(40))
    assert not server.faults  # the 429 was answered, waited out and retried
    assert [(seconds >= 30, here) for seconds, here in heard] == [(True, True), (False, True)]
    assert heard[-1][0] == 0
