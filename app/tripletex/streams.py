"""Declarative Tripletex streams: path, key, fields, required date range, paging.

Paging follows Tripletex, not a total: ``from``/``count`` until a page holds fewer than
``count`` rows (``fullResultSize`` is deprecated and not exact, so it is never read). An exact
multiple therefore costs one more, empty, page. Rows are pinned to ``sorting=id`` so offsets
stay stable. Date ranges are ``dateFrom`` inclusive, ``dateTo`` **exclusive**.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, ClassVar

from .errors import MalformedResponse

Record = dict[str, Any]
Page = list[Record]
Fetch = Callable[[str, Mapping[str, Any]], Any]
"""``fetch(path, params) -> JSON`` for one company (``CompanyApi.get``)."""

MAX_COUNT = 10000  # Tripletex rejects a larger count


class InvalidParameters(ValueError):
    """A stream was asked for a parameter it does not declare, or lacks a required one."""


def format_date(value: dt.date | str) -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    dt.date.fromisoformat(value)  # refuse anything that is not yyyy-MM-dd
    return value


def format_changed_since(value: dt.datetime) -> str:
    """``changedSince`` as ``YYYY-MM-DDThh:mm:ssZ`` in UTC (the form seen working; the spec only
    says "date and time"). Naive datetimes are taken as UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def exclusive_range(first: dt.date, last: dt.date) -> dict[str, str]:
    """``dateFrom``/``dateTo`` covering ``first``..``last`` inclusive (``dateTo`` is exclusive)."""
    return {"dateFrom": first.isoformat(), "dateTo": (last + dt.timedelta(days=1)).isoformat()}


def month_windows(date_from: dt.date, date_to: dt.date) -> Iterator[tuple[dt.date, dt.date]]:
    """Calendar months ``[start, next start)`` covering ``[date_from, date_to)``."""
    start = date_from.replace(day=1)
    while start < date_to:
        following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        yield max(start, date_from), min(following, date_to)
        start = following


def amount(value: Any) -> Decimal:
    """A Tripletex money number (``100``, ``-100.5``) as an exact Decimal; debit is positive."""
    if value in (None, ""):
        return Decimal("0")
    if isinstance(value, bool):
        raise MalformedResponse(f"beløp {value!r} er ikke et tall")
    return Decimal(str(value))


