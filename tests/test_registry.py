"""One data-set registry: adding a data set is one entry (``app.accounting.models.DATASETS``)
plus its model and mapping. The read API's endpoint, its OpenAPI description and filters, and
the admin panel's list of the data set follow from the entry; nothing else names it."""

import ast
from datetime import date
from decimal import Decimal
from pathlib import Path

import jsonschema_rs
import pytest
from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from app import create_app
from app.accounting import models as registry
from app.accounting.models import Api, DataSet, Money, SyncedRow
from app.accounting.store import write_rows
from app.admin.accounting import endpoint
from app.api.openapi import document
from app.api.operations import create_api_key
from app.api.resources import endpoints, listings
from app.audit.operations import Actor
from app.db_types import utcnow
from app.demo.seed import seed_demo
from app.extensions import db
from config import TestConfig
from tests.conftest import AuthActions, sqlite_database
from tests.factories import ClientFactory, IntegrationFactory


class BankTransaction(SyncedRow, db.Model):
    """A data set the app does not have: bank transactions per bank account."""

    __tablename__ = "test_bank_transaction"
    natural_key = ("account_number", "transaction_id")
    __table_args__ = SyncedRow.table_args("test_bank_transaction", *natural_key)

    account_number: Mapped[str] = mapped_column(String(30))
    transaction_id: Mapped[int]
    transaction_date: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(200), default="")
    amount: Mapped[Decimal] = mapped_column(Money, default=0)


# Out of the app's metadata again: no other test's schema (create_all, the migrations check)
# may see it. This test creates the table itself.
db.metadata.remove(BankTransaction.__table__)


def bank_transaction_row(record: dict) -> dict:
    """The mapping: one source record as a store row."""
    return {
        "account_number": record["bankAccount"],
        "transaction_id": record["id"],
        "transaction_date": date.fromisoformat(record["date"]),
        "description": record.get("text", ""),
        "amount": Decimal(record["amount"]).quantize(Decimal("0.01")),
    }


ENTRY = DataSet(
    "bank_transactions", BankTransaction, "Henter banktransaksjoner", "banktransaksjoner",
    api=Api("Bank transactions", "Ordered by bank account and transaction id.",
            filters=("date", "account")),
)

SOURCE = [
    {"bankAccount": "1920", "id": 1, "date": "2026-01-05", "text": "Innbetaling 1001",
     "amount": "1250.5"},
    {"bankAccount": "1920", "id": 2, "date": "2026-02-10", "text": "Husleie februar",
     "amount": "-9000"},
    {"bankAccount": "1950", "id": 1, "date": "2026-02-11", "text": "Skattetrekk",
     "amount": "-3100.25"},
]


@pytest.fixture
def registered(monkeypatch):
    """ENTRY added to the registry as if written into ``DATASETS`` (the indexes the registry
    derives from it included)."""
    monkeypatch.setattr(registry, "DATASETS", (*registry.DATASETS, ENTRY))
    monkeypatch.setitem(registry.BY_NAME, ENTRY.name, ENTRY)
    monkeypatch.setitem(registry.SYNCED_MODELS, ENTRY.name, ENTRY.model)
    monkeypatch.setitem(registry.DATASET_OF, ENTRY.model, ENTRY.name)
    return ENTRY


