"""What each endpoint reads, and the list (`ENDPOINTS`) the routes and OpenAPI are built from.

Synced data is read ONLY through the store's visibility helper
(`app.accounting.queries.current_rows`), so a reader never sees a half-finished full sync.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from flask import g
from sqlalchemy import Select, select, tuple_

from app.accounting.models import (
    Account,
    FinancialPeriod,
    GLBalance,
    JournalBatch,
    JournalLine,
    LedgerCustomer,
    LedgerCustomerBalance,
    LedgerSupplier,
    LedgerSupplierBalance,
)
from app.accounting.queries import current_rows, freshness_for
from app.api.paging import iso, json_response, money, page
from app.api.params import Param
from app.api.problems import ApiProblem
from app.customers.models import Customer
from app.extensions import db
from app.integrations.models import Client, Integration
from app.orgnr import normalize_orgnr

# -- parameters ------------------------------------------------------------------------------

PAGING = [
    Param("limit", "limit", "Page size (default 500, at most 5000)."),
    Param(
        "cursor",
        "cursor",
        "The `next_cursor` of the previous page; keep the other parameters unchanged while paging.",
    ),
]
BATCH_PAGING = [
    Param(
        "limit",
        "limit",
        "Batches per page (default 500, at most 1000; each with its lines).",
        maximum=1000,
    ),
    PAGING[1],
]
CHANGED_SINCE = Param(
    "changed_since",
    "date-time",
    "Only rows whose `changed_at` is after this time, INCLUDING rows deleted at the source "
    '(`"deleted": true`). Without it, deleted rows are left out.',
)
FROM_PERIOD = Param("from_period", "period", "First financial period (YYYYPP), inclusive.")
TO_PERIOD = Param("to_period", "period", "Last financial period (YYYYPP), inclusive.")
FROM_DATE = Param("from_date", "date", "First transaction date, inclusive.")
TO_DATE = Param("to_date", "date", "Last transaction date, inclusive.")
ACCOUNT = Param("account", "string", "Account number (accountCD).", max_length=30)

CLIENT_LIST_PARAMS = [
    Param(
        "orgnr",
        "string",
        "Organisation number (9 digits; spaces, 'NO' and 'MVA' ignored).",
        max_length=30,
    ),
    Param("customer", "integer", "Only clients of this customer (Sticos customer id)."),
    Param("active", "boolean", "Only active (true) or inactive (false) clients."),
    *PAGING,
]


def begin_snapshot() -> None:
    """Every statement of this request reads ONE snapshot of the database, so a page and the
    rows it embeds (a batch and its lines) come from the same generation."""
    if db.engine.dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    elif db.engine.dialect.name == "sqlite":
        # pysqlite opens no transaction for SELECTs; a deferred BEGIN holds one WAL snapshot
        # from the first read until the request's session is closed (rolled back).
        db.session.connection().exec_driver_sql("BEGIN")


# -- clients ---------------------------------------------------------------------------------


def _scoped_clients() -> Select:
    stmt = (
        select(Client, Integration, Customer)
        .join(Integration, Client.integration_id == Integration.id)
        .join(Customer, Integration.customer_id == Customer.id)
    )
    if g.api_customer_id is not None:
        stmt = stmt.where(Integration.customer_id == g.api_customer_id)
    return stmt


def visible_client(client_id: int) -> Client:
    """The client if this key may read it; 404 otherwise (never 403: that would confirm the id)."""
    row = db.session.execute(_scoped_clients().where(Client.id == client_id)).first()
    if row is None:
        raise ApiProblem(404, f"No client with id {client_id} is visible to this API key.")
    return row[0]


def _client_json(
    client: Client, integration: Integration, customer: Customer, freshness: dict
) -> dict:
    return {
        "id": client.id,
        "name": client.name,
        "orgnr": client.orgnr,
        "orgnr_valid": client.orgnr_valid,
        "active": client.active,
        "reachable": client.reachable,
        "system": integration.system,
        "customer": {"id": customer.id, "name": customer.name},
        "integration": {"id": integration.id, "system": integration.system},
        "last_successful_sync_at": iso(client.data_as_of),
        "last_sync_at": iso(client.last_sync_at),
        "last_sync_result": client.last_sync_result,
        "freshness": {name: iso(at) for name, at in freshness.items()},
    }


def list_clients(values: dict):
    stmt = _scoped_clients()
    if values["orgnr"] is not None:
        stmt = stmt.where(Client.orgnr == normalize_orgnr(values["orgnr"]))
    if values["customer"] is not None:
        stmt = stmt.where(Integration.customer_id == values["customer"])
    if values["active"] is not None:
        stmt = stmt.where(Client.active.is_(values["active"]))
    return page(
        stmt,
        [Client.id],
        [int],
        values,
        lambda row: _client_json(*row),
        position_of=lambda row: [row[0].id],
        fetch=_clients_with_freshness,
    )


def _clients_with_freshness(stmt) -> list[tuple]:
    rows = db.session.execute(stmt).all()
    freshness = freshness_for([client.id for client, _, _ in rows])
    return [(client, integration, customer, freshness[client.id])
            for client, integration, customer in rows]


def get_client(values: dict, client_id: int):
    found = visible_client(client_id)
    freshness = freshness_for([found.id])[found.id]
    return json_response(
        _client_json(found, found.integration, found.integration.customer, freshness)
    )


# -- synced data sets ------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One JSON field of a synced row: its name (= column name) and JSON kind."""

    name: str
    kind: str  # string | string? | integer | integer? | boolean | money | date? | date-time?