def dig(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def values_of(data: Any, path: str) -> Page:
    """The ``values`` of a list envelope, checked."""
    values = data.get("values") if isinstance(data, dict) else None
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        raise MalformedResponse(f"{path}: svaret mangler en liste 'values'")
    return values


def value_of(data: Any, path: str) -> Record:
    """The ``value`` of a single-object envelope, checked."""
    value = data.get("value") if isinstance(data, dict) else None
    if not isinstance(value, dict):
        raise MalformedResponse(f"{path}: svaret mangler 'value'")
    return value


class Stream:
    """One Tripletex list endpoint, declared by class attributes."""

    name: ClassVar[str]
    path: ClassVar[str]
    primary_key: ClassVar[str] = "id"
    sorting: ClassVar[str] = "id"
    """Pinned so offsets stay stable while paging (the default order is undocumented)."""
    params: ClassVar[frozenset[str]] = frozenset()
    """Filters this endpoint understands; anything else is refused locally."""
    required: ClassVar[frozenset[str]] = frozenset()
    fields: ClassVar[str | None] = None
    changed_since: ClassVar[bool] = False
    variants: ClassVar[tuple[Mapping[str, Any], ...]] = ({},)
    """Extra parameter sets each read repeats over (e.g. active and inactive customers)."""
    page_size: ClassVar[int] = 1000

    def __init__(self, fetch: Fetch, *, page_size: int | None = None) -> None:
        self.fetch = fetch
        if page_size is not None:
            if not 0 < page_size <= MAX_COUNT:
                raise InvalidParameters(f"count must be 1..{MAX_COUNT}")
            self.page_size = page_size

    def build_params(self, params: Mapping[str, Any] | None, since: dt.datetime | None
                     ) -> dict[str, Any]:
        result = {k: v for k, v in dict(params or {}).items() if v is not None}
        if since is not None:
            if not self.changed_since:
                raise InvalidParameters(f"stream {self.name} has no changedSince")
            result["changedSince"] = format_changed_since(since)
        unknown = set(result) - self.params - ({"changedSince"} if self.changed_since else set())
        if unknown:
            raise InvalidParameters(f"stream {self.name} does not accept {sorted(unknown)}")
        missing = self.required - set(result)
        if missing:
            raise InvalidParameters(f"stream {self.name} needs {sorted(missing)}")
        for name in ("dateFrom", "dateTo"):
            if name in result:
                result[name] = format_date(result[name])
        if "dateFrom" in result and "dateTo" in result and result["dateFrom"] >= result["dateTo"]:
            raise InvalidParameters("dateTo is exclusive and must be after dateFrom")
        if self.fields:
            result["fields"] = self.fields
        result["sorting"] = self.sorting
        return result

    def pages(self, params: Mapping[str, Any] | None = None, *,
              since: dt.datetime | None = None) -> Iterator[Page]:
        """The stream's records page by page (empty pages skipped)."""
        query = self.build_params(params, since)
        for variant in self.variants:
            yield from self.paged({**query, **variant})

    def paged(self, query: Mapping[str, Any]) -> Iterator[Page]:
        start = 0
        while True:
            data = self.fetch(self.path, {**query, "from": start, "count": self.page_size})
            page = values_of(data, self.path)
            if len(page) > self.page_size:
                raise MalformedResponse(
                    f"{self.path}: {len(page)} rader, flere enn count {self.page_size}")
            if page:
                yield page
            if len(page) < self.page_size:
                return
            start += len(page)

    def records(self, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Iterator[Record]:
        for page in self.pages(params, **kwargs):
            yield from page


class AccountsStream(Stream):
    name = "accounts"
    path = "/ledger/account"
    params = frozenset({"number", "isInactive", "isBankAccount", "ledgerType"})


class PeriodsStream(Stream):
    name = "periods"
    path = "/ledger/accountingPeriod"
    page_size = 1400  # the endpoint's own default


class GLBalancesStream(Stream):
    """``/balanceSheet`` read one calendar month at a time, so every row is one period's
    balance; each row carries its window as ``startDate``/``endDate`` (exclusive)."""

    name = "gl_balances"
    path = "/balanceSheet"
    params = frozenset({"dateFrom", "dateTo", "accountNumberFrom", "accountNumberTo",
                        "includeActiveAccountsWithoutMovements"})
    required = frozenset({"dateFrom", "dateTo"})
    fields = "*,account(id,number,name,type)"
    primary_key = "account.id"
    sorting = "account.number"  # the report's rows have no id of their own

    def pages(self, params: Mapping[str, Any] | None = None, *,
              since: dt.datetime | None = None) -> Iterator[Page]:
        query = self.build_params(params, since)
        first = dt.date.fromisoformat(query["dateFrom"])
        end = dt.date.fromisoformat(query["dateTo"])
        for start, stop in month_windows(first, end):
            window = {**query, "dateFrom": start.isoformat(), "dateTo": stop.isoformat()}
            for page in self.paged(window):
                yield [{"startDate": window["dateFrom"], "endDate": window["dateTo"], **row}
                       for row in page]


class VouchersStream(Stream):
    """Vouchers with their postings expanded: the journal, one voucher = one batch."""

    name = "vouchers"
    path = "/ledger/voucher"
    params = frozenset({"dateFrom", "dateTo", "number", "typeId"})
    required = frozenset({"dateFrom", "dateTo"})
    fields = ("*,voucherType(id,name),postings(*,account(id,number,name),"
              "customer(id,customerNumber,name),supplier(id,supplierNumber,name),"
              "vatType(id,number),currency(id,code),department(id,departmentNumber,name))")


class CustomersStream(Stream):
    """Customers, active and inactive (``isInactive`` defaults to false: two reads)."""

    name = "customers"
    path = "/customer"
    params = frozenset({"organizationNumber"})
    changed_since = True
    fields = "*,changes"
    variants = ({"isInactive": "false"}, {"isInactive": "true"})


class SuppliersStream(CustomersStream):
    name = "suppliers"
    path = "/supplier"


class PostingsStream(Stream):
    name = "postings"
    path = "/ledger/posting"
    params = frozenset({"dateFrom", "dateTo", "accountId", "customerId", "supplierId",
                        "accountNumberFrom", "accountNumberTo", "type"})
    required = frozenset({"dateFrom", "dateTo"})


class PartyBalancesStream(PostingsStream):
    """Customer (or supplier) balances. Tripletex has no balance endpoint per customer, so they
    are summed from ``/ledger/posting`` on the accounts whose ``ledgerType`` is the party's
    sub-ledger (CUSTOMER / VENDOR). One record per party: ``beginBalance`` (before the year of
    the last day read), ``yearToDateBalance`` (up to ``dateTo``), ``fromPeriod``/``toPeriod``."""

    name = "customer_balances"
    party = "customer"
    ledger_type = "CUSTOMER"
    number_field = "customerNumber"
    params = frozenset({"dateFrom", "dateTo"})

    @property
    def fields(self) -> str:  # type: ignore[override]
        return (f"id,date,amount,account(id,number,ledgerType),"
                f"{self.party}(id,{self.number_field},name)")

    def pages(self, params: Mapping[str, Any] | None = None, *,
              since: dt.datetime | None = None) -> Iterator[Page]:
        query = self.build_params(params, since)
        last_day = dt.date.fromisoformat(query["dateTo"]) - dt.timedelta(days=1)
        year_start = last_day.replace(month=1, day=1).isoformat()
        totals: dict[Any, Record] = {}
        for page in self.paged(query):
            for posting in page:
                party = posting.get(self.party)
                if not isinstance(party, dict) or dig(posting, "account.ledgerType") != \
                        self.ledger_type:
                    continue
                entry = totals.setdefault(party.get("id"), {
                    self.party: party, "beginBalance": Decimal(0), "yearToDateBalance": Decimal(0),
                    "fromPeriod": f"{last_day.year}01", "toPeriod": last_day.strftime("%Y%m")})
                value = amount(posting.get("amount"))
                if str(posting.get("date") or "") < year_start:
                    entry["beginBalance"] += value
                entry["yearToDateBalance"] += value
        if totals:
            yield list(totals.values())


class SupplierBalancesStream(PartyBalancesStream):
    name = "supplier_balances"
    party = "supplier"
    ledger_type = "VENDOR"
    number_field = "supplierNumber"


STREAMS: dict[str, type[Stream]] = {
    cls.name: cls
    for cls in (AccountsStream, PeriodsStream, GLBalancesStream, VouchersStream,
                CustomersStream, SuppliersStream, PostingsStream, PartyBalancesStream,
                SupplierBalancesStream)
}
