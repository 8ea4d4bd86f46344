"""Integrasjoner: every customer's connections; bulk actions call the integration operations."""

from flask import flash, g
from flask_admin.actions import action
from sqlalchemy import select
from sqlalchemy.orm import joinedload, load_only

from app.admin.dashboard import INTEGRATION_COLUMNS
from app.admin.filters import IdEr, Inneholder, Valg
from app.admin.security import OperatorModelView
from app.audit.operations import Actor
from app.extensions import db
from app.integrations import operations
from app.integrations.models import (
    INTEGRATION_STATUS_LABELS,
    SYSTEM_LABELS,
    Client,
    Integration,
)
from app.integrations.presenters import bulk_message
from app.integrations.queries import ClientCounts, client_counts
from app.jobs.models import RunKind, SyncRun

# Everything an operator may see of an integration: never the token.
SAFE_COLUMNS = (
    "id", "customer.name", "system", "description", "status", "status_message",
    "authorized_by_name", "authorized_by_email", "authorized_at", "token_refreshed_at",
    "clients_refreshed_at", "sync_interval_minutes", "created_at", "updated_at",
)


class IntegrationView(OperatorModelView):
    can_create = False
    can_edit = False
    can_delete = False
    can_export = True
    details_template = "admin/integration_details.html"
    column_list = ("id", "customer.name", "system", "description", "status",
                   "authorized_by_name", "klienter", "clients_refreshed_at", "created_at")
    column_details_list = SAFE_COLUMNS
    column_export_list = SAFE_COLUMNS
    # Belt and braces: the token is excluded by name everywhere, whatever the lists say.
    column_exclude_list = ("token",)
    column_details_exclude_list = ("token",)
    column_export_exclude_list = ("token",)
    form_excluded_columns = ("token",)
    column_searchable_list = ("customer.name", "description", "authorized_by_name",
                              "authorized_by_email")
    column_sortable_list = ("id", ("customer.name", "customer.name"), "system", "status",
                            "authorized_by_name", "clients_refreshed_at", "created_at")
    column_default_sort = ("id", True)
    column_filters = (
        Valg(Integration.system, "System", SYSTEM_LABELS),
        Valg(Integration.status, "Status", INTEGRATION_STATUS_LABELS),
        IdEr(Integration.customer_id, "Kunde"),
        Inneholder("customer.name", "Kundenavn"),
    )
    column_labels = {
        "id": "ID", "customer.name": "Kunde", "system": "System", "description": "Beskrivelse",
        "status": "Status", "status_message": "Statusmelding",
        "authorized_by_name": "Autorisert av", "authorized_by_email": "Autorisert av (e-post)",
        "authorized_at": "Autorisert", "token_refreshed_at": "Tilgang fornyet",
        "clients_refreshed_at": "Klientliste oppdatert", "sync_interval_minutes": "Intervall (min)",
        "created_at": "Opprettet", "updated_at": "Endret", "klienter": "Klienter (aktive/alle)",
    }
    column_formatters = {
        "system": lambda v, c, m, n: SYSTEM_LABELS.get(m.system, m.system),
        "status": lambda v, c, m, n: INTEGRATION_STATUS_LABELS.get(m.status, m.status),
        "klienter": lambda v, c, m, n: "{0.active} / {0.total}".format(
            g.admin_client_counts.get(m.id, ClientCounts())),
    }
    column_formatters_export = {
        "system": column_formatters["system"],
        "status": column_formatters["status"],
    }
    column_formatters_detail = column_formatters_export

    def get_query(self):
        return (
            super().get_query()
            .options(load_only(*INTEGRATION_COLUMNS, Integration.authorized_at,
                               Integration.token_refreshed_at, Integration.clients_refreshed_at,
                               Integration.sync_interval_minutes, Integration.created_at),
                     joinedload(Integration.customer))
        )

    def get_list(self, *args, **kwargs):
        count, rows = super().get_list(*args, **kwargs)
        if kwargs.get("execute", True):
            g.admin_client_counts = client_counts([r.id for r in rows])
        return count, rows

    def get_one(self, id):
        return self.get_query().filter(Integration.id == int(id)).first()

    def render(self, template, **kwargs):
        if template == self.details_template and kwargs.get("model") is not None:
            integration = kwargs["model"]
            kwargs["clients"] = list(db.session.scalars(
                select(Client).where(Client.integration_id == integration.id)
                .order_by(Client.name).limit(200)
            ))
            kwargs["client_counts"] = client_counts([integration.id]).get(
                integration.id, ClientCounts())
            kwargs["runs"] = list(db.session.scalars(
                select(SyncRun).options(joinedload(SyncRun.client).load_only(Client.id, Client.name))
                .where(SyncRun.integration_id == integration.id)
                .order_by(SyncRun.id.desc()).limit(25)
            ))
            kwargs["clients_url"] = self.admin_url("clients_admin", "Integrasjon", integration.id)
            kwargs["runs_url"] = self.admin_url("runs_admin", "Integrasjon", integration.id)
        return super().render(template, **kwargs)

    def admin_url(self, endpoint: str, filter_name: str, value) -> str:
        for view in self.admin._views:
            if view.endpoint == endpoint:
                return view.filtered_url(filter_name, value)
        raise LookupError(endpoint)

    # -- bulk actions (same operations as the customer's own page) ---------------------------

    def _integrations(self, ids):
        return list(db.session.scalars(
            select(Integration).options(joinedload(Integration.customer))
            .where(Integration.id.in_(self.selection(ids)))
        ))

    @action("refresh_clients", "Oppdater klientliste",
            "Hente klientlisten på nytt fra Visma.net for de valgte integrasjonene?")
    def action_refresh_clients(self, ids):
        queued = already = skipped = 0
        actor = Actor.current()
        for integration in self._integrations(ids):
            try:
                _run, created = operations.request_run(
                    RunKind.REFRESH_CLIENTS, integration=integration, actor=actor
                )
            except operations.NotConnected:
                skipped += 1
                continue
            queued += created
            already += not created
        flash(f"Oppdater klientliste: {queued} lagt i kø, {already} var allerede i kø, "
              f"{skipped} ikke tilkoblet (hoppet over).", "success")

    @action("activate_all", "Aktiver alle klienter",
            "Aktivere alle klientene i de valgte integrasjonene? De blir synkronisert fra nå av.")
    def action_activate_all(self, ids):
        selection = select(Client.id).where(Client.integration_id.in_(self.selection(ids)))
        result = operations.activate_clients(selection, actor=Actor.current())
        flash(bulk_message("Aktiver alle klienter", result), "success")

    @action("deactivate_all", "Deaktiver alle klienter",
            "Deaktivere alle klientene i de valgte integrasjonene? Data som er hentet, beholdes, "
            "men Sticos får ikke nye tall.")
    def action_deactivate_all(self, ids):
        selection = select(Client.id).where(Client.integration_id.in_(self.selection(ids)))
        result = operations.deactivate_clients(selection, actor=Actor.current())
        flash(bulk_message("Deaktiver alle klienter", result), "success")

    @action("delete_system", "Slett system",
            "Slette de valgte integrasjonene? Tilgangen hos Visma.net trekkes tilbake, og alle "
            "klienter og hentede data slettes. Dette kan ikke angres.")
    def action_delete_system(self, ids):
        actor = Actor.current()
        deleted = []
        for integration in self._integrations(ids):
            label = f"{integration.customer.name}: {integration}"
            operations.delete_integration(integration, actor=actor)
            deleted.append(label)
        flash(f"Slett system: {len(deleted)} slettet" + (f" ({'; '.join(deleted)})." if deleted else "."),
              "success")
