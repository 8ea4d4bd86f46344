"""The data sets one Tripletex company gives the store, declared once: which stream feeds each,
how its records become rows, what it needs (a date range) and allows (``changedSince``).

    api = client.company_api(company)
    for dataset in DATASETS:
        for rows in read(api, dataset, first_day=date(2025, 1, 1), last_day=date.today()):
            store.write_rows(...)   # journal: rows are (batch row, line rows) pairs

Incremental reads: only customers and suppliers have ``changedSince``. Everything else is read
whole (accounts, periods, party balances: small) or by date range (GL balances, vouchers):
read ``/balanceSheet`` for every period, compare with the stored GL rows
(``mapping.periods_with_moved_balances``) and re-read the vouchers of the moved periods (plus
the open ones) whole; a stored voucher absent from its period's re-read was deleted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from . import mapping
from .client import CompanyApi
from .streams import exclusive_range


@dataclass(frozen=True)
class DataSet:
    name: str
    """The store's data set (``SYNCED_MODELS`` key); ``journal`` fills journal_batches+lines."""
    stream: str
    step: str
    """What a run's progress says while reading it (Norwegian, as the Visma.net engine's)."""
    to_row: Callable[[dict], Any]
    dated: bool = False
    """Needs ``dateFrom``/``dateTo`` (the range the caller reads)."""
    changed_since: bool = False


DATASETS: tuple[DataSet, ...] = (
    DataSet("accounts", "accounts", "Henter kontoplan", mapping.account_row),
    DataSet("periods", "periods", "Henter regnskapsperioder", mapping.period_row),
    DataSet("gl_balances", "gl_balances", "Henter saldoer", mapping.gl_balance_row, dated=True),
    DataSet("journal", "vouchers", "Henter bilag", mapping.journal_rows, dated=True),
    DataSet("customers", "customers", "Henter kunder", mapping.ROW_MAPPERS["customers"],
            changed_since=True),
    DataSet("suppliers", "suppliers", "Henter leverandører", mapping.ROW_MAPPERS["suppliers"],
            changed_since=True),
    DataSet("customer_balances", "customer_balances", "Henter kundesaldoer",
            mapping.ROW_MAPPERS["customer_balances"], dated=True),
    DataSet("supplier_balances", "supplier_balances", "Henter leverandørsaldoer",
            mapping.ROW_MAPPERS["supplier_balances"], dated=True),
)
BY_NAME = {dataset.name: dataset for dataset in DATASETS}


def read(api: CompanyApi, dataset: DataSet | str, *, first_day: dt.date | None = None,
         last_day: dt.date | None = None, since: dt.datetime | None = None,
         page_size: int | None = None) -> Iterator[list]:
    """One data set of one company as pages of store rows (journal: (batch, lines) pairs).

    ``first_day``..``last_day`` (inclusive) is required for dated data sets; ``since`` filters
    where the data set has ``changed_since`` and is ignored elsewhere (read whole)."""
    if isinstance(dataset, str):
        dataset = BY_NAME[dataset]
    params: dict[str, Any] = {}
    if dataset.dated:
        if first_day is None or last_day is None:
            raise ValueError(f"{dataset.name} needs first_day and last_day")
        params = exclusive_range(first_day, last_day)
    stream = api.stream(dataset.stream, page_size=page_size)
    for page in stream.pages(params, since=since if dataset.changed_since else None):
        yield [dataset.to_row(record) for record in page]
