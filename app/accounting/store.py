"""Writing synced rows: bulk upserts page by page, tombstones, and the full-sync generation flip.

The one writer of the synced-data tables (``SYNCED_MODELS``, ``Organization``,
``DatasetState``): a sync run writes through one ``RunWriter``, which it hands pages and what
it saw; other callers use the functions below. See ``app.accounting.models`` for the
visibility scheme. Every function here works on one client; callers commit (page by page)
unless a function says it commits itself.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache, lru_cache, partial
from operator import itemgetter
from typing import Any

import psycopg
from flask import current_app
from sqlalchemy import (
    Date,
    Numeric,
    UniqueConstraint,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql

from app.accounting.models import (
    BY_NAME,
    SYNCED_MODELS,
    Account,
    DatasetState,
    GLBalance,
    JournalBatch,
    JournalLine,
    Organization,
    SyncedRow,
)
from app.db_types import UTCDateTime
from app.extensions import db

CHUNK = 500  # ids per UPDATE/DELETE … IN (…)
RANGE_KEYS = 5000  # keys one range of ``key_ranges`` covers: few statements, short ranges

_PG_DIALECT = postgresql.dialect()


@cache
def value_columns(model: type[SyncedRow]) -> tuple[str, ...]:
    """Columns that carry the source's values (compared through ``row_hash``)."""
    return tuple(name for name in model.source_columns() if name not in model.natural_key)


def row_hash(model: type[SyncedRow], row: Mapping[str, Any]) -> str:
    """A stable digest of a row's values (not its keys or bookkeeping).

    Rows come from ``app.sync.mapping`` (money already quantized to øre), so ``repr`` of the
    value tuple is canonical.
    """
    values = tuple(row.get(name) for name in value_columns(model))
    return hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest()


def _chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- generations -----------------------------------------------------------------------------


def current_generation(client_id: int, dataset: str) -> int:
    """The generation readers see for one client's data set (0 before anything was synced)."""
    value = db.session.scalar(
        select(DatasetState.current_generation).where(
            DatasetState.client_id == client_id, DatasetState.dataset == dataset
        )
    )
    return value or 0


def dataset_state(client_id: int, dataset: str) -> DatasetState:
    """The DatasetState row, created (unflushed) when missing."""
    state = db.session.scalar(
        select(DatasetState).where(
            DatasetState.client_id == client_id, DatasetState.dataset == dataset
        )
    )
    if state is None:
        state = DatasetState(client_id=client_id, dataset=dataset, current_generation=0, figures={})
        db.session.add(state)
    return state


def begin_full_sync(client_id: int) -> tuple[int, int]:
    """Prepare a full sync: drop rows of unfinished earlier ones and reserve a generation no
    earlier attempt used (committed); return (current, new) generation."""
    states = [dataset_state(client_id, name) for name in SYNCED_MODELS]
    current = max(state.current_generation for state in states)
    new = max(current, *(state.reserved_generation or 0 for state in states)) + 1
    for state in states:
        state.reserved_generation = new
    discard_unfinished(client_id, current)
    return current, new


def discard_unfinished(client_id: int, generation: int) -> None:
    """Drop rows above ``generation`` (full syncs killed before their flip: nobody sees
    them); commits."""
    for model in SYNCED_MODELS.values():
        db.session.execute(
            delete(model).where(model.client_id == client_id, model.generation > generation)
        )
    db.session.commit()


def finish_full_sync(
    client_id: int,
    *,
    old: int,
    new: int,
    now: datetime,
    bookmarks: Mapping[str, datetime | None],
) -> dict[str, int]:
    """Carry tombstones forward, flip every data set to ``new`` in ONE transaction (committed),
    then delete generation ``old``. Returns the rows removed from the source per data set."""
    removed: dict[str, int] = {}
    for name, model in SYNCED_MODELS.items():
        removed[name] = _carry_tombstones(model, client_id, old, new, now)
    for name, model in SYNCED_MODELS.items():
        state = dataset_state(client_id, name)
        state.current_generation = new
        state.bookmark = bookmarks.get(name)
        state.synced_at = now
        state.full_synced_at = now
        state.row_count = _live_count(model, client_id, new)
    db.session.commit()  # the flip: readers now see generation `new`
    for model in SYNCED_MODELS.values():
        db.session.execute(
            delete(model).where(model.client_id == client_id, model.generation < new)
        )
        db.session.commit()
    return removed


def _live_count(model: type[SyncedRow], client_id: int, generation: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(model)
        .where(
            model.client_id == client_id,
            model.generation == generation,
            model.deleted_at.is_(None),
        )
    )


def _key_match(model: type[SyncedRow], outer, client_id: int, generation: int):
    """A scalar subquery: the id of ``generation``'s row with ``outer``'s natural key.

    Correlated on the WHOLE natural key, so each engine runs it per outer row as one probe of
    the ``uq_*_natural_key`` index (client_id, generation, *natural key). Neither SQLite nor
    PostgreSQL turns a scalar subquery into a join, so no join order or join method is left to
    row-count estimates (which are stale right after a generation is written: the cause of the
    quadratic nested loops seen with ``NOT EXISTS``/row-value ``IN``). The only choice left to
    PostgreSQL is probe-the-index vs scan-the-table per row, and it knows a table's physical size
    from the file itself, so it probes whenever the table is more than a few pages.
    """
    inner = model.__table__.alias("nxt")
    return (
        select(inner.c.id)
        .where(
            inner.c.client_id == client_id,
            inner.c.generation == generation,
            *(inner.c[k] == outer.c[k] for k in model.natural_key),
        )
        .scalar_subquery()
    )


