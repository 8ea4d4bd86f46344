"""The run kinds: one function each, called by every entry point through ``execute_run``.

``execute_run(run_id, progress)`` loads the SyncRun, dispatches on its kind and returns an
Outcome; a failure raises RunFailed (a Norwegian message with Visma's own words, and whether a
retry can help) after committing its domain effects (integration needs reauthorization, client
unreachable, client.last_sync_*). The worker owns the run's final status, attempts and
escalation.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from app.accounting import store
from app.accounting.models import Account, GLBalance, JournalLine
from app.accounting.queries import current_rows
from app.audit.operations import Actor, record
from app.db_types import utcnow
from app.extensions import db
from app.integrations import operations, schedule, systems, tokens
from app.integrations.models import Client, Integration, IntegrationStatus, SyncResult
from app.integrations.operations import record_test_send
from app.integrations.visma import visma_client
from app.jobs.models import RunKind, RunStatus, SyncRun
from app.jobs.runtime import Outcome, Progress, RunFailed
from app.orgnr import is_valid_orgnr, normalize_orgnr
from app.sync import checks
from app.sync import tripletex as tripletex_sync
from app.sync.engine import ClientSync
from app.visma.errors import (
    AmbiguousOrganization,
    ApiError,
    AuthorizationLost,
    CompanyAccessWithdrawn,
    ConfigurationError,
    MalformedResponse,
    Throttled,
    TokenExpired,
    VismaUnavailable,
)
from app.visma.http import on_throttle_wait

log = logging.getLogger(__name__)
SYSTEM = Actor.system("sync")


# -- the entry point -------------------------------------------------------------------------


def execute_run(run_id: int, progress: Progress) -> Outcome:
    """Do one queued/claimed run to its end; raises RunFailed on failure."""
    run = db.session.get(SyncRun, run_id)
    if run is None:
        raise RunFailed(f"Kjøring {run_id} finnes ikke.", retryable=False)
    handler = HANDLERS.get(run.kind)
    if handler is None:
        raise RunFailed(f"Ukjent type kjøring: {run.kind}.", retryable=False)
    integration = db.session.get(Integration, run.integration_id)
    client = db.session.get(Client, run.client_id) if run.client_id else None
    try:
        with on_throttle_wait(_throttle_notice(run_id, progress)):
            return handler(run, integration, client, progress)
    except systems.SOURCE_ERRORS as exc:
        db.session.rollback()
        raise _failed(exc, run, integration, client) from exc


THROTTLE_NOTICE = "Visma.net begrenser antall kall; venter {wait} før neste kall ({step})"


def _throttle_notice(run_id: int, progress: Progress):
    """Shows the user a wait Visma's rate limit imposes in the run's status, then the step
    again, instead of a step that seems stuck."""
    replaced: str | None = None  # the step the notice stands in for while waits go on
    waits = 0  # several streams' fetching may wait at once (each told in this thread)

    def notice(seconds: float) -> None:
        nonlocal replaced, waits
        if seconds <= 0:
            waits = max(0, waits - 1)
            if not waits and replaced is not None:
                progress.update(replaced)
                replaced = None
            return
        waits += 1
        if replaced is None:
            replaced = db.session.scalar(select(SyncRun.current_step)
                                         .where(SyncRun.id == run_id)) or ""
        wait = f"ca. {round(seconds / 60)} min" if seconds >= 90 else f"{math.ceil(seconds)} s"
        progress.update(THROTTLE_NOTICE.format(wait=wait, step=replaced or "Henter data"))

    return notice


def _failed(exc: Exception, run: SyncRun, integration: Integration, client: Client | None):
    """Apply the domain effects of a source system's failure; return the RunFailed to raise."""
    system = systems.get(integration.system)
    if system.failure is not None:
        return _system_failed(system.failure(exc), run, integration, client)
    said = f" Visma.net svarte: «{exc.message}»" if exc.message else ""
    if isinstance(exc, AuthorizationLost):
        message = (
            "Tilgangen til Visma.net må fornyes: trykk «Koble til på nytt» på integrasjonen. "
            "Data som allerede er hentet, beholdes." + said
        )
        retryable = False
        if integration.status != IntegrationStatus.REAUTHORIZATION_REQUIRED:
            tokens.mark_reauthorization_required(integration, exc.message)
    elif isinstance(exc, CompanyAccessWithdrawn):
        message = (
            "Sticos har ikke lenger tilgang til dette selskapet i Visma.net. Gi tillatelse på nytt "
            "i Visma App Store («Angi tillatelser»). Data som allerede er hentet, beholdes." + said
        )
        retryable = False
        if client is not None:
            schedule.mark_unreachable(client, exc.message or message, actor=SYSTEM)
    elif isinstance(exc, Throttled):
        wait = f" om {max(1, round((exc.retry_after or 60) / 60))} min" if exc.retry_after else ""
        message = f"Visma.net begrenser antall kall for selskapet; prøver igjen{wait}." + said
        retryable = True
    elif isinstance(exc, VismaUnavailable | TokenExpired):
        message = "Visma.net svarte ikke som det skulle; prøver igjen senere." + said
        retryable = True
    elif isinstance(exc, AmbiguousOrganization):
        message = exc.message + " Kontroller organisasjonsnummeret på klienten i Visma.net."
        retryable = False
    elif isinstance(exc, MalformedResponse):
        message = "Visma.net sendte et ufullstendig eller ugyldig svar; prøver igjen." + said
        retryable = True
    elif isinstance(exc, ConfigurationError):
        message = "Sticos sin app er feil satt opp mot Visma.net; driften er varslet." + said
        retryable = False
    elif isinstance(exc, ApiError):
        message = "Visma.net avviste forespørselen." + said
        retryable = exc.status is not None and exc.status >= 500
    else:
        message = "Feil mot Visma.net." + said
        retryable = True
    if client is not None and run.kind in (RunKind.INCREMENTAL_SYNC, RunKind.FULL_SYNC):
        client.last_sync_at = utcnow()
        client.last_sync_result = SyncResult.FAILED
        client.last_sync_message = message
    db.session.commit()
    return RunFailed(message, retryable=retryable)


