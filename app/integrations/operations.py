"""State changes on integrations and clients, shared by the customer pages, the admin panel,
the scheduler and the CLI: views only translate requests into these calls."""

from dataclasses import dataclass, field

from sqlalchemy import Select, select, update

from app.audit.operations import Actor, record
from app.db_types import utcnow
from app.extensions import db
from app.integrations.models import Client, Integration, IntegrationStatus, System
from app.jobs.models import RunKind, RunStatus, SyncRun, Trigger
from app.jobs.queue import enqueue, enqueue_for_clients

DESCRIPTION_MAX_LENGTH = 200


def create_integration(
    customer_id: int, *, system: str = System.VISMA_NET, description: str = "", actor: Actor
) -> Integration:
    integration = Integration(
        customer_id=customer_id,
        system=system,
        description=description.strip()[:DESCRIPTION_MAX_LENGTH],
        status=IntegrationStatus.AWAITING_AUTHORIZATION,
    )
    db.session.add(integration)
    db.session.flush()
    record(actor, "integration_created", integration, system=system)
    db.session.commit()
    return integration


def update_description(integration: Integration, description: str, *, actor: Actor) -> None:
    old = integration.description
    integration.description = description.strip()[:DESCRIPTION_MAX_LENGTH]
    record(actor, "integration_description_changed", integration, old=old, new=integration.description)
    db.session.commit()


@dataclass
class BulkResult:
    """What a bulk action did, per outcome, for a message like 'Aktiver alle: 87 aktivert, …'."""

    action: str
    done: int = 0
    unchanged: int = 0
    unreachable: int = 0
    needs_reconnect: int = 0
    queued: int = 0
    client_ids: list[int] = field(default_factory=list)


def _ids(selection: Select | list[int]) -> list[int]:
    if isinstance(selection, Select):
        return list(db.session.scalars(selection))
    return list(selection)


def activate_clients(selection: Select | list[int], *, actor: Actor) -> BulkResult:
    """Activate reachable clients and queue their first full sync, all set-based.

    Clients of an integration that must be reauthorized are activated too (the customer chose
    them) but counted as needing a new connection: their sync waits for it.
    """
    ids = _ids(selection)
    result = BulkResult(action="activate")
    if not ids:
        return result
    rows = db.session.execute(
        select(Client.id, Client.active, Client.reachable, Integration.status)
        .join(Integration)
        .where(Client.id.in_(ids))
    ).all()
    to_activate = [r.id for r in rows if not r.active and r.reachable]
    result.unchanged = sum(1 for r in rows if r.active)
    result.unreachable = sum(1 for r in rows if not r.active and not r.reachable)
    result.needs_reconnect = sum(
        1 for r in rows
        if not r.active and r.reachable and r.status != IntegrationStatus.CONNECTED
    )
    if to_activate:
        now = utcnow()
        db.session.execute(
            update(Client)
            .where(Client.id.in_(to_activate))
            .values(active=True, is_new=False, activated_at=now, next_sync_at=now,
                    schedule_paused_reason=None, consecutive_failures=0, needs_attention=False)
            .execution_options(synchronize_session=False)
        )
        connected = [
            r.id for r in rows
            if r.id in set(to_activate) and r.status == IntegrationStatus.CONNECTED
        ]
        result.queued = enqueue_for_clients(RunKind.FULL_SYNC, connected, actor=actor).queued
    result.done = len(to_activate)
    result.client_ids = to_activate
    record(actor, "clients_activated", None, customer_id=_customer_of(ids),
           client_ids=to_activate, skipped_unreachable=result.unreachable)
    db.session.commit()
    return result


def deactivate_clients(selection: Select | list[int], *, actor: Actor) -> BulkResult:
    """Deactivate clients: their synced data is kept, their queued runs are cancelled."""
    ids = _ids(selection)
    result = BulkResult(action="deactivate")
    if not ids:
        return result
    to_deactivate = list(
        db.session.scalars(select(Client.id).where(Client.id.in_(ids), Client.active.is_(True)))
    )
    result.unchanged = len(ids) - len(to_deactivate)
    if to_deactivate:
        db.session.execute(
            update(Client)
            .where(Client.id.in_(to_deactivate))
            .values(active=False, next_sync_at=None)
            .execution_options(synchronize_session=False)
        )
        _cancel_queued(SyncRun.client_id.in_(to_deactivate), reason="Klienten ble deaktivert.")
    result.done = len(to_deactivate)
    result.client_ids = to_deactivate
    record(actor, "clients_deactivated", None, customer_id=_customer_of(ids), client_ids=to_deactivate)
    db.session.commit()
    return result