def _carry_tombstones(
    model: type[SyncedRow], client_id: int, old: int, new: int, now: datetime
) -> int:
    """Copy into ``new`` every row of ``old`` that ``new`` lacks, as a tombstone; returns how
    many of them were live (newly gone from the source). Set-based: two INSERT … SELECT over
    ``old`` with a per-row index probe into ``new`` (see ``_key_match``)."""
    table = model.__table__
    prev = table.alias("prev")
    missing = _key_match(model, prev, client_id, new).is_(None)
    columns = [c.name for c in table.columns if c.name != "id"]
    stamp = {
        "changed_at": literal(now, type_=table.c.changed_at.type),
        "deleted_at": literal(now, type_=table.c.deleted_at.type),
    }
    newly_gone = 0
    for live in (True, False):
        selected = []
        for name in columns:
            if name == "generation":
                selected.append(literal(new).label(name))
            elif live and name in stamp:  # live in `old`, gone now: a tombstone as of now
                selected.append(stamp[name].label(name))
            else:  # already a tombstone: carried as it was
                selected.append(prev.c[name])
        state = prev.c.deleted_at.is_(None) if live else prev.c.deleted_at.is_not(None)
        statement = insert(table).from_select(
            columns,
            select(*selected).where(
                prev.c.client_id == client_id, prev.c.generation == old, state, missing
            ),
        )
        if live:  # counted through RETURNING: rowcount of INSERT … SELECT is not portable
            newly_gone = len(db.session.execute(statement.returning(table.c.id)).all())
        else:
            db.session.execute(statement)
    return newly_gone


# -- writing pages ---------------------------------------------------------------------------


def write_rows(
    model: type[SyncedRow],
    client_id: int,
    generation: int,
    rows: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
    carry_from: int | None = None,
    changed: list[dict] | None = None,
) -> int:
    """Bulk-upsert ``rows`` (natural key + values [+ ``deleted_at``]) into ``generation``.
    The row dicts are completed in place with the bookkeeping columns.

    In place (``carry_from`` None): a row whose values and deleted state are unchanged is not
    touched at all, so its ``changed_at`` stays. Into a new generation (``carry_from`` = the
    current one): a live row's ``changed_at`` is carried over from generation ``carry_from``
    when its values did not change — looked up by the INSERT itself, one probe of the
    natural-key index per row (no per-page round trip, no join left to the planner).

    PostgreSQL: the page goes through COPY into a staging table and one set-based merge
    (``_copy_merge``). SQLite: one ``INSERT … ON CONFLICT DO UPDATE … WHERE changed``
    executemany (its C loop is as fast as SQLite writes). Either way the parameters are adapted
    here, the hot path of a sync: no per-row ORM or Core processing, no per-row round trip.
    Returns how many rows were inserted or changed; ``changed``, when given, receives those
    rows themselves.
    """
    if not rows:
        return 0
    values_of = _values_getter(model)
    blake2b = hashlib.blake2b
    prepared = rows if isinstance(rows, list) else list(rows)
    for item in prepared:  # the hot loop of a sync: rows are completed in place
        if "deleted_at" not in item:
            item["deleted_at"] = None
        if "source_modified_at" not in item:
            item["source_modified_at"] = None
        item["client_id"] = client_id
        item["generation"] = generation
        item["row_hash"] = blake2b(repr(values_of(item)).encode(), digest_size=16).hexdigest()
        item["changed_at"] = now
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        getter, adapters = _staged_getter(model)

        def staged() -> Iterable[tuple]:
            for item in prepared:
                values = getter(item)
                if adapters:
                    values = list(values)
                    for index, adapt in adapters:
                        values[index] = adapt(values[index])
                yield values

        count, keys = _copy_merge(model, client_id, generation, staged(), now=now,
                                  carry_from=carry_from, returning=changed is not None)
        if changed is not None:
            key_of = itemgetter(*unique_key(model))
            by_key = {_as_tuple(key_of(item)): item for item in prepared}
            changed.extend(by_key[key] for key in keys)
        return count
    if changed is not None:
        existing = _existing(model, client_id, generation, prepared)
        keys = model.natural_key
        for item in prepared:
            old = existing.get(tuple(item[k] for k in keys))
            if old is None or old[0] != item["row_hash"] or (
                (old[2] is None) != (item["deleted_at"] is None)
            ):
                changed.append(item)
    carry = carry_from is not None and _has_rows(model, client_id, carry_from)
    _, getter, adapters, probe = _upsert_statement(model, carry)
    params = []
    if carry:
        # (…values, client_id, carry_from, *natural key, row_hash, now): see _upsert_statement
        context = (client_id, carry_from)
        for item in prepared:
            values = list(getter(item))
            for index, adapt in adapters:
                values[index] = adapt(values[index])
            params.append((*values[:-1], *context, *probe(item), values[-1]))
    else:
        for item in prepared:
            values = list(getter(item))
            for index, adapt in adapters:
                values[index] = adapt(values[index])
            params.append(tuple(values))
    return _execute_upsert(model, carry, params)


LINE_COLUMNS = ("module", "batch_number", "line_number", "period", "account_number",
                "subaccount", "branch_number", "description", "debit", "credit",
                "debit_in_currency", "credit_in_currency", "reference_number", "vat_code",
                "vat_description", "customer_supplier")
"""The order of ``app.sync.mapping.journal_line_values`` tuples (checked against the table)."""
LINE_MONEY = frozenset({"debit", "credit", "debit_in_currency", "credit_in_currency"})


def journal_line_rows(batches: Iterable[tuple[Mapping[str, Any], Sequence[tuple]]]
                      ) -> list[tuple]:
    """The fused path's lines ready for ``write_journal_lines``: each ``LINE_COLUMNS`` value
    tuple (money as two-decimal text) with its row hash and its batch's ``deleted_at`` and
    ``source_modified_at`` (naive UTC) appended — the staging table's column order. The hash is
    the one ``write_rows`` computes for the same values (the tuple's repr, money shown as the
    Decimal it stands for), so both paths agree on what changed. Called by whoever maps the
    page, so a background writer is left only the database's part of the work."""
    _check_line_columns()
    hash_text = _line_hash_text
    blake2b = hashlib.blake2b
    out: list[tuple] = []
    append = out.append
    for batch, lines in batches:
        stamps = (_naive_utc(batch.get("deleted_at")), _naive_utc(batch.get("source_modified_at")))
        for values in lines:
            append((*values, blake2b(hash_text(*values).encode(), digest_size=16).hexdigest(),
                    *stamps))
    return out


