"""How runs, clients and bulk results read to a customer: plain Norwegian, no codes."""

from __future__ import annotations

from app.integrations.models import Client, SyncResult
from app.integrations.operations import BulkResult
from app.jobs.models import RUN_STATUS_LABELS, RunStatus, SyncRun
from app.template_helpers import oslo_time, relative_time

# Record counts per data set, as the engine names them.
COUNT_LABELS = {
    "clients": "klienter",
    "new_clients": "nye",
    "updated_clients": "endret",
    "unreachable_clients": "ikke tilgjengelige",
    "invalid_orgnr": "med ugyldig orgnr",
    "organization": "firmaopplysninger",
    "new": "nye",
    "unreachable": "ikke tilgjengelige",
    "accounts": "kontoer",
    "periods": "perioder",
    "financial_periods": "perioder",
    "balances": "saldoer",
    "gl_balances": "saldoer",
    "general_ledger_balances": "saldoer",
    "journal_batches": "bilag",
    "batches": "bilag",
    "journal_lines": "posteringer",
    "lines": "posteringer",
    "transactions": "posteringer",
    "customers": "kunder",
    "suppliers": "leverandører",
    "customer_balances": "kundesaldoer",
    "supplier_balances": "leverandørsaldoer",
    "deleted_accounts": "slettede kontoer",
    "old_accounts": "gamle kontoer",
    "deleted": "slettet",
    "rows_affected": "berørte rader",
    "rows": "rader",
}

# What the buttons of a client say, on the customer page and in the admin panel alike (the
# seed's words). A button names what a person does, a run kind (RUN_KIND_LABELS) what runs:
# the customer's «Synkroniser» queues a full sync.
BUTTON_LABELS = {
    "activate": "Aktiver",
    "deactivate": "Deaktiver",
    "sync": "Synkroniser",
    "full_sync": "Full synkronisering",
    "test_data": "Send testdata til sticos",
    "delete_old_accounts": "Slett gamle kontoer",
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
        number = f"{int(value):,}".replace(",", "\u00a0")
        if key.endswith("_removed"):
            label = f"{COUNT_LABELS.get(key[:-8], key[:-8].replace('_', ' '))} fjernet"
        else:
            label = COUNT_LABELS.get(key, key.replace("_", " "))
        parts.append(f"{number} {label}")
    if limit is not None and len(parts) > limit:
        parts = parts[:limit] + ["…"]
    return ", ".join(parts)


def run_payload(run: SyncRun, queue_position: int | None = None) -> dict:
    """A run as the live status shows it (JSON for the page's polling, and the first render)."""
    percent = None
    if run.progress_total:
        percent = max(0, min(100, round(100 * (run.progress_done or 0) / run.progress_total)))
    if run.status == RunStatus.QUEUED:
        summary = (f"I kø (nr. {queue_position})" if queue_position else "I kø")
    elif run.status == RunStatus.RUNNING:
        summary = "Kjører"
        if run.current_step:
            summary += f": {run.current_step}"
        if run.progress_total:
            summary += f" ({run.progress_done or 0} av {run.progress_total})"
    else:
        summary = run.status_label
        if run.status in (RunStatus.FAILED, RunStatus.CANCELLED) and run.error_message:
            summary += f": {run.error_message}"
    counts = counts_text(run.counts, limit=4)
    if counts and run.status in (RunStatus.RUNNING, RunStatus.SUCCEEDED, RunStatus.WARNINGS):
        summary += f" – {counts}"
    if run.status == RunStatus.WARNINGS and run.warnings:
        summary += f" ({len(run.warnings)} advarsler)"
    return {
        "id": run.id,
        "kind": run.kind,
        "kind_label": run.kind_label,
        "client_id": run.client_id,
        "status": run.status,
        "status_label": run.status_label,
        "active": run.is_active,
        "step": run.current_step,
        "done": run.progress_done,
        "total": run.progress_total,
        "percent": percent,
        "counts": run.counts or {},
        "counts_text": counts_text(run.counts),
        "warnings": len(run.warnings or []),
        "error": run.error_message,
        "queue_position": queue_position,
        "attempts": run.attempts,
        "summary": f"{run.kind_label}: {summary}",
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def client_sync_summary(client: Client) -> dict:
    """Freshness of one client in words: last sync and result, data per, next run, last error."""
    result = SYNC_RESULT_LABELS.get(client.last_sync_result, client.last_sync_result)
    last = "Ikke synkronisert ennå" if client.active else None
    if client.last_sync_at:
        last = f"Sist synkronisert {oslo_time(client.last_sync_at)}"
        if result:
            last += f": {result}"
    error = None
    if client.last_sync_result in (SyncResult.FAILED, SyncResult.WARNINGS) and client.last_sync_message:
        error = client.last_sync_message
    if not client.active:
        next_run = None
    elif client.schedule_paused_reason:
        next_run = f"Automatisk synkronisering er stoppet: {client.schedule_paused_reason}"
    elif client.next_sync_at:
        next_run = f"Neste kjøring {oslo_time(client.next_sync_at)} ({relative_time(client.next_sync_at)})"
    else:
        next_run = None
    return {
        "last_sync": last,
        "result": client.last_sync_result,
        "data_as_of": f"Data per {oslo_time(client.data_as_of)}" if client.data_as_of else None,
        "next_run": next_run,
        "error": error,
    }


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
            parts.append(f"{result.unchanged} ikke aktive (hoppet over)")
    return f"{label}: " + ", ".join(parts) + "."
