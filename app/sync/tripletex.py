"""Reading a Tripletex client into the store: the same tables, run kinds and checks as Visma.net,
fed by Tripletex's data sets (``app.tripletex.datasets``).

Full sync: every data set into a new generation, flipped atomically (as for Visma.net); the
dated ones (GL balances, vouchers, party balances) cover the client's accounting periods.
Incremental sync: customers and suppliers by ``changedSince`` (bookmark minus the look-back);
accounts, periods and party balances read whole, what vanished tombstoned; ``/balanceSheet``
read month by month and compared with the stored GL rows: the vouchers of every month whose
balances moved (and of the current month) are re-read whole, and a stored voucher missing from
its month's re-read was deleted at the source (Tripletex lists no tombstones).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from datetime import datetime, timedelta

from app.accounting import store
from app.accounting.models import (
    SYNCED_MODELS,
    GLBalance,
    JournalBatch,
    JournalLine,
    SyncedRow,
)
from app.integrations.models import System
from app.integrations.tripletex import client_for
from app.jobs.runtime import Progress
from app.sync.engine import ClientSync, StreamResult, _max
from app.tripletex import datasets, mapping
from app.tripletex.client import ClientCompany, CompanyApi, TripletexClient
from app.tripletex.errors import AccessDenied

SYSTEM = System.TRIPLETEX
WHOLE = ("accounts", "periods", "customer_balances", "supplier_balances")
"""Read whole on every incremental run (small): what is missing was removed at the source."""


def engine(client, progress: Progress, *, now: datetime, lookback: timedelta) -> TripletexSync:
    tripletex = client_for(client.integration)
    company = next((c for c in tripletex.clients() if c.external_id == client.external_id), None)
    if company is None:
        raise AccessDenied("Klienten er ikke lenger i klientlisten til nøkkelen.")
    return TripletexSync(client.id, tripletex, company, progress, now=now, lookback=lookback)


def account_numbers(client) -> set[str]:
    """The account numbers Tripletex has now for a client (for «Slett gamle kontoer»)."""
    with client_for(client.integration) as tripletex:
        api = tripletex.company_api(int(client.external_id))
        return {row["account_number"] for page in datasets.read(api, "accounts") for row in page}


def _columns(model: type[SyncedRow]) -> tuple[str, ...]:
    return (*model.natural_key, *store.value_columns(model), "source_modified_at", "deleted_at")


def _fit(model: type[SyncedRow], rows: Iterable[dict]) -> list[dict]:
    columns = _columns(model)
    return [mapping.conform(row, columns, model.natural_key) for row in rows]


def _key(model: type[SyncedRow], row: dict) -> tuple:
    return tuple(row[k] for k in model.natural_key)


class TripletexSync(ClientSync):
    """One sync run's reading and writing for one Tripletex client."""

    tracks_touched_periods = False  # its incremental runs re-read periods of their own

    def __init__(self, client_id: int, tripletex: TripletexClient, company: ClientCompany,
                 progress: Progress, *, now: datetime, lookback: timedelta) -> None:
        api: CompanyApi = tripletex.company_api(company)
        super().__init__(client_id, api, progress, now=now, lookback=lookback)  # type: ignore[arg-type]
        self.tripletex = tripletex
        self.company = company
        self.first_day: dt.date | None = None
        self.last_day: dt.date | None = None

    # -- reading ---------------------------------------------------------------------------

    def _rows(self, dataset: datasets.DataSet, *, since: datetime | None = None,
              first_day: dt.date | None = None, last_day: dt.date | None = None):
        if dataset.dated:
            first_day, last_day = first_day or self.first_day, last_day or self.last_day
        return datasets.read(self.api, dataset, first_day=first_day, last_day=last_day,
                             since=since)

    def _note_range(self, rows: list[dict]) -> None:
        """The accounting periods' span: what the dated data sets are read over."""
        for row in rows:
            start, end = row.get("start_date"), row.get("end_date")
            if start and (self.first_day is None or start < self.first_day):
                self.first_day = start
            if end and (self.last_day is None or end > self.last_day):
                self.last_day = end

    def _default_range(self) -> None:
        if self.first_day is None or self.last_day is None:
            today = self.now.date()
            self.first_day = dt.date(today.year - 1, 1, 1)
            self.last_day = dt.date(today.year, 12, 31)

    def read_dataset(self, dataset: datasets.DataSet, *, since: datetime | None = None,
                     track_keys: bool = False) -> StreamResult:
        model = SYNCED_MODELS[dataset.name]
        result = StreamResult()
        self._report(dataset.step)
        for page in self._rows(dataset, since=since):
            if dataset.name == "periods":
                self._note_range(page)
            rows = _fit(model, page)
            for row in rows:
                result.bookmark = _max(result.bookmark, row.get("source_modified_at"))
                if track_keys:
                    result.seen.add(_key(model, row))
                if "period" in row:
                    result.periods.add(row["period"])
            self.writer.page(dataset.name, rows)
            self._report(dataset.step, **{dataset.name: len(rows)})
        if dataset.name == "periods":
            self._default_range()
        self._report(dataset.step, flush=True)
        return result

    def read_vouchers(self, *, first_day: dt.date | None = None,
                      last_day: dt.date | None = None) -> StreamResult:
        """Vouchers as journal batches with their lines; in place a changed voucher's lines it
        no longer has are tombstoned (``RunWriter.journal_page``)."""
        dataset = datasets.BY_NAME["journal"]
        result = StreamResult()
        self._report(dataset.step)
        for page in self._rows(dataset, first_day=first_day, last_day=last_day):
            batches = [(batch, _fit(JournalLine, lines))
                       for batch, lines in zip(_fit(JournalBatch, (b for b, _ in page)),
                                               (lines for _, lines in page), strict=True)]
            result.seen.update(_key(JournalBatch, batch) for batch, _ in batches)
            line_count = sum(len(lines) for _, lines in batches)
            self.writer.journal_page(batches)
            self._report(dataset.step, journal_batches=len(batches), journal_lines=line_count)
        self._report(dataset.step, flush=True)
        return result

    def write_organization(self) -> dict:
        values = mapping.organization_values(self.company)
        self.store_organization(values)
        return values

    # -- run kinds -------------------------------------------------------------------------

    def read_everything(self) -> dict[str, datetime | None]:
        """A full sync's reading: every data set into the new generation; the bookmarks."""
        self.write_organization()
        bookmarks: dict[str, datetime | None] = {}
        for dataset in datasets.DATASETS:
            if dataset.name == "journal":
                self.read_vouchers()
                continue
            bookmarks[dataset.name] = self.read_dataset(dataset).bookmark
        return bookmarks

    def incremental(self) -> None:
        self.writer = store.RunWriter.in_place(self.client_id, now=self.now)
        for dataset in datasets.DATASETS:
            if dataset.name == "gl_balances":
                self._reread_periods(self._incremental_balances(dataset))
            elif dataset.name != "journal":
                self._incremental_dataset(dataset)

    def _incremental_dataset(self, dataset: datasets.DataSet) -> None:
        whole = dataset.name in WHOLE
        since = None if whole else self._since(dataset.name)
        result = self.read_dataset(dataset, since=since, track_keys=whole)
        if whole:
            gone = self.writer.tombstone_missing(dataset.name, result.seen)
            if gone:
                self.counts[f"{dataset.name}_removed"] = len(gone)
        self.writer.finish_stream(dataset.name, result.bookmark)

    def _incremental_balances(self, dataset: datasets.DataSet) -> set[str]:
        """Read ``/balanceSheet`` whole, in place; the periods whose net change per account
        moved against what was stored (new, changed or deleted vouchers there)."""
        before = self._stored_changes()
        result = self.read_dataset(dataset, track_keys=True)
        gone = self.writer.tombstone_missing("gl_balances", result.seen)
        if gone:
            self.counts["gl_balances_removed"] = len(gone)
        self.writer.finish_stream("gl_balances", None)
        return mapping.periods_with_moved_balances(before, self._stored_changes())

    def _stored_changes(self) -> list[dict]:
        return [{"period": period, "account_number": account, "period_debit": debit,
                 "period_credit": credit}
                for _, period, account, debit, credit, *_ in self.writer.live_rows(
                    "gl_balances", columns=(GLBalance.period, GLBalance.account_number,
                                            GLBalance.period_debit, GLBalance.period_credit))]

    def _reread_periods(self, moved: set[str]) -> None:
        """Re-read the vouchers of every moved month and of the current one, whole."""
        periods = set(moved) | {f"{self.now.year}{self.now.month:02d}"}
        for period in sorted(periods):
            first = dt.date(int(period[:4]), int(period[4:]), 1)
            last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            result = self.read_vouchers(first_day=first, last_day=last)
            gone = self.writer.remove_batches(period, result.seen)
            if gone:
                self.counts["journal_batches_removed"] = (
                    self.counts.get("journal_batches_removed", 0) + gone)
        for name in ("journal_batches", "journal_lines"):
            self.writer.finish_stream(name, None)

    def test_data(self) -> str | None:
        """Organization, accounts and the latest started period's balances (visible copy)."""
        self.writer = store.RunWriter.visible(self.client_id, now=self.now)
        self.write_organization()
        result = self.read_dataset(datasets.BY_NAME["accounts"], track_keys=True)
        self.writer.tombstone_missing("accounts", result.seen)
        today = self.now.date()
        periods = [row for page in self._rows(datasets.BY_NAME["periods"]) for row in page]
        started = [p for p in periods if p["start_date"] <= today] or periods
        if not started:
            return None
        latest = max(started, key=lambda p: p["period"])
        step = f"Henter saldoer for {latest['period'][:4]}-{latest['period'][4:]}"
        self._report(step)
        seen: set[tuple] = set()
        for page in self._rows(datasets.BY_NAME["gl_balances"], first_day=latest["start_date"],
                               last_day=latest["end_date"] or latest["start_date"]):
            rows = _fit(GLBalance, page)
            seen.update(_key(GLBalance, row) for row in rows)
            self.writer.page("gl_balances", rows)
            self._report(step, gl_balances=len(rows))
        self.writer.tombstone_missing("gl_balances", seen, GLBalance.period == latest["period"])
        return latest["period"]
