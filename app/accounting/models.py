"""The synced accounting data (regnskapsdata) per client, keyed by the source's natural keys.

Visibility — generations
    Every synced row carries ``generation``. ``DatasetState.current_generation`` (per client and
    data set) says which generation readers see; ``app.accounting.queries`` is the one place
    that applies it (``current_rows`` for readers, ``visible`` for the checks; both hide
    tombstones), and ``app.accounting.store`` the one writer. Incremental syncs and test-data
    sends upsert into the current generation page by page. A full sync writes generation N+1 page by
    page (invisible to readers), then one short transaction carries forward as tombstones the
    rows N had and N+1 lacks, and flips every data set of the client to N+1 at once; generation
    N is deleted afterwards. Readers therefore see the old copy or the new one, never a mix.
    Rows of an unfinished full sync (killed mid-stream) are above the current generation, so
    nobody sees them; the next full sync deletes them first. Each full sync reserves its own
    generation number, above every one reserved before (``reserved_generation``): a worker that
    lost its run (frozen past its lease) and the attempt that took the run over never write the
    same generation, and the first cannot commit anything anyway (``app.jobs.fencing``).
    Generation N+1 meets generation N only through the natural-key unique index
    (client_id, generation, *natural key): each row written into N+1 takes ``changed_at`` from
    N's row of the same key and hash (a correlated lookup inside the INSERT), and the tombstone
    carry-over probes N+1 for each row of N the same way. Both are per-row index probes on
    SQLite and PostgreSQL alike, never joins whose plan would depend on statistics that are
    stale right after a generation was written.

Per row
    ``changed_at`` is when OUR copy of the row last changed: set when a row appears, when its
    values change (compared by ``row_hash``) or when it is deleted; an unchanged re-read keeps it.
    ``deleted_at`` marks a tombstone: a row that disappeared from the source (or a voided
    journal batch) stays so readers with ``changed_since`` learn about deletions; normal reads
    exclude it; ``app.accounting.store.purge_tombstones`` drops old ones. ``id`` is an integer
    surrogate that is never reused (AUTOINCREMENT on SQLite), for stable cursor pagination.

Money is ``Numeric(18, 2)``; source timestamps (``lastModifiedDateTime``) are kept as UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from app.db_types import UTCDateTime, utcnow
from app.extensions import db

Money = Numeric(18, 2)


class SyncedRow:
    """Columns every synced table shares (see the module docstring)."""

    natural_key: tuple[str, ...] = ()
    """Column names of the source's natural key (unique per client and generation)."""

    id: Mapped[int] = mapped_column(primary_key=True)

    @declared_attr
    def client_id(cls) -> Mapped[int]:  # noqa: N805 - SQLAlchemy's declared_attr signature
        """The client's id, without a foreign key: a bulk load would pay one lookup of the
        client row per synced row for it. The store writes only for a client it holds a run
        of, and a client's rows go with it through a trigger on ``client``
        (``forget_deleted_clients``)."""
        return mapped_column()

    generation: Mapped[int] = mapped_column(default=0)
    row_hash: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source_modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @classmethod
    def source_columns(cls) -> tuple[str, ...]:
        """The columns a row takes from the source (natural key and values), in table order:
        every column but the ones declared here."""
        own = {"id", "client_id", "generation", "row_hash", "changed_at", "deleted_at",
               "source_modified_at"}
        return tuple(column.name for column in cls.__table__.columns if column.name not in own)

    @classmethod
    def table_args(cls, short: str, *keys: str) -> tuple:
        return (
            UniqueConstraint("client_id", "generation", *keys, name=f"uq_{short}_natural_key"),
            Index(f"ix_{short}_client_changed", "client_id", "changed_at"),
            {"sqlite_autoincrement": True},
        )


