"""Regnskapsdata: one client's synced accounts, balances, batches and lines, read-only, so an
operator can check a number against the customer's Visma. Rows are exactly what readers of
the store see: ``app.accounting.queries.current_rows`` (current generation, no tombstones)."""

from decimal import Decimal

from flask import request
from sqlalchemy import false, func
from sqlalchemy.orm import joinedload

from app.accounting.models import (
    Account,
    GLBalance,
    JournalBatch,
    JournalLine,
    LedgerCustomer,
    LedgerSupplier,
)
from app.accounting.queries import current_rows, freshness
from app.admin.filters import Er, Inneholder, JaNei
from app.admin.security import OperatorModelView
from app.extensions import db
from app.integrations.models import Client, Integration


def _money(view, value, name):
    text = f"{value:,.2f}".replace(",", "\u00a0").replace(".", ",")
    return text


COMMON_LABELS = {
    "id": "ID", "changed_at": "Endret hos oss", "source_modified_at": "Endret i Visma",
    "period": "Periode", "account_number": "Konto", "description": "Beskrivelse",
    "module": "Modul", "batch_number": "Bilagsnr.", "currency": "Valuta",
}


class AccountingView(OperatorModelView):
    """Base: scoped to the client in ``?klient=``; nothing is shown until one is chosen."""

    can_create = False
    can_edit = False
    can_delete = False
    can_export = True
    export_max_rows = 50_000
    list_template = "admin/accounting_list.html"
    details_template = "admin/accounting_details.html"
    column_display_pk = False
    column_labels = COMMON_LABELS
    column_type_formatters = {**OperatorModelView.column_type_formatters, Decimal: _money}
    column_type_formatters_detail = column_type_formatters

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
            accounting_freshness=freshness(client.id) if client else {},
            accounting_tabs=[
                (view.name, view.get_url(".index_view", klient=client_id) if client_id else view.get_url(".index_view"),
                 view is self)
                for view in self.admin._views if isinstance(view, AccountingView)
            ],
        )
        return super().render(template, **kwargs)


class AccountView(AccountingView):
    column_list = ("account_number", "description", "type", "active", "changed_at")
    column_details_list = ("id", "account_number", "account_id", "description", "type", "active",
                           "changed_at", "source_modified_at")
    column_export_list = column_details_list
    column_default_sort = "account_number"
    column_sortable_list = ("account_number", "description", "type", "changed_at")
    column_searchable_list = ("account_number", "description")
    column_filters = (Er(Account.type, "Type"), JaNei(Account.active, "Aktiv"))
    column_labels = {**COMMON_LABELS, "type": "Type", "active": "Aktiv", "account_id": "Visma-ID"}


class BalanceView(AccountingView):
    column_list = ("period", "account_number", "account_description", "subaccount",
                   "branch_number", "ledger_id", "currency", "beginning_balance", "period_debit", "period_credit",
                   "ytd_balance")
    column_details_list = ("id", *column_list, "account_type", "branch_name",
                           "ledger_description", "balance_type", "changed_at",
                           "source_modified_at")
    column_export_list = column_details_list
    column_default_sort = [("period", True), ("account_number", False)]
    column_sortable_list = ("period", "account_number", "branch_number", "ledger_id",
                            "ytd_balance")
    column_searchable_list = ("account_number", "account_description")
    column_filters = (
        Er(GLBalance.period, "Periode"),
        Er(GLBalance.account_number, "Konto"),
        Er(GLBalance.branch_number, "Avdeling"),
        Er(GLBalance.ledger_id, "Hovedbok"),
    )
    column_labels = {
        **COMMON_LABELS, "account_description": "Kontonavn", "branch_number": "Avdeling",
        "ledger_id": "Hovedbok", "beginning_balance": "Inngående", "period_debit": "Debet",
        "period_credit": "Kredit", "ytd_balance": "Saldo hittil i år", "account_type": "Kontotype",
        "branch_name": "Avdelingsnavn", "ledger_description": "Hovedbok (navn)",
        "subaccount": "Underkonto", "balance_type": "Saldotype",
    }


