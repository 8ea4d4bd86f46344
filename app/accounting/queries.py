"""Reading the synced data: the ONE place that knows which rows readers may see."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select

from app.accounting.models import DATASET_OF, SYNCED_MODELS, DatasetState, SyncedRow


def visible_generation(model: type[SyncedRow], client_id):
    """A scalar subquery: the generation of ``model``'s data set readers see for the client."""
    return (
        select(func.coalesce(func.max(DatasetState.current_generation), 0))
        .where(DatasetState.client_id == client_id, DatasetState.dataset == DATASET_OF[model])
        .scalar_subquery()
    )


def visible(model: type[SyncedRow], client_id: int) -> list:
    """Conditions selecting the client's live rows in the copy readers see, the generation
    looked up once (a plain value: the checks' aggregates get plans for the real generation).
    The same rule as ``current_rows`` without its tombstone and paging options."""
    from app.extensions import db

    generation = db.session.scalar(select(visible_generation(model, client_id)))
    return [model.client_id == client_id, model.generation == generation,
            model.deleted_at.is_(None)]


def current_rows(
    model: type[SyncedRow],
    client_id,
    *,
    include_deleted: bool = False,
    changed_since: datetime | None = None,
) -> Select:
    """``select(model)`` narrowed to the client's visible copy, ordered by ``id``.

    Tombstones (rows deleted in the source) are excluded unless ``include_deleted`` — readers
    following ``changed_since`` should include them to learn about deletions.
    """
    query = select(model).where(
        model.client_id == client_id,
        model.generation == visible_generation(model, client_id),
    )
    if not include_deleted:
        query = query.where(model.deleted_at.is_(None))
    if changed_since is not None:
        query = query.where(model.changed_at > changed_since)
    return query.order_by(model.id)


def freshness(client_id: int) -> dict[str, datetime | None]:
    """Per data set: when it last became equal to the source (None: never synced)."""
    return freshness_for([client_id])[client_id]


def freshness_for(client_ids: list[int]) -> dict[int, dict[str, datetime | None]]:
    """``freshness`` for many clients in one query (a page of the API's client list)."""
    from app.extensions import db

    found: dict[int, dict] = {client_id: {} for client_id in client_ids}
    rows = db.session.execute(
        select(DatasetState.client_id, DatasetState.dataset, DatasetState.synced_at).where(
            DatasetState.client_id.in_(client_ids)
        )
    ).all() if client_ids else []
    for client_id, dataset, synced_at in rows:
        found[client_id][dataset] = synced_at
    return {
        client_id: {name: sets.get(name) for name in SYNCED_MODELS}
        for client_id, sets in found.items()
    }
