"""Declarative Visma.net streams (Singer-SDK style): path, key, cursor, paginator, params.

A stream yields *pages* (lists of records) so the consumer can write page by page with flat
memory. Paging follows the real API: ``pageNumber``/``pageSize`` always sent, ``pageSize``
clamped to ``metadata.maxPageSize``, end on an empty page or ``pageNumber * pageSize >=
totalCount``, and a short page that is not the last one is an error, never a silent truncation.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar, TypeVar

from .errors import MalformedResponse
from .http import adopt_throttle_listener, current_throttle_listener, tell

log = logging.getLogger(__name__)

Record = dict[str, Any]
Page = list[Record]
Fetch = Callable[[str, Mapping[str, Any]], Any]
"""``fetch(path, params) -> JSON``: how a stream reaches the API (TenantApi.get)."""

T = TypeVar("T")

CONDITIONS = frozenset({">", "<", ">=", "<="})
_VISMA_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}:\d{2}(\.\d{1,3})?)?$")


class InvalidParameters(ValueError):
    """A stream was asked for a parameter it does not declare (Visma would silently ignore it)."""


def format_datetime(value: dt.datetime | dt.date | str) -> str:
    """A ``lastModifiedDateTime`` value as Visma wants it: ``yyyy-MM-ddTHH:mm:ss.fff``, UTC.

    Aware datetimes are converted to UTC, naive ones are taken as UTC; no ``Z`` or offset is
    ever sent. Strings must already be in one of Visma's accepted formats.
    """
    if isinstance(value, str):
        if not _VISMA_DATETIME.match(value):
            raise InvalidParameters(
                f"{value!r} is not yyyy-MM-dd[THH:mm:ss[.fff]] (no Z or offset allowed)"
            )
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    raise InvalidParameters(f"cannot format {value!r} as a Visma date-time")


def parse_datetime(value: str | None) -> dt.datetime | None:
    """A Visma timestamp as a naive UTC datetime (offsets converted, ``Z`` accepted)."""
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def dig(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``"account.number"``), or None."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


# -- paginators --------------------------------------------------------------------------------


class Paginator:
    """How a stream's pages are requested and where they end."""

    paging_params: ClassVar[frozenset[str]] = frozenset()

    def pages(self, stream: Stream, params: dict[str, Any]) -> Iterator[Page]:
        """The stream's pages for ``params`` (the paging parameters are the paginator's)."""
        raise NotImplementedError


def _as_page(data: Any, path: str) -> Page:
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise MalformedResponse(f"{path}: expected a JSON array of objects")
    return data


class Unpaged(Paginator):
    """A bare array in one answer (accounts, periods); a ``totalCount`` above it is truncation."""

    def pages(self, stream: Stream, params: dict[str, Any]) -> Iterator[Page]:
        """The one answer as one page (none when it is empty)."""
        page = _as_page(stream.fetch(stream.path, params), stream.path)
        total = _metadata(page).get("totalCount")
        if isinstance(total, int) and total > stream.count_items(page):
            raise MalformedResponse(
                f"{stream.path}: got {stream.count_items(page)} of totalCount {total} rows"
            )
        if page:
            yield page


def _metadata(page: Page) -> dict[str, Any]:
    meta = page[0].get("metadata") if page else None
    return meta if isinstance(meta, dict) else {}