def _system_failed(failure: systems.Failure, run: SyncRun, integration: Integration,
                   client: Client | None) -> RunFailed:
    """A registered system's Failure applied: the integration or client state it names."""
    if failure.effect == systems.Effect.CONNECTION_LOST:
        if integration.status != IntegrationStatus.REAUTHORIZATION_REQUIRED:
            operations.mark_connection_lost(integration, failure.message, actor=SYSTEM)
    elif failure.effect == systems.Effect.CLIENT_UNREACHABLE and client is not None:
        schedule.mark_unreachable(client, failure.message, actor=SYSTEM)
    if client is not None and run.kind in (RunKind.INCREMENTAL_SYNC, RunKind.FULL_SYNC):
        client.last_sync_at = utcnow()
        client.last_sync_result = SyncResult.FAILED
        client.last_sync_message = failure.message
    db.session.commit()
    return RunFailed(failure.message, retryable=failure.retryable)


# -- guards ----------------------------------------------------------------------------------


def _require_client(run: SyncRun, client: Client | None, *, active: bool = True) -> Client:
    if client is None:
        raise RunFailed("Kjøringen mangler klient.", retryable=False)
    if active and not client.active:
        raise RunFailed(f"{client.name} er ikke aktiv; aktiver klienten først.", retryable=False)
    other = db.session.scalar(
        select(func.count()).where(
            SyncRun.client_id == client.id,
            SyncRun.status == RunStatus.RUNNING,
            SyncRun.id != run.id,
            SyncRun.kind.in_([RunKind.INCREMENTAL_SYNC, RunKind.FULL_SYNC, RunKind.TEST_DATA,
                              RunKind.DELETE_OLD_ACCOUNTS, RunKind.PREVIEW_OLD_ACCOUNTS]),
        )
    )
    if other:
        raise RunFailed(
            f"En annen kjøring for {client.name} pågår allerede; prøver igjen etterpå.",
            retryable=True,
        )
    return client


