"""Reading a client's data set by data set from Visma.net into the store, page by page.

Full sync: every stream is read whole into a new generation, then one transaction flips the
client to it (``app.accounting.store.RunWriter.finish_full``). Incremental sync: streams with a
cursor are read from their bookmark minus a look-back, streams without one (accounts, periods,
customer/supplier balances — small, unpaged or cheap) are read whole and what vanished is
tombstoned; deleted journal batches (which no cursor reveals) are found by re-reading only the
periods whose GL balances changed and no longer match the journal. Bookmarks advance only in
the transaction that commits the end of their stream: a run killed anywhere is re-run safely
(idempotent upserts, nothing lost, nothing duplicated).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from app.accounting import store
from app.accounting.models import BY_NAME, DATASETS, DataSet, GLBalance
from app.jobs.runtime import Progress
from app.sync import checks, mapping
from app.visma.client import TenantApi
from app.visma.streams import STREAMS, Stream

log = logging.getLogger(__name__)

EPOCH = datetime(1900, 1, 1)
"""``lastModifiedDateTime`` that selects everything where a filter is required (GL, journal)."""
MAX_RECONCILE_PERIODS = 6
BALANCE_DATASETS = frozenset(d.moves for d in DATASETS if d.moves)
"""Customer/supplier balances: no cursor filters them; re-read only when something moved them."""
RESETS_YEARLY = frozenset({"Income", "Expense"})  # account types whose balance restarts each year
PREFETCH_PAGES = 2
PROGRESS_SECONDS = 0.5  # how often a run's progress row is written (each write commits)


@dataclass(frozen=True)
class Reader:
    """How Visma.net fills one data set of the registry: its stream and its mapping. How it
    is read follows from what the stream declares."""

    dataset: DataSet
    stream: type[Stream]
    to_row: Callable[..., dict]

    @property
    def cursor(self) -> bool:
        """Incremental by ``lastModifiedDateTime``; else read whole, the rest tombstoned."""
        return not self.dataset.whole and self.stream.replication_key is not None

    @property
    def needs_filter(self) -> bool:
        """The endpoint requires ``periodId`` or ``lastModifiedDateTime``."""
        return bool(self.stream.required_one_of)

    @property
    def period_range(self) -> bool:
        """The endpoint requires ``fromFinPeriod``/``toFinPeriod``."""
        return "fromFinPeriod" in self.stream.required


def _reader(dataset: str, stream: str, to_row: Callable[..., dict]) -> Reader:
    return Reader(BY_NAME[dataset], STREAMS[stream], to_row)


READERS: tuple[Reader, ...] = (
    _reader("accounts", "accounts", mapping.account_row),
    _reader("periods", "financial_periods", mapping.period_row),
    _reader("gl_balances", "gl_balances", mapping.gl_balance_row),
    _reader("customers", "customers", mapping.party_row),
    _reader("suppliers", "suppliers", mapping.party_row),
    _reader("customer_balances", "customer_balances",
            partial(mapping.party_balance_row, kind="customer")),
    _reader("supplier_balances", "supplier_balances",
            partial(mapping.party_balance_row, kind="supplier")),
)
"""Visma.net's readers in the order a run reads them; the journal (batches with their lines,
one stream) is read after them by ``read_journal``."""
JOURNAL = "journal_transactions"
MAX_REJECTIONS_NAMED = 20
JOURNAL_STEP = BY_NAME["journal_batches"].step


BULK_GC_THRESHOLDS = (50_000, 20, 100)
_bulk_lock = threading.Lock()
_bulk_runs = 0
_usual_thresholds: tuple[int, ...] = ()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the cyclic collector's thresholds while any full sync of this process reads.

    Decoding and mapping a company allocate millions of short-lived dicts, lists and tuples
    that reference counting frees anyway; at Python's default (a collection every 700 net
    allocations, each traversing the young objects) the collector cost a quarter of a full
    sync's CPU. Counted, so runs on several threads restore the usual thresholds only when
    the last one ends."""
    global _bulk_runs, _usual_thresholds
    with _bulk_lock:
        if _bulk_runs == 0:
            _usual_thresholds = gc.get_threshold()
            gc.set_threshold(*BULK_GC_THRESHOLDS)
        _bulk_runs += 1
    try:
        yield
    finally:
        with _bulk_lock:
            _bulk_runs -= 1
            if _bulk_runs == 0:
                gc.set_threshold(*_usual_thresholds)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


