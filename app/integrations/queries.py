"""Read-only figures about clients for the pages: the customer's lists, the admin panel."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from app.extensions import db
from app.integrations.models import Client


@dataclass(frozen=True)
class ClientCounts:
    """How many clients are active, inactive, new, unreachable or need attention."""

    active: int = 0
    inactive: int = 0
    new: int = 0
    unreachable: int = 0
    attention: int = 0
    # An orgnr as the source gave it that fails the mod-11 check.
    invalid_orgnr: int = 0
    last_sync_at: datetime | None = None

    @property
    def total(self) -> int:
        """Every client, active or not."""
        return self.active + self.inactive


def _count(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# The one aggregate behind every client count the pages show.
_AGGREGATES = (
    _count(Client.active.is_(True)),
    _count(Client.active.is_(False)),
    _count(Client.is_new.is_(True)),
    _count(Client.reachable.is_(False)),
    _count(Client.needs_attention.is_(True)),
    _count(Client.orgnr.is_not(None) & Client.orgnr_valid.is_(False)),
    func.max(Client.last_sync_at),
)


def _counts(row) -> ClientCounts:
    *numbers, last_sync_at = row
    return ClientCounts(*(int(n) for n in numbers), last_sync_at=last_sync_at)


def client_counts(integration_ids) -> dict[int, ClientCounts]:
    """{integration id: its ClientCounts} in one grouped query; integrations without clients
    are absent (use ``.get(id, ClientCounts())``)."""
    ids = list(integration_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Client.integration_id, *_AGGREGATES)
        .where(Client.integration_id.in_(ids))
        .group_by(Client.integration_id)
    )
    return {row[0]: _counts(row[1:]) for row in rows}


def all_client_counts() -> ClientCounts:
    """The ClientCounts of every client of every customer (the operators' dashboard)."""
    return _counts(db.session.execute(select(*_AGGREGATES)).one())