def write_journal_lines(
    client_id: int,
    generation: int,
    lines: Sequence[tuple],
    *,
    now: datetime,
    carry_from: int | None = None,
) -> int:
    """``write_rows(JournalLine, …)`` for the fused path of a full sync: ``lines`` from
    ``journal_line_rows`` go straight into COPY (PostgreSQL) or the executemany parameters
    (SQLite) — no dict, no Decimal, no adapter call per line."""
    from app.accounting.models import JournalLine

    if not lines:
        return 0
    if db.session.get_bind().dialect.name == "postgresql":
        count, _ = _copy_merge(JournalLine, client_id, generation, lines, now=now,
                               carry_from=carry_from)
        return count
    carry = carry_from is not None and _has_rows(JournalLine, client_id, carry_from)
    stamp = _sqlite_datetime(now)
    width = len(LINE_COLUMNS)
    params = []
    append = params.append
    for line in lines:
        values, digest = line[:width], line[width]
        extra = (_sqlite_datetime(line[width + 1]), _sqlite_datetime(line[width + 2]), client_id)
        if carry:
            append((*values, generation, digest, *extra, client_id, carry_from,
                    values[0], values[1], values[2], digest, stamp))
        else:
            append((*values, generation, digest, *extra, stamp))
    return _execute_upsert(JournalLine, carry, params)


def _write_journal_page(client_id: int, generation: int, batches: list[dict],
                        lines: Sequence[tuple], *, now: datetime, carry_from: int | None) -> None:
    """A page's batches and their lines, one background job: one transaction, one commit."""
    write_rows(JournalBatch, client_id, generation, batches, now=now, carry_from=carry_from)
    write_journal_lines(client_id, generation, lines, now=now, carry_from=carry_from)


def _line_hash_text(module, batch_number, line_number, period, account_number, subaccount,
                    branch_number, description, debit, credit, debit_in_currency,
                    credit_in_currency, reference_number, vat_code, vat_description,
                    customer_supplier) -> str:
    """For a ``LINE_COLUMNS`` tuple, exactly the text ``row_hash`` digests for the same line as
    a dict: ``repr`` of its value columns, money as the Decimal its text stands for. Spelled
    out (an f-string) because it runs for every line of a full sync; ``_check_line_columns``
    holds it to the table."""
    return (f"({period!r}, {account_number!r}, {subaccount!r}, {branch_number!r}, "
            f"{description!r}, Decimal('{debit}'), Decimal('{credit}'), "
            f"Decimal('{debit_in_currency}'), Decimal('{credit_in_currency}'), "
            f"{reference_number!r}, {vat_code!r}, {vat_description!r}, {customer_supplier!r})")


@cache
def _check_line_columns() -> None:
    """``LINE_COLUMNS`` is still the table's column order (and the staging table's, for COPY),
    and ``_line_hash_text`` shows its value columns in order."""
    from app.accounting.models import JournalLine

    columns = _insert_columns(JournalLine)
    expected = (*LINE_COLUMNS, "generation", "row_hash", "deleted_at", "source_modified_at",
                "client_id", "changed_at")
    staged = (*LINE_COLUMNS, "row_hash", "deleted_at", "source_modified_at")
    shown = ", ".join(f"Decimal('{name}')" if name in LINE_MONEY else repr(name)
                      for name in value_columns(JournalLine))
    if (columns != expected or _staged_columns(JournalLine) != staged
            or _line_hash_text(*LINE_COLUMNS) != f"({shown})"):
        raise RuntimeError(f"write_journal_lines is out of step with the table: {columns}")


def _insert_columns(model: type[SyncedRow]) -> tuple[str, ...]:
    """The upsert's columns: the table's without ``id``, ``changed_at`` moved last."""
    names = tuple(c.name for c in model.__table__.columns if c.name not in ("id", "changed_at"))
    return (*names, "changed_at")


@cache
def _values_getter(model: type[SyncedRow]):
    """itemgetter of the value columns; every row from the mapping has all of them."""
    names = value_columns(model)
    getter = itemgetter(*names)
    return getter if len(names) > 1 else (lambda row: (getter(row),))


def _has_rows(model: type[SyncedRow], client_id: int, generation: int) -> bool:
    """Whether a generation holds any row of ``model``: a full sync skips the carry-over work
    when the generation it replaces has none (a company's first). Asked once per session (one
    run's) and kept: nothing writes a replaced generation any more."""
    info = db.session().info
    key = ("store.has_rows", model.__table__.name, client_id, generation)
    if key not in info:
        info[key] = db.session.scalar(
            select(literal(True)).where(model.client_id == client_id,
                                        model.generation == generation).limit(1)) is not None
    return info[key]


@lru_cache(maxsize=8192)  # `now` and each batch's stamp repeat on every row and line
def _sqlite_datetime(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite DATETIME format


@lru_cache(maxsize=8192)
def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


@lru_cache(maxsize=4096)
def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _sqlite_decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@cache
def _upsert_statement(model: type[SyncedRow], carry: bool = False
                      ) -> tuple[str, Any, tuple, Any]:
    """SQLite: (SQL, getter of the parameter values, (index, adapter) pairs, getter of the probe
    values) of the bulk upsert. ``changed_at`` is the last column; with ``carry`` its value is
    ``COALESCE((the carried-from generation's changed_at of the same key and hash), now)``,
    whose parameters (client_id, generation, *natural key, row_hash) come just before ``now``.
    """
    table = model.__table__
    columns = _insert_columns(model)
    adapters = []
    for index, name in enumerate(columns):
        kind = table.c[name].type
        if isinstance(kind, UTCDateTime):
            adapters.append((index, _sqlite_datetime))
        elif isinstance(kind, Date):
            adapters.append((index, _sqlite_date))
        elif isinstance(kind, Numeric):
            adapters.append((index, _sqlite_decimal))
    head, group, tail = _upsert_parts(model, carry)
    return (head + group + tail, itemgetter(*columns), tuple(adapters),
            itemgetter(*unique_key(model), "row_hash"))


@cache
def _upsert_parts(model: type[SyncedRow], carry: bool) -> tuple[str, str, str]:
    """SQLite: the upsert as (INSERT … VALUES, one row's value group, ON CONFLICT …)."""
    table = model.__table__
    columns = _insert_columns(model)
    placeholders = ["?" for _ in columns]
    if carry:
        keys = " AND ".join(f"prev.{k} = ?" for k in unique_key(model))
        placeholders[-1] = (
            f"COALESCE((SELECT prev.changed_at FROM {table.name} AS prev "
            f"WHERE prev.client_id = ? AND prev.generation = ? AND {keys} "
            f"AND prev.row_hash = ? AND prev.deleted_at IS NULL), ?)"
        )
    conflict = ("client_id", "generation", *unique_key(model))
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in conflict)
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ",
        f"({', '.join(placeholders)})",
        f" ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {updates} "
        f"WHERE {table.name}.row_hash <> excluded.row_hash "
        f"OR ({table.name}.deleted_at IS NULL) <> (excluded.deleted_at IS NULL)",
    )