def _require_connection(integration: Integration) -> None:
    """The user's grant must still be good: refresh it if due (AuthorizationLost otherwise)."""
    if integration.status != IntegrationStatus.CONNECTED:
        raise RunFailed(
            f"Integrasjonen er ikke tilkoblet {integration.system_label}; trykk «Koble til på "
            "nytt».",
            retryable=False,
        )
    systems.get(integration.system).ensure_connection(integration)


def _engine(client: Client, progress: Progress, *, now) -> ClientSync:
    seconds = current_app.config.get("SYNC_LOOKBACK_SECONDS", 60)
    if client.integration.system == tripletex_sync.SYSTEM:
        return tripletex_sync.engine(client, progress, now=now,
                                     lookback=timedelta(seconds=seconds))
    concurrency = current_app.config.get("VISMA_PAGE_CONCURRENCY", 1)
    return ClientSync(
        client.id,
        visma_client().tenant_api(client.external_id, concurrency=concurrency),
        progress,
        now=now,
        lookback=timedelta(seconds=seconds),
        orgnr=client.orgnr,
        name=client.name,
        concurrency=concurrency,
    )


# -- run kinds -------------------------------------------------------------------------------


def refresh_clients(
    run: SyncRun, integration: Integration, client: Client | None, progress: Progress
) -> Outcome:
    """Oppdater klientliste: new companies arrive inactive and flagged new; vanished ones are
    kept and marked unreachable; names and orgnrs updated; an invalid orgnr kept and flagged."""
    system = systems.get(integration.system)
    progress.update(f"Henter klientlisten fra {system.label}")
    _require_connection(integration)
    tenants = system.list_clients(integration)
    now = utcnow()
    existing = {c.external_id: c for c in integration.clients}
    new = updated = unreachable = invalid = 0
    for tenant in tenants:
        orgnr = normalize_orgnr(tenant.orgnr) or None
        found = existing.pop(tenant.external_id, None)
        if found is None:
            found = Client(integration=integration, external_id=tenant.external_id, active=False,
                           is_new=True, first_seen_at=now, reachable=True)
            db.session.add(found)
            new += 1
        elif found.name != tenant.name or found.orgnr != orgnr:
            updated += 1
        found.name = tenant.name[:300] or found.name or tenant.external_id
        found.orgnr = orgnr
        found.orgnr_valid = is_valid_orgnr(orgnr)
        invalid += 0 if found.orgnr_valid else 1
        found.last_seen_at = now
        if tenant.access_withdrawn:
            schedule.mark_unreachable(found, tenant.message or system.unreachable_message,
                                      actor=SYSTEM)
            unreachable += 1
        else:
            schedule.mark_reachable(found)
    for gone in existing.values():
        if gone.reachable:
            schedule.mark_unreachable(gone, system.unreachable_message, actor=SYSTEM)
        unreachable += 1
    integration.clients_refreshed_at = now
    record(SYSTEM, "clients_refreshed", integration, found=len(tenants), new=new,
           unreachable=unreachable)
    db.session.commit()
    parts = [f"{len(tenants)} klienter funnet", f"{new} nye"]
    if unreachable:
        parts.append(f"{unreachable} ikke tilgjengelige")
    if invalid:
        parts.append(f"{invalid} med ugyldig orgnr")
    progress.update("Klientlisten er oppdatert", done=1, total=1)
    return Outcome(
        counts={"clients": len(tenants), "new_clients": new, "updated_clients": updated,
                "unreachable_clients": unreachable, "invalid_orgnr": invalid},
        message=", ".join(parts) + ".",
    )


