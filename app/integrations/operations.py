"""State changes on integrations and clients, shared by the customer pages, the admin panel,
the scheduler and the CLI: views only translate requests into these calls and the
``Refused`` they may raise into a message.

Each operation holds every rule of its change: who may (the caller passes an ``Actor``; the
views have already checked ownership), in which state (an inactive client runs nothing, a
disconnected integration queues nothing), what gets audited.

Commit policy: every public function here is the outermost unit of work of its entry point
and commits before it returns (or raises ``Refused`` having changed nothing); callers never
commit for it. The modules it builds on (``app.jobs.queue``, ``app.integrations.schedule``)
join its transaction.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import aliased

from app.audit.operations import Actor, record
from app.db_types import utcnow
from app.extensions import db
from app.integrations import schedule
from app.integrations.models import Client, Integration, IntegrationStatus, System
from app.integrations.tokens import revoke_grant
from app.jobs.models import RunKind, RunStatus, SyncRun, Trigger
from app.jobs.queue import cancel_queued, enqueue, enqueue_for_clients

DESCRIPTION_MAX_LENGTH = 200
# Runs that read or change one client's data: the client must be active.
CLIENT_KINDS = (RunKind.INCREMENTAL_SYNC, RunKind.FULL_SYNC, RunKind.TEST_DATA,
                RunKind.DELETE_OLD_ACCOUNTS, RunKind.PREVIEW_OLD_ACCOUNTS)
# A deletion may only remove what a preview this recent showed.
PREVIEW_VALID_MINUTES = 30


class Refused(Exception):
    """The change is not allowed in the current state; ``message`` says why (Norwegian)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotConnected(Refused):
    """The integration has no working Visma.net connection."""


class ClientInactive(Refused):
    """The client is not active."""
# An integration still waiting for its first Visma login this long is abandoned (prune job).
ABANDONED_AFTER = timedelta(hours=24)


def create_integration(
    customer_id: int, *, system: str = System.VISMA_NET, description: str = "", actor: Actor
) -> Integration:
    """A new integration awaiting its first authorization."""
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
    """Change the integration's free-text description."""
    old = integration.description
    integration.description = description.strip()[:DESCRIPTION_MAX_LENGTH]
    record(actor, "integration_description_changed", integration, old=old, new=integration.description)
    db.session.commit()


def require_connected(integration: Integration) -> None:
    """Raise NotConnected unless the integration is connected to its system."""
    if integration.status == IntegrationStatus.CONNECTED:
        return
    system = integration.system_label
    if integration.status == IntegrationStatus.AWAITING_AUTHORIZATION:
        raise NotConnected(
            f"Integrasjonen er ikke koblet til {system} ennå. Trykk «Koble til» først.")
    raise NotConnected(f"Tilkoblingen til {system} må fornyes. Trykk «Koble til på nytt» først.")


@dataclass
class BulkResult:
    """What a bulk action did, per outcome, for a message like 'Aktiver alle: 87 aktivert, …'."""

    action: str
    done: int = 0
    unchanged: int = 0
    unreachable: int = 0
    needs_reconnect: int = 0
    # The same company is already synced under another integration of the customer.
    elsewhere: int = 0
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
    twins = synced_elsewhere(to_activate)
    to_activate = [i for i in to_activate if i not in twins]
    result.elsewhere = len(twins)
    result.unchanged = sum(1 for r in rows if r.active)
    result.unreachable = sum(1 for r in rows if not r.active and not r.reachable)
    result.needs_reconnect = sum(
        1 for r in rows
        if r.id in set(to_activate) and r.status != IntegrationStatus.CONNECTED
    )
    if to_activate:
        db.session.execute(
            Client.__table__.update()
            .where(Client.id.in_(to_activate))
            .values(active=True, is_new=False, activated_at=utcnow())
        )
        schedule.start(to_activate)
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
            Client.__table__.update().where(Client.id.in_(to_deactivate)).values(active=False)
        )
        schedule.stop(to_deactivate)
        cancel_queued(SyncRun.client_id.in_(to_deactivate), reason="Klienten ble deaktivert.")
    result.done = len(to_deactivate)
    result.client_ids = to_deactivate
    record(actor, "clients_deactivated", None, customer_id=_customer_of(ids), client_ids=to_deactivate)
    db.session.commit()
    return result


def resume_schedule(selection: Select | list[int], *, actor: Actor) -> int:
    """Resume paused schedules and clear "krever oppfølging": the clients are due at once.

    Returns how many clients changed."""
    ids = _ids(selection)
    resumed = schedule.resume(ids)
    if resumed:
        record(actor, "schedule_resumed", None, customer_id=_customer_of(resumed),
               client_ids=resumed)
    db.session.commit()
    return len(resumed)


