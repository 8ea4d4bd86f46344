"""Klienter: find a client in seconds, see how its syncs went, act on one or thousands."""

from flask import flash, redirect, url_for
from flask_admin.actions import action
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from app.admin import accounting
from app.admin.dashboard import INTEGRATION_COLUMNS
from app.admin.filters import AldriSynkronisert, EldreEnnDager, IdEr, Inneholder, JaNei, Valg
from app.admin.security import OperatorModelView, truncated
from app.audit.operations import Actor
from app.integrations import operations
from app.integrations.models import SYSTEM_LABELS, Client, Integration
from app.integrations.presenters import BUTTON_LABELS, SYNC_RESULT_LABELS, bulk_message
from app.jobs.models import RUN_KIND_LABELS, RUN_KIND_TEXTS, RunKind
from app.template_helpers import oslo_time

# The bulk and row actions that queue a run.
RUN_ACTIONS = {
    "sync": RunKind.INCREMENTAL_SYNC,
    "full_sync": RunKind.FULL_SYNC,
    "test_data": RunKind.TEST_DATA,
}
# A client's buttons here: the customer page's words for (de)activating, each run kind's
# panel button (RUN_KIND_TEXTS) for the rest.
ROW_LABELS = {
    "activate": BUTTON_LABELS["activate"],
    "deactivate": BUTTON_LABELS["deactivate"],
    **{name: RUN_KIND_TEXTS[kind].panel_button for name, kind in RUN_ACTIONS.items()},
    "delete_old_accounts": RUN_KIND_TEXTS[RunKind.DELETE_OLD_ACCOUNTS].panel_button,
}
ROW_CONFIRM = {
    "deactivate": "Deaktivere klienten? Data som er hentet, beholdes.",
}

DETAIL_COLUMNS = (
    "id", "name", "orgnr", "orgnr_valid", "external_id", "integration.customer.name",
    "integration", "active", "reachable", "is_new", "first_seen_at", "last_seen_at",
    "unreachable_since", "unreachable_reason", "activated_at", "last_sync_at",
    "last_sync_result", "last_sync_message", "data_as_of", "test_data_sent_at", "next_sync_at",
    "consecutive_failures", "needs_attention", "schedule_paused_reason",
)


def _name_link(view, context, model, name):
    url = view.get_url(".details_view", id=model.id)
    return Markup('<a href="{}">{}</a>').format(url, model.name)


def _integration_link(view, context, model, name):
    url = view.get_url("integrations_admin.details_view", id=model.integration_id)
    return Markup('<a href="{}">#{}</a>').format(url, model.integration_id)


def _result(view, context, model, name):
    return SYNC_RESULT_LABELS.get(model.last_sync_result, model.last_sync_result or "–")


def _state(view, context, model, name):
    state = "Aktiv" if model.active else "Inaktiv"
    if not model.reachable:
        return Markup('{} <span class="badge badge-danger" title="{}">Ikke tilgjengelig</span>').format(
            state, model.unreachable_reason or "")
    return state


def _last_sync(view, context, model, name):
    if model.last_sync_at is None:
        return "–"
    return Markup("{}<br><small>{}</small>").format(
        oslo_time(model.last_sync_at, "%d.%m.%y %H:%M"), _result(view, context, model, name))


def _customer(view, context, model, name):
    return truncated(model.integration.customer.name)