def _execute_upsert(model: type[SyncedRow], carry: bool, params: list[tuple]) -> int:
    """SQLite: run the upsert for ``params`` as one executemany (SQLite's C loop)."""
    head, group, tail = _upsert_parts(model, carry)
    result = db.session.connection().exec_driver_sql(head + group + tail, params)
    count = result.rowcount
    return count if count is not None and count >= 0 else len(params)


# -- writing a new generation in the background ------------------------------------------


class PageWriter:
    """Runs a full sync's page writes (store calls into the new, invisible generation) in a
    thread with its own app context, session and connection, committing each page, so the
    database merges page n while the caller maps page n+1.

    Only where the database takes a second writer without waiting (PostgreSQL); elsewhere
    ``write`` runs inline in the caller's session (``PageWriter.for_session``). The rows handed
    over belong to the writer from then on. ``finish`` waits for every page and re-raises the
    writer's error; a writer error also surfaces at the next ``write``. ``close`` stops it
    early, its uncommitted page rolled back (what a killed run leaves: invisible rows of an
    unfinished generation, which the next full sync deletes first).

    Its session takes the caller's session ``info``, and with it the run's fence
    (``app.jobs.fencing``): a run whose worker lost the run cannot commit a page here either."""

    _STOP = object()

    def __init__(self, app, depth: int = 2, session_info: Mapping[str, Any] | None = None
                 ) -> None:
        self._pages: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(app, dict(session_info or {})),
                                        name="store-writer", daemon=True)
        self._thread.start()

    @classmethod
    def for_session(cls) -> PageWriter | None:
        """A writer for the current app's database, or None to write inline."""
        if db.session.get_bind().dialect.name != "postgresql":
            return None
        return cls(current_app._get_current_object(), session_info=db.session().info)

    def _run(self, app, session_info: dict) -> None:
        with app.app_context():
            # No flush to disk per page: the rows are invisible until the flip, whose
            # synchronous commit makes every earlier commit durable too (PostgreSQL writes its
            # log in order); a crash before it loses only an unfinished generation, which the
            # next full sync drops anyway.
            db.session().info.update(session_info, **{ASYNC_COMMIT: True})
            try:
                while (job := self._pages.get()) is not self._STOP:
                    if self._error is None:
                        job()
                        db.session.commit()
            except BaseException as exc:  # re-raised in the caller's thread
                self._error = exc
                db.session.rollback()
                while self._pages.get() is not self._STOP:  # unblock the caller, then end
                    pass
            finally:
                db.session.remove()

    def write(self, function, *args, **kwargs) -> None:
        """Queue ``function(*args, **kwargs)`` (a store write); blocks while ``depth`` pages
        wait already."""
        if self._error is not None:
            raise self._error
        self._pages.put(partial(function, *args, **kwargs))

    def finish(self) -> None:
        """Every queued page written and committed (or the writer's error raised)."""
        self._pages.put(self._STOP)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Stop without finishing what is queued (after an error in the caller)."""
        if self._thread.is_alive():
            self._error = self._error or RuntimeError("page writer closed")
            self._pages.put(self._STOP)
            self._thread.join()


# -- PostgreSQL: COPY into a staging table, one set-based merge per page -----------------------


@cache
def unique_key(model: type[SyncedRow]) -> tuple[str, ...]:
    """The natural key as the table's named unique constraint declares it (after client_id and
    generation): what ON CONFLICT must name, whatever the model's columns become."""
    for constraint in model.__table__.constraints:
        if isinstance(constraint, UniqueConstraint) and str(constraint.name).endswith(
            "_natural_key"
        ):
            names = tuple(c.name for c in constraint.columns)
            if names[:2] != ("client_id", "generation"):
                raise RuntimeError(f"{constraint.name} must start with client_id, generation")
            return names[2:]
    raise RuntimeError(f"{model.__table__.name} has no *_natural_key unique constraint")


@cache
def _staged_columns(model: type[SyncedRow]) -> tuple[str, ...]:
    """What one page puts into the staging table: every column but the surrogate id and what
    is the same for the whole page (client, generation, the page's ``changed_at``)."""
    same = {"client_id", "generation", "changed_at"}
    return tuple(name for name in _insert_columns(model) if name not in same)


@cache
def _staging_ddl(model: type[SyncedRow], dialect) -> tuple[str, str]:
    """(name, statements that make it exist and empty) of the model's staging table: a
    temporary table of this connection with the staged columns' types (no constraints: the
    merge checks them). Emptied before each page (TRUNCATE: no per-row work, unlike DELETE)
    and at every commit; ``seq`` keeps the page's order, so a key repeated within one page
    ends as its last occurrence, as row-by-row upserts would leave it."""
    table = model.__table__
    name = f"stage_{table.name}"
    columns = ", ".join(f"{c} {table.c[c].type.compile(dialect=dialect)}"
                        for c in _staged_columns(model))
    return name, (f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} (seq bigserial, {columns}) "
                  f"ON COMMIT DELETE ROWS; TRUNCATE {name}")


