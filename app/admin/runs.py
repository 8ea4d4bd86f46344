"""Kjøringer: the run history, read-only, newest first; cancel queued runs, retry failed ones."""

from flask import flash, redirect, request
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.helpers import get_form_data, get_redirect_target, validate_form_on_submit
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.admin.dashboard import INTEGRATION_COLUMNS
from app.admin.filters import Etter, Foer, IdEr, Inneholder, Mellom, Valg
from app.admin.forms import AdminForm
from app.admin.security import OperatorModelView, truncated
from app.audit.operations import Actor
from app.extensions import db
from app.integrations import operations
from app.integrations.models import Client, Integration
from app.integrations.presenters import counts_text
from app.jobs.models import (
    RUN_KIND_LABELS,
    RUN_STATUS_LABELS,
    RunKind,
    RunStatus,
    SyncRun,
    Trigger,
)
from app.jobs.queries import queue_position

TRIGGER_LABELS = {Trigger.MANUAL: "Manuell", Trigger.SCHEDULE: "Planlagt", Trigger.CLI: "Kommandolinje"}
RETRYABLE = (RunStatus.FAILED,)


def _progress(view, context, run, name):
    if run.progress_total:
        return f"{run.progress_done or 0} / {run.progress_total}"
    return str(run.progress_done) if run.progress_done else "–"


def _duration(run: SyncRun) -> str:
    if not run.started_at:
        return "–"
    end = run.finished_at or run.heartbeat_at
    if end is None:
        return "–"
    seconds = int((end - run.started_at).total_seconds())
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