def _sync(run: SyncRun, integration: Integration, client: Client | None, progress: Progress,
          *, full: bool) -> Outcome:
    client = _require_client(run, client)
    _require_connection(integration)
    now = utcnow()
    engine = _engine(client, progress, now=now)
    never_synced = not store.ever_full_synced(client.id)
    if full or never_synced:
        engine.full()
    else:
        engine.incremental()
    return _after_sync(client, engine, progress, now=now, full=full or never_synced)


def _after_sync(client: Client, engine: ClientSync, progress: Progress, *, now, full: bool
                ) -> Outcome:
    progress.update("Kontrollerer tallene")
    warnings, figures = checks.run_checks(client.id, store.check_figures(client.id),
                                          None if full or not engine.tracks_touched_periods
                                          else engine.writer.touched)
    warnings = _rejections(engine) + warnings
    store.keep_check_figures(client.id, figures)
    client.last_sync_at = utcnow()
    client.data_as_of = now
    client.last_sync_result = SyncResult.WARNINGS if warnings else SyncResult.SUCCEEDED
    kind = "Full synkronisering" if full else "Synkronisering"
    lines = engine.counts.get("journal_lines", 0)
    message = f"{kind} fullført: {lines} bilagslinjer, {engine.counts.get('accounts', 0)} kontoer."
    if warnings:
        message += f" {len(warnings)} kontroll(er) feilet: " + "; ".join(
            w["detail"][:200] for w in warnings)
    client.last_sync_message = message[:2000]
    if not client.reachable:
        schedule.mark_reachable(client)
    db.session.commit()
    progress.update("Ferdig", done=engine.done, total=engine.done)
    return Outcome(counts=dict(engine.counts), warnings=warnings, message=message)


def _rejections(engine: ClientSync) -> list[dict]:
    """The run's warning about source records left out for a missing required field."""
    if not engine.rejected_count:
        return []
    return [{
        "check": "rejected_records",
        "detail": f"{engine.rejected_count} oppføring(er) fra Visma.net manglet påkrevde felt "
                  "og ble ikke lagret: " + "; ".join(engine.rejected),
        "accounts": [],
        "periods": [],
    }]


def incremental_sync(run, integration, client, progress) -> Outcome:
    """Synkroniser: what changed since the bookmarks (a full sync the first time)."""
    return _sync(run, integration, client, progress, full=False)


def full_sync(run, integration, client, progress) -> Outcome:
    """Full synkronisering: re-read everything, replace the copy atomically, reset bookmarks."""
    return _sync(run, integration, client, progress, full=True)


def test_data(run, integration, client, progress) -> Outcome:
    """Send testdata til Sticos: organization, accounts and the latest period's balances."""
    client = _require_client(run, client)
    _require_connection(integration)
    now = utcnow()
    engine = _engine(client, progress, now=now)
    period = engine.test_data()
    record_test_send(client, engine.counts, period)
    label = f"{period[:4]}-{period[4:]}" if period else "ingen periode"
    message = (
        f"Testdata sendt: firmaopplysninger, {engine.counts.get('accounts', 0)} kontoer og "
        f"{engine.counts.get('gl_balances', 0)} saldoer for {label}."
    )
    db.session.commit()
    progress.update("Ferdig", done=engine.done, total=engine.done)
    return Outcome(counts=dict(engine.counts), warnings=_rejections(engine), message=message)


def _stale_accounts(client: Client) -> list[Account]:
    """Stored accounts (visible copy, tombstones included) the source no longer has."""
    if client.integration.system == tripletex_sync.SYSTEM:
        source = tripletex_sync.account_numbers(client)
    else:
        api = visma_client().tenant_api(client.external_id)
        source = {str(r.get("accountCD", "")).strip()
                  for page in api.stream("accounts").pages() for r in page}
    rows = db.session.scalars(
        current_rows(Account, client.id, include_deleted=True)
        .order_by(None).order_by(Account.account_number)
    ).all()
    return [a for a in rows if a.account_number not in source]


