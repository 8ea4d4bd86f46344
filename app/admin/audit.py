"""Revisjonslogg: every state change, read-only, newest first, filterable."""

from flask import g
from sqlalchemy import select

from app.admin.filters import Etter, Foer, IdEr, Inneholder, Mellom, Valg
from app.admin.security import OperatorModelView
from app.audit.models import AuditEvent
from app.customers.models import Customer
from app.extensions import db
from app.jobs.models import RUN_KIND_LABELS

# What each recorded action reads as; run kinds are appended ("Kjøring bestilt: Full
# synkronisering"). An action missing here shows its code, so a new one is never hidden.
ACTION_LABELS = {
    "login": "Logget inn",
    "logout": "Logget ut",
    "user_created": "Bruker opprettet",
    "user_updated": "Bruker endret",
    "user_deleted": "Bruker slettet",
    "user_password_changed": "Passord endret",
    "user_password_reset": "Passord tilbakestilt",
    "customer_created": "Kunde opprettet",
    "customer_updated": "Kunde endret",
    "customer_deleted": "Kunde slettet",
    "integration_created": "Integrasjon opprettet",
    "integration_authorized": "Koblet til Visma.net",
    "integration_authorization_lost": "Tilgang til Visma.net tapt",
    "integration_description_changed": "Beskrivelse endret",
    "integration_deleted": "Integrasjon slettet",
    "integration_abandoned_deleted": "Uferdig integrasjon ryddet bort",
    "clients_refreshed": "Klientliste oppdatert",
    "clients_activated": "Klienter aktivert",
    "clients_deactivated": "Klienter deaktivert",
    "client_unreachable": "Klient ikke tilgjengelig",
    "client_needs_attention": "Klient trenger oppfølging",
    "schedule_paused": "Planlagt synkronisering satt på pause",
    "schedule_resumed": "Planlagt synkronisering gjenopptatt",
    "run_cancelled": "Kjøring avbrutt",
    "old_accounts_deleted": "Gamle kontoer slettet",
    "scheduler_job_paused": "Planlagt jobb satt på pause",
    "scheduler_job_resumed": "Planlagt jobb gjenopptatt",
    "api_key.created": "API-nøkkel opprettet",
    "api_key.revoked": "API-nøkkel tilbakekalt",
}
PER_KIND_ACTIONS = {"run_requested": "Kjøring bestilt", "runs_requested": "Kjøringer bestilt"}
for _prefix, _label in PER_KIND_ACTIONS.items():
    for _kind, _kind_label in RUN_KIND_LABELS.items():
        ACTION_LABELS[f"{_prefix}:{_kind}"] = f"{_label}: {_kind_label}"

OBJECT_TYPE_LABELS = {
    "User": "Bruker",
    "Customer": "Kunde",
    "Integration": "Integrasjon",
    "Client": "Klient",
    "SyncRun": "Kjøring",
    "ApiKey": "API-nøkkel",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def _action(view, context, event, name):
    return action_label(event.action)


def _object_type(view, context, event, name):
    return OBJECT_TYPE_LABELS.get(event.object_type, event.object_type) or "–"


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
        Valg(AuditEvent.action, "Handling", ACTION_LABELS),
        Inneholder(AuditEvent.action, "Handlingskode"),
        Valg(AuditEvent.object_type, "Objekttype", OBJECT_TYPE_LABELS),
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
    column_formatters = {"kunde": _customer, "action": _action, "object_type": _object_type}
    # Exports keep the codes: stable for scripts and spreadsheets.
    column_formatters_export = {"kunde": _customer}
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
