"""Reading a client's data set by data set from Visma.net into the store, page by page.

Full sync: every stream is read whole into a new generation, then one transaction flips the
client to it (``app.accounting.store.finish_full_sync``). Incremental sync: streams with a
cursor are read from their bookmark minus a look-back, streams without one (accounts, periods,
customer/supplier balances — small, unpaged or cheap) are read whole and what vanished is
tombstoned; deleted journal batches (which no cursor reveals) are found by re-reading only the
periods whose GL balances changed and no longer match the journal. Bookmarks advance only in
the transaction that commits the end of their stream: a run killed anywhere is re-run safely
(idempotent upserts, nothing lost, nothing duplicated).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import delete, func, select

from app.accounting import store
from app.accounting.models import (
    SYNCED_MODELS,
    DatasetState,
    GLBalance,
    JournalBatch,
    JournalLine,
    Organization,
    SyncedRow,
)
from app.extensions import db
from app.jobs.runtime import Progress
from app.sync import checks, mapping
from app.visma.client import TenantApi

log = logging.getLogger(__name__)

EPOCH = datetime(1900, 1, 1)
"""``lastModifiedDateTime`` that selects everything where a filter is required (GL, journal)."""
MAX_RECONCILE_PERIODS = 6
MOVES_BALANCES = {"customers": "customer_balances", "suppliers": "supplier_balances"}
"""A changed customer (its name is on its balance row) means its balances must be re-read."""
RESETS_YEARLY = frozenset({"Income", "Expense"})  # account types whose balance restarts each year
PREFETCH_PAGES = 2
PROGRESS_SECONDS = 0.5  # how often a run's progress row is written (each write commits)


@dataclass(frozen=True)
class Plan:
    """How one data set is read and stored."""

    dataset: str
    stream: str
    step: str
    to_row: Callable[[dict], dict]
    cursor: bool  # incremental by lastModifiedDateTime; else read whole and tombstone the rest
    needs_filter: bool = False  # the endpoint requires periodId or lastModifiedDateTime
    period_range: bool = False  # the endpoint requires fromFinPeriod/toFinPeriod


PLANS: tuple[Plan, ...] = (
    Plan("accounts", "accounts", "Henter kontoplan", mapping.account_row, cursor=False),
    Plan("periods", "financial_periods", "Henter regnskapsperioder", mapping.period_row, cursor=False),
    Plan("gl_balances", "gl_balances", "Henter saldoer", mapping.gl_balance_row, cursor=True,
         needs_filter=True),
    Plan("customers", "customers", "Henter kunder", mapping.party_row, cursor=True),
    Plan("suppliers", "suppliers", "Henter leverandører", mapping.party_row, cursor=True),
    Plan("customer_balances", "customer_balances", "Henter kundesaldoer",
         partial(mapping.party_balance_row, kind="customer"), cursor=False, period_range=True),
    Plan("supplier_balances", "supplier_balances", "Henter leverandørsaldoer",
         partial(mapping.party_balance_row, kind="supplier"), cursor=False, period_range=True),
)
MAX_REJECTIONS_NAMED = 20
JOURNAL_STEP = "Henter bilag"


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


@dataclass
class StreamResult:
    rows: int = 0
    changed: int = 0  # rows inserted or changed (in place: unchanged re-reads do not count)
    bookmark: datetime | None = None
    seen: set[tuple] = field(default_factory=set)
    periods: set[str] = field(default_factory=set)
    parties: set[str] = field(default_factory=set)  # customer/supplier numbers on journal lines


class ClientSync:
    """One sync run's reading and writing for one client."""

    tracks_touched_periods = True
    """Whether ``touched_periods`` names every period an incremental run wrote, so its checks
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
        self.counts: dict[str, int] = {}
        self.touched_periods: set[str] = set()
        """Periods whose GL balances or journal this run wrote (the checks re-sum only these)."""
        self._pending: dict[str, int] = {}
        self._step: str | None = None
        self._reported = 0.0
        self.done = 0
        self._writer: store.PageWriter | None = None
        self._started: dict[str, tuple] = {}  # stream -> (params, since, pages already fetching)
        self.total = sum(
            db.session.scalars(
                select(DatasetState.row_count).where(
                    DatasetState.client_id == client_id, DatasetState.row_count.is_not(None)
                )
            )
        ) or None

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

    def _start_fetching(self, streams: list[tuple[str, datetime | None]]) -> None:
        """Set the streams a run reads in order (those whose parameters are known before the
        run reads anything) fetching now: the first pages of the later streams download while
        the earlier ones are written (the tenant's calls in flight stay within its
        ``concurrency``; each stream stays ``prefetch`` pages ahead at most)."""
        if not self.prefetch:
            return
        for stream, since in streams:
            pages = self.api.stream(stream).pages(None, since=since, prefetch=self.prefetch,
                                                  concurrency=self.concurrency)
            self._started[stream] = (None, since, pages)

    def _stop_fetching(self) -> None:
        for _, _, pages in self._started.values():
            pages.close()
        self._started.clear()

    def read_plan(
        self,
        plan: Plan,
        *,
        generation: int,
        carry_from: int | None,
        since: datetime | None,
        track_keys: bool,
    ) -> StreamResult:
        model = SYNCED_MODELS[plan.dataset]
        result = StreamResult()
        params = None
        if plan.needs_filter and since is None:
            since = EPOCH
        self._report(plan.step)
        to_row = plan.to_row
        if plan.period_range:
            params = self._balance_params()
            if params is None:  # no financial periods: no range to ask for
                self._report(plan.step, flush=True)
                return result
            to_row = partial(plan.to_row, from_period=params["fromFinPeriod"],
                             to_period=params["toFinPeriod"])
        for rows in self._pages(plan.stream, params, since=since,
                                transform=lambda page: self._mapped(page, to_row, plan.dataset)):
            for row in rows:  # before the write: a background writer owns the rows after it
                result.bookmark = _max(result.bookmark, row.get("source_modified_at"))
                if track_keys:
                    result.seen.add(tuple(row[k] for k in model.natural_key))
                if "period" in row:
                    result.periods.add(row["period"])
            result.rows += len(rows)
            changed = self._write(
                store.write_rows, model, self.client_id, generation, rows, now=self.now,
                carry_from=carry_from,
            )
            result.changed += changed
            if changed and carry_from is None and plan.dataset in MOVES_BALANCES:
                self._mark_balances_due({MOVES_BALANCES[plan.dataset]})
            if carry_from is None:  # in place: each page durable at once
                db.session.commit()
            self._report(plan.step, **{plan.dataset: len(rows)})
        if plan.dataset == "periods" and result.periods:
            self.period_range = (min(result.periods), max(result.periods))
        self._report(plan.step, flush=True)
        return result

    def read_journal(
        self,
        *,
        generation: int,
        carry_from: int | None,
        params: dict | None = None,
        since: datetime | None = None,
        in_place: bool,
    ) -> StreamResult:
        """Journal batches (merged across pages by the stream) and their lines.

        Into a new generation voided batches are simply not written; in place they become
        tombstones, and lines a changed batch no longer has are tombstoned too.
        """
        result = StreamResult()
        if not params and since is None:
            since = EPOCH
        self._report(JOURNAL_STEP)
        now = self.now
        if not in_place:
            return self._read_journal_whole(result, generation, carry_from, params, since)

        def to_rows(page: list) -> list[tuple[dict, list[dict]]]:
            return self._mapped(page, partial(mapping.journal_rows, now=now), "journal_batches")

        for page in self._pages("journal_transactions", params, since=since, transform=to_rows):
            batch_rows, line_rows, keep_lines = [], [], set()
            for batch, lines in page:
                key = (batch["module"], batch["batch_number"])
                result.seen.add(key)
                self.touched_periods.add(batch["period"])
                result.bookmark = _max(result.bookmark, batch["source_modified_at"])
                if batch["deleted_at"] is not None and not in_place:
                    continue
                batch_rows.append(batch)
                line_rows.extend(lines)
                if batch["deleted_at"] is None:
                    keep_lines.update((*key, line["line_number"]) for line in lines)
            store.write_rows(JournalBatch, self.client_id, generation, batch_rows,
                             now=self.now, carry_from=carry_from)
            changed_lines: list[dict] | None = [] if in_place else None
            store.write_rows(JournalLine, self.client_id, generation, line_rows,
                             now=self.now, carry_from=carry_from, changed=changed_lines)
            parties = {line["customer_supplier"] for line in changed_lines or ()
                       if line["customer_supplier"]}
            if parties:
                result.parties |= parties
                self._mark_balances_due(self._balances_moved_by(parties, generation))
            if in_place and batch_rows:
                self._drop_stale_lines(generation, [(b["module"], b["batch_number"])
                                                    for b in batch_rows], keep_lines)
            if in_place:
                db.session.commit()
            result.rows += len(line_rows)
            live = sum(1 for b in batch_rows if b["deleted_at"] is None)
            self._report(JOURNAL_STEP, journal_batches=live,
                         journal_lines=sum(1 for line in line_rows if line["deleted_at"] is None))
        self._report(JOURNAL_STEP, flush=True)
        return result

    def _read_journal_whole(self, result: StreamResult, generation: int,
                            carry_from: int | None, params: dict | None,
                            since: datetime | None) -> StreamResult:
        """The fused path of a full sync: into a new generation, voided batches skipped, each
        line mapped straight to its upsert parameters (``store.write_journal_lines``)."""
        now = self.now

        def whole_batch(record: dict) -> tuple[dict, list]:
            batch = mapping.journal_batch_row(record, now=now)
            if batch["deleted_at"] is not None:
                return batch, []
            return batch, mapping.journal_line_values(
                batch, record.get("journalTransactionLines") or [])

        def to_rows(page: list) -> list[tuple[dict, list]]:
            return self._mapped(page, whole_batch, "journal_batches")

        for page in self._pages("journal_transactions", params, since=since, transform=to_rows):
            batch_rows, line_batches, line_count = [], [], 0
            for batch, values in page:
                result.bookmark = _max(result.bookmark, batch["source_modified_at"])
                if batch["deleted_at"] is not None:
                    continue
                batch_rows.append(batch)
                line_batches.append((batch, values))
                line_count += len(values)
            self._write(store.write_rows, JournalBatch, self.client_id, generation, batch_rows,
                        now=now, carry_from=carry_from)
            self._write(store.write_journal_lines, self.client_id, generation, line_batches,
                        now=now, carry_from=carry_from)
            result.rows += line_count
            self._report(JOURNAL_STEP, journal_batches=len(batch_rows), journal_lines=line_count)
        self._report(JOURNAL_STEP, flush=True)
        return result

    def _write(self, function: Callable[..., int], *args: Any, **kwargs: Any) -> int:
        """A store write: in the full sync's background writer when it has one (the count of
        changed rows is then unknown: 0), else now, in this session."""
        if self._writer is None:
            return function(*args, **kwargs)
        self._writer.write(function, *args, **kwargs)
        return 0

    def _drop_stale_lines(self, generation: int, batch_keys: list[tuple], keep: set[tuple]) -> None:
        for condition in store.keys_in(JournalLine, JournalLine.parent_key, batch_keys):
            live = store.live_keys(JournalLine, self.client_id, generation, condition)
            store.tombstone(JournalLine, [i for k, i in live.items() if k not in keep], now=self.now)

    def write_organization(self) -> dict:
        record = self.api.organization(corporate_id=self.orgnr, name=self.name)
        self.store_organization(mapping.organization_values(record))
        return record

    def store_organization(self, values: dict) -> None:
        """The client's one Organization row, overwritten (``changed_at`` only on a change)."""
        row = db.session.scalar(select(Organization).where(Organization.client_id == self.client_id))
        if row is None:
            row = Organization(client_id=self.client_id, changed_at=self.now, **values)
            db.session.add(row)
        elif any(getattr(row, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            row.changed_at = self.now
        db.session.commit()
        self._report("Henter firmaopplysninger", organization=1)

    # -- run kinds --------------------------------------------------------------------------

    def full(self) -> None:
        """Re-read everything into a new generation and flip to it atomically."""
        old, new = store.begin_full_sync(self.client_id)
        self._start_fetching([(plan.stream, EPOCH if plan.needs_filter else None)
                              for plan in PLANS if not plan.period_range]
                             + [("journal_transactions", EPOCH)])
        bookmarks: dict[str, datetime | None] = {}
        self._writer = store.PageWriter.for_session()
        try:
            self.write_organization()
            for plan in PLANS:
                result = self.read_plan(plan, generation=new, carry_from=old, since=None,
                                        track_keys=False)
                bookmarks[plan.dataset] = result.bookmark
            journal = self.read_journal(generation=new, carry_from=old, in_place=False)
            if self._writer is not None:
                self._writer.finish()
        finally:
            if self._writer is not None:
                self._writer.close()
            self._writer = None
            self._stop_fetching()
        bookmarks["journal_batches"] = bookmarks["journal_lines"] = journal.bookmark
        self._report("Tar i bruk de nye dataene")
        removed = store.finish_full_sync(
            self.client_id, old=old, new=new, now=self.now, bookmarks=bookmarks
        )
        for name, count in removed.items():
            if count:
                self.counts[f"{name}_removed"] = count

    def incremental(self) -> None:
        """Read what changed since each bookmark (whole lists where that is as cheap).

        The organization is not re-read (full syncs, test data and client-list refreshes do);
        customer/supplier balances, which no cursor filters, are re-read only when something
        that moves them changed: journal lines naming a party, or the parties themselves.
        """
        generation = store.current_generation(self.client_id, "journal_batches")
        self._discard_unfinished(generation)
        balance_plans = []
        for plan in PLANS:
            if plan.dataset in MOVES_BALANCES.values():
                balance_plans.append(plan)
                continue
            self._incremental_plan(plan, generation)

        state = store.dataset_state(self.client_id, "journal_batches")
        journal = self.read_journal(generation=generation, carry_from=None, in_place=True,
                                    since=self._since(state))
        touched_periods = set((state.figures or {}).get("reconcile", []))
        self._reconcile_deleted_batches(generation, touched_periods)
        if touched_periods:  # dealt with, in the commit that ends the journal stream
            state.figures = {k: v for k, v in state.figures.items() if k != "reconcile"}
            if self.reconcile_left:
                state.figures["reconcile"] = self.reconcile_left
        self._finish_stream(state, journal.bookmark, JournalBatch, generation)
        lines_state = store.dataset_state(self.client_id, "journal_lines")
        self._finish_stream(lines_state, journal.bookmark, JournalLine, generation)

        for plan in balance_plans:
            state = store.dataset_state(self.client_id, plan.dataset)
            if (state.figures or {}).get("due"):
                self._incremental_plan(plan, generation)
            else:  # nothing that moves these balances changed: they are still current
                self._finish_stream(state, None, SYNCED_MODELS[plan.dataset], generation)

    def _mark_balances_due(self, datasets: set[str]) -> None:
        """Note (in the caller's transaction, with the rows that caused it) that these balance
        data sets must be re-read: a crash before they are cannot lose the reason."""
        for dataset in datasets:
            state = store.dataset_state(self.client_id, dataset)
            if not (state.figures or {}).get("due"):
                state.figures = {**(state.figures or {}), "due": True}

    def _balances_moved_by(self, parties: set[str], generation: int) -> set[str]:
        """Which party-balance data sets journal lines naming these parties move."""
        if not parties:
            return set()
        due = set()
        unknown = set(parties)
        for dataset, model in (("customer_balances", SYNCED_MODELS["customers"]),
                               ("supplier_balances", SYNCED_MODELS["suppliers"])):
            known = set(db.session.scalars(select(model.number).where(
                model.client_id == self.client_id, model.generation == generation,
                model.number.in_(list(parties)))))
            if known:
                due.add(dataset)
                unknown -= known
        if unknown:  # a party we do not hold: be safe
            due |= {"customer_balances", "supplier_balances"}
        return due

    def _since(self, state: DatasetState) -> datetime | None:
        """Where an incremental read starts: the bookmark minus the whole look-back overlap.

        The overlap re-reads what changed shortly before the bookmark, so a row committed late
        at the source (stamped before the newest row we saw, visible only after our read) is
        not missed. Always the full overlap: real data is stamped as it is entered, so the
        overlap holds few rows (the simulator stamps its generated books the same way)."""
        if state.bookmark is None:
            return None
        return state.bookmark - self.lookback

    def _incremental_plan(self, plan: Plan, generation: int) -> StreamResult:
        model = SYNCED_MODELS[plan.dataset]
        state = store.dataset_state(self.client_id, plan.dataset)
        since = self._since(state) if plan.cursor else None
        result = self.read_plan(plan, generation=generation, carry_from=None,
                                since=since,
                                track_keys=not plan.cursor or plan.dataset == "gl_balances")
        if not plan.cursor:
            gone = store.tombstone_missing(model, self.client_id, generation, result.seen,
                                           now=self.now)
            if gone:
                self.counts[f"{plan.dataset}_removed"] = len(gone)
        if plan.dataset == "gl_balances":
            self.touched_periods |= result.periods
            self._sweep_vanished_gl(generation, result.seen)
            if result.periods:
                # Periods whose balances moved: the journal step checks them for deleted
                # batches. Kept with the GL bookmark, so a crash in between cannot lose them.
                journal_state = store.dataset_state(self.client_id, "journal_batches")
                pending = set((journal_state.figures or {}).get("reconcile", []))
                journal_state.figures = {**(journal_state.figures or {}),
                                         "reconcile": sorted(pending | result.periods)}
        if (state.figures or {}).get("due"):  # re-read whole: the reason is dealt with
            state.figures = {k: v for k, v in state.figures.items() if k != "due"}
        self._finish_stream(state, result.bookmark, model, generation)
        return result

    def _finish_stream(self, state: DatasetState, seen: datetime | None,
                       model: type[SyncedRow], generation: int) -> None:
        """Advance the bookmark and freshness in the commit that ends the stream."""
        self._note_unchecked()
        state.bookmark = _max(state.bookmark, seen)
        state.synced_at = self.now
        state.row_count = db.session.scalar(
            select(func.count()).select_from(model).where(
                model.client_id == self.client_id, model.generation == generation,
                model.deleted_at.is_(None))
        )
        db.session.commit()

    def _note_unchecked(self) -> None:
        """Keep the touched periods (in the caller's transaction, with the rows and bookmark
        that touched them) until the checks have re-summed them: a run that stops before its
        checks leaves them for the next run's (``checks.run_checks``)."""
        if not self.touched_periods:
            return
        state = store.dataset_state(self.client_id, checks.FIGURES_DATASET)
        pending = set((state.figures or {}).get(checks.UNCHECKED, []))
        if not self.touched_periods <= pending:
            state.figures = {**(state.figures or {}),
                             checks.UNCHECKED: sorted(pending | self.touched_periods)}

    def _sweep_vanished_gl(self, generation: int, received: set[tuple]) -> None:
        """Tombstone GL rows that vanished at the source (a balance back to zero, no lines).

        A change to an account in period P moves the balance of every later period of that
        account (to the year's end for income/expense accounts, which start each year at zero)
        and gives every such row a new lastModifiedDateTime, so the incremental read returns
        all of them that still exist. A stored later row that did not come back is gone.
        """
        if not received:
            return
        accounts = {key[1] for key in received}
        keys = [getattr(GLBalance, name) for name in GLBalance.natural_key]
        stored = db.session.execute(
            select(GLBalance.id, GLBalance.account_type, *keys)
            .where(GLBalance.client_id == self.client_id, GLBalance.generation == generation,
                   GLBalance.deleted_at.is_(None), GLBalance.account_number.in_(accounts))
        ).all()
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
        gone_rows = []
        for row in stored:
            key = tuple(row[2:])
            if key not in received and key[0] > first.get(series(key), "999999"):
                gone_rows.append(row)
        gone = [row.id for row in gone_rows]
        if gone:
            self.touched_periods.update(row.period for row in gone_rows)
            self._note_unchecked()
            store.tombstone(GLBalance, gone, now=self.now)
            db.session.commit()
            self.counts["gl_balances_removed"] = self.counts.get("gl_balances_removed", 0) + len(gone)

    def _discard_unfinished(self, generation: int) -> None:
        """Rows of a full sync killed before its flip are invisible; drop them."""
        for model in SYNCED_MODELS.values():
            db.session.execute(
                delete(model).where(model.client_id == self.client_id,
                                    model.generation > generation)
            )
        db.session.commit()

    def _reconcile_deleted_batches(self, generation: int, touched: set[str]) -> set[str]:
        """Find journal batches deleted at the source: where GL and journal disagree in a
        period whose balances changed, re-read that period's journal whole. Returns the
        customer/supplier numbers on the lines of what was re-read or removed."""
        parties: set[str] = set()
        self.reconcile_left: list[str] = []
        if not touched:
            return parties
        differing = {key[0] for key in checks.gl_journal_differences(self.client_id, touched)}
        candidates = sorted(differing)
        self.reconcile_left = candidates[MAX_RECONCILE_PERIODS:]  # the next run goes on
        for period in candidates[:MAX_RECONCILE_PERIODS]:
            result = self.read_journal(generation=generation, carry_from=None,
                                       params={"periodId": period}, in_place=True)
            parties |= result.parties
            gone = store.tombstone_missing(JournalBatch, self.client_id, generation, result.seen,
                                           JournalBatch.period == period, now=self.now)
            if gone:
                gone_parties = set()
                for condition in store.keys_in(JournalLine, JournalLine.parent_key, gone):
                    gone_parties.update(db.session.scalars(
                        select(JournalLine.customer_supplier).distinct().where(
                            JournalLine.client_id == self.client_id,
                            JournalLine.generation == generation,
                            JournalLine.deleted_at.is_(None),
                            JournalLine.customer_supplier != "", condition)))
                parties |= gone_parties
                self._mark_balances_due(self._balances_moved_by(gone_parties, generation))
                self._drop_stale_lines(generation, gone, keep=set())
                self.counts["journal_batches_removed"] = (
                    self.counts.get("journal_batches_removed", 0) + len(gone))
            db.session.commit()
        return parties

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
        generation = store.current_generation(self.client_id, "accounts")
        self.write_organization()
        accounts = next(p for p in PLANS if p.dataset == "accounts")
        result = self.read_plan(accounts, generation=generation, carry_from=None, since=None,
                                track_keys=True)
        store.tombstone_missing(SYNCED_MODELS["accounts"], self.client_id, generation,
                                result.seen, now=self.now)
        db.session.commit()
        period = self.latest_period()
        if period is None:
            return None
        gl_generation = store.current_generation(self.client_id, "gl_balances")
        seen: set[tuple] = set()
        step = f"Henter saldoer for {period[:4]}-{period[4:]}"
        self._report(step)
        for page in self._pages("gl_balances", {"periodId": period}):
            rows = self._mapped(page, mapping.gl_balance_row, "gl_balances")
            store.write_rows(GLBalance, self.client_id, gl_generation, rows, now=self.now)
            seen.update(tuple(r[k] for k in GLBalance.natural_key) for r in rows)
            db.session.commit()
            self._report(step, gl_balances=len(rows))
        store.tombstone_missing(GLBalance, self.client_id, gl_generation, seen,
                                GLBalance.period == period, now=self.now)
        self.touched_periods.add(period)
        self._note_unchecked()
        db.session.commit()
        return period