CONVERT: dict[str, Callable] = {
    "money": money,
    "date?": lambda v: v.isoformat() if v is not None else None,
    "date-time?": iso,
}

COMMON_FIELDS = [Field("changed_at", "date-time?"), Field("source_modified_at", "date-time?")]


@dataclass(frozen=True)
class DataSet:
    """A synced table exposed as a list endpoint, paged by its natural key."""

    model: type
    schema: str  # the OpenAPI schema name of one row
    fields: list[Field]

    @property
    def key_columns(self) -> list:
        return [getattr(self.model, name) for name in self.model.natural_key]

    @property
    def key_types(self) -> list[type]:
        kinds = {f.name: f.kind for f in self.fields}
        return [
            int if kinds[name].startswith("integer") else str for name in self.model.natural_key
        ]

    def columns(self) -> list:
        return [getattr(self.model, f.name) for f in self.fields + COMMON_FIELDS] + [
            self.model.deleted_at
        ]

    @cached_property
    def _plan(self) -> list[tuple[str, int, Callable | None]]:
        """(JSON name, column index, converter) per field; rows are plain tuples (fast)."""
        return [(f.name, i, CONVERT.get(f.kind)) for i, f in enumerate(self.fields + COMMON_FIELDS)]

    def serialize(self, row) -> dict:
        item = {name: convert(row[i]) if convert else row[i] for name, i, convert in self._plan}
        item["deleted"] = row[-1] is not None  # the last column is deleted_at
        return item

    def position(self, row) -> list:
        return [getattr(row, name) for name in self.model.natural_key]

    def rows(self, client_id: int, values: dict) -> Select:
        """The visible rows (with tombstones when `changed_since` is given), as plain columns."""
        since = values.get("changed_since")
        stmt = current_rows(
            self.model, client_id, include_deleted=since is not None, changed_since=since
        )
        return stmt.with_only_columns(*self.columns())


# JSON kinds of the fields (see openapi.KINDS); a trailing "?" means nullable.
STR, STR_N, INT, INT_N, BOOL, MONEY = "string", "string?", "integer", "integer?", "boolean", "money"