def resume_schedule(selection: Select | list[int], *, actor: Actor) -> int:
    """Resume paused schedules and clear "krever oppfølging": the clients are due at once.

    Returns how many clients changed."""
    ids = _ids(selection)
    stuck = list(db.session.scalars(
        select(Client.id).where(
            Client.id.in_(ids),
            Client.schedule_paused_reason.is_not(None) | Client.needs_attention.is_(True),
        )
    )) if ids else []
    if stuck:
        db.session.execute(
            update(Client)
            .where(Client.id.in_(stuck))
            .values(schedule_paused_reason=None, needs_attention=False, consecutive_failures=0,
                    next_sync_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        record(actor, "schedule_resumed", None, customer_id=_customer_of(stuck), client_ids=stuck)
    db.session.commit()
    return len(stuck)


def request_run(
    kind: RunKind,
    *,
    integration: Integration,
    client: Client | None = None,
    actor: Actor,
    trigger: Trigger = Trigger.MANUAL,
    params: dict | None = None,
) -> tuple[SyncRun, bool]:
    """Queue one run for a button, an admin row action or the CLI; audited; returns at once."""
    run, created = enqueue(
        kind,
        integration_id=integration.id,
        client_id=client.id if client else None,
        actor=actor,
        trigger=trigger,
        params=params,
    )
    if created:
        db.session.flush()
        record(actor, f"run_requested:{kind}", client or integration, run_id=run.id)
    db.session.commit()
    return run, created


def request_runs_for_clients(
    kind: RunKind, selection: Select | list[int], *, actor: Actor
) -> BulkResult:
    """Queue one run per selected active client (admin bulk actions): one INSERT … SELECT."""
    ids = _ids(selection)
    result = BulkResult(action=str(kind))
    active_ids = list(
        db.session.scalars(select(Client.id).where(Client.id.in_(ids), Client.active.is_(True)))
    ) if ids else []
    result.unchanged = len(ids) - len(active_ids)
    bulk = enqueue_for_clients(kind, active_ids, actor=actor)
    result.queued = bulk.queued
    result.done = bulk.queued
    record(actor, f"runs_requested:{kind}", None, customer_id=_customer_of(ids),
           client_ids=active_ids, queued=bulk.queued, already_queued=bulk.already_queued)
    db.session.commit()
    return result


def cancel_run(run: SyncRun, *, actor: Actor) -> bool:
    """Cancel a queued run; a running one finishes (its worker owns it)."""
    if run.status != RunStatus.QUEUED:
        return False
    run.status = RunStatus.CANCELLED
    run.active_key = None
    run.finished_at = utcnow()
    run.error_message = f"Avbrutt av {actor.label}."
    record(actor, "run_cancelled", run, customer_id=run.integration.customer_id)
    db.session.commit()
    return True


def delete_integration(integration: Integration, *, actor: Actor) -> None:
    """Revoke the grant at the source, then remove the integration, its clients and their data."""
    from app.integrations.tokens import revoke_grant

    revoked = revoke_grant(integration)
    record(actor, "integration_deleted", integration, customer_id=integration.customer_id,
           grant_revoked=revoked, clients=len(integration.clients))
    db.session.delete(integration)
    db.session.commit()


def _cancel_queued(condition, *, reason: str) -> None:
    db.session.execute(
        update(SyncRun)
        .where(condition, SyncRun.status == RunStatus.QUEUED)
        .values(status=RunStatus.CANCELLED, active_key=None, finished_at=utcnow(),
                error_message=reason)
        .execution_options(synchronize_session=False)
    )


def _customer_of(client_ids: list[int]) -> int | None:
    """The customer of a selection when it is one customer (the customer pages' case)."""
    customers = db.session.scalars(
        select(Integration.customer_id).join(Client).where(Client.id.in_(client_ids[:1000])).distinct()
    ).all()
    return customers[0] if len(customers) == 1 else None

