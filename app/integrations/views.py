"""The customer's self-service pages: integrations, their clients and the runs they start.

Views stay thin: every state change goes through ``app.integrations.operations``, every object
is looked up with ``own_or_404``, and every button is a CSRF-protected POST that queues work
and redirects back at once (Post/Redirect/Get) with a message saying what happened.
"""

from __future__ import annotations

import math
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, or_, select

from app.audit.operations import Actor
from app.auth.access import customer_required, own_or_404
from app.db_types import utcnow
from app.extensions import db
from app.integrations import oauth, operations, systems
from app.integrations.forms import (
    DESCRIPTION_PLACEHOLDER,
    DescriptionForm,
    KeyForm,
    NewIntegrationForm,
)
from app.integrations.models import Client, Integration, IntegrationStatus
from app.integrations.presenters import (
    BUTTON_LABELS,
    bulk_message,
    client_sync_summary,
    run_payload,
)
from app.integrations.queries import ClientCounts, client_counts
from app.integrations.tokens import refresh_expiry
from app.jobs.models import ACTIVE_STATUSES, RUN_KIND_LABELS, RunKind, RunStatus, SyncRun
from app.jobs.queries import queue_positions
from app.orgnr import normalize_orgnr

bp = Blueprint("integrations", __name__, url_prefix="/integrasjoner")
# Pages word themselves by the integration's system: accounting_system(integration.system).label
bp.add_app_template_global(systems.get, "accounting_system")

PAGE_SIZE = 100
# Warn this many days before an unused grant runs out.
EXPIRY_WARNING_DAYS = 14
# Finished runs stay in the live status this long, so the user sees how they ended.
RECENT_RUN_MINUTES = 15
FILTERS = {
    "alle": "Alle",
    "aktive": "Aktive",
    "inaktive": "Inaktive",
    "nye": "Nye",
    "feil": "Trenger oppfølging",
}


REAL_APPSTORE_URL = "https://apps.visma.com/NO/app/regnskapsdata"


@bp.context_processor
def appstore_link():
    """Where "Visma App Store" points: the simulator's own App Store page in demo mode."""
    if current_app.config.get("VISMA_SIMULATOR"):
        return {"appstore_url": current_app.config["VISMA_CONNECT_URL"].rstrip("/") + "/appstore"}
    return {"appstore_url": REAL_APPSTORE_URL}


bp.add_app_template_filter(operations.integration_label, "integration_label")


# --- the list and the new-integration form --------------------------------------------------