@cache
def _merge_statement(model: type[SyncedRow], carry: bool, returning: bool,
                     conflicts: bool = True) -> str:
    """INSERT … SELECT of the staged page into the table. A live row's ``changed_at`` comes,
    with ``carry``, from the carried-from generation's row of the same key and hash (one probe
    of the natural-key index per row, as in ``_upsert_parts``); an existing row is rewritten
    only when its hash or deleted state changed, so an unchanged re-read keeps its
    ``changed_at``. Without ``conflicts`` it is a plain INSERT, for a generation that cannot
    hold the page's keys yet: it spares each row the index probe ON CONFLICT makes before
    inserting, and fails on a key that is there after all (``_copy_merge`` then merges)."""
    table = model.__table__.name
    keys = unique_key(model)
    staged = _staged_columns(model)
    key_list = ", ".join(keys)
    changed_at = "%(now)s"
    if carry:
        same_key = " AND ".join(f"prev.{k} = page.{k}" for k in keys)
        changed_at = (
            f"COALESCE((SELECT prev.changed_at FROM {table} AS prev "
            f"WHERE prev.client_id = %(client_id)s AND prev.generation = %(carry_from)s "
            f"AND {same_key} AND prev.row_hash = page.row_hash AND prev.deleted_at IS NULL), "
            "%(now)s)"
        )
    conflict = ("client_id", "generation", *keys)
    columns = ("client_id", "generation", *staged, "changed_at")
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in conflict)
    stage, _ = _staging_ddl(model, _PG_DIALECT)
    statement = (
        f"WITH page AS (SELECT DISTINCT ON ({key_list}) * FROM {stage} "
        f"ORDER BY {key_list}, seq DESC) "
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"SELECT %(client_id)s, %(generation)s, "
        f"{', '.join(f'page.{c}' for c in staged)}, {changed_at} FROM page"
    )
    if conflicts:
        statement += (
            f" ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {updates} "
            f"WHERE {table}.row_hash <> excluded.row_hash "
            f"OR ({table}.deleted_at IS NULL) <> (excluded.deleted_at IS NULL)"
        )
    return statement + (f" RETURNING {key_list}" if returning else "")


ASYNC_COMMIT = "store.async_commit"
"""Session info flag: this session's page transactions commit without waiting for the disk
(``PageWriter``); set with the page's first statement, not a round trip of its own."""


def _copy_merge(model: type[SyncedRow], client_id: int, generation: int, rows: Iterable[tuple],
                *, now: datetime, carry_from: int | None, returning: bool = False
                ) -> tuple[int, list[tuple]]:
    """One page into PostgreSQL: ``rows`` (``_staged_columns`` order, timestamps naive UTC)
    through COPY, then at most one merge: a few round trips per page, none per row. Returns
    (rows inserted or changed, their natural keys when ``returning``).

    Into a new generation (``carry_from`` given) a page can meet a key already there only
    when the source repeated a record on an earlier page. So the page is tried first without
    the merge's work, in a savepoint: with nothing to carry over (a company's first full
    sync) COPY goes straight into the table; otherwise a plain INSERT from the staging table
    takes the carried ``changed_at``. A repeated key fails that try, and the page is merged
    as usual (the later copy wins)."""
    params = {"client_id": client_id, "generation": generation, "carry_from": carry_from,
              "now": _naive_utc(now)}
    carry = carry_from is not None
    # Client-side binding: the parameters are ints and a timestamp, and several statements
    # go in one round trip (a page written while the run maps the next one waits for each
    # answer behind the mapping thread's hold on the GIL).
    cursor = psycopg.ClientCursor(db.session.connection().connection.driver_connection)
    setting = ("SET LOCAL synchronous_commit TO OFF; "
               if db.session().info.get(ASYNC_COMMIT) else "")
    try:
        if carry and not returning and not _has_rows(model, client_id, carry_from):
            rows = rows if isinstance(rows, list) else list(rows)  # kept for the merge
            cursor.execute(setting + "SAVEPOINT fresh_page")
            setting = ""
            try:
                _copy(cursor, model.__table__.name, (*_staged_columns(model), "client_id",
                      "generation", "changed_at"),
                      ((*row, client_id, generation, params["now"]) for row in rows))
            except psycopg.errors.UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT fresh_page")
            else:
                count = cursor.rowcount
                cursor.execute("RELEASE SAVEPOINT fresh_page")
                return count, []
        stage, create = _staging_ddl(model, _PG_DIALECT)
        cursor.execute(setting + create)
        _copy(cursor, stage, _staged_columns(model), rows)
        if carry:
            try:
                cursor.execute("SAVEPOINT fresh_page; "
                               + _merge_statement(model, carry, returning, conflicts=False)
                               + "; RELEASE SAVEPOINT fresh_page", params)
            except psycopg.errors.UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT fresh_page")
            else:
                cursor.nextset()  # the INSERT's result, after the SAVEPOINT's
                keys = [tuple(found) for found in cursor.fetchall()] if returning else []
                return cursor.rowcount, keys
        cursor.execute(_merge_statement(model, carry, returning), params)
        keys = [tuple(found) for found in cursor.fetchall()] if returning else []
        return cursor.rowcount, keys
    finally:
        cursor.close()