class BatchView(AccountingView):
    column_list = ("period", "module", "batch_number", "transaction_date", "status",
                   "description", "debit_total", "credit_total", "line_count")
    column_details_list = ("id", *column_list, "currency", "changed_at", "source_modified_at")
    column_export_list = column_details_list
    column_default_sort = [("period", True), ("batch_number", True)]
    column_sortable_list = ("period", "module", "batch_number", "transaction_date")
    column_searchable_list = ("batch_number", "description")
    column_filters = (Er(JournalBatch.period, "Periode"), Er(JournalBatch.module, "Modul"),
                      Er(JournalBatch.status, "Status"))
    column_labels = {**COMMON_LABELS, "transaction_date": "Dato", "status": "Status",
                     "debit_total": "Debet", "credit_total": "Kredit", "line_count": "Linjer"}


class LineView(AccountingView):
    column_list = ("period", "module", "batch_number", "line_number", "account_number",
                   "description", "debit", "credit", "vat_code", "reference_number")
    column_details_list = ("id", *column_list, "vat_description", "subaccount",
                           "branch_number", "debit_in_currency", "credit_in_currency",
                           "customer_supplier", "changed_at", "source_modified_at")
    column_export_list = column_details_list
    column_default_sort = [("period", True), ("batch_number", True), ("line_number", False)]
    column_sortable_list = ("period", "module", "batch_number", "line_number", "account_number",
                            "debit", "credit")
    column_searchable_list = ("account_number", "description", "batch_number", "reference_number")
    column_filters = (
        Er(JournalLine.period, "Periode"),
        Er(JournalLine.account_number, "Konto"),
        Er(JournalLine.module, "Modul"),
        Er(JournalLine.batch_number, "Bilagsnr."),
        Inneholder(JournalLine.description, "Tekst"),
    )
    column_labels = {**COMMON_LABELS, "line_number": "Linje", "debit": "Debet",
                     "credit": "Kredit", "vat_code": "Mva-kode", "reference_number": "Referanse",
                     "customer_supplier": "Kunde/leverandør", "vat_description": "Mva-tekst",
                     "subaccount": "Underkonto", "branch_number": "Avdeling",
                     "debit_in_currency": "Debet i valuta",
                     "credit_in_currency": "Kredit i valuta"}


class PartyView(AccountingView):
    column_list = ("number", "name", "corporate_id", "vat_registration_id", "status", "changed_at")
    column_details_list = ("id", "number", "internal_id", *column_list[1:], "source_modified_at")
    column_export_list = column_details_list
    column_default_sort = "number"
    column_sortable_list = ("number", "name", "corporate_id", "status")
    column_searchable_list = ("number", "name", "corporate_id")
    column_labels = {**COMMON_LABELS, "number": "Nummer", "internal_id": "Visma-ID",
                     "name": "Navn", "corporate_id": "Orgnr", "vat_registration_id": "Mva-nr.",
                     "status": "Status"}


MODELS = (
    (AccountView, Account, "Kontoer", "accounts_admin", "regnskap/kontoer"),
    (BalanceView, GLBalance, "Saldoer", "balances_admin", "regnskap/saldoer"),
    (BatchView, JournalBatch, "Bilag", "batches_admin", "regnskap/bilag"),
    (LineView, JournalLine, "Posteringer", "journal_lines_admin", "regnskap/posteringer"),
    (PartyView, LedgerCustomer, "Kunder i regnskapet", "ledger_customers_admin", "regnskap/kunder"),
    (PartyView, LedgerSupplier, "Leverandører", "ledger_suppliers_admin", "regnskap/leverandorer"),
)


def register(admin) -> None:
    for view_class, model, name, endpoint, url in MODELS:
        admin.add_view(view_class(model, db, name=name, endpoint=endpoint, url=url,
                                  category="Regnskapsdata"))
