"""What each endpoint reads, and the list (`endpoints()`) the routes and OpenAPI are built from:
the clients, then one list endpoint per data set of the registry (`app.accounting.models.DATASETS`).

Synced data is read ONLY through the store's visibility helper
(`app.accounting.queries.current_rows`), so a reader never sees a half-finished full sync.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property

from flask import g
from sqlalchemy import Select, select, tuple_

from app.accounting import models as registry
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
    kind: str  # string | integer | boolean | money | date | date-time; "?" after it: nullable


KIND_OF = {str: "string", int: "integer", bool: "boolean", Decimal: "money", date: "date",
           datetime: "date-time"}
"""A column's JSON kind by its Python type (the schemas: ``openapi.KINDS``)."""

CONVERT: dict[str, Callable] = {
    "money": money,
    "date": lambda v: v.isoformat() if v is not None else None,
    "date-time": iso,
}

COMMON_FIELDS = [Field("changed_at", "date-time?"), Field("source_modified_at", "date-time?")]


@dataclass(frozen=True)
class Listing:
    """A data set of the registry as a list endpoint: one field per source column of its model,
    paged by its natural key."""

    dataset: registry.DataSet

    @property
    def model(self) -> type[registry.SyncedRow]:
        return self.dataset.model

    @property
    def path(self) -> str:
        return self.dataset.api.path or self.dataset.name.replace("_", "-")

    @property
    def schema(self) -> str:
        """The OpenAPI schema name of one row."""
        return self.dataset.api.schema or self.model.__name__

    @cached_property
    def fields(self) -> list[Field]:
        columns = self.model.__table__.columns
        return [
            Field(name, KIND_OF[columns[name].type.python_type] + "?" * columns[name].nullable)
            for name in self.model.source_columns()
        ]

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
        return [
            (f.name, i, CONVERT.get(f.kind.rstrip("?")))
            for i, f in enumerate(self.fields + COMMON_FIELDS)
        ]

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


# -- query filters ---------------------------------------------------------------------------
# What a registry entry's `Api.filters` may name. Each filter reads the column of its meaning
# (`period`, `transaction_date`, `account_number`, …) of whichever data set names it; a
# Narrow gets (stmt, values, client_id) and returns stmt narrowed.

Narrow = Callable[[Select, dict, int], Select]


def _range(column, low: str, high: str) -> Narrow:
    def narrow(stmt: Select, values: dict, client_id: int) -> Select:
        if values.get(low):
            stmt = stmt.where(column >= values[low])
        if values.get(high):
            stmt = stmt.where(column <= values[high])
        return stmt

    return narrow


def _equal(column, name: str) -> Narrow:
    def narrow(stmt: Select, values: dict, client_id: int) -> Select:
        return stmt if values[name] is None else stmt.where(column == values[name])

    return narrow


def _period(listing: Listing) -> tuple[list[Param], Narrow]:
    params = [
        Param("from_period", "period", "First financial period (YYYYPP), inclusive."),
        Param("to_period", "period", "Last financial period (YYYYPP), inclusive."),
    ]
    return params, _range(listing.model.period, "from_period", "to_period")


def _date(listing: Listing) -> tuple[list[Param], Narrow]:
    params = [
        Param("from_date", "date", "First transaction date, inclusive."),
        Param("to_date", "date", "Last transaction date, inclusive."),
    ]
    model = listing.model
    if hasattr(model, "transaction_date"):
        return params, _range(model.transaction_date, "from_date", "to_date")
    # Rows read with another data set (journal lines) have their parent's date (the batch's).
    parent = registry.BY_NAME[listing.dataset.read_with].model
    in_range = _range(parent.transaction_date, "from_date", "to_date")

    def narrow(stmt: Select, values: dict, client_id: int) -> Select:
        if not (values["from_date"] or values["to_date"]):
            return stmt
        since = values.get("changed_since")
        parents = current_rows(parent, client_id, include_deleted=since is not None)
        keys = in_range(parents, values, client_id).with_only_columns(
            *(getattr(parent, name) for name in model.parent_key)
        ).order_by(None)
        return stmt.where(tuple_(*(getattr(model, name) for name in model.parent_key)).in_(keys))

    return params, narrow


def _account(listing: Listing) -> tuple[list[Param], Narrow]:
    param = Param("account", "string", "Account number (accountCD).", max_length=30)
    return [param], _equal(listing.model.account_number, "account")