class PageNumberPaginator(Paginator):
    """``pageNumber``/``pageSize`` paging with ``metadata.totalCount`` and ``maxPageSize``."""

    paging_params = frozenset({"pageNumber", "pageSize"})

    def __init__(self, *, refetch_short_page: bool = True) -> None:
        self.refetch_short_page = refetch_short_page

    def pages(self, stream: Stream, params: dict[str, Any]) -> Iterator[Page]:
        """Page 1, 2, … until ``totalCount`` is reached or a page comes back empty or short."""
        size = stream.page_size
        number = 1
        first_total: int | None = None
        while True:
            page, total, size = self._fetch(stream, params, number, size)
            count = stream.count_items(page)
            if not page:
                return
            if first_total is None:
                first_total = total
            elif total is not None and total != first_total:
                # Offset paging over data that changed: rows may have shifted between pages.
                raise MalformedResponse(
                    f"{stream.path}: totalCount changed from {first_total} to {total} while "
                    "paging; the data changed during the read, run it again"
                )
            last = total is not None and number * size >= total
            if count < size and not last:
                if total is None:  # no metadata: a short page can only be the last one
                    yield page
                    return
                if self.refetch_short_page:
                    log.warning(
                        "%s page %d short (%d < %d); fetching again",
                        stream.path,
                        number,
                        count,
                        size,
                    )
                    page, total, size = self._fetch(stream, params, number, size)
                    count = stream.count_items(page)
                    last = total is not None and number * size >= total
                if count < size and not last:
                    raise MalformedResponse(
                        f"{stream.path}: page {number} has {count} rows of {size}, "
                        f"but totalCount {total} says more follow"
                    )
            yield page
            if last or count < size:
                return
            if number == 1 and total is not None and stream.concurrency > 1:
                yield from self._in_parallel(stream, params, size, total)
                return
            number += 1

    def _in_parallel(
        self, stream: Stream, params: dict[str, Any], size: int, total: int
    ) -> Iterator[Page]:
        """Pages 2… of a stream whose first page gave ``totalCount``: up to
        ``stream.concurrency`` requests in flight, yielded in page order (merging journal
        batches across pages needs that order). The checks are the sequential loop's: every
        page but the last full (a short one fetched once more), ``totalCount`` unchanged.

        Pages are requested up to twice ``concurrency`` ahead of the one yielded next, so a
        slow page holds up only its own slot: the others go on with the pages after it."""
        last_number = -(-total // size)
        numbers = iter(range(2, last_number + 1))
        pool = ThreadPoolExecutor(max_workers=stream.concurrency, thread_name_prefix="visma-page",
                                  initializer=adopt_throttle_listener,
                                  initargs=(current_throttle_listener(),))
        pending: deque[tuple[int, Future]] = deque()

        def submit() -> None:
            number = next(numbers, None)
            if number is not None:
                pending.append((number, pool.submit(self._fetch, stream, params, number, size)))

        try:
            for _ in range(2 * stream.concurrency):
                submit()
            while pending:
                number, future = pending.popleft()
                page, page_total, _ = future.result()
                submit()
                if number < last_number and stream.count_items(page) < size:
                    if self.refetch_short_page:
                        log.warning("%s page %d short; fetching again", stream.path, number)
                        page, page_total, _ = self._fetch(stream, params, number, size)
                    if stream.count_items(page) < size:
                        raise MalformedResponse(
                            f"{stream.path}: page {number} has {stream.count_items(page)} rows "
                            f"of {size}, but totalCount {total} says more follow"
                        )
                if page_total is not None and page_total != total:
                    raise MalformedResponse(
                        f"{stream.path}: totalCount changed from {total} to {page_total} while "
                        "paging; the data changed during the read, run it again"
                    )
                if page:
                    yield page
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _fetch(
        stream: Stream, params: dict[str, Any], number: int, size: int
    ) -> tuple[Page, int | None, int]:
        page = _as_page(
            stream.fetch(stream.path, {**params, "pageNumber": number, "pageSize": size}),
            stream.path,
        )
        meta = _metadata(page)
        total = meta.get("totalCount")
        max_size = meta.get("maxPageSize")
        if isinstance(max_size, int) and 0 < max_size < size:
            if number != 1:
                raise MalformedResponse(
                    f"{stream.path}: maxPageSize changed to {max_size} while paging at {size}"
                )
            size = max_size  # page 1 was clamped; ask for exactly this from now on
        count = stream.count_items(page)
        if count > size:
            raise MalformedResponse(
                f"{stream.path}: page {number} has {count} rows, more than pageSize {size}"
            )
        return page, total if isinstance(total, int) else None, size


# -- streams -----------------------------------------------------------------------------------


class Stream:
    """One Visma.net data set, declared by class attributes."""

    name: ClassVar[str]
    path: ClassVar[str]
    primary_keys: ClassVar[tuple[str, ...]]
    replication_key: ClassVar[str | None] = None
    """The record field holding the incremental cursor (``lastModifiedDateTime``)."""
    cursor_param: ClassVar[str | None] = None
    """The query parameter filtering on the cursor."""
    condition_param: ClassVar[str | None] = None
    """The companion comparison parameter (``lastModifiedDateTimeCondition``) when supported."""
    paginator: ClassVar[Paginator] = PageNumberPaginator()
    page_size: ClassVar[int] = 1000
    params: ClassVar[frozenset[str]] = frozenset()
    """The filter parameters this endpoint understands; anything else is refused locally."""
    datetime_params: ClassVar[frozenset[str]] = frozenset({"lastModifiedDateTime"})
    required_one_of: ClassVar[frozenset[str]] = frozenset()
    """When set, at least one of these parameters must be given."""
    required: ClassVar[frozenset[str]] = frozenset()
    """Parameters Visma marks required (it answers 400 without them)."""

    concurrency: int = 1
    """Pages of a paged stream in flight at once once the first page told ``totalCount``."""

    def __init__(self, fetch: Fetch) -> None:
        self.fetch = fetch

    # -- parameters ---------------------------------------------------------------------

    def build_params(
        self, params: Mapping[str, Any] | None = None, *, since: dt.datetime | None = None
    ) -> dict[str, Any]:
        """Validated, formatted query parameters (paging parameters are the paginator's)."""
        result = dict(params or {})
        if since is not None:
            if self.cursor_param is None:
                raise InvalidParameters(f"stream {self.name} has no incremental cursor")
            result[self.cursor_param] = since
            if self.condition_param:
                result.setdefault(self.condition_param, ">=")
        unknown = set(result) - self.params
        if unknown:
            raise InvalidParameters(
                f"stream {self.name} does not accept {sorted(unknown)}; "
                f"allowed: {sorted(self.params)}"
            )
        for name in self.datetime_params & set(result):
            result[name] = format_datetime(result[name])
        if self.condition_param and self.condition_param in result:
            if result[self.condition_param] not in CONDITIONS:
                raise InvalidParameters(
                    f"{self.condition_param} must be one of {sorted(CONDITIONS)}"
                )
            if self.cursor_param not in result:
                raise InvalidParameters(f"{self.condition_param} without {self.cursor_param}")
        if self.required_one_of and not self.required_one_of & set(result):
            raise InvalidParameters(
                f"stream {self.name} needs one of {sorted(self.required_one_of)}"
            )
        missing = self.required - {k for k, v in result.items() if v is not None}
        if missing:
            raise InvalidParameters(f"stream {self.name} needs {sorted(missing)}")
        return {key: value for key, value in result.items() if value is not None}

    # -- reading ------------------------------------------------------------------------

    def count_items(self, page: Page) -> int:
        """What ``pageSize``/``totalCount`` count on this endpoint (records, or lines)."""
        return len(page)

    def pages(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        since: dt.datetime | None = None,
        prefetch: int = 0,
        concurrency: int = 1,
    ) -> Iterator[Page]:
        """Yield the stream's records page by page.

        ``since`` filters on the cursor (``>=``, so the caller's look-back overlap works);
        ``prefetch=n`` fetches up to ``n`` pages ahead in a background thread, starting now
        (close the result if it may not be read to its end); ``concurrency=n`` fetches
        up to ``n`` pages at once once the first page told how many there are (still yielded
        in order; sequential when the API sends no ``metadata``).
        """
        self.concurrency = max(1, concurrency)
        query = self.build_params(params, since=since)
        pages = self.post_process(self.paginator.pages(self, query))
        if prefetch:
            return prefetched(pages, prefetch)
        return pages

    def post_process(self, pages: Iterator[Page]) -> Iterator[Page]:
        """Hook for streams whose records need reshaping across pages."""
        return pages


    def key(self, record: Mapping[str, Any]) -> tuple[Any, ...]:
        """The record's natural key (values at ``primary_keys``)."""
        return tuple(dig(record, path) for path in self.primary_keys)


class OrganizationStream(Stream):
    """``/v1/organization``: a JSON array of the tenant's organizations (usually one)."""

    name = "organization"
    path = "/v1/organization"
    primary_keys = ("corporateId",)
    paginator = Unpaged()
    datetime_params = frozenset()


class AccountsStream(Stream):
    """``/v1/account``: the chart of accounts, in one answer."""

    name = "accounts"
    path = "/v1/account"
    primary_keys = ("accountCD",)
    replication_key = cursor_param = "lastModifiedDateTime"
    condition_param = "lastModifiedDateTimeCondition"
    paginator = Unpaged()
    params = frozenset({"lastModifiedDateTime", "lastModifiedDateTimeCondition"})


class FinancialPeriodsStream(Stream):
    """``/v1/financialPeriod``: the company's financial periods, in one answer."""

    name = "financial_periods"
    path = "/v1/financialPeriod"
    primary_keys = ("period",)
    paginator = Unpaged()
    params = frozenset({"greaterThanValue"})
    datetime_params = frozenset()


class GeneralLedgerBalancesStream(Stream):
    """``/v2/generalLedgerBalance``: balances per period, account, subaccount, branch and ledger."""

    name = "gl_balances"
    path = "/v2/generalLedgerBalance"
    primary_keys = ("financialPeriod", "account.number", "subAccountCd", "branch.number",
                    "ledger.id")
    replication_key = cursor_param = "lastModifiedDateTime"
    params = frozenset({"periodId", "lastModifiedDateTime", "ledger", "branch", "account",
                        "subaccount"})
    required_one_of = frozenset({"periodId", "lastModifiedDateTime"})


class JournalTransactionsStream(Stream):
    """Journal batches. Visma pages by *lines*, so one batch may be split across pages: the
    parts are merged by (module, batchNumber) and every batch is yielded once, complete."""

    name = "journal_transactions"
    path = "/v2/journaltransaction"
    primary_keys = ("module", "batchNumber")
    replication_key = cursor_param = "lastModifiedDateTime"
    params = frozenset({"periodId", "lastModifiedDateTime", "module", "status"})
    required_one_of = frozenset({"periodId", "lastModifiedDateTime"})
    lines_field = "journalTransactionLines"

    def count_items(self, page: Page) -> int:
        """Lines, not batches: Visma pages this endpoint by line."""
        return sum(len(batch.get(self.lines_field) or ()) for batch in page)

    def post_process(self, pages: Iterator[Page]) -> Iterator[Page]:
        """Batches split across pages merged back (``merge_batches``)."""
        return merge_batches(pages, key=self.key, lines_field=self.lines_field)


def merge_batches(
    pages: Iterable[Page],
    *,
    key: Callable[[Mapping[str, Any]], tuple[Any, ...]],
    lines_field: str = "journalTransactionLines",
) -> Iterator[Page]:
    """Re-assemble batches split across line-based pages; yield each batch once, whole.

    The last batch of every page is held back until the next page shows whether it continues.
    A batch reappearing after another batch started means the API's order is broken: raise.
    """
    pending: Record | None = None
    pending_key: tuple[Any, ...] | None = None
    pending_lines: set[Any] = set()
    done: set[tuple[Any, ...]] = set()
    for page in pages:
        out: Page = []
        for batch in page:
            batch_key = key(batch)
            lines = batch.get(lines_field) or []
            if pending is not None and batch_key == pending_key:
                for line in lines:  # a continuation; skip lines a shifting page repeated
                    number = line.get("lineNumber")
                    if number is None or number not in pending_lines:
                        pending[lines_field].append(line)
                        pending_lines.add(number)
                continue
            if pending is not None:
                out.append(pending)
                done.add(pending_key)  # type: ignore[arg-type]
            if batch_key in done:
                raise MalformedResponse(
                    f"journal batch {batch_key} appeared again after other batches"
                )
            pending, pending_key = dict(batch), batch_key
            pending[lines_field] = list(lines)
            pending_lines = {line.get("lineNumber") for line in lines}
        if out:
            yield out
    if pending is not None:
        yield [pending]


class CustomersStream(Stream):
    """``/v1/customer``: the customer register."""

    name = "customers"
    path = "/v1/customer"
    primary_keys = ("number",)
    replication_key = cursor_param = "lastModifiedDateTime"
    condition_param = "lastModifiedDateTimeCondition"
    params = frozenset({"lastModifiedDateTime", "lastModifiedDateTimeCondition", "status"})


class SuppliersStream(CustomersStream):
    """``/v1/supplier``: the supplier register."""

    name = "suppliers"
    path = "/v1/supplier"


class CustomerBalancesStream(Stream):
    """Balances per customer and branch over a range of financial periods. Visma requires
    the range and declares no ``metadata`` on these rows: a short page ends the data."""

    name = "customer_balances"
    path = "/v2/customer/balance"
    primary_keys = ("customer.number", "branchNumber.number")
    params = frozenset({"fromFinPeriod", "toFinPeriod", "branchNumber", "customer"})
    required = frozenset({"fromFinPeriod", "toFinPeriod"})
    datetime_params = frozenset()


class SupplierBalancesStream(CustomerBalancesStream):
    """``/v2/supplier/balance``: as customer balances; the branch comes as text."""

    name = "supplier_balances"
    path = "/v2/supplier/balance"
    primary_keys = ("supplier.number", "branch")
    params = frozenset({"fromFinPeriod", "toFinPeriod", "branch", "supplier"})


STREAMS: dict[str, type[Stream]] = {
    cls.name: cls
    for cls in (
        OrganizationStream,
        AccountsStream,
        FinancialPeriodsStream,
        GeneralLedgerBalancesStream,
        JournalTransactionsStream,
        CustomersStream,
        SuppliersStream,
        CustomerBalancesStream,
        SupplierBalancesStream,
    )
}


# -- prefetching ---------------------------------------------------------------------------


_DONE = object()


class prefetched(Iterator[T]):  # noqa: N801 - used like the function it replaced
    """Iterate ``items`` in a background thread, at most ``depth`` items ahead of the caller.

    The thread starts at once, so several streams can be set fetching before the first is
    read. Lets page n+1 download while the caller writes page n. Errors surface in the caller
    at the point they occurred; ``close`` (also at the end, on an error, or when the iterator
    is dropped) stops the producer after its current item.
    """

    def __init__(self, items: Iterable[T], depth: int = 1) -> None:
        self._slots: queue.Queue[tuple[object, Any]] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        listener = current_throttle_listener()
        self._relay = ThrottleRelay(listener) if listener is not None else None
        # the thread holds no reference to this object, so dropping it stops the thread
        self._worker = threading.Thread(target=_produce, name="visma-prefetch", daemon=True,
                                        args=(items, self._slots, self._stop, self._relay))
        self._worker.start()

    def __next__(self) -> T:
        if self._stop.is_set():
            raise StopIteration
        while True:
            try:
                kind, value = self._slots.get(timeout=RELAY_SECONDS if self._relay else None)
                break
            except queue.Empty:  # still waiting: perhaps for Visma's rate limit, say so
                self._relay.deliver()  # type: ignore[union-attr]
        if self._relay is not None:
            self._relay.deliver()
        if kind is _DONE:
            self.close()
            raise StopIteration
        if kind == "error":
            self.close()
            raise value
        return value

    def close(self) -> None:
        """Stop the fetching thread after its current page (closing early is fine)."""
        self._stop.set()
        if self._worker is not threading.current_thread():
            self._worker.join(timeout=10)

    def __del__(self) -> None:
        self._stop.set()


RELAY_SECONDS = 0.25
"""How often a consumer waiting for a page passes on the fetching threads' rate-limit waits."""


class ThrottleRelay:
    """Rate-limit waits met in fetching threads, told to the consuming thread's listener from
    the consuming thread itself (a run's listener writes the run's status in that thread's
    database session): once when the first wait starts, with ``0`` when the last one ends."""

    def __init__(self, listener: Callable[[float], None]) -> None:
        self.listener = listener
        self._lock = threading.Lock()
        self._waiting = 0
        self._longest = 0.0
        self._told = False

    def __call__(self, seconds: float) -> None:
        """A fetching thread's wait begins (``seconds``) or ends (``0``)."""
        with self._lock:
            if seconds > 0:
                self._waiting += 1
                self._longest = max(self._longest, seconds)
            else:
                self._waiting = max(0, self._waiting - 1)

    def deliver(self) -> None:
        """In the consuming thread: tell the listener what changed since it was last told."""
        with self._lock:
            waiting, longest = self._waiting, self._longest
            if not waiting:
                self._longest = 0.0
        if waiting and not self._told:
            self._told = True
            tell(self.listener, longest)
        elif not waiting and self._told:
            self._told = False
            tell(self.listener, 0.0)


def _produce(items: Iterable[T], slots: queue.Queue, stop: threading.Event,
             relay: ThrottleRelay | None = None) -> None:
    adopt_throttle_listener(relay)
    def put(item: tuple[object, Any]) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    iterator = iter(items)
    try:
        for item in iterator:
            if not put(("item", item)):
                return
        put((_DONE, None))
    except BaseException as exc:  # handed to the consumer, re-raised there
        put(("error", exc))
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