class Account(SyncedRow, db.Model):
    """Chart of accounts (``/v1/account``)."""

    __tablename__ = "accounting_account"
    natural_key = ("account_number",)
    __table_args__ = SyncedRow.table_args("accounting_account", *natural_key)

    account_number: Mapped[str] = mapped_column(String(30))  # accountCD
    # The source's internal id (Visma's accountID; Tripletex ids are 64-bit).
    account_id: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(300), default="")
    type: Mapped[str | None] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(default=True)


class FinancialPeriod(SyncedRow, db.Model):
    """Financial periods (``/v1/financialPeriod``), keyed YYYYPP."""

    __tablename__ = "accounting_period"
    natural_key = ("period",)
    __table_args__ = SyncedRow.table_args("accounting_period", *natural_key)

    period: Mapped[str] = mapped_column(String(6))
    year: Mapped[int]
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(default=True)
    closed_in_gl: Mapped[bool] = mapped_column(default=False)


class GLBalance(SyncedRow, db.Model):
    """General-ledger balance per period, account, subaccount, branch and ledger
    (``/v2/generalLedgerBalance``). ``ledger_id`` ACTUAL holds the bookkeeping; other ledgers
    (budgets) sit beside it and are left out of the accounting checks."""

    __tablename__ = "accounting_gl_balance"
    natural_key = ("period", "account_number", "subaccount", "branch_number", "ledger_id")
    __table_args__ = SyncedRow.table_args("accounting_gl_balance", *natural_key)

    period: Mapped[str] = mapped_column(String(6))
    account_number: Mapped[str] = mapped_column(String(30))
    subaccount: Mapped[str] = mapped_column(String(30), default="")  # subAccountCd; "" for none
    branch_number: Mapped[str] = mapped_column(String(30), default="")
    ledger_id: Mapped[str] = mapped_column(String(30), default="")
    account_description: Mapped[str] = mapped_column(String(300), default="")
    account_type: Mapped[str | None] = mapped_column(String(30))
    branch_name: Mapped[str] = mapped_column(String(200), default="")
    ledger_description: Mapped[str] = mapped_column(String(200), default="")
    balance_type: Mapped[str] = mapped_column(String(20), default="")  # Actual, Budget…
    currency: Mapped[str | None] = mapped_column(String(3))
    beginning_balance: Mapped[Decimal] = mapped_column(Money, default=0)
    period_debit: Mapped[Decimal] = mapped_column(Money, default=0)
    period_credit: Mapped[Decimal] = mapped_column(Money, default=0)
    ytd_balance: Mapped[Decimal] = mapped_column(Money, default=0)


