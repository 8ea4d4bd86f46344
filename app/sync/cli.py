"""`flask sync …`: run a sync or a client-list refresh here and now, with a progress bar.

The commands queue the run like a button does (``request_run``, trigger "cli") and then execute
that very run in this process (``run_inline``), so history, dedup and escalation are the same.
"""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from app.audit.operations import Actor
from app.extensions import db
from app.integrations import operations
from app.integrations.models import Client, Integration
from app.jobs.models import RunKind, RunStatus, SyncRun, Trigger
from app.jobs.runtime import Progress
from app.jobs.worker import run_inline
from app.sync.runs import execute_run

ACTOR = Actor.system("cli")


class TerminalProgress(Progress):
    """Progress that also draws a bar on a terminal (or prints each new step elsewhere)."""

    width = 30

    def __init__(self, claim, stream=None):
        super().__init__(claim)
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last_step = None

    def update(self, step=None, *, done=None, total=None, counts=None) -> None:
        super().update(step, done=done, total=total, counts=counts)
        step = step or self.last_step or ""
        if self.tty:
            if total:
                filled = int(self.width * min(done or 0, total) / total)
                bar = "#" * filled + "-" * (self.width - filled)
                line = f"\r[{bar}] {done or 0}/{total} {step[:50]:<50}"
            else:
                line = f"\r{done or 0} {step[:60]:<60}"
            self.stream.write(line)
            self.stream.flush()
        elif step != self.last_step:
            click.echo(step, err=True)
        self.last_step = step

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _execute(run: SyncRun, created: bool, *, report: bool = True) -> SyncRun:
    if not created and run.status == RunStatus.RUNNING:
        raise click.ClickException(f"{run} kjører allerede (startet {run.started_at}).")
    progress: list[TerminalProgress] = []

    def executor(run_id: int, fenced_progress: Progress):
        progress.append(TerminalProgress(fenced_progress.claim))
        return execute_run(run_id, progress[0])

    status = run_inline(run.id, executor)
    if progress:
        progress[0].close()
    db.session.expire_all()
    run = db.session.get(SyncRun, run.id)
    if status is None:
        raise click.ClickException(f"{run} ble plukket opp av en annen prosess.")
    if not report and run.status == RunStatus.SUCCEEDED:
        return run
    click.echo(f"{run}: {run.status_label}")
    for name, value in sorted((run.counts or {}).items()):
        click.echo(f"  {name}: {value}")
    for warning in run.warnings or []:
        click.echo(f"  ADVARSEL ({warning['check']}): {warning['detail']}")
    if run.status in (RunStatus.SUCCEEDED, RunStatus.WARNINGS):
        click.echo(run.current_step or "")
        return run
    raise click.ClickException(run.error_message or run.status_label)


@click.group("sync")
def sync_cli() -> None:
    """Synchronise accounting data from Visma.net."""


@sync_cli.command("run")
@click.argument("client_id", type=int)
@click.option("--full", "kind", flag_value=RunKind.FULL_SYNC, help="Full synkronisering.")
@click.option("--test-data", "kind", flag_value=RunKind.TEST_DATA, help="Send testdata til Sticos.")
@click.option("--delete-old-accounts", "kind", flag_value=RunKind.DELETE_OLD_ACCOUNTS,
              help="Slett gamle kontoer (viser dem og spør først).")
@click.option("--yes", is_flag=True, help="Do not ask before deleting old accounts.")
@with_appcontext
def run_command(client_id: int, kind: str | None, yes: bool) -> None:
    """Sync one client now (incremental unless an option says otherwise)."""
    client = db.session.get(Client, client_id)
    if client is None:
        raise click.ClickException(f"Klient {client_id} finnes ikke.")
    kind = kind or RunKind.INCREMENTAL_SYNC
    try:
        if kind == RunKind.DELETE_OLD_ACCOUNTS:
            _delete_old_accounts(client, yes=yes)
            return
        run, created = operations.request_run(kind, integration=client.integration,
                                              client=client, actor=ACTOR, trigger=Trigger.CLI)
    except operations.ClientInactive:
        raise click.ClickException(f"{client.name} er ikke aktiv; aktiver klienten først.") from None
    except operations.Refused as exc:
        raise click.ClickException(f"{client.name}: {exc.message}") from None
    _execute(run, created)


def _delete_old_accounts(client: Client, *, yes: bool) -> None:
    """The same preview as the customer page and the admin panel, then exactly those ids."""
    preview = operations.preview_old_accounts(client, actor=ACTOR, trigger=Trigger.CLI)
    if preview.is_active:
        preview = _execute(preview, preview.status == RunStatus.QUEUED, report=False)
    accounts = preview.result or []
    if not accounts:
        click.echo(f"{client.name}: ingen gamle kontoer å slette.")
        return
    for item in accounts:
        click.echo(f"  {item['number']} {item['description']} ({item['rows_affected']} rader)")
    if not yes:
        click.confirm(f"Slette disse {len(accounts)} kontoene for {client.name}?", abort=True)
    run, created = operations.confirm_old_accounts_deletion(
        client, preview, [item["id"] for item in accounts], actor=ACTOR, trigger=Trigger.CLI)
    _execute(run, created)


@sync_cli.command("refresh-clients")
@click.argument("integration_id", type=int)
@with_appcontext
def refresh_clients_command(integration_id: int) -> None:
    """Oppdater klientliste for one integration now."""
    integration = db.session.get(Integration, integration_id)
    if integration is None:
        raise click.ClickException(f"Integrasjon {integration_id} finnes ikke.")
    try:
        run, created = operations.request_run(RunKind.REFRESH_CLIENTS, integration=integration,
                                              actor=ACTOR, trigger=Trigger.CLI)
    except operations.Refused as exc:
        raise click.ClickException(exc.message) from None
    _execute(run, created)
