"""Revisjonslogg: every state change, read-only, newest first, filterable."""

from flask import g
from sqlalchemy import select

from app.admin.filters import Er, Etter, Foer, IdEr, Inneholder, Mellom
from app.admin.security import OperatorModelView
from app.audit.models import AuditEvent
from app.customers.models import Customer
from app.extensions import db


def _customer(view, context, event, name):
    if event.customer_id is None:
        return "–"
    return g.get("admin_customer_names", {}).get(event.customer_id, f"#{event.customer_id}")


class AuditView(OperatorModelView):
    can_create = False
    can_edit = False
    can_delete = False
    can_export = True
    export_max_rows = 10000
    column_list = ("at", "actor", "action", "object_type", "object_label", "kunde", "ip",
                   "details")
    column_details_list = ("id", "at", "actor", "actor_user_id", "action", "object_type",
                           "object_id", "object_label", "kunde", "customer_id", "ip", "details")
    column_export_list = column_details_list
    column_default_sort = ("id", True)
    column_sortable_list = ("at", "actor", "action", "object_type")
    column_searchable_list = ("actor", "action", "object_label")
    column_filters = (
        Inneholder(AuditEvent.actor, "Utført av"),
        Er(AuditEvent.action, "Handling"),
        Inneholder(AuditEvent.action, "Handling"),
        Er(AuditEvent.object_type, "Objekttype"),
        IdEr(AuditEvent.object_id, "Objekt-ID"),
        IdEr(AuditEvent.customer_id, "Kunde"),
        Etter(AuditEvent.at, "Tidspunkt"),
        Foer(AuditEvent.at, "Tidspunkt"),
        Mellom(AuditEvent.at, "Tidspunkt"),
    )
    column_labels = {
        "id": "ID", "at": "Tidspunkt", "actor": "Utført av", "actor_user_id": "Bruker-ID",
        "action": "Handling", "object_type": "Objekttype", "object_id": "Objekt-ID",
        "object_label": "Objekt", "kunde": "Kunde", "customer_id": "Kunde-ID", "ip": "IP",
        "details": "Detaljer",
    }
    column_formatters = {"kunde": _customer}
    column_formatters_export = column_formatters
    column_formatters_detail = column_formatters

    def get_list(self, *args, **kwargs):
        count, rows = super().get_list(*args, **kwargs)
        if kwargs.get("execute", True):
            _load_customer_names({r.customer_id for r in rows if r.customer_id is not None})
        return count, rows

    def get_one(self, id):
        event = super().get_one(id)
        if event is not None and event.customer_id is not None:
            _load_customer_names({event.customer_id})
        return event


def _load_customer_names(ids: set[int]) -> None:
    g.admin_customer_names = dict(
        db.session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all()
    ) if ids else {}
