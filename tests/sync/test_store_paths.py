"""The store's write paths agree: the fused journal-line path of a full sync stores exactly
what the dict path does (values and row hash), and a second full sync keeps ``changed_at`` of
unchanged rows and tombstones what disappeared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import func, select

from app.accounting import store
from app.accounting.models import JournalBatch, JournalLine
from app.accounting.queries import current_rows
from app.extensions import db
from app.sync import mapping
from tests.factories import ClientFactory

RECORDS = [
    {"batchNumber": "0000001", "module": "GL", "status": "Posted", "financialPeriod": "202501",
     "transactionDate": "2025-01-03T00:00:00", "description": "Husleie", "currencyId": "NOK",
     "debitTotal": 15625.63, "creditTotal": 15625.63,
     "lastModifiedDateTime": "2025-01-03T09:12:13.456",
     "journalTransactionLines": [
         {"lineNumber": 1, "accountNumber": "6300", "description": " Husleie ",
          "debitAmount": 12500.5, "creditAmount": 0, "referenceNumber": "", "vatCode": "",
          "customerSupplier": ""},
         {"lineNumber": 2, "accountNumber": "2710", "description": None,
          "debitAmount": "3125.13", "creditAmount": 0.0, "referenceNumber": 77, "vatCode": "1",
          "customerSupplier": None},
         {"lineNumber": 3, "accountNumber": "1920", "description": "Bank",
          "debitAmount": 0, "creditAmount": 15625.63, "referenceNumber": "R-1", "vatCode": "",
          "customerSupplier": "10001"}]},
    {"batchNumber": "0000002", "module": "AR", "status": "Posted", "financialPeriod": "202502",
     "transactionDate": "2025-02-01T00:00:00", "description": "Faktura", "currencyId": "NOK",
     "debitTotal": 100, "creditTotal": 100, "lastModifiedDateTime": "2025-02-01T10:00:00.000",
     "journalTransactionLines": [
         {"lineNumber": 1, "accountNumber": "1500", "debitAmount": 100,
          "customerSupplier": "10002"},
         {"lineNumber": 2, "accountNumber": "3000", "creditAmount": 100.0}]},
]
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_app(request):
    """The same store tests on SQLite and on PostgreSQL (multi-row VALUES there)."""
    return request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


def _client() -> int:
    client = ClientFactory(integration__customer__name="Lagring AS",
                           external_id="tenant-store", name="Lagring")
    db.session.commit()
    return client.id


def _lines(client_id: int, generation: int) -> dict:
    rows = db.session.scalars(select(JournalLine).where(
        JournalLine.client_id == client_id, JournalLine.generation == generation)).all()
    skip = {"id", "generation"}
    return {(r.module, r.batch_number, r.line_number):
            {c.name: getattr(r, c.name) for c in JournalLine.__table__.columns
             if c.name not in skip} for r in rows}


def _write_fused(client_id: int, generation: int, records, now, carry_from=None) -> None:
    pairs = [(mapping.journal_batch_row(r, now=now), r["journalTransactionLines"])
             for r in records]
    store.write_rows(JournalBatch, client_id, generation, [b for b, _ in pairs], now=now,
                     carry_from=carry_from)
    store.write_journal_lines(client_id, generation, store.journal_line_rows(
        (b, mapping.journal_line_values(b, raw)) for b, raw in pairs),
                              now=now, carry_from=carry_from)
    db.session.commit()


def test_fused_line_path_stores_what_the_dict_path_stores(store_app):
    with store_app.app_context():
        client_id = _client()
        rows = [mapping.journal_rows(r, now=NOW) for r in RECORDS]
        store.write_rows(JournalLine, client_id, 1, [line for _, lines in rows for line in lines],
                         now=NOW)
        db.session.commit()
        _write_fused(client_id, 2, RECORDS, NOW)
        dict_path, fused = _lines(client_id, 1), _lines(client_id, 2)
        assert len(fused) == 5
        assert fused == dict_path
        assert fused[("GL", "0000001", 2)]["reference_number"] == "77"
        assert str(fused[("GL", "0000001", 1)]["debit"]) == "12500.50"


def test_second_full_sync_carries_changed_at_and_tombstones(store_app):
    with store_app.app_context():
        client_id = _client()
        old, new = store.begin_full_sync(client_id)
        _write_fused(client_id, new, RECORDS, NOW)
        store.finish_full_sync(client_id, old=old, new=new, now=NOW, bookmarks={})

        later = NOW + timedelta(hours=1)
        changed = [dict(RECORDS[0], journalTransactionLines=[
            dict(RECORDS[0]["journalTransactionLines"][0], description="Husleie januar"),
            *RECORDS[0]["journalTransactionLines"][1:]])]  # batch 2 is gone at the source
        old, new = store.begin_full_sync(client_id)
        _write_fused(client_id, new, changed, later, carry_from=old)
        removed = store.finish_full_sync(client_id, old=old, new=new, now=later, bookmarks={})
        assert removed["journal_lines"] == 2 and removed["journal_batches"] == 1
        lines = _lines(client_id, new)
        assert lines[("GL", "0000001", 1)]["changed_at"] == later  # its description changed
        assert lines[("GL", "0000001", 2)]["changed_at"] == NOW  # unchanged: kept
        assert lines[("AR", "0000002", 1)]["deleted_at"] == later  # gone: a tombstone
        assert lines[("AR", "0000002", 1)]["changed_at"] == later
        assert store.current_generation(client_id, "journal_lines") == new

        # a third full sync carries the tombstones as they were
        old, new = store.begin_full_sync(client_id)
        _write_fused(client_id, new, changed, later + timedelta(hours=1), carry_from=old)
        removed = store.finish_full_sync(client_id, old=old, new=new,
                                         now=later + timedelta(hours=1), bookmarks={})
        assert removed["journal_lines"] == 0
        lines = _lines(client_id, new)
        assert lines[("AR", "0000002", 1)]["deleted_at"] == later
        assert lines[("GL", "0000001", 2)]["changed_at"] == NOW


def test_gl_journal_check_leaves_out_unposted_batches(store_app):
    from app.accounting.models import GLBalance
    from app.sync.checks import gl_journal_differences

    with store_app.app_context():
        client_id = _client()
        held = dict(RECORDS[1], batchNumber="0000003", status="Hold")
        rows = [mapping.journal_rows(r, now=NOW) for r in (*RECORDS, held)]
        store.write_rows(JournalBatch, client_id, 0, [b for b, _ in rows], now=NOW)
        store.write_rows(JournalLine, client_id, 0, [x for _, lines in rows for x in lines],
                         now=NOW)
        gl = []
        for record in RECORDS:  # the GL holds the posted batches only
            for line in record["journalTransactionLines"]:
                gl.append(mapping.gl_balance_row({
                    "financialPeriod": record["financialPeriod"],
                    "account": {"number": line["accountNumber"]},
                    "periodToDateDebit": line.get("debitAmount") or 0,
                    "periodToDateCredit": line.get("creditAmount") or 0}))
        store.write_rows(GLBalance, client_id, 0, gl, now=NOW)
        db.session.commit()
        assert gl_journal_differences(client_id) == {}
        db.session.execute(JournalBatch.__table__.update().where(
            JournalBatch.batch_number == "0000003").values(status="Posted"))
        db.session.commit()
        assert set(gl_journal_differences(client_id)) == {("202502", "1500", "", ""),
                                                          ("202502", "3000", "", "")}


def test_incremental_checks_resum_only_touched_periods(store_app):
    from app.accounting.models import GLBalance
    from app.sync import checks

    def gl_row(period, account, debit, credit):
        return mapping.gl_balance_row({"financialPeriod": period, "account": {"number": account},
                                       "periodToDateDebit": debit, "periodToDateCredit": credit})

    with store_app.app_context():
        client_id = _client()
        rows = [mapping.journal_rows(r, now=NOW) for r in RECORDS]
        store.write_rows(JournalBatch, client_id, 0, [b for b, _ in rows], now=NOW)
        store.write_rows(JournalLine, client_id, 0, [x for _, lines in rows for x in lines],
                         now=NOW)
        # 202501 matches its journal but 1920 is 1 krone off; 202502 misses account 3000
        store.write_rows(GLBalance, client_id, 0, [
            gl_row("202501", "6300", 12500.5, 0), gl_row("202501", "2710", 3125.13, 0),
            gl_row("202501", "1920", 0, 15624.63), gl_row("202502", "1500", 100, 0)], now=NOW)
        db.session.commit()
        everything = checks.gl_journal_differences(client_id)
        assert set(everything) == {("202501", "1920", "", ""), ("202502", "3000", "", "")}
        assert set(checks.gl_journal_differences(client_id, {"202502"})) == {
            ("202502", "3000", "", "")}
        assert checks.gl_journal_differences(client_id, set()) == {}

        warnings, figures = checks.run_checks(client_id, None)  # a full run: everything
        found = next(w for w in warnings if w["check"] == "gl_matches_journal")
        assert found["periods"] == ["202501", "202502"]

        # 202502 is fixed at the source and an incremental run touches only it: 202501's
        # difference is still reported (kept from the last checks), 202502's is gone
        store.write_rows(GLBalance, client_id, 0, [gl_row("202502", "3000", 0, 100)], now=NOW)
        db.session.commit()
        warnings, figures = checks.run_checks(client_id, figures, {"202502"})
        found = next(w for w in warnings if w["check"] == "gl_matches_journal")
        assert found["periods"] == ["202501"] and found["accounts"] == ["1920"]

        # 202501 is fixed by a run that stopped before its checks: the period it left
        # unchecked is re-summed by the next run's checks, though that run touched nothing
        store.write_rows(GLBalance, client_id, 0, [gl_row("202501", "1920", 0, 15625.63)],
                         now=NOW)
        db.session.commit()
        warnings, _ = checks.run_checks(client_id, {**figures, checks.UNCHECKED: ["202501"]},
                                        set())
        assert not [w for w in warnings if w["check"] == "gl_matches_journal"]


def test_incremental_checks_resum_unbalanced_batches_only_in_touched_periods(store_app):
    from app.sync import checks

    def batch(number, period, debit, credit):
        return {"batchNumber": number, "module": "GL", "status": "Posted",
                "financialPeriod": period, "lastModifiedDateTime": "2025-03-01T10:00:00.000",
                "journalTransactionLines": [
                    {"lineNumber": 1, "accountNumber": "1920", "debitAmount": debit},
                    {"lineNumber": 2, "accountNumber": "3000", "creditAmount": credit}]}

    def write(*records):
        rows = [mapping.journal_rows(r, now=NOW) for r in records]
        store.write_rows(JournalBatch, client_id, 0, [b for b, _ in rows], now=NOW)
        store.write_rows(JournalLine, client_id, 0, [x for _, lines in rows for x in lines],
                         now=NOW)
        db.session.commit()

    def unbalanced(warnings):
        found = [w for w in warnings if w["check"] == "batch_balanced"]
        return (found[0]["detail"], found[0]["batches"]) if found else None

    def whole():
        warnings, figures = checks.run_checks(client_id, None)
        return unbalanced(warnings), figures[checks.UNBALANCED]

    with store_app.app_context():
        client_id = _client()
        # balanced batches in both periods; 0000003 (202501) and 0000004 (202502) are not
        write(*RECORDS, batch("0000003", "202501", 100, 90), batch("0000004", "202502", 50, 0))
        warnings, figures = checks.run_checks(client_id, None)
        assert unbalanced(warnings) == (
            "2 bilag balanserer ikke: GL 0000003 (debet 100,00, kredit 90,00), "
            "GL 0000004 (debet 50,00, kredit 0,00)", ["GL 0000003", "GL 0000004"])

        # 0000004 is fixed at the source and an incremental run touches only 202502: the
        # same warning as a whole re-sum gives, 0000003 kept from the last checks
        write(batch("0000004", "202502", 50, 50))
        warnings, figures = checks.run_checks(client_id, figures, {"202502"})
        assert (unbalanced(warnings), figures[checks.UNBALANCED]) == whole()
        assert unbalanced(warnings) == (
            "1 bilag balanserer ikke: GL 0000003 (debet 100,00, kredit 90,00)", ["GL 0000003"])

        # a line of 0000001 (202501) changes behind the checks' back: a whole re-sum finds
        # it, a run that touched only 202502 does not sum 202501 again
        db.session.execute(JournalLine.__table__.update().where(
            JournalLine.batch_number == "0000001", JournalLine.line_number == 1
        ).values(debit=Decimal("12000.50")))
        db.session.commit()
        assert whole()[1][0][:2] == ["GL", "0000001"]
        warnings, figures = checks.run_checks(client_id, figures, {"202502"})
        assert unbalanced(warnings)[1] == ["GL 0000003"]

        # a period an earlier run left unchecked is summed again, though nothing was touched
        warnings, figures = checks.run_checks(
            client_id, {**figures, checks.UNCHECKED: ["202501"]}, set())
        assert unbalanced(warnings)[1] == ["GL 0000001", "GL 0000003"]

        # 0000003 moves to 202502, balanced: the run touching 202502 drops its 202501 finding
        write(batch("0000003", "202502", 90, 90))
        warnings, figures = checks.run_checks(client_id, figures, {"202502"})
        assert (unbalanced(warnings), figures[checks.UNBALANCED]) == whole()
        assert unbalanced(warnings)[1] == ["GL 0000001"]


@pytest.mark.postgres
def test_a_record_repeated_on_a_later_page_of_a_full_sync_ends_as_its_last_copy(store_app):
    """Paging over a source that changes can hand the same record out twice; the new
    generation keeps one row per key, with the later page's values."""
    from app.accounting.models import LedgerCustomer

    def page(name):
        return [mapping.party_row({"number": "10001", "name": name}),
                mapping.party_row({"number": "10002", "name": "Uendret AS"})]

    with store_app.app_context():
        client_id = _client()
        old, new = store.begin_full_sync(client_id)
        first = store.write_rows(LedgerCustomer, client_id, new, page("Gammelt navn"),
                                 now=NOW, carry_from=old)
        again = store.write_rows(LedgerCustomer, client_id, new, page("Nytt navn AS"),
                                 now=NOW, carry_from=old)
        db.session.commit()
        store.finish_full_sync(client_id, old=old, new=new, now=NOW, bookmarks={})
        rows = db.session.scalars(current_rows(LedgerCustomer, client_id)).all()
        assert sorted((r.number, r.name) for r in rows) == [
            ("10001", "Nytt navn AS"), ("10002", "Uendret AS")]
        assert (first, again) == (2, 1)  # the second time only the changed record counts