def _preview(client: Client) -> list[dict]:
    """Exactly what «Slett gamle kontoer» would remove now: one dict per account with ``id``,
    ``number``, ``description``, ``rows_affected`` (its GL balance rows and journal lines) and
    ``deleted_in_source_at`` (ISO 8601). Reads the source's chart of accounts (one API call);
    raises VismaError when Visma cannot be read."""
    stale = _stale_accounts(client)
    if not stale:
        return []
    numbers = [a.account_number for a in stale]
    gl = dict(db.session.execute(
        select(GLBalance.account_number, func.count())
        .where(GLBalance.client_id == client.id, GLBalance.account_number.in_(numbers))
        .group_by(GLBalance.account_number)
    ).all())
    lines = dict(db.session.execute(
        select(JournalLine.account_number, func.count())
        .where(JournalLine.client_id == client.id, JournalLine.account_number.in_(numbers),
               JournalLine.deleted_at.is_(None))
        .group_by(JournalLine.account_number)
    ).all())
    return [
        {
            "id": a.id,
            "number": a.account_number,
            "description": a.description,
            "rows_affected": 1 + gl.get(a.account_number, 0) + lines.get(a.account_number, 0),
            "gl_balance_rows": gl.get(a.account_number, 0),
            "journal_lines": lines.get(a.account_number, 0),
            "deleted_in_source_at": a.deleted_at.isoformat() if a.deleted_at else None,
        }
        for a in stale
    ]


def preview_old_accounts(run, integration, client, progress) -> Outcome:
    """Finn gamle kontoer: the accounts «Slett gamle kontoer» would remove, stored on the run
    for a person to confirm (a web request never reads Visma.net itself)."""
    client = _require_client(run, client)
    _require_connection(integration)
    progress.update(f"Sammenligner kontoplanen med {integration.system_label}")
    accounts = _preview(client)
    progress.update("Ferdig", done=1, total=1)
    message = (f"{len(accounts)} gamle kontoer funnet." if accounts
               else "Ingen gamle kontoer å slette.")
    return Outcome(counts={"old_accounts": len(accounts)}, message=message, result=accounts)


def delete_old_accounts(run, integration, client, progress) -> Outcome:
    """Slett gamle kontoer: remove accounts the source no longer has, with their GL balances.
    Only those a person confirmed from a preview (``params["account_ids"]``), only those the
    source still lacks, and only for an active client: without confirmed ids nothing goes."""
    client = _require_client(run, client)
    progress.update(f"Sammenligner kontoplanen med {integration.system_label}")
    confirmed = {int(i) for i in (run.params or {}).get("account_ids") or []}
    stale = [a for a in _stale_accounts(client) if a.id in confirmed] if confirmed else []
    numbers = sorted({a.account_number for a in stale})
    gl_removed = store.delete_accounts(client.id, numbers)
    record(SYSTEM, "old_accounts_deleted", client, accounts=numbers, gl_balance_rows=gl_removed,
           requested_by=run.requested_by)
    db.session.commit()
    progress.update("Ferdig", done=1, total=1)
    if numbers:
        listed = ", ".join(f"{a.account_number} {a.description}".strip() for a in stale[:50])
        message = f"Slettet {len(numbers)} gamle kontoer: {listed}."
    else:
        message = "Ingen gamle kontoer å slette."
    return Outcome(counts={"accounts_removed": len(numbers), "gl_balances_removed": gl_removed},
                   message=message)


HANDLERS: dict[str, Callable[..., Outcome]] = {
    RunKind.REFRESH_CLIENTS: refresh_clients,
    RunKind.INCREMENTAL_SYNC: incremental_sync,
    RunKind.FULL_SYNC: full_sync,
    RunKind.TEST_DATA: test_data,
    RunKind.DELETE_OLD_ACCOUNTS: delete_old_accounts,
    RunKind.PREVIEW_OLD_ACCOUNTS: preview_old_accounts,
}
