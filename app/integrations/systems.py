"""The accounting systems a customer can connect, each declared once (the system registry).

A system says how a customer connects it (an OAuth redirect, or a pasted key), how its client
list is fetched and what its errors do to an integration or a client. The customer pages, the
queue, the store and the read API know systems only through this module. Its streams and their
mapping into the store's data sets (``app.accounting.models.DATASETS``, the data-set registry)
are declared beside its reader, which the sync engine picks by the same name:
``app.sync.engine.READERS`` (Visma.net), ``app.tripletex.datasets.DATASETS`` read by
``app.sync.tripletex`` (Tripletex).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from app.integrations.models import SYSTEM_LABELS, System
from app.tripletex.errors import TripletexError
from app.visma.errors import VismaError

if TYPE_CHECKING:
    from app.integrations.models import Integration


class Connect(StrEnum):
    OAUTH = "oauth"  # the customer signs in at the system and consents (Visma Connect)
    KEY = "key"  # the customer pastes a key made in the system (Tripletex)


class Effect(StrEnum):
    """What a failed call means beyond the run that met it."""

    CONNECTION_LOST = "connection_lost"  # the grant or key is gone: reconnect the integration
    CLIENT_UNREACHABLE = "client_unreachable"  # this client no longer reachable; others are
    RETRY = "retry"  # throttled or down: the queue tries again later
    SETUP = "setup"  # our own configuration is wrong: an operator must fix it
    REJECTED = "rejected"  # the system refused this request; retrying will not help


@dataclass(frozen=True)
class Failure:
    effect: Effect
    message: str  # Norwegian, for the run, the client row and the integration page

    @property
    def retryable(self) -> bool:
        return self.effect == Effect.RETRY


@dataclass(frozen=True)
class SourceClient:
    """One company the connection reaches, as the system's client list gives it."""

    external_id: str
    name: str
    orgnr: str | None
    access_withdrawn: bool = False
    message: str | None = None  # the system's words on why, when ``access_withdrawn``


@dataclass(frozen=True)
class AccountingSystem:
    name: str
    label: str
    connect: Connect
    list_clients: Callable[[Integration], list[SourceClient]]
    """The companies the integration's grant or key reaches (raises the system's errors)."""
    ensure_connection: Callable[[Integration], None]
    """Before a run: renew what must be renewed (raises the system's errors)."""
    errors: type[Exception]
    failure: Callable[[Exception], Failure] | None
    """How the system's errors change states (None: the Visma.net rules in ``app.sync.runs``)."""
    unreachable_message: str
    """Why a client that left the client list is no longer reachable."""
    access_hint: str
    """What the customer does in the system to make a client reachable again."""
    check_key: Callable[[str], list] | None = None
    """Key systems: the companies a pasted key reaches, or the system's error (nothing stored)."""
    key_label: str = ""
    key_help: str = ""


def _visma() -> AccountingSystem:
    from app.integrations import visma

    return AccountingSystem(
        name=System.VISMA_NET, label=SYSTEM_LABELS[System.VISMA_NET], connect=Connect.OAUTH,
        list_clients=visma.list_clients, ensure_connection=visma.ensure_connection,
        errors=VismaError, failure=None,
        unreachable_message=(
            "Selskapet er ikke lenger tilgjengelig gjennom denne tilkoblingen i Visma.net "
            "(tillatelsen kan være trukket tilbake i Visma App Store, eller brukeren har mistet "
            "tilgang)."),
        access_hint="Gi tillatelse i Visma App Store («Angi tillatelser»)",
    )


def _tripletex() -> AccountingSystem:
    from app.integrations import tripletex

    return AccountingSystem(
        name=System.TRIPLETEX, label=SYSTEM_LABELS[System.TRIPLETEX], connect=Connect.KEY,
        list_clients=tripletex.list_clients, ensure_connection=tripletex.ensure_connection,
        errors=TripletexError, failure=tripletex.failure,
        unreachable_message=(
            "Klienten er ikke lenger tilgjengelig med regnskapskontorets brukernøkkel i "
            "Tripletex (klienttilgangen kan være fjernet)."),
        access_hint="Gi brukeren nøkkelen er laget for klienttilgang i Tripletex",
        check_key=tripletex.check_key,
        key_label="Regnskapskontorets brukernøkkel",
        key_help=("Lag nøkkelen i regnskapskontorets egen Tripletex-konto: på den ansatte, fanen "
                  "«API-tilgang» → «Ny nøkkel», kryss av for «Regnskapskontorets brukernøkkel» og "
                  "velg applikasjonen Sticos Regnskapsdata. Nøkkelen vises bare én gang."),
    )


_BUILDERS = {System.VISMA_NET: _visma, System.TRIPLETEX: _tripletex}
_built: dict[str, AccountingSystem] = {}


def get(name: str) -> AccountingSystem:
    """The registered system called ``name`` (KeyError for an unknown one)."""
    if name not in _built:
        _built[name] = _BUILDERS[System(name)]()
    return _built[name]


def registered() -> list[AccountingSystem]:
    """Every system, in the order "Ny integrasjon" lists them."""
    return [get(name) for name in _BUILDERS]


SOURCE_ERRORS: tuple[type[Exception], ...] = (VismaError, TripletexError)
"""Every registered system's ``errors`` (spelled out: the adapters import this module)."""