def request_run(
    kind: RunKind,
    *,
    integration: Integration,
    client: Client | None = None,
    actor: Actor,
    trigger: Trigger = Trigger.MANUAL,
    params: dict | None = None,
) -> tuple[SyncRun, bool]:
    """Queue one run for a button, an admin row action or the CLI; audited; returns at once.

    Raises ClientInactive for a client run of an inactive client, ClientUnreachable when
    Sticos cannot reach the client in Visma.net, and NotConnected when the integration cannot
    reach Visma.net, changing nothing.
    """
    if kind in CLIENT_KINDS:
        refusal = run_refusal(client) if client is not None else INACTIVE_REFUSAL
        if refusal == INACTIVE_REFUSAL:
            raise ClientInactive(refusal)
        if refusal:
            raise ClientUnreachable(refusal)
    require_connected(integration)
    run, created = enqueue(
        kind,
        integration_id=integration.id,
        client_id=client.id if client else None,
        actor=actor,
        trigger=trigger,
        params=params,
        # A preview is for a person waiting for it: one attempt, its error shown at once.
        max_attempts=1 if kind == RunKind.PREVIEW_OLD_ACCOUNTS else None,
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
    active_ids = list(db.session.scalars(
        select(Client.id).where(Client.id.in_(ids), Client.active.is_(True),
                                Client.reachable.is_(True))
    )) if ids else []
    result.unchanged = len(ids) - len(active_ids)
    bulk = enqueue_for_clients(
        kind, active_ids, actor=actor,
        max_attempts=1 if kind == RunKind.PREVIEW_OLD_ACCOUNTS else None,
    )
    result.queued = bulk.queued
    result.done = bulk.queued
    result.client_ids = active_ids
    record(actor, f"runs_requested:{kind}", None, customer_id=_customer_of(ids),
           client_ids=active_ids, queued=bulk.queued, already_queued=bulk.already_queued)
    db.session.commit()
    return result


# --- «Slett gamle kontoer»: a queued preview, then a deletion of exactly the ids confirmed ------


def latest_preview(client: Client) -> SyncRun | None:
    """The client's newest old-accounts preview run (queued, running or finished)."""
    return db.session.scalar(
        select(SyncRun)
        .where(SyncRun.client_id == client.id, SyncRun.kind == RunKind.PREVIEW_OLD_ACCOUNTS)
        .order_by(SyncRun.id.desc())
        .limit(1)
    )


def preview_is_current(run: SyncRun | None) -> bool:
    """Whether ``run`` is a finished preview recent enough to confirm from, and not yet used
    for a deletion (a later deletion of the client makes it out of date too)."""
    if run is None or run.status != RunStatus.SUCCEEDED or run.finished_at is None:
        return False
    if utcnow() - run.finished_at > timedelta(minutes=PREVIEW_VALID_MINUTES):
        return False
    return not db.session.scalar(
        select(SyncRun.id).where(SyncRun.client_id == run.client_id, SyncRun.id > run.id,
                                 SyncRun.kind == RunKind.DELETE_OLD_ACCOUNTS).limit(1)
    )


def preview_old_accounts(
    client: Client, *, actor: Actor, trigger: Trigger = Trigger.MANUAL
) -> SyncRun:
    """Queue a fresh preview of the client's old accounts (or return the one already queued
    or running); whoever shows it waits for the run. A web request never reads Visma.net.

    Raises Refused like ``request_run``.
    """
    run, _created = request_run(RunKind.PREVIEW_OLD_ACCOUNTS, integration=client.integration,
                                client=client, actor=actor, trigger=trigger)
    return run


def confirm_old_accounts_deletion(
    client: Client, preview: SyncRun, account_ids, *, actor: Actor,
    trigger: Trigger = Trigger.MANUAL,
) -> tuple[SyncRun, bool]:
    """Queue the deletion of exactly the confirmed accounts among those ``preview`` listed.

    Ids the preview did not list are ignored. Raises Refused when the preview is not this
    client's, not finished or too old, or when nothing listed was confirmed.
    """
    if preview.client_id != client.id or preview.kind != RunKind.PREVIEW_OLD_ACCOUNTS:
        raise Refused("forhåndsvisningen gjelder ikke denne klienten.")
    if not preview_is_current(preview):
        raise Refused("forhåndsvisningen er ikke klar eller er for gammel; se den på nytt.")
    confirmed = {str(i) for i in account_ids}
    ids = [a["id"] for a in (preview.result or []) if str(a["id"]) in confirmed]
    if not ids:
        raise Refused("ingen kontoer å slette.")
    return request_run(RunKind.DELETE_OLD_ACCOUNTS, integration=client.integration,
                       client=client, actor=actor, trigger=trigger,
                       params={"account_ids": ids, "preview_run_id": preview.id})


def cancel_run(run: SyncRun, *, actor: Actor) -> bool:
    """Cancel a queued run; a running one finishes (its worker owns it)."""
    if not cancel_queued(SyncRun.id == run.id, reason=f"Avbrutt av {actor.label}."):
        db.session.rollback()
        return False
    db.session.refresh(run)
    record(actor, "run_cancelled", run, customer_id=run.integration.customer_id)
    db.session.commit()
    return True


def delete_integration(integration: Integration, *, actor: Actor) -> None:
    """Revoke the grant at the source, then remove the integration, its clients and their data."""
    revoked = revoke_grant(integration)
    record(actor, "integration_deleted", integration, customer_id=integration.customer_id,
           grant_revoked=revoked, clients=len(integration.clients))
    db.session.delete(integration)
    db.session.commit()


def _customer_of(client_ids: list[int]) -> int | None:
    """The customer of a selection when it is one customer (the customer pages' case)."""
    customers = db.session.scalars(
        select(Integration.customer_id).join(Client).where(Client.id.in_(client_ids[:1000])).distinct()
    ).all()
    return customers[0] if len(customers) == 1 else None


# --- rules for what a customer trips over (issue 14) -----------------------------------------


class ClientUnreachable(Refused):
    """Sticos cannot reach the client in its system (permission withdrawn, user lost access)."""


INACTIVE_REFUSAL = "aktiver klienten først."


def run_refusal(client: Client) -> str | None:
    """Why a run for this client would be refused now (None: it may be queued); the buttons
    show it as their title."""
    if not client.active:
        return INACTIVE_REFUSAL
    if not client.reachable:
        from app.integrations import systems

        system = systems.get(client.integration.system)
        return (f"Sticos når ikke klienten i {system.label}. {system.access_hint} og trykk "
                "«Oppdater klientliste» først.")
    return None


def _never_connected():
    """Conditions of an integration created but never connected: no grant, no clients."""
    return (
        Integration.status == IntegrationStatus.AWAITING_AUTHORIZATION,
        Integration.authorized_at.is_(None),
        ~exists().where(Client.integration_id == Integration.id),
    )


def start_integration(
    customer_id: int, *, system: str = System.VISMA_NET, description: str = "", actor: Actor
) -> tuple[Integration, bool]:
    """**Opprett**: reuse the customer's abandoned attempt (left at the Visma login) or create.

    Returns (integration, reused). An abandoned attempt has no grant and no clients, so taking
    it over loses nothing and keeps the list free of identical "Venter på tilgang" rows.
    """
    abandoned = db.session.scalars(
        select(Integration)
        .where(Integration.customer_id == customer_id, Integration.system == system,
               *_never_connected())
        .order_by(Integration.created_at.desc())
        .limit(1)
    ).first()
    if abandoned is None:
        return create_integration(customer_id, system=system, description=description,
                                  actor=actor), False
    new_description = description.strip()[:DESCRIPTION_MAX_LENGTH]
    if new_description != abandoned.description:
        record(actor, "integration_description_changed", abandoned,
               old=abandoned.description, new=new_description)
        abandoned.description = new_description
    db.session.commit()
    return abandoned, True


def prune_abandoned_integrations() -> dict:
    """The scheduler's daily job: attempts left at the Visma login for ABANDONED_AFTER go."""
    deleted = delete_abandoned_integrations(older_than=ABANDONED_AFTER,
                                            actor=Actor.system("scheduler"))
    return {"deleted_abandoned": deleted}


def delete_abandoned_integrations(*, older_than: timedelta, actor: Actor) -> int:
    """Remove integrations nobody finished connecting within ``older_than``."""
    cutoff = utcnow() - older_than
    abandoned = db.session.scalars(
        select(Integration).where(Integration.created_at < cutoff, *_never_connected())
    ).all()
    for integration in abandoned:
        record(actor, "integration_abandoned_deleted", integration,
               customer_id=integration.customer_id, created_at=integration.created_at.isoformat())
        db.session.delete(integration)
    db.session.commit()
    return len(abandoned)


def same_user_integrations(integration: Integration) -> list[Integration]:
    """The customer's other integrations authorized by the same Visma user (same ``sub``):
    "the same connection" twice, reaching the same companies."""
    if not integration.authorized_by_subject:
        return []
    return list(db.session.scalars(
        select(Integration).where(
            Integration.customer_id == integration.customer_id,
            Integration.system == integration.system,
            Integration.id != integration.id,
            Integration.authorized_by_subject == integration.authorized_by_subject,
        ).order_by(Integration.id)
    ))


@dataclass(frozen=True)
class Twin:
    """The same company under another integration of the same customer."""

    client_id: int
    integration_id: int
    integration_label: str
    active: bool


def twins_of(client_ids: list[int]) -> dict[int, Twin]:
    """For each client, the same company (same source id) under another integration of the
    same customer, an active one first; clients without one are left out."""
    if not client_ids:
        return {}
    other = aliased(Client)
    other_integration = aliased(Integration)
    rows = db.session.execute(
        select(Client.id, other.id, other.active, other_integration)
        .join(Integration, Integration.id == Client.integration_id)
        .join(other, (other.external_id == Client.external_id)
              & (other.integration_id != Client.integration_id))
        .join(other_integration, (other_integration.id == other.integration_id)
              & (other_integration.customer_id == Integration.customer_id)
              & (other_integration.system == Integration.system))
        .where(Client.id.in_(client_ids))
        .order_by(Client.id, other.active.desc(), other.id)
    ).all()
    found: dict[int, Twin] = {}
    for client_id, twin_id, twin_active, twin_integration in rows:
        found.setdefault(client_id, Twin(twin_id, twin_integration.id,
                                         integration_label(twin_integration), twin_active))
    return found


def synced_elsewhere(candidate_ids: list[int]) -> set[int]:
    """The candidates that activating would sync twice: their company is active under another
    integration of the customer, or an earlier candidate is the same company."""
    twins = twins_of(candidate_ids)
    refused = {cid for cid, twin in twins.items() if twin.active}
    chosen: set[int] = set()
    for cid in sorted(candidate_ids):
        twin = twins.get(cid)
        if cid in refused or twin is None:
            continue
        if twin.client_id in chosen:
            refused.add(cid)
        else:
            chosen.add(cid)
    return refused


def integration_label(integration: Integration) -> str:
    """How a customer tells integrations apart: 'Visma.net – Beskrivelse' or 'Visma.net (#12)'."""
    if integration.description:
        return f"{integration.system_label} – {integration.description}"
    return f"{integration.system_label} (#{integration.id})"


def record_test_send(client: Client, counts: dict, period: str | None) -> None:
    """What a test send leaves on the client, for the page after a reload: when, what, which
    period. The caller commits."""
    client.test_data_sent_at = utcnow()
    client.test_data_summary = {"counts": dict(counts), "period": period}


def connect_with_key(customer_id: int, *, system: str, key: str, description: str = "",
                     actor: Actor) -> tuple[Integration, int]:
    """Create an integration connected by a pasted key, after the system has listed what the key
    reaches: a wrong, revoked or wrong-environment key raises the system's error and nothing is
    created. Returns the integration and how many clients the key reaches."""
    from app.integrations import systems

    companies = systems.get(system).check_key(key)
    integration = Integration(
        customer_id=customer_id, system=system,
        description=description.strip()[:DESCRIPTION_MAX_LENGTH],
        status=IntegrationStatus.CONNECTED, token={"key": key},
        authorized_at=utcnow(), token_refreshed_at=utcnow(),
    )
    db.session.add(integration)
    db.session.flush()
    record(actor, "integration_created", integration, system=system)
    record(actor, "integration_authorized", integration, clients=len(companies))
    db.session.commit()
    return integration, len(companies)


def replace_key(integration: Integration, key: str, *, actor: Actor) -> int:
    """Connect an integration again with a new key, checked first (an error changes nothing);
    clients, which are active, and synced data are kept. Returns how many clients it reaches."""
    from app.integrations import systems

    companies = systems.get(integration.system).check_key(key)
    integration.token = {"key": key}
    integration.token_refreshed_at = integration.authorized_at = utcnow()
    integration.status = IntegrationStatus.CONNECTED
    integration.status_message = None
    record(actor, "integration_authorized", integration, clients=len(companies))
    db.session.commit()
    return len(companies)


def mark_connection_lost(integration: Integration, message: str, *, actor: Actor) -> None:
    """The system no longer accepts the integration's grant or key: it must be reconnected;
    clients and data are kept, the dead credential is forgotten."""
    integration.status = IntegrationStatus.REAUTHORIZATION_REQUIRED
    integration.status_message = message
    integration.token = None
    record(actor, "integration_authorization_lost", integration, message=message)
    db.session.commit()