class RunView(OperatorModelView):
    can_create = False
    can_edit = False
    can_delete = False
    can_export = True
    export_max_rows = 10000
    details_template = "admin/run_details.html"
    # Fits 1280 px; who asked, start time and progress are on the detail page.
    column_list = ("id", "kind", "status", "integration.customer.name", "client.name",
                   "trigger", "created_at", "finished_at", "attempts", "error_message")
    column_details_list = ("id", "kind", "status", "integration.customer.name", "integration",
                           "client", "trigger", "requested_by", "priority", "created_at",
                           "due_at", "started_at", "finished_at", "heartbeat_at",
                           "lease_expires_at", "worker_id", "attempts", "max_attempts",
                           "progress", "current_step", "counts", "warnings", "error_message",
                           "params")
    column_export_list = ("id", "kind", "status", "integration.customer.name", "integration_id",
                          "client_id", "client.name", "trigger", "requested_by", "created_at",
                          "started_at", "finished_at", "attempts", "max_attempts",
                          "progress_done", "progress_total", "counts", "error_message")
    column_sortable_list = ("id", "kind", "status", "created_at", "started_at", "finished_at",
                            "attempts")
    column_default_sort = ("id", True)
    column_searchable_list = ("requested_by", "error_message")
    column_filters = (
        Valg(SyncRun.kind, "Type", RUN_KIND_LABELS),
        Valg(SyncRun.status, "Status", RUN_STATUS_LABELS),
        IdEr(Integration.customer_id, "Kunde"),
        Inneholder("integration.customer.name", "Kundenavn"),
        IdEr(SyncRun.client_id, "Klient"),
        Inneholder("client.name", "Klientnavn"),
        IdEr(SyncRun.integration_id, "Integrasjon"),
        Valg(SyncRun.trigger, "Utløst", TRIGGER_LABELS),
        Etter(SyncRun.created_at, "Opprettet"),
        Foer(SyncRun.created_at, "Opprettet"),
        Mellom(SyncRun.created_at, "Opprettet"),
    )
    column_labels = {
        "id": "ID", "kind": "Type", "status": "Status", "integration.customer.name": "Kunde",
        "integration": "Integrasjon", "integration_id": "Integrasjon", "client": "Klient",
        "client.name": "Klient", "client_id": "Klient-ID", "trigger": "Utløst",
        "requested_by": "Bestilt av", "priority": "Prioritet", "created_at": "Lagt i kø",
        "due_at": "Tidligst", "started_at": "Startet", "finished_at": "Ferdig",
        "heartbeat_at": "Siste livstegn", "lease_expires_at": "Lås utløper",
        "worker_id": "Arbeider", "attempts": "Forsøk", "max_attempts": "Maks forsøk",
        "progress": "Fremdrift", "progress_done": "Fremdrift (ferdig)",
        "progress_total": "Fremdrift (totalt)", "current_step": "Steg", "counts": "Antall",
        "warnings": "Advarsler", "error_message": "Feil", "params": "Parametere",
    }
    column_formatters = {
        "kind": lambda v, c, m, n: m.kind_label,
        "status": lambda v, c, m, n: Markup('<span class="badge badge-status-{}">{}</span>').format(
            m.status, m.status_label),
        "trigger": lambda v, c, m, n: TRIGGER_LABELS.get(m.trigger, m.trigger),
        "progress": _progress,
        "error_message": lambda v, c, m, n: truncated(m.error_message),
        "integration.customer.name": lambda v, c, m, n: truncated(m.integration.customer.name),
        "client.name": lambda v, c, m, n: truncated(m.client.name if m.client else None),
        "counts": lambda v, c, m, n: counts_text(m.counts) or "–",
    }
    column_formatters_export = {
        "kind": column_formatters["kind"],
        "status": lambda v, c, m, n: m.status_label,
        "trigger": column_formatters["trigger"],
    }
    column_formatters_detail = {
        **column_formatters,
        "error_message": lambda v, c, m, n: m.error_message or "–",
    }

    def get_query(self):
        return super().get_query().options(
            joinedload(SyncRun.client).load_only(Client.id, Client.name, Client.orgnr),
            joinedload(SyncRun.integration)
            .load_only(*INTEGRATION_COLUMNS)
            .joinedload(Integration.customer),
        )

    def get_one(self, id):
        return self.get_query().filter(SyncRun.id == int(id)).first()

    def render(self, template, **kwargs):
        if template == self.details_template and kwargs.get("model") is not None:
            run = kwargs["model"]
            kwargs.update(
                run_form=AdminForm(),
                can_cancel=run.status == RunStatus.QUEUED,
                can_retry=run.status in RETRYABLE,
                duration=_duration(run),
                counts=counts_text(run.counts),
                queue_position=_queue_position(run),
            )
        return super().render(template, **kwargs)

    # -- one run: POST forms on the detail page ---------------------------------------------

    @expose("/avbryt/", methods=("POST",))
    def cancel_view(self):
        run = self._posted_run()
        if run is None:
            return redirect(self.get_url(".index_view"))
        if operations.cancel_run(run, actor=Actor.current()):
            flash(f"{run.kind_label} #{run.id}: avbrutt.", "success")
        else:
            flash(f"{run.kind_label} #{run.id}: er ikke i kø (status: {run.status_label}) og kan "
                  "ikke avbrytes.", "error")
        return redirect(self.get_url(".details_view", id=run.id))

    @expose("/prov-igjen/", methods=("POST",))
    def retry_view(self):
        run = self._posted_run()
        if run is None:
            return redirect(self.get_url(".index_view"))
        new_run, created, message = retry(run)
        flash(message, "success" if created else "error")
        return redirect(self.get_url(".details_view", id=(new_run or run).id))

    def _posted_run(self) -> SyncRun | None:
        if not validate_form_on_submit(AdminForm(get_form_data())):
            flash("Skjemaet var utløpt eller ugyldig. Last siden på nytt.", "error")
            return None
        run = db.session.get(SyncRun, request.form.get("id", type=int) or 0)
        if run is None:
            flash("Fant ikke kjøringen.", "error")
        return run

    # -- «Slett gamle kontoer»: the queued previews, confirmed with exact account ids -------

    @expose("/gamle-kontoer/", methods=("GET", "POST"))
    def old_accounts_view(self):
        """Each listed client's newest old-accounts preview; ticked accounts are deleted."""
        client_ids = _ids_arg(request.args.get("klienter", ""))
        if request.method == "POST":
            if not validate_form_on_submit(AdminForm(get_form_data())):
                flash("Skjemaet var utløpt eller ugyldig. Last siden på nytt.", "error")
            else:
                flash(_confirm_deletions(request.form.getlist("account_id")), "success")
                return redirect(self.get_url(".index_view"))
        clients = list(db.session.scalars(
            select(Client).where(Client.id.in_(client_ids)).order_by(Client.name)
        ))
        rows = [(c, operations.latest_preview(c)) for c in clients]
        return self.render(
            "admin/old_accounts.html", rows=rows, form=AdminForm(),
            client_ids=",".join(str(c.id) for c in clients),
            pending=any(p is not None and p.is_active for _c, p in rows),
            confirmable=any(operations.preview_is_current(p) and p.result for _c, p in rows),
        )

    # -- bulk -----------------------------------------------------------------------------

    @action("cancel", "Avbryt", "Avbryte de valgte kjøringene som står i kø?")
    def action_cancel(self, ids):
        actor = Actor.current()
        runs = self._runs(ids)
        cancelled = sum(operations.cancel_run(run, actor=actor) for run in runs
                        if run.status == RunStatus.QUEUED)
        flash(f"Avbryt: {cancelled} avbrutt, {len(runs) - cancelled} var ikke i kø.", "success")

    @action("retry", "Prøv igjen", "Legge de valgte feilede kjøringene i kø på nytt?")
    def action_retry(self, ids):
        runs = self._runs(ids)
        queued = 0
        problems = []
        for run in runs:
            _new_run, created, message = retry(run)
            if created:
                queued += 1
            else:
                problems.append(message)
        flash(f"Prøv igjen: {queued} lagt i kø, {len(runs) - queued} ikke"
              + (f" ({'; '.join(problems[:5])})" if problems else "") + ".", "success")

    def _runs(self, ids):
        return list(db.session.scalars(
            select(SyncRun).where(SyncRun.id.in_(self.selection(ids))).order_by(SyncRun.id)
        ))

    def get_save_return_url(self, model, is_created=False):
        return get_redirect_target() or self.get_url(".index_view")