def test_page_writer_commits_pages_in_order_and_surfaces_a_failing_page(pg_app):
    from app.accounting.models import GLBalance

    def gl_rows(period, *accounts):
        return [mapping.gl_balance_row({"financialPeriod": period, "account": {"number": a},
                                        "periodToDateDebit": 10}) for a in accounts]

    with pg_app.app_context():
        client_id = _client()
        writer = store.PageWriter.for_session()
        writer.write(store.write_rows, GLBalance, client_id, 1, gl_rows("202501", "1920"),
                     now=NOW)
        writer.write(store.write_rows, GLBalance, client_id, 1, gl_rows("202502", "1920"),
                     now=NOW)
        writer.finish()
        assert db.session.scalar(select(func.count()).select_from(GLBalance).where(
            GLBalance.client_id == client_id, GLBalance.generation == 1)) == 2

        writer = store.PageWriter.for_session()
        writer.write(store.write_rows, GLBalance, client_id, 2, gl_rows("202503", "3000"),
                     now=NOW)
        too_long = gl_rows("2025033", "3000")  # the period column holds 6 characters
        writer.write(store.write_rows, GLBalance, client_id, 2, too_long, now=NOW)
        with pytest.raises(psycopg.DataError):  # raised here, in the caller's thread
            writer.finish()
        writer.close()
        periods = db.session.scalars(select(GLBalance.period).where(
            GLBalance.client_id == client_id, GLBalance.generation == 2)).all()
        assert periods == ["202503"]  # the page before the failing one is committed