@dataclass
class StreamResult:
    bookmark: datetime | None = None
    seen: set[tuple] = field(default_factory=set)
    periods: set[str] = field(default_factory=set)


class ClientSync:
    """One sync run's reading for one client; its writes go through ``self.writer``."""

    tracks_touched_periods = True
    """Whether ``writer.touched`` names every period an incremental run wrote, so its checks
    may re-sum only those (a subclass that does not keep it gets whole checks)."""

    def __init__(
        self,
        client_id: int,
        api: TenantApi,
        progress: Progress,
        *,
        now: datetime,
        lookback: timedelta = timedelta(minutes=10),
        prefetch: int = PREFETCH_PAGES,
        orgnr: str | None = None,
        name: str | None = None,
        concurrency: int = 1,
    ) -> None:
        self.client_id = client_id
        self.orgnr, self.name = orgnr, name
        self.rejected: list[str] = []
        """Why source records were left out (Norwegian, one per record, for the run)."""
        self.rejected_count = 0
        self.period_range: tuple[str, str] | None = None
        """The company's first and last financial period (read with the periods)."""
        self.api = api
        self.progress = progress
        self.now = now
        self.lookback = lookback
        self.prefetch = prefetch
        self.concurrency = concurrency
        self.writer = store.RunWriter.visible(client_id, now=now)
        """Replaced by the run kind (``full``, ``incremental``)."""
        self.counts: dict[str, int] = {}
        self.reconcile_left: list[str] = []
        self._pending: dict[str, int] = {}
        self._step: str | None = None
        self._reported = 0.0
        self.done = 0
        self._started: dict[str, tuple] = {}  # stream -> (params, since, pages already fetching)
        self.total = store.row_total(client_id)

    # -- progress ----------------------------------------------------------------------------

    def _report(self, step: str, *, flush: bool = False, **written: int) -> None:
        """Count what was written; tell the run's Progress at most every PROGRESS_SECONDS
        (and whenever the step changes), which also commits the page writes since."""
        for name, value in written.items():
            self.counts[name] = self.counts.get(name, 0) + value
            self._pending[name] = self._pending.get(name, 0) + value
        self.done += sum(written.values())
        if self.total is not None and self.done > self.total:
            self.total = self.done
        moment = time.monotonic()
        if not flush and step == self._step and moment - self._reported < PROGRESS_SECONDS:
            return
        self.progress.update(step, done=self.done, total=self.total,
                             counts=dict(self._pending) or None)
        self._pending.clear()
        self._step, self._reported = step, moment

    # -- streams ----------------------------------------------------------------------------

    def _reject(self, exc: mapping.RejectedRecord, what: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REJECTIONS_NAMED:
            self.rejected.append(f"{what}: {exc}")
        self.counts[f"{what}_rejected"] = self.counts.get(f"{what}_rejected", 0) + 1

    def _mapped(self, page: list, to_row: Callable[[dict], Any], what: str) -> list:
        """``to_row`` of each record; a record it rejects is left out and noted."""
        out = []
        for record in page:
            try:
                out.append(to_row(record))
            except mapping.RejectedRecord as exc:
                self._reject(exc, what)
        return out

    def _balance_params(self) -> dict | None:
        """The period range Visma requires for party balances: the company's own financial
        periods, first to last (from the periods read earlier in this run, else read now)."""
        if self.period_range is None:
            periods = [r["period"] for page in self._pages("financial_periods")
                       for r in self._mapped(page, mapping.period_row, "periods")]
            if periods:
                self.period_range = (min(periods), max(periods))
        if self.period_range is None:
            return None
        return {"fromFinPeriod": self.period_range[0], "toFinPeriod": self.period_range[1]}

    def _pages(self, stream: str, params: dict | None = None, *, since=None,
               transform: Callable[[list], Any] | None = None) -> Iterable[Any]:
        """The stream's pages, fetched ahead in a background thread (the next downloads overlap
        our mapping and writing; up to ``concurrency`` of them at once), mapped by
        ``transform`` here in the consumer: the fetching threads do nothing but fetch, so a
        slow source stays the only bottleneck."""
        started = self._started.pop(stream, None)
        if started is not None and started[:2] == (params, since):
            pages: Iterable[Any] = started[2]
        else:
            pages = self.api.stream(stream).pages(
                params, since=since, prefetch=self.prefetch, concurrency=self.concurrency
            )
        if transform is not None:
            pages = (transform(page) for page in pages)
        return pages

    def _start_fetching(self, streams: list[tuple[str, dict | None, datetime | None]]) -> None:
        """Set streams the run reads later fetching now, each as soon as its parameters are
        known: their first pages download while the earlier streams are written (the tenant's
        calls in flight stay within its ``concurrency``; each stream stays ``prefetch`` pages
        ahead at most)."""
        if not self.prefetch:
            return
        for stream, params, since in streams:
            pages = self.api.stream(stream).pages(params, since=since, prefetch=self.prefetch,
                                                  concurrency=self.concurrency)
            self._started[stream] = (params, since, pages)

    def _stop_fetching(self) -> None:
        for _, _, pages in self._started.values():
            pages.close()
        self._started.clear()

    def read(
        self,
        reader: Reader,
        *,
        since: datetime | None = None,
        track_keys: bool = False,
        params: dict | None = None,
        step: str | None = None,
    ) -> StreamResult:
        """One data set, page by page into ``self.writer`` (what was seen, for the caller)."""
        dataset = reader.dataset
        step = step or dataset.step
        result = StreamResult()
        if reader.needs_filter and since is None and not params:
            since = EPOCH
        self._report(step)
        to_row = reader.to_row
        if reader.period_range:
            params = self._balance_params()
            if params is None:  # no financial periods: no range to ask for
                self._report(step, flush=True)
                return result
            to_row = partial(reader.to_row, from_period=params["fromFinPeriod"],
                             to_period=params["toFinPeriod"])
        keys = dataset.model.natural_key
        for rows in self._pages(reader.stream.name, params, since=since,
                                transform=lambda page: self._mapped(page, to_row, dataset.name)):
            for row in rows:
                result.bookmark = _max(result.bookmark, row.get("source_modified_at"))
                if track_keys:
                    result.seen.add(tuple(row[k] for k in keys))
                if "period" in row:
                    result.periods.add(row["period"])
            self.writer.page(dataset.name, rows)
            self._report(step, **{dataset.name: len(rows)})
        if dataset.name == "periods" and result.periods:
            self.period_range = (min(result.periods), max(result.periods))
        self._report(step, flush=True)
        return result

    def read_journal(self, *, params: dict | None = None, since: datetime | None = None
                     ) -> StreamResult:
        """Journal batches (merged across pages by the stream) with their lines, in place:
        voided batches become tombstones, as do lines a changed batch no longer has."""
        result = StreamResult()
        if not params and since is None:
            since = EPOCH
        self._report(JOURNAL_STEP)
        to_row = partial(mapping.journal_rows, now=self.now)

        def to_rows(page: list) -> list[tuple[dict, list[dict]]]:
            return self._mapped(page, to_row, "journal_batches")

        for page in self._pages(JOURNAL, params, since=since, transform=to_rows):
            for batch, _ in page:
                result.seen.add((batch["module"], batch["batch_number"]))
                result.bookmark = _max(result.bookmark, batch["source_modified_at"])
            self.writer.journal_page(page)
            live = [(batch, lines) for batch, lines in page if batch["deleted_at"] is None]
            self._report(JOURNAL_STEP, journal_batches=len(live),
                         journal_lines=sum(len(lines) for _, lines in live))
        self._report(JOURNAL_STEP, flush=True)
        return result

    def read_journal_whole(self) -> StreamResult:
        """The fused path of a full sync: every batch into the new generation, each line
        mapped straight to its upsert parameters (``store.write_journal_lines``)."""
        result = StreamResult()
        self._report(JOURNAL_STEP)
        now = self.now

        def whole_batch(record: dict) -> tuple[dict, list]:
            batch = mapping.journal_batch_row(record, now=now)
            if batch["deleted_at"] is not None:
                return batch, []
            return batch, mapping.journal_line_values(
                batch, record.get("journalTransactionLines") or [])

        def to_rows(page: list) -> list[tuple[dict, list]]:
            return self._mapped(page, whole_batch, "journal_batches")

        for page in self._pages(JOURNAL, None, since=EPOCH, transform=to_rows):
            for batch, _ in page:
                result.bookmark = _max(result.bookmark, batch["source_modified_at"])
            self.writer.journal_values_page(page)
            live = [values for batch, values in page if batch["deleted_at"] is None]
            self._report(JOURNAL_STEP, journal_batches=len(live),
                         journal_lines=sum(len(values) for values in live))
        self._report(JOURNAL_STEP, flush=True)
        return result

    def write_organization(self) -> dict:
        record = self.api.organization(corporate_id=self.orgnr, name=self.name)
        self.store_organization(mapping.organization_values(record))
        return record

    def store_organization(self, values: dict) -> None:
        """The client's one Organization row (any system's values), overwritten."""
        self.writer.organization(values)
        self._report("Henter firmaopplysninger", organization=1)

    # -- run kinds --------------------------------------------------------------------------

    def full(self) -> None:
        """Re-read everything into a new generation and flip to it atomically."""
        self.writer = store.RunWriter.full(self.client_id, now=self.now)
        try:
            with fewer_collections():
                bookmarks = self.read_everything()
                self.writer.finish_pages()
        finally:
            self.writer.close()
            self._stop_fetching()
        self._report("Tar i bruk de nye dataene")
        removed = self.writer.finish_full(bookmarks)
        for name, count in removed.items():
            if count:
                self.counts[f"{name}_removed"] = count

    def read_everything(self) -> dict[str, datetime | None]:
        """A full sync's reading: the organization and every data set into the new
        generation; the bookmarks."""
        self._start_fetching([(reader.stream.name, None, EPOCH if reader.needs_filter else None)
                              for reader in READERS if not reader.period_range]
                             + [(JOURNAL, None, EPOCH)])
        self.write_organization()
        bookmarks: dict[str, datetime | None] = {}
        for reader in READERS:
            bookmarks[reader.dataset.name] = self.read(reader).bookmark
            if reader.dataset.name == "periods" and self.period_range is not None:
                # the balance streams' required period range is known now
                self._start_fetching([(later.stream.name, self._balance_params(), None)
                                      for later in READERS if later.period_range])
        journal = self.read_journal_whole()
        bookmarks["journal_batches"] = bookmarks["journal_lines"] = journal.bookmark
        return bookmarks

    def incremental(self) -> None:
        """Read what changed since each bookmark (whole lists where that is as cheap).

        The organization is not re-read (full syncs, test data and client-list refreshes do);
        customer/supplier balances, which no cursor filters, are re-read only when something
        that moves them changed: journal lines naming a party, or the parties themselves.
        """
        self.writer = store.RunWriter.in_place(self.client_id, now=self.now)
        for reader in READERS:
            if reader.dataset.name not in BALANCE_DATASETS:
                self._incremental(reader)

        journal = self.read_journal(since=self._since("journal_batches"))
        touched_periods = self.writer.reconcile_pending()
        self._reconcile_deleted_batches(touched_periods)
        self.writer.finish_stream("journal_batches", journal.bookmark,
                                  reconcile_left=self.reconcile_left if touched_periods else None)
        self.writer.finish_stream("journal_lines", journal.bookmark)

        for reader in READERS:
            if reader.dataset.name in BALANCE_DATASETS:
                if self.writer.due(reader.dataset.name):
                    self._incremental(reader)
                else:  # nothing that moves these balances changed: they are still current
                    self.writer.finish_stream(reader.dataset.name, None)

    def _since(self, dataset: str) -> datetime | None:
        """Where an incremental read starts: the bookmark minus the whole look-back overlap.

        The overlap re-reads what changed shortly before the bookmark, so a row committed late
        at the source (stamped before the newest row we saw, visible only after our read) is
        not missed. Always the full overlap: real data is stamped as it is entered, so the
        overlap holds few rows (the simulator stamps its generated books the same way)."""
        bookmark = self.writer.bookmark(dataset)
        return None if bookmark is None else bookmark - self.lookback

    def _incremental(self, reader: Reader) -> None:
        name = reader.dataset.name
        since = self._since(name) if reader.cursor else None
        result = self.read(reader, since=since,
                           track_keys=not reader.cursor or name == "gl_balances")
        if not reader.cursor:
            gone = self.writer.tombstone_missing(name, result.seen)
            if gone:
                self.counts[f"{name}_removed"] = len(gone)
        if name == "gl_balances":
            self._sweep_vanished_gl(result.seen)
            if result.periods:
                # Periods whose balances moved: the journal step checks them for deleted
                # batches. Kept with the GL bookmark, so a crash in between cannot lose them.
                self.writer.add_reconcile(result.periods)
        self.writer.finish_stream(name, result.bookmark)

    def _sweep_vanished_gl(self, received: set[tuple]) -> None:
        """Tombstone GL rows that vanished at the source (a balance back to zero, no lines).

        A change to an account in period P moves the balance of every later period of that
        account (to the year's end for income/expense accounts, which start each year at zero)
        and gives every such row a new lastModifiedDateTime, so the incremental read returns
        all of them that still exist. A stored later row that did not come back is gone.
        """
        if not received:
            return
        accounts = {key[1] for key in received}
        stored = self.writer.live_rows("gl_balances", GLBalance.account_number.in_(accounts),
                                       columns=(GLBalance.account_type,))
        resets = {row.account_number for row in stored if row.account_type in RESETS_YEARLY}

        def series(key: tuple) -> tuple:
            """A key without its period (the first column), scoped to the year where the
            account restarts every year."""
            period, account = key[0], key[1]
            return (*key[1:], period[:4] if account in resets else "*")

        first: dict[tuple, str] = {}
        for key in received:
            slot = series(key)
            first[slot] = min(first.get(slot, key[0]), key[0])
        gone = [row for row in stored
                if (key := tuple(row[2:])) not in received
                and key[0] > first.get(series(key), "999999")]
        if gone:
            self.writer.tombstone("gl_balances", [row.id for row in gone],
                                  periods={row.period for row in gone})
            self.counts["gl_balances_removed"] = self.counts.get("gl_balances_removed", 0) + len(gone)

    def _reconcile_deleted_batches(self, touched: set[str]) -> None:
        """Find journal batches deleted at the source: where GL and journal disagree in a
        period whose balances changed, re-read that period's journal whole."""
        self.reconcile_left = []
        if not touched:
            return
        differing = {key[0] for key in checks.gl_journal_differences(self.client_id, touched)}
        candidates = sorted(differing)
        self.reconcile_left = candidates[MAX_RECONCILE_PERIODS:]  # the next run goes on
        for period in candidates[:MAX_RECONCILE_PERIODS]:
            result = self.read_journal(params={"periodId": period})
            gone = self.writer.remove_batches(period, result.seen)
            if gone:
                self.counts["journal_batches_removed"] = (
                    self.counts.get("journal_batches_removed", 0) + gone)

    def latest_period(self) -> str | None:
        """The newest financial period that has started (the source's own list)."""
        periods = [row for page in self._pages("financial_periods")
                   for row in self._mapped(page, mapping.period_row, "periods")]
        today = self.now.date()
        started = [p for p in periods if p["start_date"] is None or p["start_date"] <= today]
        chosen = max(started or periods, key=lambda p: p["period"], default=None)
        return chosen["period"] if chosen else None

    def test_data(self) -> str | None:
        """Organization, accounts and the latest period's balances, into the visible copy."""
        self.writer = store.RunWriter.visible(self.client_id, now=self.now)
        self.write_organization()
        readers = {reader.dataset.name: reader for reader in READERS}
        accounts = self.read(readers["accounts"], track_keys=True)
        self.writer.tombstone_missing("accounts", accounts.seen)
        period = self.latest_period()
        if period is None:
            return None
        balances = self.read(readers["gl_balances"], track_keys=True,
                             params={"periodId": period},
                             step=f"Henter saldoer for {period[:4]}-{period[4:]}")
        self.writer.tombstone_missing("gl_balances", balances.seen, GLBalance.period == period,
                                      periods={period})
        return period
