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

from sqlalchemy import select

from app.accounting import store
from app.accounting.models import (
    SYNCED_MODELS,
    GLBalance,
    JournalBatch,
    JournalLine,
    SyncedRow,
)
from app.extensions import db
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

    def read_dataset(self, dataset: datasets.DataSet, *, generation: int,
                     carry_from: int | None, since: datetime | None = None,
                     track_keys: bool = False) -> StreamResult:
        model = SYNCED_MODELS[dataset.name]
        result = StreamResult()
        self._report(dataset.step)
        for page in self._rows(dataset, since=since):
            if dataset.name == "periods":
                self._note_range(page)
            rows = _fit(model, page)
            result.changed += store.write_rows(model, self.client_id, generation, rows,
                                               now=self.now, carry_from=carry_from)
            if carry_from is None:
                db.session.commit()
            for row in rows:
                result.bookmark = _max(result.bookmark, row.get("source_modified_at"))
                if track_keys:
                    result.seen.add(_key(model, row))
                if "period" in row:
                    result.periods.add(row["period"])
            result.rows += len(rows)
            self._report(dataset.step, **{dataset.name: len(rows)})
        if dataset.name == "periods":
            self._default_range()
        self._report(dataset.step, flush=True)
        return result

    def read_vouchers(self, *, generation: int, carry_from: int | None,
                      first_day: dt.date | None = None, last_day: dt.date | None = None
                      ) -> StreamResult:
        """Vouchers as journal batches with their lines; in place (``carry_from`` None) a
        changed voucher's lines it no longer has are tombstoned."""
        dataset = datasets.BY_NAME["journal"]
        result = StreamResult()
        self._report(dataset.step)
        for page in self._rows(dataset, first_day=first_day, last_day=last_day):
            batches = _fit(JournalBatch, (batch for batch, _ in page))
            lines = _fit(JournalLine, (line for _, batch_lines in page for line in batch_lines))
            keep = {_key(JournalLine, line) for line in lines}
            store.write_rows(JournalBatch, self.client_id, generation, batches, now=self.now,
                             carry_from=carry_from)
            store.write_rows(JournalLine, self.client_id, generation, lines, now=self.now,
                             carry_from=carry_from)
            keys = [_key(JournalBatch, batch) for batch in batches]
            result.seen.update(keys)
            if carry_from is None:
                self._drop_stale_lines(generation, keys, keep)
                db.session.commit()
            result.rows += len(lines)
            self._report(dataset.step, journal_batches=len(batches), journal_lines=len(lines))
        self._report(dataset.step, flush=True)
        return result

    def write_organization(self) -> dict:
        values = mapping.organization_values(self.company)
        self.store_organization(values)
        return values

    # -- run kinds -------------------------------------------------------------------------

    def full(self) -> None:
        old, new = store.begin_full_sync(self.client_id)
        self.write_organization()
        bookmarks: dict[str, datetime | None] = {}
        for dataset in datasets.DATASETS:
            if dataset.name == "journal":
                self.read_vouchers(generation=new, carry_from=old)
                continue
            result = self.read_dataset(dataset, generation=new, carry_from=old)
            bookmarks[dataset.name] = result.bookmark
        self._report("Bytter til den nye kopien")
        removed = store.finish_full_sync(self.client_id, old=old, new=new, now=self.now,
                                         bookmarks=bookmarks)
        for name, count in removed.items():
            if count:
                self.counts[f"{name}_removed"] = count

    def incremental(self) -> None:
        generation = store.current_generation(self.client_id, "journal_batches")
        self._discard_unfinished(generation)
        for dataset in datasets.DATASETS:
            if dataset.name == "gl_balances":
                moved = self._incremental_balances(dataset, generation)
                self._reread_periods(moved, generation)
            elif dataset.name != "journal":
                self._incremental_dataset(dataset, generation)

    def _incremental_dataset(self, dataset: datasets.DataSet, generation: int) -> None:
        model = SYNCED_MODELS[dataset.name]
        state = store.dataset_state(self.client_id, dataset.name)
        whole = dataset.name in WHOLE
        since = None if whole or state.bookmark is None else state.bookmark - self.lookback
        result = self.read_dataset(dataset, generation=generation, carry_from=None, since=since,
                                   track_keys=whole)
        if whole:
            gone = store.tombstone_missing(model, self.client_id, generation, result.seen,
                                           now=self.now)
            if gone:
                self.counts[f"{dataset.name}_removed"] = len(gone)
        self._finish_stream(state, result.bookmark, model, generation)

    def _incremental_balances(self, dataset: datasets.DataSet, generation: int) -> set[str]:
        """Read ``/balanceSheet`` whole, in place; the periods whose net change per account
        moved against what was stored (new, changed or deleted vouchers there)."""
        before = self._stored_changes(generation)
        result = self.read_dataset(dataset, generation=generation, carry_from=None,
                                   track_keys=True)
        gone = store.tombstone_missing(GLBalance, self.client_id, generation, result.seen,
                                       now=self.now)
        if gone:
            self.counts["gl_balances_removed"] = len(gone)
        self._finish_stream(store.dataset_state(self.client_id, dataset.name), None, GLBalance,
                            generation)
        return mapping.periods_with_moved_balances(before, self._stored_changes(generation))

    def _stored_changes(self, generation: int) -> list[dict]:
        return [row._asdict() for row in db.session.execute(
            select(GLBalance.period, GLBalance.account_number, GLBalance.period_debit,
                   GLBalance.period_credit)
            .where(GLBalance.client_id == self.client_id, GLBalance.generation == generation,
                   GLBalance.deleted_at.is_(None)))]

    def _reread_periods(self, moved: set[str], generation: int) -> None:
        """Re-read the vouchers of every moved month and of the current one, whole."""
        periods = set(moved) | {f"{self.now.year}{self.now.month:02d}"}
        for period in sorted(periods):
            first = dt.date(int(period[:4]), int(period[4:]), 1)
            last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
            result = self.read_vouchers(generation=generation, carry_from=None,
                                        first_day=first, last_day=last)
            gone = store.tombstone_missing(JournalBatch, self.client_id, generation,
                                           result.seen, JournalBatch.period == period,
                                           now=self.now)
            if gone:
                self._drop_stale_lines(generation, gone, keep=set())
                self.counts["journal_batches_removed"] = (
                    self.counts.get("journal_batches_removed", 0) + len(gone))
            db.session.commit()
        for name, model in (("journal_batches", JournalBatch), ("journal_lines", JournalLine)):
            self._finish_stream(store.dataset_state(self.client_id, name), None, model,
                                generation)

    def test_data(self) -> str | None:
        """Organization, accounts and the latest started period's balances (visible copy)."""
        generation = store.current_generation(self.client_id, "accounts")
        self.write_organization()
        result = self.read_dataset(datasets.BY_NAME["accounts"], generation=generation,
                                   carry_from=None, track_keys=True)
        store.tombstone_missing(SYNCED_MODELS["accounts"], self.client_id, generation,
                                result.seen, now=self.now)
        db.session.commit()
        today = self.now.date()
        periods = [row for page in self._rows(datasets.BY_NAME["periods"]) for row in page]
        started = [p for p in periods if p["start_date"] <= today] or periods
        if not started:
            return None
        latest = max(started, key=lambda p: p["period"])
        gl_generation = store.current_generation(self.client_id, "gl_balances")
        step = f"Henter saldoer for {latest['period'][:4]}-{latest['period'][4:]}"
        self._report(step)
        seen: set[tuple] = set()
        for page in self._rows(datasets.BY_NAME["gl_balances"], first_day=latest["start_date"],
                               last_day=latest["end_date"] or latest["start_date"]):
            rows = _fit(GLBalance, page)
            store.write_rows(GLBalance, self.client_id, gl_generation, rows, now=self.now)
            seen.update(_key(GLBalance, row) for row in rows)
            db.session.commit()
            self._report(step, gl_balances=len(rows))
        store.tombstone_missing(GLBalance, self.client_id, gl_generation, seen,
                                GLBalance.period == latest["period"], now=self.now)
        db.session.commit()
        return latest["period"]
