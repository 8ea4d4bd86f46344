"""Regnskapsdata: one client's synced rows, read-only, so an operator can check a number
against the customer's accounting system. One list per data set the registry marks for the
panel (``app.accounting.models.DATASETS``, ``DataSet.browse``), all alike. Rows are exactly
what readers of the store see: ``app.accounting.queries.current_rows`` (current generation,
no tombstones)."""

from decimal import Decimal

from flask import request
from sqlalchemy import Boolean, false, func
from sqlalchemy.orm import joinedload

from app.accounting import models as registry
from app.accounting.queries import current_rows
from app.admin.filters import Er, Inneholder, JaNei
from app.admin.security import OperatorModelView
from app.extensions import db
from app.integrations.models import Client, Integration


def _money(view, value, name):
    text = f"{value:,.2f}".replace(",", "\u00a0").replace(".", ",")
    return text


class AccountingView(OperatorModelView):
    """One data set's rows, scoped to the client in ``?klient=``; nothing is shown until one is
    chosen. What it lists, sorts, searches and filters comes from the data set's ``Browse``."""

    can_create = False
    can_edit = False
    can_delete = False
    can_export = True
    export_max_rows = 50_000
    list_template = "admin/accounting_list.html"
    details_template = "admin/accounting_details.html"
    column_display_pk = False
    column_labels = registry.COLUMN_LABELS
    column_type_formatters = {**OperatorModelView.column_type_formatters, Decimal: _money}
    column_type_formatters_detail = column_type_formatters

    def __init__(self, dataset: registry.DataSet):
        browse, model = dataset.browse, dataset.model
        source = model.source_columns()
        self.column_list = browse.columns or (*source, "changed_at")
        listed = [name for name in self.column_list if name in source]
        self.column_details_list = browse.details or (
            "id", *listed, *(name for name in source if name not in listed),
            "changed_at", "source_modified_at")
        self.column_export_list = self.column_details_list
        self.column_default_sort = [(name.removeprefix("-"), name.startswith("-"))
                                    for name in browse.sort or model.natural_key]
        self.column_sortable_list = browse.sortable
        self.column_searchable_list = browse.search
        self.column_filters = [
            *((JaNei if isinstance(getattr(model, name).type, Boolean) else Er)(
                getattr(model, name), registry.COLUMN_LABELS[name]) for name in browse.filters),
            *(Inneholder(getattr(model, name), label) for name, label in browse.contains),
        ]
        super().__init__(model, db, name=browse.menu or dataset.label.capitalize(),
                         endpoint=endpoint(dataset), url=f"regnskap/{_slug(dataset.label)}",
                         category="Regnskapsdata")

    def client_id(self) -> int | None:
        return request.args.get("klient", type=int)

    def _visible(self, query):
        client_id = self.client_id()
        if client_id is None:
            return query.filter(false())
        ids = current_rows(self.model, client_id).with_only_columns(self.model.id).order_by(None)
        return query.filter(self.model.client_id == client_id, self.model.id.in_(ids))

    def get_query(self):
        return self._visible(super().get_query())

    def get_count_query(self):
        return self._visible(db.session.query(func.count("*")).select_from(self.model))

    def get_one(self, id):
        row = db.session.get(self.model, int(id))
        if row is None:
            return None
        visible = current_rows(self.model, row.client_id).where(self.model.id == row.id)
        return row if db.session.scalar(visible.with_only_columns(self.model.id)) else None

    def render(self, template, **kwargs):
        client_id = self.client_id()
        if client_id is None and kwargs.get("model") is not None:
            client_id = kwargs["model"].client_id
        client = None
        if client_id is not None:
            client = db.session.get(Client, client_id, options=[
                joinedload(Client.integration).load_only(Integration.id, Integration.customer_id)
                .joinedload(Integration.customer)])
        kwargs.update(
            accounting_client=client,
            # Each tab to its own view ("." would resolve to the current view's endpoint).
            accounting_tabs=[
                (view.name, view.get_url(f"{view.endpoint}.index_view",
                                         **({"klient": client_id} if client_id else {})),
                 view is self)
                for view in self.admin._views if isinstance(view, AccountingView)
            ],
        )
        return super().render(template, **kwargs)


def endpoint(dataset: registry.DataSet) -> str:
    return f"accounting_{dataset.name}_admin"


def first_endpoint() -> str:
    """Where «Regnskapsdata» of a client leads: the first data set the panel shows."""
    return endpoint(next(dataset for dataset in registry.DATASETS if dataset.browse))


def _slug(label: str) -> str:
    """The URL word of a Norwegian label: «leverandører» → leverandorer."""
    return label.lower().translate(str.maketrans({"æ": "ae", "ø": "o", "å": "a", " ": "-"}))


def register(admin) -> None:
    for dataset in registry.DATASETS:
        if dataset.browse is not None:
            admin.add_view(AccountingView(dataset))
