"""How runs, clients and bulk results read to a customer: plain Norwegian, no codes."""

from __future__ import annotations

from app.accounting.models import DATASETS
from app.db_types import utcnow
from app.integrations.models import Client, SyncResult
from app.integrations.operations import BulkResult
from app.jobs.models import RUN_KIND_TEXTS, RUN_STATUS_LABELS, RunKind, RunStatus, SyncRun
from app.template_helpers import oslo_time, relative_time

# Record counts by the names runs give them: every data set's (its registry label) and these.
COUNT_LABELS = {
    "clients": "klienter",
    "new_clients": "nye",
    "updated_clients": "endret",
    "unreachable_clients": "ikke tilgjengelige",
    "invalid_orgnr": "med ugyldig orgnr",
    "organization": "firmaopplysninger",
    "new": "nye",
    "unreachable": "ikke tilgjengelige",
    **{dataset.name: dataset.label for dataset in DATASETS},
    "financial_periods": "perioder",
    "balances": "saldoer",
    "general_ledger_balances": "saldoer",
    "batches": "bilag",
    "lines": "posteringer",
    "transactions": "posteringer",
    "deleted_accounts": "slettede kontoer",
    "old_accounts": "gamle kontoer",
    "deleted": "slettet",
    "rows_affected": "berørte rader",
    "rows": "rader",
}

# What the buttons of a client on the customer page say (the seed's words); the ones that
# queue a run say what its kind's row of RUN_KIND_TEXTS says.
BUTTON_LABELS = {
    "activate": "Aktiver",
    "deactivate": "Deaktiver",
    "sync": RUN_KIND_TEXTS[RunKind.FULL_SYNC].button,
    "test_data": RUN_KIND_TEXTS[RunKind.TEST_DATA].button,
    "delete_old_accounts": RUN_KIND_TEXTS[RunKind.DELETE_OLD_ACCOUNTS].button,
}

# A client's last result is its last run's final status: one wording for both.
SYNC_RESULT_LABELS = {result: RUN_STATUS_LABELS[RunStatus(result.value)] for result in SyncResult}


# The figures a customer recognises first; the rest follow when a summary has room.
COUNT_ORDER = ("clients", "new_clients", "unreachable_clients", "invalid_orgnr", "accounts",
               "journal_lines", "journal_batches", "gl_balances", "deleted_accounts")
SKIPPED_COUNTS = {"organization", "updated_clients"}


def counts_text(counts: dict | None, limit: int | None = None) -> str:
    """'312 kontoer, 2 000 posteringer' from {'accounts': 312, 'journal_lines': 2000}."""
    parts = []
    counts = counts or {}
    ordered = [k for k in COUNT_ORDER if k in counts] + [
        k for k in counts if k not in COUNT_ORDER and k not in SKIPPED_COUNTS
    ]
    for key in ordered:
        value = counts[key]
        if not isinstance(value, int | float) or isinstance(value, bool) or not value:
            continue
        number = _number(value)
        if key.endswith("_removed"):
            label = f"{COUNT_LABELS.get(key[:-8], key[:-8].replace('_', ' '))} fjernet"
        else:
            label = COUNT_LABELS.get(key, key.replace("_", " "))
        parts.append(f"{number} {label}")
    if limit is not None and len(parts) > limit:
        parts = parts[:limit] + ["…"]
    return ", ".join(parts)


def _number(value: int) -> str:
    return f"{int(value):,}".replace(",", "\u00a0")


def run_summary(run: SyncRun, queue_position: int | None = None) -> str:
    """The one line a run reads as, everywhere it is shown: 'Full synkronisering: Kjører –
    Henter posteringer (45 %)'."""
    if run.status == RunStatus.QUEUED:
        if run.attempts and run.current_step:
            # Put back after a failed attempt: the step says when it tries again.
            summary = f"I kø – {run.current_step}"
        else:
            summary = f"I kø (nr. {queue_position})" if queue_position else "I kø"
    elif run.status == RunStatus.RUNNING:
        finishing = run.current_step == "Ferdig" or (
            run.progress_total and (run.progress_done or 0) >= run.progress_total)
        if finishing:
            summary = "Kjører – lagrer og avslutter"
        else:
            summary = "Kjører"
            if run.current_step:
                summary += f" – {run.current_step}"
            percent = run_percent(run)
            if percent is not None:
                summary += f" ({percent}\u00a0%)"
    else:
        summary = run.status_label
        if run.status in (RunStatus.FAILED, RunStatus.CANCELLED) and run.error_message:
            summary += f": {run.error_message}"
    counts = counts_text(run.counts, limit=4)
    if counts and run.status in (RunStatus.RUNNING, RunStatus.SUCCEEDED, RunStatus.WARNINGS):
        summary += f" – {counts}"
    if run.status == RunStatus.WARNINGS and run.warnings:
        summary += f" ({len(run.warnings)} advarsler)"
    return f"{run.kind_label}: {summary}"