class ClientView(OperatorModelView):
    can_create = False
    can_edit = False
    can_delete = False
    can_export = True
    list_template = "admin/client_list.html"
    details_template = "admin/client_details.html"
    # Fits 1280 px: state and reachability in one column, the result under the time.
    column_list = ("name", "orgnr", "integration.customer.name", "integration_id", "active",
                   "last_sync_at", "data_as_of", "next_sync_at", "consecutive_failures")
    column_details_list = DETAIL_COLUMNS
    column_export_list = tuple(c for c in DETAIL_COLUMNS if c != "integration") + ("integration_id",)
    column_searchable_list = ("name", "orgnr", "external_id")
    column_sortable_list = ("id", "name", "orgnr", "active", "reachable", "last_sync_at",
                            "last_sync_result", "data_as_of", "next_sync_at",
                            "consecutive_failures")
    column_default_sort = "name"
    column_filters = (
        IdEr(Integration.customer_id, "Kunde"),
        Inneholder("integration.customer.name", "Kundenavn"),
        IdEr(Client.integration_id, "Integrasjon"),
        Valg(Integration.system, "System", SYSTEM_LABELS),
        JaNei(Client.active, "Aktiv"),
        JaNei(Client.reachable, "Tilgjengelig"),
        Valg(Client.last_sync_result, "Siste resultat", SYNC_RESULT_LABELS),
        AldriSynkronisert(Client.last_sync_at, "Aldri synkronisert"),
        EldreEnnDager(Client.data_as_of, "Utdatert"),
        JaNei(Client.needs_attention, "Trenger oppfølging"),
        JaNei(Client.is_new, "Ny"),
    )
    column_labels = {
        "id": "ID", "name": "Navn", "orgnr": "Orgnr", "orgnr_valid": "Gyldig orgnr",
        "external_id": "Kilde-ID", "integration.customer.name": "Kunde",
        "integration": "Integrasjon", "integration_id": "Integrasjon", "active": "Aktiv",
        "reachable": "Tilgjengelig", "is_new": "Ny", "first_seen_at": "Først sett",
        "last_seen_at": "Sist sett", "unreachable_since": "Utilgjengelig siden",
        "unreachable_reason": "Årsak", "activated_at": "Aktivert",
        "last_sync_at": "Sist synkronisert", "last_sync_result": "Siste resultat",
        "last_sync_message": "Melding", "data_as_of": "Data per",
        "test_data_sent_at": "Testdata sendt", "next_sync_at": "Neste synkronisering",
        "consecutive_failures": "Feil på rad", "needs_attention": "Trenger oppfølging",
        "schedule_paused_reason": "Planlegging stoppet",
    }
    column_formatters = {"last_sync_result": _result, "name": _name_link,
                         "integration_id": _integration_link, "active": _state,
                         "last_sync_at": _last_sync, "integration.customer.name": _customer}
    column_formatters_export = {"last_sync_result": _result}
    column_formatters_detail = {"last_sync_result": _result}

    def get_query(self):
        return super().get_query().options(
            joinedload(Client.integration)
            .load_only(*INTEGRATION_COLUMNS)
            .joinedload(Integration.customer)
        )

    def get_one(self, id):
        return self.get_query().filter(Client.id == int(id)).first()

    def render(self, template, **kwargs):
        if template == self.details_template and kwargs.get("model") is not None:
            kwargs["accounting_url"] = self.get_url(f"{accounting.first_endpoint()}.index_view",
                                                     klient=kwargs["model"].id)
        kwargs.setdefault("row_labels", ROW_LABELS)
        kwargs.setdefault("row_confirm", ROW_CONFIRM)
        return super().render(template, **kwargs)

    # -- bulk actions: one set-based operation call each ---------------------------------------

    @action("activate", ROW_LABELS["activate"], "Aktivere de valgte klientene? De blir synkronisert fra nå av.")
    def action_activate(self, ids):
        result = operations.activate_clients(self.selection(ids), actor=Actor.current())
        flash(bulk_message(ROW_LABELS["activate"], result), "success")

    @action("deactivate", ROW_LABELS["deactivate"], "Deaktivere de valgte klientene? Data som er hentet, beholdes.")
    def action_deactivate(self, ids):
        result = operations.deactivate_clients(self.selection(ids), actor=Actor.current())
        flash(bulk_message(ROW_LABELS["deactivate"], result), "success")

    @action("resume_schedule", "Gjenoppta planlagt synkronisering",
            "Gjenoppta planlagt synkronisering for de valgte klientene? Merket «krever oppfølging» "
            "fjernes, og de synkroniseres ved neste runde.")
    def action_resume_schedule(self, ids):
        resumed = operations.resume_schedule(self.selection(ids), actor=Actor.current())
        flash(f"Gjenoppta planlagt synkronisering: {resumed} klienter gjenopptatt.", "success")

    def _request_runs(self, name: str, ids):
        kind = RUN_ACTIONS[name]
        result = operations.request_runs_for_clients(kind, self.selection(ids), actor=Actor.current())
        flash(bulk_message(ROW_LABELS[name], result)
              + " Inaktive klienter og klienter med samme kjøring i kø får ingen ny.", "success")

    @action("sync", ROW_LABELS["sync"],
            "Hente endringene siden forrige synkronisering for de valgte klientene nå?")
    def action_sync(self, ids):
        self._request_runs("sync", ids)

    @action("full_sync", ROW_LABELS["full_sync"],
            "Lese alle data på nytt for de valgte klientene? Det tar lengre tid enn en vanlig synkronisering.")
    def action_full_sync(self, ids):
        self._request_runs("full_sync", ids)

    @action("test_data", ROW_LABELS["test_data"], "Sende testdata til Sticos for de valgte klientene?")
    def action_test_data(self, ids):
        self._request_runs("test_data", ids)

    @action("delete_old_accounts", ROW_LABELS["delete_old_accounts"],
            "Finne kontoer Sticos har for de valgte klientene som ikke lenger finnes i "
            "Visma.net? Du ser dem og velger hvilke som slettes før noe slettes.")
    def action_delete_old_accounts(self, ids):
        """The same rule as the customer page: a queued preview per client, then exact ids."""
        result = operations.request_runs_for_clients(
            RunKind.PREVIEW_OLD_ACCOUNTS, self.selection(ids), actor=Actor.current())
        flash(bulk_message(ROW_LABELS["delete_old_accounts"], result)
              + " Velg kontoene som skal slettes når forhåndsvisningene er ferdige.", "success")
        return redirect(url_for("runs_admin.old_accounts_view",
                                klienter=",".join(map(str, result.client_ids[:500]))))


__all__ = ["ClientView", "RUN_ACTIONS", "RUN_KIND_LABELS"]