def _module(listing: Listing) -> tuple[list[Param], Narrow]:
    param = Param("module", "string", "Only this module (e.g. GL, AR, AP).", max_length=10)
    return [param], _equal(listing.model.module, "module")


def _year(listing: Listing) -> tuple[list[Param], Narrow]:
    param = Param("year", "integer", f"Only {listing.path} of this financial year.", minimum=1)
    return [param], _equal(listing.model.year, "year")


def _active(listing: Listing) -> tuple[list[Param], Narrow]:
    param = Param(
        "active", "boolean", f"Only active (true) or inactive (false) {listing.path}."
    )
    return [param], _equal(listing.model.active, "active")


FILTERS: dict[str, Callable[[Listing], tuple[list[Param], Narrow]]] = {
    "period": _period,
    "date": _date,
    "account": _account,
    "module": _module,
    "year": _year,
    "active": _active,
}


def _narrowed(listing: Listing, narrows: list[Narrow], values: dict, client_id: int) -> Select:
    visible_client(client_id)
    stmt = listing.rows(client_id, values)
    for narrow in narrows:
        stmt = narrow(stmt, values, client_id)
    return stmt


def list_rows(listing: Listing, narrows: list[Narrow]):
    def handler(values: dict, client_id: int):
        return page(
            _narrowed(listing, narrows, values, client_id),
            listing.key_columns,
            listing.key_types,
            values,
            listing.serialize,
            position_of=listing.position,
            fetch=lambda s: db.session.execute(s).all(),
        )

    return handler


# -- journal batches carry their lines -------------------------------------------------------
# The one endpoint whose rows embed another data set's: each batch with its current lines,
# without what repeats the batch (module, batch number, period).

BATCHES_WITH_LINES = "journal_batches"


def lines_in_batches() -> Listing:
    return Listing(registry.BY_NAME["journal_lines"])


LINE_REPEATS = ("module", "batch_number", "period", "deleted")


def list_batches_with_lines(batches: Listing, narrows: list[Narrow]):
    lines = lines_in_batches()
    line = lines.model

    def handler(values: dict, client_id: int):
        def fetch(paged: Select) -> list:
            found = db.session.execute(paged).all()
            keys = [(b.module, b.batch_number) for b in found]
            lines_by_batch: dict[tuple, list] = {key: [] for key in keys}
            for start in range(0, len(keys), 200):
                chunk = keys[start : start + 200]
                query = current_rows(line, client_id).with_only_columns(*lines.columns())
                query = (
                    query.where(tuple_(line.module, line.batch_number).in_(chunk))
                    .order_by(None)
                    .order_by(*lines.key_columns)
                )
                for row in db.session.execute(query):
                    lines_by_batch[(row.module, row.batch_number)].append(row)
            return [(b, lines_by_batch[(b.module, b.batch_number)]) for b in found]

        def serialize(item) -> dict:
            found, its_lines = item
            body = batches.serialize(found)
            body["lines"] = [_line_in_batch(lines, row) for row in its_lines]
            return body

        return page(
            _narrowed(batches, narrows, values, client_id),
            batches.key_columns,
            batches.key_types,
            values,
            serialize,
            position_of=lambda item: batches.position(item[0]),
            fetch=fetch,
        )

    return handler


def _line_in_batch(lines: Listing, row) -> dict:
    item = lines.serialize(row)
    for repeated in LINE_REPEATS:
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


CLIENT_ENDPOINTS = [
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
]


def listings() -> list[Listing]:
    """Every data set of the registry, as the API lists it."""
    return [Listing(dataset) for dataset in registry.DATASETS]


def _data_endpoint(listing: Listing) -> Endpoint:
    params, narrows = [], []
    for name in listing.dataset.api.filters:
        its_params, narrow = FILTERS[name](listing)
        params += its_params
        narrows.append(narrow)
    if listing.dataset.name == BATCHES_WITH_LINES:
        paging, handler = BATCH_PAGING, list_batches_with_lines(listing, narrows)
    else:
        paging, handler = PAGING, list_rows(listing, narrows)
    return Endpoint(
        f"/clients/{{client_id}}/{listing.path}",
        "list" + "".join(word.capitalize() for word in listing.path.split("-")),
        listing.dataset.api.summary,
        [*params, CHANGED_SINCE, *paging],
        f"{listing.schema}List",
        handler,
        description=listing.dataset.api.description,
    )


def endpoints() -> list[Endpoint]:
    """Every endpoint, in the OpenAPI document's order: the clients, then the data sets."""
    return [*CLIENT_ENDPOINTS, *(_data_endpoint(listing) for listing in listings())]