def run_percent(run: SyncRun) -> int | None:
    if not run.progress_total:
        return None
    return max(0, min(100, round(100 * (run.progress_done or 0) / run.progress_total)))


def run_payload(run: SyncRun, queue_position: int | None = None) -> dict:
    """A run as the live status needs it: the line to show and what the page reacts to."""
    return {
        "id": run.id,
        "kind": run.kind,
        "kind_label": run.kind_label,
        "client_id": run.client_id,
        "status": run.status,
        "active": run.is_active,
        "percent": run_percent(run),
        "queue_position": queue_position,
        "summary": run_summary(run, queue_position),
    }


def client_sync_summary(client: Client, *, busy: bool = False) -> dict:
    """Freshness of one client in words: last sync and result, data per, next run, last error.

    ``busy``: a run for the client is queued or running; its own line says what happens next.
    """
    result = SYNC_RESULT_LABELS.get(client.last_sync_result, client.last_sync_result)
    last = "Ikke synkronisert ennå" if client.active else None
    if client.last_sync_at:
        last = f"Sist synkronisert {oslo_time(client.last_sync_at)}"
        if result:
            last += f": {result}"
    error = None
    if client.last_sync_result in (SyncResult.FAILED, SyncResult.WARNINGS) and client.last_sync_message:
        error = client.last_sync_message
    if not client.active or busy or not client.reachable:
        next_run = None
    elif client.schedule_paused_reason:
        next_run = f"Automatisk synkronisering er stoppet: {client.schedule_paused_reason}"
    elif client.next_sync_at and client.next_sync_at > utcnow():
        next_run = (f"Neste automatiske synkronisering {oslo_time(client.next_sync_at)} "
                    f"({relative_time(client.next_sync_at)})")
    elif client.next_sync_at:
        next_run = "Neste automatiske synkronisering: straks"
    else:
        next_run = None
    return {
        "last_sync": last,
        "result": client.last_sync_result,
        "data_as_of": f"Data per {oslo_time(client.data_as_of)}" if client.data_as_of else None,
        "next_run": next_run,
        "error": error,
        "test_send": test_send_text(client),
    }


def test_send_text(client: Client) -> str | None:
    """'Testdata sendt 02.12.2026 06:31: firmaopplysninger, 312 kontoer og 480 saldoer for
    2026-11' — what the last test send left on the client (operations.record_test_send)."""
    if client.test_data_sent_at is None:
        return None
    text = f"Testdata sendt {oslo_time(client.test_data_sent_at)}"
    summary = client.test_data_summary or {}
    counts = summary.get("counts") or {}
    parts = []
    if counts.get("organization"):
        parts.append("firmaopplysninger")
    parts.append(f"{_number(counts.get('accounts', 0))} kontoer")
    parts.append(f"{_number(counts.get('gl_balances', 0))} saldoer")
    if summary:
        text += ": " + ", ".join(parts[:-1]) + " og " + parts[-1]
        period = summary.get("period")
        text += f" for {period[:4]}-{period[4:]}" if period else " (ingen periode funnet)"
    return text


def bulk_message(label: str, result: BulkResult) -> str:
    """'Aktiver alle: 87 aktivert, 3 krever ny tilkobling' — every outcome, never a bare OK.

    The one wording of a bulk result, on the customer pages and in the admin panel alike."""
    parts = []
    if result.action == "activate":
        parts.append(f"{result.done} aktivert")
        if result.needs_reconnect:
            parts.append(f"{result.needs_reconnect} krever ny tilkobling")
        if result.unreachable:
            parts.append(f"{result.unreachable} ikke tilgjengelige i Visma.net")
        if result.elsewhere:
            parts.append(f"{result.elsewhere} synkroniseres allerede i en annen integrasjon")
        if result.unchanged:
            parts.append(f"{result.unchanged} var allerede aktive")
        if result.queued > 0:
            parts.append(f"{result.queued} synkroniseringer lagt i kø")
    elif result.action == "deactivate":
        parts.append(f"{result.done} deaktivert")
        if result.unchanged:
            parts.append(f"{result.unchanged} var allerede inaktive")
    else:
        parts.append(f"{max(result.queued, 0)} lagt i kø")
        if result.unchanged:
            parts.append(f"{result.unchanged} ikke aktive eller ikke tilgjengelige (hoppet over)")
    return f"{label}: " + ", ".join(parts) + "."
