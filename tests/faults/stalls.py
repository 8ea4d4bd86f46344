"""What readers may see while a full sync's attempts overlap, and a worker frozen on cue.

A reader of a client's synced data must only ever see a whole copy: the one before the full
sync or the one after it (the source's ground truth), and a ``changed_since`` reader must only
receive tombstones for rows that are really gone from the source.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime

from sqlalchemy import func, select

from app.accounting.models import SYNCED_MODELS
from app.accounting.queries import current_rows, visible_generation
from app.db_types import utcnow
from app.extensions import db
from app.jobs.models import RunKind
from tests.sync.mutations import mutate
from tests.sync.test_sync_faults import _ok, _ready


class ReaderInvariants:
    """The two whole copies a reader may see (data set -> natural key -> values), and the
    tombstones a ``changed_since`` reader may receive: rows the source no longer has."""

    def __init__(self, before: dict[str, dict], after: dict[str, dict], since: datetime):
        self.before = before
        self.after = after
        self.since = since
        self.gone = {name: set(before[name]) - set(after[name]) for name in SYNCED_MODELS}

    def violations(self, client_id: int, stored: dict[str, dict]) -> list[str]:
        """What is wrong with what readers see now (``stored``: the live rows readers get)."""
        found = []
        if stored != self.before and stored != self.after:
            for name in SYNCED_MODELS:
                if stored[name] not in (self.before[name], self.after[name]):
                    found.append(
                        f"{name}: readers see {len(stored[name])} rows, neither the old copy "
                        f"({len(self.before[name])}) nor the new one ({len(self.after[name])})")
        for name, tombstones in self.tombstones(client_id).items():
            false = tombstones - self.gone[name]
            if false:
                found.append(f"{name}: {len(false)} rows reported deleted that the source "
                             f"still has, e.g. {sorted(false)[:3]}")
        return found

    def tombstones(self, client_id: int) -> dict[str, set[tuple]]:
        """Natural keys a ``changed_since`` reader receives as deleted."""
        found = {}
        for name, model in SYNCED_MODELS.items():
            rows = db.session.scalars(current_rows(
                model, client_id, include_deleted=True, changed_since=self.since
            ).where(model.deleted_at.is_not(None))).all()
            found[name] = {tuple(getattr(r, k) for k in model.natural_key) for r in rows}
        return found

    def counts(self, client_id: int) -> dict[str, int]:
        """Live rows per data set, as a reader counting pages would find them."""
        return {
            name: db.session.scalar(
                select(func.count()).select_from(current_rows(model, client_id).subquery()))
            for name, model in SYNCED_MODELS.items()
        }

    def count_violations(self, client_id: int) -> list[str]:
        """The cheap check a polling reader makes: counts and tombstones."""
        found = []
        for name, count in self.counts(client_id).items():
            if count not in (len(self.before[name]), len(self.after[name])):
                found.append(f"{name}: a reader counted {count} rows, neither the old copy "
                             f"({len(self.before[name])}) nor the new one "
                             f"({len(self.after[name])})")
        for name, tombstones in self.tombstones(client_id).items():
            false = tombstones - self.gone[name]
            if false:
                found.append(f"{name}: {len(false)} false tombstones")
        return found


def synced_then_changed(env, **faults):
    """A client synced in full, then its books changed at the source and the simulator set
    to answer in many small pages (``faults``): (integration, client, ReaderInvariants) for
    the next full sync."""
    integration, client = _ready(env)
    _ok(env.run(RunKind.FULL_SYNC, integration, client))
    since = utcnow()
    before = env.stored(client.id)
    mutate(env.sim.state, client.external_id, random.Random(15), changes=12)
    env.sim.state.set_faults(max_page_size=20, **faults)
    return integration, client, ReaderInvariants(before, env.expected(client.external_id), since)


def rows_outside_visible_copy(client_id: int) -> dict[str, int]:
    """Rows of any other generation than the one readers see (a finished sync leaves none)."""
    found = {}
    for name, model in SYNCED_MODELS.items():
        count = db.session.scalar(select(func.count()).select_from(model).where(
            model.client_id == client_id,
            model.generation != visible_generation(model, client_id)))
        if count:
            found[name] = count
    return found


class PollingReader:
    """A reader in its own thread and session, checking the invariants all along."""

    def __init__(self, app, client_id: int, invariants: ReaderInvariants, interval=0.05):
        self.app, self.client_id, self.invariants = app, client_id, invariants
        self.interval = interval
        self.seen: list[str] = []
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="reader", daemon=True)

    def __enter__(self) -> PollingReader:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _poll(self) -> None:
        with self.app.app_context():
            while not self._stop.is_set():
                try:
                    self.seen.extend(self.invariants.count_violations(self.client_id))
                    self.polls += 1
                finally:
                    db.session.rollback()
                time.sleep(self.interval)
            db.session.remove()