@bp.get("/")
@customer_required
def index():
    integrations = db.session.scalars(
        select(Integration)
        .where(Integration.customer_id == current_user.customer_id)
        .order_by(Integration.created_at, Integration.id)
    ).all()
    counts = client_counts(i.id for i in integrations)
    rows = []
    for integration in integrations:
        c = counts.get(integration.id, ClientCounts())
        rows.append((integration, c.active, c.inactive, c.last_sync_at))
    return render_template("integrations/index.html", rows=rows,
                           abandoned_hours=int(operations.ABANDONED_AFTER.total_seconds() // 3600))


@bp.route("/ny", methods=["GET", "POST"])
@customer_required
def new():
    form = NewIntegrationForm()
    if form.validate_on_submit():
        if systems.get(form.system.data).connect == systems.Connect.KEY:
            connected = _connect_with_key(form)
            if connected is not None:
                return connected
        else:
            integration, _reused = operations.start_integration(
                current_user.customer_id,
                system=form.system.data,
                description=form.description.data or "",
                actor=Actor.current(),
            )
            return _redirect_to_visma(integration)
    status = 400 if request.method == "POST" else 200
    return render_template(
        "integrations/new.html", form=form, placeholder=DESCRIPTION_PLACEHOLDER,
        systems=systems.registered(),
    ), status


def _connect_with_key(form: NewIntegrationForm):
    """Check the pasted key with the system before anything is stored; a refused key becomes
    the form's error (the system's own words included), and nothing is created."""
    system = systems.get(form.system.data)
    try:
        integration, found = operations.connect_with_key(
            current_user.customer_id, system=system.name, key=form.key.data,
            description=form.description.data or "", actor=Actor.current())
    except system.errors as exc:
        db.session.rollback()
        current_app.logger.info("A %s key was refused: %r", system.name, exc)
        form.key.errors.append(getattr(exc, "user_message", str(exc)))
        return None
    return _after_key(integration, found, f"{system.label} er koblet til")


def _after_key(integration: Integration, found: int, said: str):
    operations.request_run(RunKind.REFRESH_CLIENTS, integration=integration, actor=Actor.current())
    flash(f"{said}: nøkkelen gir tilgang til {found} {'klient' if found == 1 else 'klienter'}. "
          "Klientlisten hentes nå – klientene dukker opp her om et øyeblikk.", "success")
    return redirect(url_for(".show", integration_id=integration.id))


@bp.post("/<int:integration_id>/nokkel")
@customer_required
def replace_key(integration_id: int):
    """Endre system for a key system: paste a new key (checked first; an error changes nothing)."""
    integration = own_or_404(Integration, integration_id)
    system = systems.get(integration.system)
    form = KeyForm()
    if system.connect != systems.Connect.KEY:
        abort(404)
    if form.validate_on_submit():
        try:
            found = operations.replace_key(integration, form.key.data, actor=Actor.current())
        except system.errors as exc:
            db.session.rollback()
            form.key.errors.append(getattr(exc, "user_message", str(exc)))
        else:
            return _after_key(integration, found, "Ny nøkkel er lagret")
    return render_template(
        "integrations/edit.html", integration=integration, form=DescriptionForm(obj=integration),
        key_form=form, system=system, placeholder=DESCRIPTION_PLACEHOLDER,
    ), 400


@bp.get("/hjelp", endpoint="help")
@customer_required
def help_page():
    return render_template("integrations/help.html")


# --- OAuth ------------------------------------------------------------------------------------


@bp.post("/<int:integration_id>/koble-til")
@customer_required
def connect(integration_id: int):
    """Start (or restart) the Visma login for this integration; clients are kept. A system
    connected by a key is reconnected by pasting a new one under «Endre system»."""
    integration = own_or_404(Integration, integration_id)
    if systems.get(integration.system).connect == systems.Connect.KEY:
        return redirect(url_for(".edit", integration_id=integration.id, _anchor="nokkel"))
    return _redirect_to_visma(integration)


@bp.get("/oauth/callback")
@customer_required
def oauth_callback():
    pending = oauth.pop_pending(request.args.get("state"))
    if pending is None:
        flash(
            "Svaret fra Visma.net kunne ikke brukes: lenken er ugyldig, utløpt eller allerede "
            "brukt. Ingenting er endret. Åpne integrasjonen og trykk «Koble til» for å prøve igjen.",
            "error",
        )
        return redirect(url_for(".index"))
    integration = db.session.get(Integration, pending.integration_id)
    if integration is None or integration.customer_id != current_user.customer_id:
        flash("Integrasjonen finnes ikke lenger. Ingenting er endret.", "error")
        return redirect(url_for(".index"))
    target = redirect(url_for(".show", integration_id=integration.id))
    try:
        userinfo = oauth.finish_authorization(
            integration, pending, request.args, actor=Actor.current()
        )
    except oauth.AuthorizationFailed as exc:
        flash(exc.message, "warning" if exc.cancelled else "error")
        return target
    operations.request_run(RunKind.REFRESH_CLIENTS, integration=integration, actor=Actor.current())
    who = userinfo.get("name") or userinfo.get("email") or "Visma-brukeren"
    email = userinfo.get("email")
    flash(
        f"Visma.net er koblet til som {who}{f' ({email})' if email and email != who else ''}. "
        "Klientlisten hentes nå – klientene dukker opp her om et øyeblikk.",
        "success",
    )
    for other in operations.same_user_integrations(integration):
        flash(f"Obs: {who} er allerede koblet til i integrasjonen «{operations.integration_label(other)}». "
              "Begge når de samme klientene. En klient synkroniseres bare i én av dem, så "
              "klienter som er aktive der, kan ikke aktiveres her.", "warning")
    return target


def _redirect_to_visma(integration: Integration):
    try:
        return redirect(oauth.start_authorization(integration))
    except Exception:  # a misconfigured client must not leave the user on an error page
        current_app.logger.exception("Starting the Visma login for integration %s failed",
                                     integration.id)
        db.session.rollback()
        flash(
            "Kunne ikke starte innloggingen hos Visma.net akkurat nå. Integrasjonen er lagret – "
            "prøv «Koble til» igjen om litt.",
            "error",
        )
        return redirect(url_for(".show", integration_id=integration.id))


# --- the integration page ---------------------------------------------------------------------


@bp.get("/<int:integration_id>")
@customer_required
def show(integration_id: int):
    integration = own_or_404(Integration, integration_id)
    ctx = _client_page(integration)
    if request.args.get("partial") == "klienter":
        return render_template("integrations/_clients.html", integration=integration, **ctx)
    counts = _counts(integration.id)
    integration_runs = _integration_runs(integration.id, since=_recent(),
                                         no_clients=not counts.total)
    shown = integration_runs + [run for batch in ctx["runs"].values() for run in batch]
    return render_template(
        "integrations/show.html",
        integration=integration,
        counts=counts,
        expiry=_expiry(integration),
        integration_runs=integration_runs,
        busy=any(run["active"] for run in shown),
        same_user=operations.same_user_integrations(integration),
        notices=_notices(integration.id, counts),
        **ctx,
    )


@bp.get("/<int:integration_id>/status")
@customer_required
def status(integration_id: int):
    """Live status for the page's polling: active and recent runs, counts, queue positions."""
    integration = own_or_404(Integration, integration_id)
    client_ids = _ids_arg(request.args.get("klienter", ""))
    since = _recent()
    runs = _client_runs(client_ids, since=since)
    counts = _counts(integration.id)
    integration_runs = _integration_runs(integration.id, since=since, no_clients=not counts.total)
    active_total = db.session.scalar(
        select(func.count()).select_from(SyncRun).where(
            SyncRun.integration_id == integration.id, SyncRun.status.in_(ACTIVE_STATUSES)
        )
    )
    clients = {}
    if client_ids:
        for client in db.session.scalars(
            select(Client).where(Client.integration_id == integration.id, Client.id.in_(client_ids))
        ):
            client_runs = runs.get(client.id, [])
            clients[str(client.id)] = {
                "active": client.active,
                "html": render_template(
                    "integrations/_client_status.html", integration=integration, c=client,
                    s=_summary(client, client_runs), client_runs=client_runs,
                ),
            }
    return jsonify(
        integration={
            "id": integration.id,
            "status": integration.status,
            "status_label": integration.status_label,
            "active_clients": counts.active,
            "inactive_clients": counts.inactive,
            "total_clients": counts.total,
        },
        busy=bool(active_total),
        active_runs=active_total,
        runs=integration_runs + [run for batch in runs.values() for run in batch],
        integration_html=render_template(
            "integrations/_integration_status.html", integration=integration,
            integration_runs=integration_runs,
        ),
        clients=clients,
    )


@bp.route("/<int:integration_id>/endre", methods=["GET", "POST"])
@customer_required
def edit(integration_id: int):
    integration = own_or_404(Integration, integration_id)
    form = DescriptionForm(obj=integration)
    if form.validate_on_submit():
        operations.update_description(integration, form.description.data or "", actor=Actor.current())
        flash("Beskrivelsen er lagret.", "success")
        return redirect(url_for(".show", integration_id=integration.id))
    status_code = 400 if request.method == "POST" else 200
    return render_template(
        "integrations/edit.html", integration=integration, form=form,
        placeholder=DESCRIPTION_PLACEHOLDER, key_form=KeyForm(formdata=None),
        system=systems.get(integration.system),
    ), status_code


@bp.post("/<int:integration_id>/oppdater-klientliste")
@customer_required
def refresh_clients(integration_id: int):
    integration = own_or_404(Integration, integration_id)
    try:
        _run, created = operations.request_run(
            RunKind.REFRESH_CLIENTS, integration=integration, actor=Actor.current()
        )
    except operations.Refused as exc:
        _flash_refused(RUN_KIND_LABELS[RunKind.REFRESH_CLIENTS], None, exc)
        return _back(integration)
    flash(
        "Oppdater klientliste: lagt i kø – listen oppdateres om et øyeblikk."
        if created else "Oppdater klientliste: kjører allerede – listen oppdateres om et øyeblikk.",
        "success" if created else "info",
    )
    return _back(integration)


@bp.post("/<int:integration_id>/aktiver-alle")
@customer_required
def activate_all(integration_id: int):
    integration = own_or_404(Integration, integration_id)
    result = operations.activate_clients(
        select(Client.id).where(Client.integration_id == integration.id), actor=Actor.current()
    )
    flash(bulk_message("Aktiver alle", result), "success")
    return _back(integration)


@bp.route("/<int:integration_id>/deaktiver-alle", methods=["GET", "POST"])
@customer_required
def deactivate_all(integration_id: int):
    integration = own_or_404(Integration, integration_id)
    if request.method == "GET":
        active = _counts(integration.id).active
        return render_template(
            "integrations/confirm.html", integration=integration,
            title="Deaktiver alle klienter?",
            text=(f"{active} aktive klienter blir deaktivert. Sticos slutter å hente "
                  "regnskapsdata for dem, og kjøringer i kø avbrytes. Data som allerede er "
                  "hentet, beholdes. Du kan aktivere dem igjen senere."),
            action=url_for(".deactivate_all", integration_id=integration.id),
            button="Deaktiver alle",
        )
    result = operations.deactivate_clients(
        select(Client.id).where(Client.integration_id == integration.id), actor=Actor.current()
    )
    flash(bulk_message("Deaktiver alle", result), "success")
    return _back(integration)


@bp.route("/<int:integration_id>/slett", methods=["GET", "POST"])
@customer_required
def delete(integration_id: int):
    integration = own_or_404(Integration, integration_id)
    if request.method == "GET":
        total = _counts(integration.id).total
        text = (f"Tilgangen hos {integration.system_label} trekkes tilbake, og integrasjonen, "
                f"alle {total} klienter og all regnskapsdata Sticos har hentet for dem slettes. "
                "Dette kan ikke angres.")
        if integration.authorized_at is None and not total:
            text = ("Integrasjonen ble aldri koblet til Visma.net og har ingen klienter eller "
                    "data. Bare denne raden i listen slettes.")
        return render_template(
            "integrations/confirm.html", integration=integration,
            title=f"Slett system {integration.system_label}?",
            text=text,
            action=url_for(".delete", integration_id=integration.id),
            button="Slett system",
        )
    label = str(integration.system_label)
    access = (f"tilgangen hos {label} er trukket tilbake"
              if systems.get(integration.system).connect == systems.Connect.OAUTH
              else f"nøkkelen er slettet hos Sticos (slett den også i {label})")
    operations.delete_integration(integration, actor=Actor.current())
    flash(f"Slett system: {label} er slettet, og {access}.", "success")
    return redirect(url_for(".index"))


@bp.post("/<int:integration_id>/kjoringer/<int:run_id>/avbryt")
@customer_required
def cancel_run(integration_id: int, run_id: int):
    integration = own_or_404(Integration, integration_id)
    run = own_or_404(SyncRun, run_id)
    if run.integration_id != integration.id:
        abort(404)
    if operations.cancel_run(run, actor=Actor.current()):
        flash(f"{run.kind_label}: avbrutt.", "success")
    else:
        flash(f"{run.kind_label}: kjører allerede og kan ikke avbrytes.", "info")
    return _back(integration)


# --- one client -------------------------------------------------------------------------------


def _own_client(integration_id: int, client_id: int) -> tuple[Integration, Client]:
    integration = own_or_404(Integration, integration_id)
    client = own_or_404(Client, client_id)
    if client.integration_id != integration.id:
        abort(404)
    return integration, client


@bp.post("/<int:integration_id>/klienter/<int:client_id>/aktiver")
@customer_required
def activate(integration_id: int, client_id: int):
    integration, client = _own_client(integration_id, client_id)
    result = operations.activate_clients([client.id], actor=Actor.current())
    if result.done and result.needs_reconnect:
        flash(f"{client.name}: aktivert. Synkroniseringen starter når "
              f"{integration.system_label} er koblet til på nytt.", "warning")
    elif result.done:
        flash(f"{client.name}: aktivert – full synkronisering er lagt i kø.", "success")
    elif result.unreachable:
        flash(f"{client.name}: kan ikke aktiveres fordi Sticos ikke lenger når klienten i "
              f"{integration.system_label}. {systems.get(integration.system).access_hint} og "
              "oppdater klientlisten.", "error")
    else:
        flash(f"{client.name}: var allerede aktiv.", "info")
    return _back(integration, client)


@bp.post("/<int:integration_id>/klienter/<int:client_id>/deaktiver")
@customer_required
def deactivate(integration_id: int, client_id: int):
    integration, client = _own_client(integration_id, client_id)
    result = operations.deactivate_clients([client.id], actor=Actor.current())
    if result.done:
        flash(f"{client.name}: deaktivert. Data som er hentet, beholdes.", "success")
    else:
        flash(f"{client.name}: var allerede inaktiv.", "info")
    return _back(integration, client)


@bp.post("/<int:integration_id>/klienter/<int:client_id>/testdata")
@customer_required
def send_test_data(integration_id: int, client_id: int):
    integration, client = _own_client(integration_id, client_id)
    return _client_run(integration, client, RunKind.TEST_DATA, BUTTON_LABELS["test_data"])


@bp.post("/<int:integration_id>/klienter/<int:client_id>/synkroniser")
@customer_required
def sync(integration_id: int, client_id: int):
    """The seed's **Synkroniser** in the FULL SYNKRONISERING column: a full sync."""
    integration, client = _own_client(integration_id, client_id)
    return _client_run(integration, client, RunKind.FULL_SYNC, BUTTON_LABELS["sync"])


@bp.route(
    "/<int:integration_id>/klienter/<int:client_id>/slett-gamle-kontoer", methods=["GET", "POST"]
)
@customer_required
def delete_old_accounts(integration_id: int, client_id: int):
    """A preview of the accounts that will go (read by a worker: each visit queues a fresh
    one and the page waits for it); the confirmed run may remove only those."""
    integration, client = _own_client(integration_id, client_id)
    label = BUTTON_LABELS["delete_old_accounts"]
    preview_id = request.values.get("forhandsvisning", type=int)
    preview = db.session.get(SyncRun, preview_id) if preview_id else None
    if preview is not None and preview.client_id != client.id:
        abort(404)
    try:
        if request.method == "POST":
            if preview is None:
                raise operations.Refused("forhåndsvisningen mangler; se den på nytt.")
            _run, created = operations.confirm_old_accounts_deletion(
                client, preview, request.form.getlist("account_id"), actor=Actor.current())
            _flash_queued(label, client, created)
            return _back(integration, client)
        if preview is None:
            preview = operations.preview_old_accounts(client, actor=Actor.current())
            return redirect(url_for(".delete_old_accounts", integration_id=integration.id,
                                    client_id=client.id, forhandsvisning=preview.id))
    except operations.Refused as exc:
        _flash_refused(label, client, exc)
        return _back(integration, client)
    if preview.status in (RunStatus.FAILED, RunStatus.CANCELLED):
        flash(f"{label} ({client.name}): kunne ikke lese kontoplanen i {integration.system_label} "
              "akkurat nå: "
              f"{preview.error_message}", "error")
        return _back(integration, client)
    return render_template(
        "integrations/delete_accounts.html", integration=integration, client=client,
        preview=preview, accounts=preview.result or [],
    )


def _client_run(integration: Integration, client: Client, kind: RunKind, label: str):
    try:
        _run, created = operations.request_run(
            kind, integration=integration, client=client, actor=Actor.current())
    except operations.Refused as exc:
        _flash_refused(label, client, exc)
    else:
        _flash_queued(label, client, created)
    return _back(integration, client)


def _flash_queued(label: str, client: Client, created: bool) -> None:
    if created:
        flash(f"{label} ({client.name}): lagt i kø. Fremdriften vises i listen.", "success")
    else:
        flash(f"{label} ({client.name}): er allerede i kø eller kjører.", "info")


def _flash_refused(label: str, client: Client | None, exc: operations.Refused) -> None:
    if isinstance(exc, operations.NotConnected) or client is None:
        flash(exc.message, "error")
    else:
        flash(f"{label} ({client.name}): {exc.message}", "error")


# --- helpers ----------------------------------------------------------------------------------


def _back(integration: Integration, client: Client | None = None):
    """Back to the page (and search) the button was pressed on."""
    args = {k: v for k, v in (("q", request.args.get("q")), ("side", request.args.get("side")),
                               ("vis", request.args.get("vis"))) if v}
    anchor = f"klient-{client.id}" if client is not None else None
    return redirect(url_for(".show", integration_id=integration.id, _anchor=anchor, **args))


def _counts(integration_id: int) -> ClientCounts:
    return client_counts([integration_id]).get(integration_id, ClientCounts())


NOTICE_NAMES = 5


def _notices(integration_id: int, counts: ClientCounts) -> dict:
    """Explanations said once above the table (the rows carry short badges): which clients
    Sticos cannot reach, which orgnrs fail the check, which are synced in another integration."""
    def names(*conditions) -> list[str]:
        return list(db.session.scalars(
            select(Client.name).where(Client.integration_id == integration_id, *conditions)
            .order_by(Client.name).limit(NOTICE_NAMES)
        ))

    twins = operations.twins_of(list(db.session.scalars(
        select(Client.id).where(Client.integration_id == integration_id))))
    elsewhere = {}
    for twin in twins.values():
        elsewhere[twin.integration_label] = elsewhere.get(twin.integration_label, 0) + 1
    return {
        "unreachable": names(Client.reachable.is_(False)) if counts.unreachable else [],
        "invalid_orgnr": names(Client.orgnr.is_not(None), Client.orgnr_valid.is_(False))
        if counts.invalid_orgnr else [],
        "elsewhere": elsewhere,
        "more": NOTICE_NAMES,
    }


def _client_page(integration: Integration) -> dict:
    """One page of clients (search, filter, paging) and the active runs of those clients."""
    q = (request.args.get("q") or "").strip()[:100]
    vis = request.args.get("vis") if request.args.get("vis") in FILTERS else "alle"
    conditions = [Client.integration_id == integration.id]
    if q:
        digits = normalize_orgnr(q) if any(ch.isdigit() for ch in q) else None
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        match = Client.name.ilike(f"%{escaped}%", escape="\\")
        if digits:
            match = or_(match, Client.orgnr.like(f"%{digits}%"))
        conditions.append(match)
    if vis == "aktive":
        conditions.append(Client.active.is_(True))
    elif vis == "inaktive":
        conditions.append(Client.active.is_(False))
    elif vis == "nye":
        conditions.append(Client.is_new.is_(True))
    elif vis == "feil":
        conditions.append(or_(Client.needs_attention.is_(True), Client.reachable.is_(False),
                              Client.last_sync_result == "failed",
                              Client.schedule_paused_reason.is_not(None)))
    total = db.session.scalar(select(func.count()).select_from(Client).where(*conditions))
    pages = max(1, math.ceil(total / PAGE_SIZE))
    try:
        page = min(max(1, int(request.args.get("side", 1))), pages)
    except ValueError:
        page = 1
    clients = db.session.scalars(
        select(Client)
        .where(*conditions)
        .order_by(Client.name, Client.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    runs = _client_runs([c.id for c in clients], since=_recent())
    return {
        "clients": clients, "runs": runs, "q": q, "vis": vis, "filters": FILTERS,
        "page": page, "pages": pages, "total_matching": total, "page_size": PAGE_SIZE,
        "summaries": {c.id: _summary(c, runs.get(c.id, [])) for c in clients},
        "twins": operations.twins_of([c.id for c in clients]),
        "refusals": {c.id: operations.run_refusal(c) for c in clients},
        "button_labels": BUTTON_LABELS,
    }


def _recent():
    return utcnow() - timedelta(minutes=RECENT_RUN_MINUTES)


def _summary(client: Client, client_runs: list[dict]) -> dict:
    return client_sync_summary(client, busy=any(run["active"] for run in client_runs))


def _client_runs(client_ids: list[int], *, since) -> dict[int, list[dict]]:
    """What the page shows per client, first render and polling alike: the newest run of each
    kind that is queued, running or finished within RECENT_RUN_MINUTES."""
    if not client_ids:
        return {}
    rows = db.session.scalars(
        select(SyncRun)
        .where(SyncRun.client_id.in_(client_ids),
               or_(SyncRun.status.in_(ACTIVE_STATUSES), SyncRun.finished_at >= since))
        .order_by(SyncRun.id.desc())
        .limit(len(client_ids) * 10)
    ).all()
    positions = queue_positions([r.id for r in rows if r.status == RunStatus.QUEUED])
    runs: dict[int, list[dict]] = {}
    seen = set()
    for run in rows:
        if (run.client_id, run.kind) not in seen:
            seen.add((run.client_id, run.kind))
            runs.setdefault(run.client_id, []).append(run_payload(run, positions.get(run.id)))
    return runs


def _integration_runs(integration_id: int, *, since, no_clients: bool) -> list[dict]:
    """The client-list refresh, as the status box shows it: while queued or running, for a
    while after it finished, and for good when it failed or found no clients."""
    run = db.session.scalars(
        select(SyncRun)
        .where(SyncRun.integration_id == integration_id, SyncRun.client_id.is_(None))
        .order_by(SyncRun.id.desc())
        .limit(1)
    ).first()
    if run is None:
        return []
    recent = run.finished_at is not None and run.finished_at >= since
    lasting = run.status in (RunStatus.FAILED, RunStatus.WARNINGS) or no_clients
    if not (run.is_active or recent or lasting):
        return []
    position = queue_positions([run.id]).get(run.id) if run.status == RunStatus.QUEUED else None
    return [run_payload(run, position)]


def _expiry(integration: Integration) -> dict | None:
    """When the grant runs out, if that is soon enough to warn about."""
    if integration.status != IntegrationStatus.CONNECTED:
        return None
    expires = refresh_expiry(integration)
    if expires is None:
        return None
    left = expires - utcnow()
    if left > timedelta(days=EXPIRY_WARNING_DAYS):
        return None
    return {"at": expires, "days": max(0, left.days), "expired": left <= timedelta(0)}


def _ids_arg(raw: str) -> list[int]:
    ids = []
    for part in raw.split(",")[:PAGE_SIZE * 2]:
        if part.strip().isdigit():
            ids.append(int(part))
    return ids