ACCOUNTS = DataSet(
    Account,
    "Account",
    [
        Field("account_number", STR),
        Field("account_id", INT_N),
        Field("description", STR),
        Field("type", STR_N),
        Field("active", BOOL),
    ],
)
PERIODS = DataSet(
    FinancialPeriod,
    "FinancialPeriod",
    [
        Field("period", STR),
        Field("year", INT),
        Field("start_date", "date?"),
        Field("end_date", "date?"),
        Field("description", STR),
        Field("active", BOOL),
        Field("closed_in_gl", BOOL),
    ],
)
BALANCES = DataSet(
    GLBalance,
    "Balance",
    [
        Field("period", STR),
        Field("account_number", STR),
        Field("subaccount", STR),
        Field("branch_number", STR),
        Field("ledger_id", STR),
        Field("balance_type", STR),
        Field("account_description", STR),
        Field("account_type", STR_N),
        Field("branch_name", STR),
        Field("ledger_description", STR),
        Field("currency", STR_N),
        Field("beginning_balance", MONEY),
        Field("period_debit", MONEY),
        Field("period_credit", MONEY),
        Field("ytd_balance", MONEY),
    ],
)
BATCHES = DataSet(
    JournalBatch,
    "JournalBatch",
    [
        Field("module", STR),
        Field("batch_number", STR),
        Field("status", STR),
        Field("transaction_date", "date?"),
        Field("period", STR),
        Field("description", STR),
        Field("currency", STR_N),
        Field("debit_total", MONEY),
        Field("credit_total", MONEY),
        Field("line_count", INT),
    ],
)
LINES = DataSet(
    JournalLine,
    "JournalLine",
    [
        Field("module", STR),
        Field("batch_number", STR),
        Field("line_number", INT),
        Field("period", STR),
        Field("account_number", STR),
        Field("subaccount", STR),
        Field("branch_number", STR),
        Field("description", STR),
        Field("debit", MONEY),
        Field("credit", MONEY),
        Field("debit_in_currency", MONEY),
        Field("credit_in_currency", MONEY),
        Field("reference_number", STR),
        Field("vat_code", STR),
        Field("vat_description", STR),
        Field("customer_supplier", STR),
    ],
)
_PARTY = [
    Field("number", STR),
    Field("internal_id", INT_N),
    Field("name", STR),
    Field("status", STR),
    Field("corporate_id", STR),
    Field("vat_registration_id", STR),
]
_PARTY_BALANCE = [
    Field("party_number", STR),
    Field("branch_number", STR),
    Field("party_internal_id", INT_N),
    Field("party_name", STR),
    Field("from_period", STR_N),
    Field("to_period", STR_N),
    Field("begin_balance", MONEY),
    Field("ytd_balance", MONEY),
]
CUSTOMERS = DataSet(LedgerCustomer, "LedgerCustomer", _PARTY)
SUPPLIERS = DataSet(LedgerSupplier, "LedgerSupplier", _PARTY)
CUSTOMER_BALANCES = DataSet(LedgerCustomerBalance, "CustomerBalance", _PARTY_BALANCE)
SUPPLIER_BALANCES = DataSet(LedgerSupplierBalance, "SupplierBalance", _PARTY_BALANCE)


def _period_range(stmt: Select, column, values: dict) -> Select:
    if values.get("from_period"):
        stmt = stmt.where(column >= values["from_period"])
    if values.get("to_period"):
        stmt = stmt.where(column <= values["to_period"])
    return stmt


def _date_range(stmt: Select, column, values: dict) -> Select:
    if values.get("from_date"):
        stmt = stmt.where(column >= values["from_date"])
    if values.get("to_date"):
        stmt = stmt.where(column <= values["to_date"])
    return stmt


def _list(dataset: DataSet, client_id: int, values: dict, narrow=None):
    visible_client(client_id)
    stmt = dataset.rows(client_id, values)
    if narrow is not None:
        stmt = narrow(stmt)
    return page(
        stmt,
        dataset.key_columns,
        dataset.key_types,
        values,
        dataset.serialize,
        position_of=dataset.position,
        fetch=lambda s: db.session.execute(s).all(),
    )