def test_without_postgresql_pages_are_written_inline(app):
    with app.app_context():
        assert store.PageWriter.for_session() is None


def _visible_lines(client_id: int) -> dict:
    rows = db.session.scalars(current_rows(JournalLine, client_id, include_deleted=True)).all()
    return {(r.module, r.batch_number, r.line_number): r.deleted_at for r in rows}


def test_run_writer_takes_whole_batches_into_a_new_generation_and_in_place(store_app):
    """The shape every system hands the writer: (batch row, line rows) per batch."""
    later = NOW + timedelta(hours=1)
    voided = dict(RECORDS[1], status="Voided")
    with store_app.app_context():
        client_id = _client()
        writer = store.RunWriter.full(client_id, now=NOW)
        writer.journal_page([mapping.journal_rows(r, now=NOW) for r in (RECORDS[0], voided)])
        writer.finish_pages()
        assert _visible_lines(client_id) == {}  # nothing shows before the flip
        writer.finish_full({})
        assert _visible_lines(client_id) == {("GL", "0000001", n): None for n in (1, 2, 3)}

        killed = store.RunWriter.full(client_id, now=later)  # stopped before its flip
        killed.journal_page([mapping.journal_rows(RECORDS[1], now=later)])
        killed.finish_pages()  # its pages written (PostgreSQL: by the background writer)
        writer = store.RunWriter.in_place(client_id, now=later)
        assert db.session.scalar(select(func.count()).select_from(JournalLine).where(
            JournalLine.generation > writer.generation)) == 0

        shorter = dict(RECORDS[0], journalTransactionLines=RECORDS[0]["journalTransactionLines"][:2])
        writer.journal_page([mapping.journal_rows(shorter, now=later),
                             mapping.journal_rows(voided, now=later)])
        assert _visible_lines(client_id) == {
            ("GL", "0000001", 1): None, ("GL", "0000001", 2): None,
            ("GL", "0000001", 3): later,  # the batch no longer has it
            ("AR", "0000002", 1): later, ("AR", "0000002", 2): later}  # voided: tombstones
        # a line naming a party the store does not hold: both balance data sets are due
        assert writer.due("customer_balances") and writer.due("supplier_balances")
        writer.finish_stream("customer_balances", None)
        assert not writer.due("customer_balances")