@pytest.fixture
def bank_app(registered, tmp_path):
    """An app built after the entry was added, with a client whose bank transactions the
    store holds (written through the store's own write path)."""
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=sqlite_database(tmp_path / "bank.db"))
    with app.app_context():
        BankTransaction.__table__.create(db.engine)
        seed_demo()
        client = ClientFactory(integration=IntegrationFactory(), name="Bank AS", active=True)
        db.session.commit()
        write_rows(BankTransaction, client.id, 0, [bank_transaction_row(r) for r in SOURCE],
                   now=utcnow())
        db.session.commit()
        _row, key = create_api_key("Rapport", actor=Actor.system("test"))
        app.config.update(BANK_CLIENT_ID=client.id, BANK_API_KEY=key)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_new_data_set_gets_its_api_endpoint_openapi_description_and_filters(bank_app):
    client_id, key = bank_app.config["BANK_CLIENT_ID"], bank_app.config["BANK_API_KEY"]
    http = bank_app.test_client()
    url = f"/api/v1/clients/{client_id}/bank-transactions"

    def get(query=None):
        response = http.get(url, query_string=query or {},
                            headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        return response.get_json()

    body = get()
    assert [(r["account_number"], r["transaction_id"]) for r in body["data"]] == [
        ("1920", 1), ("1920", 2), ("1950", 1)]
    assert body["data"][1] | {"changed_at": None} == {
        "account_number": "1920", "transaction_id": 2, "transaction_date": "2026-02-10",
        "description": "Husleie februar", "amount": "-9000.00", "changed_at": None,
        "source_modified_at": None, "deleted": False}
    # The filters the entry names, and paging by the natural key.
    assert [r["description"] for r in get({"account": "1950"})["data"]] == ["Skattetrekk"]
    assert len(get({"from_date": "2026-02-01"})["data"]) == 2
    first = get({"limit": 2})
    rest = get({"limit": 2, "cursor": first["next_cursor"]})
    assert [r["description"] for r in first["data"] + rest["data"]] == [
        r["text"] for r in SOURCE]
    assert rest["next_cursor"] is None
    # Its freshness is part of the client's.
    assert "bank_transactions" in get_client(http, client_id, key)["freshness"]

    spec = document()
    operation = spec["paths"]["/api/v1/clients/{client_id}/bank-transactions"]["get"]
    assert operation["operationId"] == "listBankTransactions"
    assert operation["summary"] == "Bank transactions"
    assert [p["name"] for p in operation["parameters"]] == [
        "client_id", "from_date", "to_date", "account", "changed_since", "limit", "cursor"]
    validator = jsonschema_rs.Draft202012Validator(
        {"$ref": "#/components/schemas/BankTransactionList", "components": spec["components"]},
        validate_formats=True)
    assert validator.is_valid(body), list(validator.iter_errors(body))
    assert http.get("/api/v1/openapi.json").get_json() == spec


def get_client(http, client_id, key) -> dict:
    return http.get(f"/api/v1/clients/{client_id}",
                    headers={"Authorization": f"Bearer {key}"}).get_json()


def test_a_new_data_set_gets_its_admin_list(bank_app):
    client_id = bank_app.config["BANK_CLIENT_ID"]
    http = bank_app.test_client()
    AuthActions(http).login("operator@sticos.test", "sticos-demo")

    page = http.get(f"/admin/regnskap/banktransaksjoner/?klient={client_id}")
    assert page.status_code == 200
    assert "Banktransaksjoner" in page.text  # its menu entry and tab
    for shown in ("Innbetaling 1001", "Husleie februar", "Skattetrekk", "-9\u00a0000,00"):
        assert shown in page.text
    # Beside the other data sets' tabs, and only for the client asked for.
    assert f"/admin/regnskap/kontoer/?klient={client_id}" in page.text
    assert "Skattetrekk" not in http.get("/admin/regnskap/banktransaksjoner/?klient=999").text
    export = http.get(f"/admin/regnskap/banktransaksjoner/export/csv/?klient={client_id}")
    assert export.mimetype == "text/csv" and "-3100.25" in export.get_data(as_text=True)


def test_every_data_set_is_served_labelled_and_listed(app):
    """The app's own data sets: each has its endpoint and OpenAPI path, and each the panel
    shows has its list with a Norwegian heading for every column it shows."""
    paths = {e.path for e in endpoints()}
    documented = document()["paths"]
    views = {view.endpoint: view for view in app.extensions["admin"][0]._views}
    for listing in listings():
        dataset = listing.dataset
        path = f"/clients/{{client_id}}/{listing.path}"
        assert path in paths and f"/api/v1{path}" in documented, dataset.name
        if dataset.browse is not None:
            view = views[endpoint(dataset)]
            for column in (*view.column_list, *view.column_details_list):
                assert column in registry.COLUMN_LABELS, (dataset.name, column)


def test_the_api_and_the_panel_reach_data_sets_only_through_the_registry():
    """A complement to the tests above: no module of theirs imports a synced model or names a
    data set, but for the one endpoint that embeds another data set (batches with lines)."""
    models = {dataset.model.__name__ for dataset in registry.DATASETS}
    names = {dataset.name for dataset in registry.DATASETS}
    allowed = {"app/api/resources.py": {"journal_batches", "journal_lines"}}
    root = Path(__file__).parent.parent
    for path in sorted([*root.glob("app/api/*.py"), *root.glob("app/admin/*.py")]):
        relative = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "app.accounting.models":
                imported = {alias.name for alias in node.names}
                assert not imported & models, (relative, imported & models)
            if isinstance(node, ast.Constant) and node.value in names:
                assert node.value in allowed.get(relative, set()), (relative, node.value)