def list_simple(dataset: DataSet):
    def handler(values: dict, client_id: int):
        return _list(dataset, client_id, values)

    return handler


def list_accounts(values: dict, client_id: int):
    def narrow(stmt):
        if values["active"] is not None:
            stmt = stmt.where(Account.active.is_(values["active"]))
        return stmt

    return _list(ACCOUNTS, client_id, values, narrow)


def list_periods(values: dict, client_id: int):
    def narrow(stmt):
        stmt = _period_range(stmt, FinancialPeriod.period, values)
        if values["year"] is not None:
            stmt = stmt.where(FinancialPeriod.year == values["year"])
        return stmt

    return _list(PERIODS, client_id, values, narrow)


def list_balances(values: dict, client_id: int):
    def narrow(stmt):
        stmt = _period_range(stmt, GLBalance.period, values)
        if values["account"] is not None:
            stmt = stmt.where(GLBalance.account_number == values["account"])
        return stmt

    return _list(BALANCES, client_id, values, narrow)


def _batch_keys(client_id: int, values: dict) -> Select:
    """(module, batch_number) of the visible batches in the date range."""
    since = values.get("changed_since")
    batches = current_rows(JournalBatch, client_id, include_deleted=since is not None)
    batches = _date_range(batches, JournalBatch.transaction_date, values)
    return batches.with_only_columns(JournalBatch.module, JournalBatch.batch_number).order_by(None)


def list_journal_lines(values: dict, client_id: int):
    def narrow(stmt):
        stmt = _period_range(stmt, JournalLine.period, values)
        if values["account"] is not None:
            stmt = stmt.where(JournalLine.account_number == values["account"])
        if values["from_date"] or values["to_date"]:
            keys = _batch_keys(client_id, values)
            stmt = stmt.where(tuple_(JournalLine.module, JournalLine.batch_number).in_(keys))
        return stmt

    return _list(LINES, client_id, values, narrow)


def list_journal_batches(values: dict, client_id: int):
    visible_client(client_id)
    stmt = BATCHES.rows(client_id, values)
    stmt = _period_range(stmt, JournalBatch.period, values)
    stmt = _date_range(stmt, JournalBatch.transaction_date, values)
    if values["module"] is not None:
        stmt = stmt.where(JournalBatch.module == values["module"])

    def fetch(paged: Select) -> list:
        batches = db.session.execute(paged).all()
        keys = [(b.module, b.batch_number) for b in batches]
        lines_by_batch: dict[tuple, list] = {key: [] for key in keys}
        for start in range(0, len(keys), 200):
            chunk = keys[start : start + 200]
            lines = current_rows(JournalLine, client_id).with_only_columns(*LINES.columns())
            lines = (
                lines.where(tuple_(JournalLine.module, JournalLine.batch_number).in_(chunk))
                .order_by(None)
                .order_by(*LINES.key_columns)
            )
            for line in db.session.execute(lines):
                lines_by_batch[(line.module, line.batch_number)].append(line)
        return [(batch, lines_by_batch[(batch.module, batch.batch_number)]) for batch in batches]

    def serialize(item) -> dict:
        batch, lines = item
        body = BATCHES.serialize(batch)
        body["lines"] = [_line_in_batch(line) for line in lines]
        return body

    return page(
        stmt,
        BATCHES.key_columns,
        BATCHES.key_types,
        values,
        serialize,
        position_of=lambda item: BATCHES.position(item[0]),
        fetch=fetch,
    )


def _line_in_batch(line) -> dict:
    item = LINES.serialize(line)
    for repeated in ("module", "batch_number", "period", "deleted"):
        item.pop(repeated)
    return item


# -- the endpoint list -----------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One GET endpoint: the route, its declared query parameters, its doc, its handler."""

    path: str  # OpenAPI style, relative to /api/v1: "/clients/{client_id}/accounts"
    operation_id: str
    summary: str
    params: list[Param]
    schema: str  # the response schema's name in openapi.py
    handler: Callable
    tag: str = "Regnskapsdata"
    description: str = ""