class JournalBatch(SyncedRow, db.Model):
    """A journal transaction batch (``/v2/journaltransaction``), whole: merged across pages."""

    __tablename__ = "accounting_journal_batch"
    natural_key = ("module", "batch_number")
    __table_args__ = SyncedRow.table_args("accounting_journal_batch", *natural_key)

    module: Mapped[str] = mapped_column(String(10))
    batch_number: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="")
    transaction_date: Mapped[date | None] = mapped_column(Date)
    period: Mapped[str] = mapped_column(String(6), index=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    currency: Mapped[str | None] = mapped_column(String(3))
    debit_total: Mapped[Decimal] = mapped_column(Money, default=0)
    credit_total: Mapped[Decimal] = mapped_column(Money, default=0)
    line_count: Mapped[int] = mapped_column(default=0)


class JournalLine(SyncedRow, db.Model):
    """One line of a journal batch; belongs to its batch by (module, batch_number)."""

    __tablename__ = "accounting_journal_line"
    natural_key = ("module", "batch_number", "line_number")
    parent_key = ("module", "batch_number")
    __table_args__ = SyncedRow.table_args("accounting_journal_line", *natural_key)

    module: Mapped[str] = mapped_column(String(10))
    batch_number: Mapped[str] = mapped_column(String(30))
    line_number: Mapped[int]
    period: Mapped[str] = mapped_column(String(6))
    account_number: Mapped[str] = mapped_column(String(30))
    subaccount: Mapped[str] = mapped_column(String(30), default="")
    branch_number: Mapped[str] = mapped_column(String(30), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    debit: Mapped[Decimal] = mapped_column(Money, default=0)
    credit: Mapped[Decimal] = mapped_column(Money, default=0)
    # In the batch's currency (JournalBatch.currency); equal to debit/credit for NOK batches.
    debit_in_currency: Mapped[Decimal] = mapped_column(Money, default=0)
    credit_in_currency: Mapped[Decimal] = mapped_column(Money, default=0)
    reference_number: Mapped[str] = mapped_column(String(100), default="")
    vat_code: Mapped[str] = mapped_column(String(30), default="")  # vatCode.id
    vat_description: Mapped[str] = mapped_column(String(200), default="")
    customer_supplier: Mapped[str] = mapped_column(String(30), default="")


class _Party(SyncedRow):
    natural_key = ("number",)

    number: Mapped[str] = mapped_column(String(30))
    internal_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="")
    corporate_id: Mapped[str] = mapped_column(String(30), default="")
    vat_registration_id: Mapped[str] = mapped_column(String(40), default="")


class LedgerCustomer(_Party, db.Model):
    """The company's customers (``/v1/customer``); "Ledger" tells them from Sticos's Customer."""

    __tablename__ = "accounting_customer"
    __table_args__ = SyncedRow.table_args("accounting_customer", *_Party.natural_key)


class LedgerSupplier(_Party, db.Model):
    """Suppliers (``/v1/supplier``)."""

    __tablename__ = "accounting_supplier"
    __table_args__ = SyncedRow.table_args("accounting_supplier", *_Party.natural_key)


class _PartyBalance(SyncedRow):
    """A party's balance in one branch over ``from_period``..``to_period`` (the range we asked
    for: Visma's answer does not echo it)."""

    natural_key = ("party_number", "branch_number")

    party_number: Mapped[str] = mapped_column(String(30))
    branch_number: Mapped[str] = mapped_column(String(30), default="")
    party_internal_id: Mapped[int | None] = mapped_column(BigInteger)
    party_name: Mapped[str] = mapped_column(String(300), default="")
    from_period: Mapped[str | None] = mapped_column(String(6))
    to_period: Mapped[str | None] = mapped_column(String(6))
    begin_balance: Mapped[Decimal] = mapped_column(Money, default=0)
    ytd_balance: Mapped[Decimal] = mapped_column(Money, default=0)


class LedgerCustomerBalance(_PartyBalance, db.Model):
    """Customer balances (``/v2/customer/balance``)."""

    __tablename__ = "accounting_customer_balance"
    __table_args__ = SyncedRow.table_args("accounting_customer_balance",
                                          *_PartyBalance.natural_key)


class LedgerSupplierBalance(_PartyBalance, db.Model):
    """Supplier balances (``/v2/supplier/balance``)."""

    __tablename__ = "accounting_supplier_balance"
    __table_args__ = SyncedRow.table_args("accounting_supplier_balance",
                                          *_PartyBalance.natural_key)


class Organization(db.Model):
    """The company itself (``/v1/organization``): one row per client, overwritten."""

    __tablename__ = "accounting_organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(
        ForeignKey("client.id", ondelete="CASCADE"), unique=True
    )
    name: Mapped[str] = mapped_column(String(300), default="")
    corporate_id: Mapped[str | None] = mapped_column(String(30))
    vat_registration_id: Mapped[str | None] = mapped_column(String(40))
    base_currency: Mapped[str | None] = mapped_column(String(3))
    default_country: Mapped[str | None] = mapped_column(String(2))
    source_modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DatasetState(db.Model):
    """Per client and data set: visible generation, incremental bookmark and freshness."""

    __tablename__ = "accounting_dataset_state"
    __table_args__ = (
        UniqueConstraint("client_id", "dataset", name="uq_accounting_dataset_state_client_dataset"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    dataset: Mapped[str] = mapped_column(String(40))
    current_generation: Mapped[int] = mapped_column(default=0)
    # The highest generation a full sync of the client has begun writing (same on every data
    # set of the client): each full sync writes a generation no earlier attempt ever used.
    reserved_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # The newest source lastModifiedDateTime whose rows are committed; incremental reads
    # start a look-back before it. Advanced only together with the rows it covers.
    bookmark: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Freshness: when this data set last became equal to the source.
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    full_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    row_count: Mapped[int | None]
    # Figures the accounting checks compare run to run (e.g. totals per period).
    figures: Mapped[dict] = mapped_column(JSON, default=dict)


@dataclass(frozen=True)
class Api:
    """How the read API (``app.api``) serves a data set: ``/api/v1/clients/{id}/<path>``, one
    JSON field per source column of the model (``SyncedRow.source_columns``), paged by the
    natural key."""

    summary: str
    """The endpoint's one line in the OpenAPI document (English)."""
    description: str = ""
    """The rows' order and what else a reader must know (English)."""
    filters: tuple[str, ...] = ()
    """Its query filters by name, in the document's order (``app.api.resources.FILTERS``)."""
    path: str = ""
    """Default: the data set's name with hyphens."""
    schema: str = ""
    """The OpenAPI name of one row; default: the model's class name."""


@dataclass(frozen=True)
class Browse:
    """How operators browse a data set in the admin panel, under Regnskapsdata at
    ``/admin/regnskap/<label>`` (``app.admin.accounting``). Columns are headed by
    ``COLUMN_LABELS``."""

    columns: tuple[str, ...] = ()
    """The list's columns; default: every source column, then ``changed_at``."""
    details: tuple[str, ...] = ()
    """The detail page's and the CSV export's columns; default: ``id``, the list's columns,
    the model's other source columns, ``changed_at``, ``source_modified_at``."""
    sort: tuple[str, ...] = ()
    """The list's order, ``-`` before a column for descending; default: the natural key."""
    sortable: tuple[str, ...] | None = None
    """Columns an operator may sort by; None: every listed column."""
    search: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    """Equality filters (yes/no for a boolean), each named like its column."""
    contains: tuple[tuple[str, str], ...] = ()
    """Text filters: (column, the filter's name)."""
    menu: str = ""
    """Its menu entry; default: the data set's label, capitalised."""


@dataclass(frozen=True)
class DataSet:
    """One synced data set: the registry entry every system's reader, the store, the checks,
    the read API and the admin panel know it by. Adding a data set is one entry here plus its
    model (above, with its migration) and each system's mapping and reader
    (``app.sync.engine.READERS`` for Visma.net, ``app.tripletex.datasets`` for Tripletex); its
    API endpoint, OpenAPI description and admin view follow from the entry."""

    name: str
    """The name in counts, ``DatasetState`` and the read API's client freshness."""
    model: type[SyncedRow]
    step: str
    """What a run's progress says while reading it (Norwegian)."""
    label: str
    """What its rows are called in run counts and the admin panel (Norwegian plural)."""
    api: Api
    whole: bool = False
    """Incremental runs read it whole (small, or no cursor) and tombstone what is missing."""
    moves: str | None = None
    """The balance data set a change here makes due (a party's name is on its balances)."""
    read_with: str | None = None
    """Read within another data set's stream (journal lines come with their batches)."""
    browse: Browse | None = Browse()
    """None: not in the admin panel."""


COLUMN_LABELS = {
    "id": "ID", "changed_at": "Endret hos oss", "source_modified_at": "Endret i Visma",
    "period": "Periode", "account_number": "Konto", "description": "Beskrivelse",
    "module": "Modul", "batch_number": "Bilagsnr.", "currency": "Valuta", "type": "Type",
    "active": "Aktiv", "account_id": "Visma-ID", "account_description": "Kontonavn",
    "branch_number": "Avdeling", "ledger_id": "Hovedbok", "beginning_balance": "Inngående",
    "period_debit": "Debet", "period_credit": "Kredit", "ytd_balance": "Saldo hittil i år",
    "account_type": "Kontotype", "branch_name": "Avdelingsnavn",
    "ledger_description": "Hovedbok (navn)", "subaccount": "Underkonto",
    "balance_type": "Saldotype", "transaction_date": "Dato", "status": "Status",
    "debit_total": "Debet", "credit_total": "Kredit", "line_count": "Linjer",
    "line_number": "Linje", "debit": "Debet", "credit": "Kredit", "vat_code": "Mva-kode",
    "reference_number": "Referanse", "customer_supplier": "Kunde/leverandør",
    "vat_description": "Mva-tekst", "debit_in_currency": "Debet i valuta",
    "credit_in_currency": "Kredit i valuta", "number": "Nummer", "internal_id": "Visma-ID",
    "name": "Navn", "corporate_id": "Orgnr", "vat_registration_id": "Mva-nr.",
}
"""What the admin panel heads each column of the synced tables with (one name, one meaning,
in every data set)."""

_PARTY_BROWSE = Browse(
    columns=("number", "name", "corporate_id", "vat_registration_id", "status", "changed_at"),
    details=("id", "number", "internal_id", "name", "corporate_id", "vat_registration_id",
             "status", "changed_at", "source_modified_at"),
    sortable=("number", "name", "corporate_id", "status"),
    search=("number", "name", "corporate_id"),
)

DATASETS: tuple[DataSet, ...] = (
    DataSet(
        "accounts", Account, "Henter kontoplan", "kontoer", whole=True,
        api=Api("Chart of accounts", "Ordered by account number.", filters=("active",)),
        browse=Browse(
            columns=("account_number", "description", "type", "active", "changed_at"),
            details=("id", "account_number", "account_id", "description", "type", "active",
                     "changed_at", "source_modified_at"),
            sortable=("account_number", "description", "type", "changed_at"),
            search=("account_number", "description"),
            filters=("type", "active"),
        ),
    ),
    DataSet(
        "periods", FinancialPeriod, "Henter regnskapsperioder", "perioder", whole=True,
        api=Api("Financial periods", "Ordered by period.", filters=("period", "year")),
        browse=None,
    ),
    DataSet(
        "gl_balances", GLBalance, "Henter saldoer", "saldoer",
        api=Api("General-ledger balances",
                "Per period, account, branch and ledger; ordered by that key.",
                filters=("period", "account"), path="balances", schema="Balance"),
        browse=Browse(
            columns=("period", "account_number", "account_description", "subaccount",
                     "branch_number", "ledger_id", "currency", "beginning_balance",
                     "period_debit", "period_credit", "ytd_balance"),
            sort=("-period", "account_number"),
            sortable=("period", "account_number", "branch_number", "ledger_id", "ytd_balance"),
            search=("account_number", "account_description"),
            filters=("period", "account_number", "branch_number", "ledger_id"),
        ),
    ),
    DataSet(
        "journal_batches", JournalBatch, "Henter bilag", "bilag",
        api=Api("Journal batches with their lines",
                "Ordered by (module, batch number). `lines` holds the batch's current lines.",
                filters=("period", "date", "module")),
        browse=Browse(
            columns=("period", "module", "batch_number", "transaction_date", "status",
                     "description", "debit_total", "credit_total", "line_count"),
            sort=("-period", "-batch_number"),
            sortable=("period", "module", "batch_number", "transaction_date"),
            search=("batch_number", "description"),
            filters=("period", "module", "status"),
        ),
    ),
    DataSet(
        "journal_lines", JournalLine, "Henter bilag", "posteringer", read_with="journal_batches",
        api=Api("Journal lines (flat, fastest for bulk)",
                "Ordered by (module, batch number, line number). The date range filters on the "
                "batch's transaction date.",
                filters=("period", "date", "account")),
        browse=Browse(
            columns=("period", "module", "batch_number", "line_number", "account_number",
                     "description", "debit", "credit", "vat_code", "reference_number"),
            details=("id", "period", "module", "batch_number", "line_number", "account_number",
                     "description", "debit", "credit", "vat_code", "reference_number",
                     "vat_description", "subaccount", "branch_number", "debit_in_currency",
                     "credit_in_currency", "customer_supplier", "changed_at",
                     "source_modified_at"),
            sort=("-period", "-batch_number", "line_number"),
            sortable=("period", "module", "batch_number", "line_number", "account_number",
                      "debit", "credit"),
            search=("account_number", "description", "batch_number", "reference_number"),
            filters=("period", "account_number", "module", "batch_number"),
            contains=(("description", "Tekst"),),
        ),
    ),
    DataSet(
        "customers", LedgerCustomer, "Henter kunder", "kunder", moves="customer_balances",
        api=Api("The company's customers", "Ordered by customer number."),
        browse=replace(_PARTY_BROWSE, menu="Kunder i regnskapet"),
    ),
    DataSet(
        "suppliers", LedgerSupplier, "Henter leverandører", "leverandører",
        moves="supplier_balances",
        api=Api("The company's suppliers", "Ordered by supplier number."),
        browse=_PARTY_BROWSE,
    ),
    DataSet(
        "customer_balances", LedgerCustomerBalance, "Henter kundesaldoer", "kundesaldoer",
        whole=True,
        api=Api("Customer balances", "Ordered by customer number.", schema="CustomerBalance"),
        browse=None,
    ),
    DataSet(
        "supplier_balances", LedgerSupplierBalance, "Henter leverandørsaldoer",
        "leverandørsaldoer", whole=True,
        api=Api("Supplier balances", "Ordered by supplier number.", schema="SupplierBalance"),
        browse=None,
    ),
)
"""Every synced data set, in the order a run reports them, the API lists them and the admin
panel shows them."""
BY_NAME: dict[str, DataSet] = {dataset.name: dataset for dataset in DATASETS}
SYNCED_MODELS: dict[str, type[SyncedRow]] = {dataset.name: dataset.model for dataset in DATASETS}
"""Every synced table by data-set name (the names used in counts and DatasetState)."""
DATASET_OF: dict[type, str] = {dataset.model: dataset.name for dataset in DATASETS}


def forget_deleted_clients(dialect: str, tables: Sequence[str]) -> list[str]:
    """DDL of the trigger that deletes a client's rows in ``tables`` (the synced tables, which
    carry no foreign key) when the client row goes, however it goes (its integration or
    customer deleted, or the client itself). PostgreSQL: once per statement over the deleted
    rows; SQLite: per row. The migrations call it with their own list of tables."""
    if dialect == "postgresql":
        deletes = " ".join(f"DELETE FROM {t} WHERE client_id IN (SELECT id FROM gone);"
                           for t in tables)
        return [
            "CREATE OR REPLACE FUNCTION forget_deleted_clients() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN {deletes} RETURN NULL; END $$",
            "DROP TRIGGER IF EXISTS client_forget_synced_rows ON client",
            "CREATE TRIGGER client_forget_synced_rows AFTER DELETE ON client "
            "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT "
            "EXECUTE FUNCTION forget_deleted_clients()",
        ]
    deletes = " ".join(f"DELETE FROM {t} WHERE client_id = OLD.id;" for t in tables)
    return [
        "DROP TRIGGER IF EXISTS client_forget_synced_rows",
        f"CREATE TRIGGER client_forget_synced_rows AFTER DELETE ON client FOR EACH ROW "
        f"BEGIN {deletes} END",
    ]


@event.listens_for(db.metadata, "after_create")
def _create_client_trigger(target, connection, **kw) -> None:
    tables = [model.__tablename__ for model in SYNCED_MODELS.values()]
    for statement in forget_deleted_clients(connection.dialect.name, tables):
        connection.exec_driver_sql(statement)