def retry(run: SyncRun) -> tuple[SyncRun | None, bool, str]:
    """Queue the same kind of work for the same target again (a failed run stays as history).

    Returns (the queued run — new or the one already queued —, whether it is new, a message).
    """
    if run.status not in RETRYABLE:
        return None, False, f"{run.kind_label} #{run.id}: bare feilede kjøringer kan prøves igjen."
    integration = db.session.get(Integration, run.integration_id)
    client = db.session.get(Client, run.client_id) if run.client_id else None
    try:
        new_run, created = operations.request_run(
            run.kind, integration=integration, client=client, actor=Actor.current(),
            params=dict(run.params or {}),
        )
    except operations.Refused as exc:
        return None, False, f"{run.kind_label} #{run.id}: {exc.message}"
    if created:
        return new_run, True, f"{run.kind_label} #{run.id}: lagt i kø på nytt som #{new_run.id}."
    return new_run, False, (f"{run.kind_label}: samme kjøring står allerede i kø eller kjører "
                            f"(#{new_run.id}).")


MAX_LISTED_CLIENTS = 500


def _ids_arg(raw: str) -> list[int]:
    return [int(part) for part in raw.split(",")[:MAX_LISTED_CLIENTS] if part.strip().isdigit()]


def _confirm_deletions(values: list[str]) -> str:
    """Queue one deletion per preview of exactly the ticked accounts ("preview:account")."""
    ticked: dict[int, list[str]] = {}
    for value in values:
        preview_id, _, account_id = value.partition(":")
        if preview_id.isdigit() and account_id.isdigit():
            ticked.setdefault(int(preview_id), []).append(account_id)
    queued = already = 0
    refused = []
    for preview_id, account_ids in ticked.items():
        preview = db.session.get(SyncRun, preview_id)
        if preview is None or preview.client is None:
            continue
        try:
            _run, created = operations.confirm_old_accounts_deletion(
                preview.client, preview, account_ids, actor=Actor.current())
        except operations.Refused as exc:
            refused.append(f"{preview.client.name}: {exc.message}")
            continue
        queued += created
        already += not created
    label = RUN_KIND_LABELS[RunKind.DELETE_OLD_ACCOUNTS]
    return (f"{label}: {queued} lagt i kø, {already} var allerede i kø"
            + (f", {len(refused)} avvist ({'; '.join(refused[:5])})" if refused else "") + ".")


def _queue_position(run: SyncRun) -> int | None:
    return queue_position(run) if run.status == RunStatus.QUEUED else None