def _per_client(path, operation_id, summary, params, dataset: DataSet, handler, description=""):
    return Endpoint(
        f"/clients/{{client_id}}/{path}",
        operation_id,
        summary,
        params,
        f"{dataset.schema}List",
        handler,
        description=description,
    )


ENDPOINTS = [
    Endpoint(
        "/clients",
        "listClients",
        "Clients (companies) visible to this key",
        CLIENT_LIST_PARAMS,
        "ClientList",
        list_clients,
        tag="Clients",
        description="With the last successful sync and per-data-set freshness.",
    ),
    Endpoint(
        "/clients/{client_id}", "getClient", "One client", [], "Client", get_client, tag="Clients"
    ),
    _per_client(
        "accounts",
        "listAccounts",
        "Chart of accounts",
        [
            Param("active", "boolean", "Only active (true) or inactive (false) accounts."),
            CHANGED_SINCE,
            *PAGING,
        ],
        ACCOUNTS,
        list_accounts,
        "Ordered by account number.",
    ),
    _per_client(
        "periods",
        "listPeriods",
        "Financial periods",
        [
            FROM_PERIOD,
            TO_PERIOD,
            Param("year", "integer", "Only periods of this financial year.", minimum=1),
            CHANGED_SINCE,
            *PAGING,
        ],
        PERIODS,
        list_periods,
        "Ordered by period.",
    ),
    _per_client(
        "balances",
        "listBalances",
        "General-ledger balances",
        [FROM_PERIOD, TO_PERIOD, ACCOUNT, CHANGED_SINCE, *PAGING],
        BALANCES,
        list_balances,
        "Per period, account, branch and ledger; ordered by that key.",
    ),
    _per_client(
        "journal-batches",
        "listJournalBatches",
        "Journal batches with their lines",
        [
            FROM_PERIOD,
            TO_PERIOD,
            FROM_DATE,
            TO_DATE,
            Param("module", "string", "Only this module (e.g. GL, AR, AP).", max_length=10),
            CHANGED_SINCE,
            *BATCH_PAGING,
        ],
        BATCHES,
        list_journal_batches,
        "Ordered by (module, batch number). `lines` holds the batch's current lines.",
    ),
    _per_client(
        "journal-lines",
        "listJournalLines",
        "Journal lines (flat, fastest for bulk)",
        [FROM_PERIOD, TO_PERIOD, FROM_DATE, TO_DATE, ACCOUNT, CHANGED_SINCE, *PAGING],
        LINES,
        list_journal_lines,
        "Ordered by (module, batch number, line number). The date range filters on "
        "the batch's transaction date.",
    ),
    _per_client(
        "customers",
        "listCustomers",
        "The company's customers",
        [CHANGED_SINCE, *PAGING],
        CUSTOMERS,
        list_simple(CUSTOMERS),
        "Ordered by customer number.",
    ),
    _per_client(
        "suppliers",
        "listSuppliers",
        "The company's suppliers",
        [CHANGED_SINCE, *PAGING],
        SUPPLIERS,
        list_simple(SUPPLIERS),
        "Ordered by supplier number.",
    ),
    _per_client(
        "customer-balances",
        "listCustomerBalances",
        "Customer balances",
        [CHANGED_SINCE, *PAGING],
        CUSTOMER_BALANCES,
        list_simple(CUSTOMER_BALANCES),
        "Ordered by customer number.",
    ),
    _per_client(
        "supplier-balances",
        "listSupplierBalances",
        "Supplier balances",
        [CHANGED_SINCE, *PAGING],
        SUPPLIER_BALANCES,
        list_simple(SUPPLIER_BALANCES),
        "Ordered by supplier number.",
    ),
]

DATASETS = [
    ACCOUNTS,
    PERIODS,
    BALANCES,
    BATCHES,
    LINES,
    CUSTOMERS,
    SUPPLIERS,
    CUSTOMER_BALANCES,
    SUPPLIER_BALANCES,
]