def _copy(cursor, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        write_row = copy.write_row
        for row in rows:
            write_row(row)


@cache
def _staged_getter(model: type[SyncedRow]) -> tuple[Any, tuple]:
    """(itemgetter of ``_staged_columns``, (index, adapter) pairs): timestamps to naive UTC,
    what a ``timestamp without time zone`` column takes (COPY would drop an offset)."""
    table = model.__table__
    columns = _staged_columns(model)
    adapters = tuple((index, _naive_utc) for index, name in enumerate(columns)
                     if isinstance(table.c[name].type, UTCDateTime))
    return itemgetter(*columns), adapters


def _as_tuple(value: Any) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def keys_in(model: type[SyncedRow], columns: Sequence[str], keys: Iterable[tuple]) -> list:
    """Conditions selecting rows whose ``columns`` match one of ``keys``, shaped for the
    natural-key index: ``first = v AND second BETWEEN lo AND hi AND second IN (…)`` per first
    value and sorted chunk (a row-value IN list would make SQLite scan the client's whole
    generation; PostgreSQL, on statistics taken before a generation was written, applies an
    IN list as a filter over every row of the index prefix, so the range bounds that scan)."""
    first = getattr(model, columns[0])
    if len(columns) == 1:
        return [first.in_([k[0] for k in chunk]) for chunk in _chunks(list(keys))]
    second = getattr(model, columns[1])
    return [(first == value) & second.between(chunk[0], chunk[-1]) & second.in_(chunk)
            for value, chunk in _key_chunks(keys)]


def key_ranges(model: type[SyncedRow], columns: tuple[str, str], keys: Iterable[tuple]) -> list:
    """Like ``keys_in`` without the IN lists: ranges that cover every key (and whatever lies
    between them), for a caller whose other conditions are exact. An index range scan each,
    with no per-row list to test."""
    first, second = getattr(model, columns[0]), getattr(model, columns[1])
    return [(first == value) & second.between(chunk[0], chunk[-1])
            for value, chunk in _key_chunks(keys, RANGE_KEYS)]


def _key_chunks(keys: Iterable[tuple], size: int = CHUNK) -> Iterable[tuple[Any, Sequence]]:
    """(first value, a sorted chunk of its second values) pairs covering two-column ``keys``."""
    groups: dict[Any, set] = {}
    for key in keys:
        groups.setdefault(key[0], set()).add(key[1])
    for value, seconds in groups.items():
        for chunk in _chunks(sorted(seconds), size):
            yield value, chunk


def _existing(
    model: type[SyncedRow], client_id: int, generation: int, rows: list[dict]
) -> dict[tuple, tuple]:
    """Natural key -> (row_hash, changed_at, deleted_at) of the stored rows matching ``rows``."""
    keys = model.natural_key
    # Look rows up by their parent (a journal line by its batch) when the table has one.
    lookup = getattr(model, "parent_key", None) or keys
    key_cols = [getattr(model, k) for k in keys]
    wanted = {tuple(r[k] for k in lookup) for r in rows}
    found: dict[tuple, tuple] = {}
    for condition in keys_in(model, lookup, wanted):
        result = db.session.execute(
            select(*key_cols, model.row_hash, model.changed_at, model.deleted_at).where(
                model.client_id == client_id, model.generation == generation, condition
            )
        )
        for record in result:
            found[tuple(record[: len(keys)])] = tuple(record[len(keys) :])
    return found


def live_keys(
    model: type[SyncedRow], client_id: int, generation: int, *conditions
) -> dict[tuple, int]:
    """Natural key -> id of the live (not deleted) rows, optionally narrowed by ``conditions``."""
    key_cols = [getattr(model, k) for k in model.natural_key]
    result = db.session.execute(
        select(model.id, *key_cols).where(
            model.client_id == client_id,
            model.generation == generation,
            model.deleted_at.is_(None),
            *conditions,
        )
    )
    return {tuple(record[1:]): record[0] for record in result}


def tombstone(model: type[SyncedRow], ids: Iterable[int], *, now: datetime) -> int:
    """Mark rows deleted (they disappeared from the source)."""
    ids = list(ids)
    for chunk in _chunks(ids):
        db.session.execute(
            update(model)
            .where(model.id.in_(chunk), model.deleted_at.is_(None))
            .values(deleted_at=now, changed_at=now)
            .execution_options(synchronize_session=False)
        )
    return len(ids)


def tombstone_missing(
    model: type[SyncedRow],
    client_id: int,
    generation: int,
    seen: set[tuple],
    *conditions,
    now: datetime,
) -> list[tuple]:
    """Tombstone live rows (within ``conditions``) whose key is not in ``seen``; their keys."""
    gone = {key: row_id for key, row_id in live_keys(model, client_id, generation, *conditions).items()
            if key not in seen}
    tombstone(model, gone.values(), now=now)
    return list(gone)


def purge_tombstones(older_than: datetime) -> int:
    """Delete tombstones older than ``older_than`` (all clients); commits."""
    removed = 0
    for model in SYNCED_MODELS.values():
        result = db.session.execute(
            delete(model).where(model.deleted_at.is_not(None), model.deleted_at < older_than)
        )
        removed += result.rowcount or 0
        db.session.commit()
    return removed


# -- other writes ----------------------------------------------------------------------------


def write_organization(client_id: int, values: Mapping[str, Any], *, now: datetime) -> None:
    """The client's one Organization row, overwritten (``changed_at`` only on a change);
    commits."""
    row = db.session.scalar(select(Organization).where(Organization.client_id == client_id))
    if row is None:
        db.session.add(Organization(client_id=client_id, changed_at=now, **values))
    elif any(getattr(row, k) != v for k, v in values.items()):
        for key, value in values.items():
            setattr(row, key, value)
        row.changed_at = now
    db.session.commit()


def delete_accounts(client_id: int, numbers: Sequence[str]) -> int:
    """Remove accounts (every generation) with their GL balance rows; returns the GL rows
    removed. The caller commits (with its audit record)."""
    if not numbers:
        return 0
    removed = db.session.execute(
        delete(GLBalance).where(GLBalance.client_id == client_id,
                                GLBalance.account_number.in_(numbers))
    ).rowcount or 0
    db.session.execute(
        delete(Account).where(Account.client_id == client_id, Account.account_number.in_(numbers))
    )
    return removed


def row_total(client_id: int) -> int | None:
    """The live rows the client's data sets held after their last run (None: never synced)."""
    return sum(db.session.scalars(
        select(DatasetState.row_count).where(
            DatasetState.client_id == client_id, DatasetState.row_count.is_not(None))
    )) or None


def ever_full_synced(client_id: int) -> bool:
    """Whether a full sync ever finished for the client."""
    return bool(db.session.scalar(
        select(func.count()).where(
            DatasetState.client_id == client_id, DatasetState.full_synced_at.is_not(None))
    ))


def check_figures(client_id: int) -> dict | None:
    """What the accounting checks kept from the previous run (None: nothing yet)."""
    return dataset_state(client_id, FIGURES_DATASET).figures or None


def keep_check_figures(client_id: int, figures: dict) -> None:
    """Keep the checks' figures for the next run (the caller commits)."""
    dataset_state(client_id, FIGURES_DATASET).figures = figures


FIGURES_DATASET = "gl_balances"
"""Whose ``DatasetState.figures`` hold the checks' figures."""
UNCHECKED = "unchecked"
"""Figures key: periods written since the last checks (kept by the run with its writes)."""


# -- one run's writes ------------------------------------------------------------------------


class RunWriter:
    """One sync run's writes for one client: the engine hands it each page and what it saw;
    the writer picks the generation and the ``changed_at`` carry-over, tombstones, notes which
    balance data sets a change makes due and which periods the checks must re-sum, and ends
    the transactions (in place: every page; into a new generation: nothing is visible before
    ``finish_full``'s flip, and on PostgreSQL the pages are written by a ``PageWriter`` while
    the engine maps the next ones; ``close`` stops it when the run fails).

    Build one with ``full``, ``in_place`` or ``visible``; data sets are named as in
    ``app.accounting.models.DATASETS``.
    """

    def __init__(self, client_id: int, *, now: datetime, generation: int | None = None,
                 carry_from: int | None = None, background: PageWriter | None = None) -> None:
        self.client_id = client_id
        self.now = now
        self.generation = generation
        """Where every data set is written (None: each data set's visible generation)."""
        self.carry_from = carry_from
        """The generation a full sync replaces (None: writing in place)."""
        self.touched: set[str] = set()
        """Periods whose GL balances or journal were written in place (the checks re-sum
        only these)."""
        self._noted: set[str] = set()
        self._background = background
        self._visible: dict[str, int] = {}

    @classmethod
    def full(cls, client_id: int, *, now: datetime) -> RunWriter:
        """A full sync: rows of an unfinished earlier one dropped, pages into a new generation."""
        old, new = begin_full_sync(client_id)
        return cls(client_id, now=now, generation=new, carry_from=old,
                   background=PageWriter.for_session())

    @classmethod
    def in_place(cls, client_id: int, *, now: datetime) -> RunWriter:
        """An incremental sync: into the visible copy, rows of a killed full sync dropped."""
        generation = current_generation(client_id, "journal_batches")
        discard_unfinished(client_id, generation)
        return cls(client_id, now=now, generation=generation)

    @classmethod
    def visible(cls, client_id: int, *, now: datetime) -> RunWriter:
        """Into each data set's visible generation as it is (test data)."""
        return cls(client_id, now=now)

    def _generation(self, dataset: str) -> int:
        if self.generation is not None:
            return self.generation
        if dataset not in self._visible:  # no flip during a run that writes in place
            self._visible[dataset] = current_generation(self.client_id, dataset)
        return self._visible[dataset]

    def _write(self, function: Any, *args: Any, **kwargs: Any) -> int:
        """A store write: in the background writer when there is one (the count of changed
        rows is then unknown: 0), else now, in this session."""
        if self._background is None:
            return function(*args, **kwargs)
        self._background.write(function, *args, **kwargs)
        return 0

    def _commit(self) -> None:
        """End an in-place transaction, keeping (with the rows that touched them) the periods
        the checks must re-sum: a run that stops before its checks leaves them to the next."""
        fresh = self.touched - self._noted
        if fresh:
            state = dataset_state(self.client_id, FIGURES_DATASET)
            pending = set((state.figures or {}).get(UNCHECKED, []))
            if not fresh <= pending:
                state.figures = {**(state.figures or {}), UNCHECKED: sorted(pending | fresh)}
        db.session.commit()
        self._noted |= fresh

    def close(self) -> None:
        """Stop the background writer, if any, without finishing (the run failed)."""
        if self._background is not None:
            self._background.close()
            self._background = None

    # -- pages ----------------------------------------------------------------------------

    def page(self, dataset: str, rows: list[dict]) -> int:
        """One page of rows; in place it is committed at once (with the balance data set the
        changes make due). Returns how many rows were inserted or changed."""
        model = SYNCED_MODELS[dataset]
        if self.carry_from is not None:
            return self._write(write_rows, model, self.client_id, self._generation(dataset),
                               rows, now=self.now, carry_from=self.carry_from)
        if dataset == "gl_balances":
            self.touched.update(row["period"] for row in rows)
        changed = write_rows(model, self.client_id, self._generation(dataset), rows,
                             now=self.now)
        moves = BY_NAME[dataset].moves
        if changed and moves:
            self.mark_due({moves})
        db.session.commit()
        return changed

    def journal_page(self, batches: list[tuple[dict, list[dict]]]) -> None:
        """One page of whole batches with their line rows. In place (committed): voided
        batches become tombstones, as do the lines a changed batch no longer has, and lines
        naming a party make its balances due. Into a new generation voided batches are not
        written."""
        generation = self._generation("journal_batches")
        if self.carry_from is not None:
            live = [(batch, lines) for batch, lines in batches if batch["deleted_at"] is None]
            self._write(write_rows, JournalBatch, self.client_id, generation,
                        [b for b, _ in live], now=self.now, carry_from=self.carry_from)
            self._write(write_rows, JournalLine, self.client_id, generation,
                        [line for _, lines in live for line in lines], now=self.now,
                        carry_from=self.carry_from)
            return
        self.touched.update(batch["period"] for batch, _ in batches)
        batch_rows, line_rows, keep = [], [], set()
        for batch, lines in batches:
            batch_rows.append(batch)
            line_rows.extend(lines)
            if batch["deleted_at"] is None:
                keep.update((batch["module"], batch["batch_number"], line["line_number"])
                            for line in lines)
        write_rows(JournalBatch, self.client_id, generation, batch_rows, now=self.now)
        changed: list[dict] = []
        write_rows(JournalLine, self.client_id, generation, line_rows, now=self.now,
                   changed=changed)
        parties = {line["customer_supplier"] for line in changed if line["customer_supplier"]}
        if parties:
            self.mark_due(self._balances_moved_by(parties, generation))
        if batch_rows:
            self._drop_stale_lines(generation, [(b["module"], b["batch_number"])
                                                for b in batch_rows], keep)
        db.session.commit()

    def journal_values_page(self, batches: list[tuple[dict, list[tuple]]]) -> None:
        """Into a new generation: batches with their lines as ``LINE_COLUMNS`` value tuples
        (the fused path); voided batches are not written."""
        generation = self._generation("journal_batches")
        live = [(batch, values) for batch, values in batches if batch["deleted_at"] is None]
        self._write(_write_journal_page, self.client_id, generation,
                    [batch for batch, _ in live], journal_line_rows(live), now=self.now,
                    carry_from=self.carry_from)

    def live_rows(self, dataset: str, *conditions, columns: Sequence = ()) -> list:
        """The live rows (within ``conditions``) of the generation written: ``(id,
        *columns, *natural key)`` each."""
        model = SYNCED_MODELS[dataset]
        keys = [getattr(model, name) for name in model.natural_key]
        return db.session.execute(
            select(model.id, *columns, *keys).where(
                model.client_id == self.client_id,
                model.generation == self._generation(dataset),
                model.deleted_at.is_(None), *conditions)
        ).all()

    # -- tombstones -----------------------------------------------------------------------

    def tombstone_missing(self, dataset: str, seen: set[tuple], *conditions,
                          periods: set[str] = frozenset()) -> list[tuple]:
        """Tombstone the live rows (within ``conditions``, in ``periods``) whose key was not
        seen; their keys. Committed."""
        if dataset == "gl_balances":
            self.touched |= periods
        gone = tombstone_missing(SYNCED_MODELS[dataset], self.client_id,
                                 self._generation(dataset), seen, *conditions, now=self.now)
        self._commit()
        return gone

    def tombstone(self, dataset: str, ids: list[int], *, periods: set[str] = frozenset()
                  ) -> None:
        """Tombstone rows by id (found gone by the caller), in ``periods``. Committed."""
        if dataset == "gl_balances":
            self.touched |= periods
        tombstone(SYNCED_MODELS[dataset], ids, now=self.now)
        self._commit()

    def remove_batches(self, period: str, seen: set[tuple]) -> int:
        """A period's journal re-read whole: tombstone its batches not ``seen`` and their
        lines, making the balances of the parties on those lines due. Committed; returns how
        many batches went."""
        generation = self._generation("journal_batches")
        gone = tombstone_missing(JournalBatch, self.client_id, generation, seen,
                                 JournalBatch.period == period, now=self.now)
        if gone:
            parties: set[str] = set()
            for condition in keys_in(JournalLine, JournalLine.parent_key, gone):
                parties.update(db.session.scalars(
                    select(JournalLine.customer_supplier).distinct().where(
                        JournalLine.client_id == self.client_id,
                        JournalLine.generation == generation,
                        JournalLine.deleted_at.is_(None),
                        JournalLine.customer_supplier != "", condition)))
            self.mark_due(self._balances_moved_by(parties, generation))
            self._drop_stale_lines(generation, gone, keep=set())
        self._commit()
        return len(gone)

    def _drop_stale_lines(self, generation: int, batch_keys: list[tuple], keep: set[tuple]
                          ) -> None:
        for condition in keys_in(JournalLine, JournalLine.parent_key, batch_keys):
            live = live_keys(JournalLine, self.client_id, generation, condition)
            tombstone(JournalLine, [i for k, i in live.items() if k not in keep], now=self.now)

    def _balances_moved_by(self, parties: set[str], generation: int) -> set[str]:
        """Which party-balance data sets journal lines naming these parties move (both, for
        a party not held)."""
        if not parties:
            return set()
        due = set()
        unknown = set(parties)
        for dataset in (d for d in BY_NAME.values() if d.moves):
            model = dataset.model
            known = set(db.session.scalars(select(model.number).where(
                model.client_id == self.client_id, model.generation == generation,
                model.number.in_(list(parties)))))
            if known:
                due.add(dataset.moves)
                unknown -= known
        if unknown:
            due |= {dataset.moves for dataset in BY_NAME.values() if dataset.moves}
        return due

    # -- what a run keeps between its transactions ------------------------------------------

    def mark_due(self, datasets: set[str]) -> None:
        """Note (in the current transaction, with the rows that caused it) that these balance
        data sets must be re-read: a crash before they are cannot lose the reason."""
        for dataset in datasets:
            state = dataset_state(self.client_id, dataset)
            if not (state.figures or {}).get("due"):
                state.figures = {**(state.figures or {}), "due": True}

    def due(self, dataset: str) -> bool:
        """Whether something that moves this data set changed since it was last read."""
        return bool((dataset_state(self.client_id, dataset).figures or {}).get("due"))

    def bookmark(self, dataset: str) -> datetime | None:
        """The newest source stamp whose rows are committed."""
        return dataset_state(self.client_id, dataset).bookmark

    def reconcile_pending(self) -> set[str]:
        """Periods whose GL balances moved, not yet checked for deleted journal batches."""
        figures = dataset_state(self.client_id, "journal_batches").figures or {}
        return set(figures.get("reconcile", []))

    def add_reconcile(self, periods: set[str]) -> None:
        """Keep periods to check for deleted batches (with the GL rows that moved, in the
        commit that ends the GL stream)."""
        state = dataset_state(self.client_id, "journal_batches")
        pending = set((state.figures or {}).get("reconcile", []))
        state.figures = {**(state.figures or {}), "reconcile": sorted(pending | periods)}

    def finish_stream(self, dataset: str, seen: datetime | None, *,
                      reconcile_left: list[str] | None = None) -> None:
        """End a data set's stream in place: bookmark advanced to ``seen``, freshness and row
        count, its "due" note cleared (it was just read); ``reconcile_left`` replaces the
        periods still to check. Committed."""
        state = dataset_state(self.client_id, dataset)
        figures = {k: v for k, v in (state.figures or {}).items() if k != "due"}
        if reconcile_left is not None:
            figures.pop("reconcile", None)
            if reconcile_left:
                figures["reconcile"] = reconcile_left
        if figures != (state.figures or {}):
            state.figures = figures
        if seen is not None and (state.bookmark is None or seen > state.bookmark):
            state.bookmark = seen
        state.synced_at = self.now
        state.row_count = _live_count(SYNCED_MODELS[dataset], self.client_id,
                                      self._generation(dataset))
        self._commit()

    def finish_pages(self) -> None:
        """Wait until every page handed over is written and committed (a full sync's
        background writer; its error raised here)."""
        if self._background is not None:
            background, self._background = self._background, None
            try:
                background.finish()
            finally:
                background.close()

    def finish_full(self, bookmarks: Mapping[str, datetime | None]) -> dict[str, int]:
        """The flip of a full sync (see ``finish_full_sync``): every page written first;
        rows removed per data set."""
        self.finish_pages()
        return finish_full_sync(self.client_id, old=self.carry_from or 0,
                                new=self._generation("journal_batches"), now=self.now,
                                bookmarks=bookmarks)

    def organization(self, values: Mapping[str, Any]) -> None:
        """The client's Organization row (see ``write_organization``). Committed."""
        write_organization(self.client_id, values, now=self.now)
