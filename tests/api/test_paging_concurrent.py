"""Paging a large journal while syncs write: no duplicates, no gaps.

Two walks over the same client with the largest page size: one while a FULL sync writes a new
generation page by page and flips it in the middle of the walk (some batches gone, some lines
changed, new batches in the middle of the key range); one while an incremental sync upserts in
place. Every line that stays visible for the whole walk must come exactly once. Eight pages
per walk prove it as well as forty; bench/api_bench.py reads 200,000 lines for speed."""

import threading

import pytest
from sqlalchemy import text

from app.accounting.models import JournalLine
from app.accounting.store import begin_full_sync, finish_full_sync, tombstone, write_rows
from app.db_types import utcnow
from app.extensions import db
from tests.api.ledger import LINES_PER_BATCH, bulk_journal, line_values

LINES = 40_000
PAGE = 5000

pytestmark = pytest.mark.slow


def _key(row) -> tuple:
    return (row["module"], row["batch_number"], row["line_number"])


def _original_keys(batches: int) -> set:
    return {("GL", f"{b:07d}", n) for b in range(batches) for n in range(1, LINES_PER_BATCH + 1)}


class Walker:
    """Walks /journal-lines page by page; calls `between(page_number)` after each page."""

    def __init__(self, api, client_id):
        self.api = api
        self.path = f"/api/v1/clients/{client_id}/journal-lines"

    def walk(self, between) -> list[dict]:
        rows, cursor, number = [], None, 0
        while True:
            query = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
            response = self.api.get(self.path, query_string=query)
            assert response.status_code == 200, response.text
            body = response.get_json()
            rows += body["data"]
            number += 1
            between(number)
            cursor = body["next_cursor"]
            if cursor is None:
                return rows


def _run(target, errors):
    def wrapped():
        try:
            target()
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    thread = threading.Thread(target=wrapped, daemon=True)
    thread.start()
    return thread


def test_walk_while_syncs_write(app, api, world):
    walk_while_syncs_write(app, api, world.client_a1, LINES)


def walk_while_syncs_write(app, api, client_id: int, lines: int) -> None:
    """The scenario, for any database (PostgreSQL runs it from test_postgres.py)."""
    batches = lines // LINES_PER_BATCH
    half = lines // PAGE // 2
    with app.app_context():
        bulk_journal(client_id, lines)
    walker = Walker(api, client_id)
    original = _original_keys(batches)

    # -- 1. a full sync flips to a new generation in the middle of the walk ------------------
    gone_batches = {b for b in range(batches) if b % 50 == 7}
    changed_batches = {b for b in range(batches) if b % 50 == 3}
    new_batches = [f"{b:07d}5" for b in range(0, batches, 100)]  # sort between existing ones
    halfway, flipped, errors = threading.Event(), threading.Event(), []

    def full_sync():
        with app.app_context():
            old, new = begin_full_sync(client_id)
            now = utcnow()
            page: list[dict] = []

            def flush():
                # Without carry_from (which would keep unchanged rows' changed_at): the store's
                # carry-over lookup is slow on SQLite at this size (reported to issue 4), and
                # the walk's guarantees do not depend on changed_at.
                write_rows(JournalLine, client_id, new, page, now=now)
                db.session.commit()
                page.clear()

            for b in range(batches):
                if b in gone_batches:
                    continue
                note = " (endret)" if b in changed_batches else ""
                page += [line_values(b, n, note=note) for n in range(1, LINES_PER_BATCH + 1)]
                if len(page) >= PAGE:
                    flush()
            for number in new_batches:
                page += [dict(line_values(0, n), batch_number=number) for n in range(1, 11)]
            flush()
            assert halfway.wait(300), "the reader never got halfway"
            if db.engine.dialect.name == "postgresql":
                # Workaround, reported to issue 4: without fresh statistics PostgreSQL plans
                # finish_full_sync's tombstone carry-over as a nested loop (minutes at this size).
                db.session.execute(text(f"ANALYZE {JournalLine.__tablename__}"))
                db.session.commit()
            finish_full_sync(client_id, old=old, new=new, now=now, bookmarks={})
            flipped.set()

    def between(number):
        if number == half:  # half the lines read from the old copy (while the new one is written)
            halfway.set()
            assert flipped.wait(300) or errors, "the full sync never flipped"

    writer = _run(full_sync, errors)
    rows = walker.walk(between)
    writer.join(300)
    assert not errors, errors
    keys = [_key(r) for r in rows]
    assert len(keys) == len(set(keys)), "duplicates"
    assert keys == sorted(keys)
    stable = {k for k in original if int(k[1]) not in gone_batches}
    assert stable <= set(keys), f"{len(stable - set(keys))} lines missing"
    new_keys = {("GL", number, n) for number in new_batches for n in range(1, 11)}
    assert set(keys) <= original | new_keys
    # The walk really crossed the flip: old texts before it, new texts after it.
    first_half, second_half = rows[: half * PAGE], rows[half * PAGE :]
    assert not any("(endret)" in r["description"] for r in first_half)
    assert any("(endret)" in r["description"] for r in second_half)

    # -- 2. an incremental sync upserts and tombstones in place during the walk --------------
    tombstoned = ("0000011", f"{batches * 19 // 20 + 11:07d}")  # near both ends of the walk
    with app.app_context():
        ids = db.session.scalars(
            db.select(JournalLine.id).where(
                JournalLine.client_id == client_id,
                JournalLine.batch_number.in_(tombstoned),
            )
        ).all()
    assert len(ids) == 2 * LINES_PER_BATCH
    started, errors = threading.Event(), []
    inserted = [f"{b:07d}7" for b in range(5, batches, 500)]

    def incremental():
        assert started.wait(300)
        with app.app_context():
            for number in inserted:
                now = utcnow()
                write_rows(
                    JournalLine,
                    client_id,
                    new_generation(client_id),
                    [dict(line_values(1, n), batch_number=number) for n in range(1, 4)],
                    now=now,
                )
                db.session.commit()
            tombstone(JournalLine, ids, now=utcnow())
            db.session.commit()

    after_full_sync = stable | new_keys
    writer = _run(incremental, errors)
    rows = walker.walk(lambda number: started.set() if number == 2 else None)
    writer.join(300)
    assert not errors, errors
    keys = [_key(r) for r in rows]
    assert len(keys) == len(set(keys)), "duplicates"
    gone = {k for k in after_full_sync if k[1] in tombstoned}
    assert after_full_sync - gone <= set(keys), "lines missing"


def new_generation(client_id: int) -> int:
    from app.accounting.store import current_generation

    return current_generation(client_id, "journal_lines")
