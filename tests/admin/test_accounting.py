"""Regnskapsdata: one client's synced rows as readers see them (no tombstones, no rows of an
unfinished full sync), searchable and filterable, read-only."""

from decimal import Decimal

from sqlalchemy import select

from app.accounting.models import Account, GLBalance, JournalLine
from app.db_types import utcnow
from app.extensions import db


def seed_store(app, client_id, other_client_id):
    now = utcnow()
    with app.app_context():
        db.session.add_all([
            Account(client_id=client_id, generation=0, row_hash="a", account_number="1920",
                    description="Bankinnskudd", type="Asset"),
            Account(client_id=client_id, generation=0, row_hash="b", account_number="3000",
                    description="Salgsinntekt", type="Income"),
            # A tombstone and a row of an unfinished full sync: neither may show.
            Account(client_id=client_id, generation=0, row_hash="c", account_number="1999",
                    description="Slettet konto", deleted_at=now),
            Account(client_id=client_id, generation=1, row_hash="d", account_number="1998",
                    description="Halvferdig generasjon"),
            # Another client's account.
            Account(client_id=other_client_id, generation=0, row_hash="e", account_number="4000",
                    description="Varekjøp hos en annen"),
            GLBalance(client_id=client_id, generation=0, row_hash="f", period="202601",
                      account_number="1920", account_description="Bankinnskudd",
                      beginning_balance=Decimal("1000.00"), period_debit=Decimal("250000.50"),
                      period_credit=Decimal("0"), ytd_balance=Decimal("251000.50")),
            GLBalance(client_id=client_id, generation=0, row_hash="g", period="202602",
                      account_number="1920", account_description="Bankinnskudd",
                      ytd_balance=Decimal("12.00")),
            JournalLine(client_id=client_id, generation=0, row_hash="h", module="GL",
                        batch_number="000017", line_number=1, period="202601",
                        account_number="1920", description="Innbetaling faktura 1001",
                        debit=Decimal("250000.50")),
        ])
        db.session.commit()


def test_accounts_show_only_the_visible_copy(app, client, world, operator):
    seed_store(app, world.client_ids[0], world.client_ids[1])
    page = client.get(f"/admin/regnskap/kontoer/?klient={world.client_ids[0]}").text
    assert "Bankinnskudd" in page and "Salgsinntekt" in page
    for hidden in ("Slettet konto", "Halvferdig generasjon", "Varekjøp hos en annen"):
        assert hidden not in page
    assert "Firma 0 AS" in page  # which client
    searched = client.get(f"/admin/regnskap/kontoer/?klient={world.client_ids[0]}&search=3000").text
    assert "Salgsinntekt" in searched and "Bankinnskudd" not in searched
    # No client chosen: nothing listed, a picker instead.
    assert "Klient-ID" in client.get("/admin/regnskap/kontoer/").text
    # Tombstones are not reachable through the detail view either.
    with app.app_context():
        tomb = db.session.scalar(select(Account.id).where(Account.account_number == "1999"))
        bank = db.session.scalar(select(Account.id).where(Account.account_number == "1920"))
    detail = client.get(f"/admin/regnskap/kontoer/details/?id={tomb}", follow_redirects=True).text
    assert "Slettet konto" not in detail
    # A visible row's detail page (linked from the list without ?klient=) works.
    assert f"/admin/regnskap/kontoer/details/?id={bank}" in page
    detail = client.get(f"/admin/regnskap/kontoer/details/?id={bank}").text
    assert "Bankinnskudd" in detail and "Firma 0 AS" in detail


def test_balances_and_lines_filter_by_period_and_account(app, client, world, operator):
    seed_store(app, world.client_ids[0], world.client_ids[1])
    base = f"/admin/regnskap/saldoer/?klient={world.client_ids[0]}"
    page = client.get(f"{base}&flt0_periode_er=202601").text
    assert "251\u00a0000,50" in page and "12,00" not in page
    lines = client.get(f"/admin/regnskap/posteringer/?klient={world.client_ids[0]}&flt0_konto_er=1920").text
    assert "Innbetaling faktura 1001" in lines and "250\u00a0000,50" in lines
    export = client.get(f"/admin/regnskap/posteringer/export/csv/?klient={world.client_ids[0]}")
    assert export.mimetype == "text/csv" and "250000.50" in export.get_data(as_text=True)


def test_client_detail_links_to_its_accounting_data(client, world, operator):
    page = client.get(f"/admin/klienter/details/?id={world.client_ids[0]}").text
    assert f"/admin/regnskap/kontoer/?klient={world.client_ids[0]}" in page


def test_each_tab_leads_to_its_own_data_set(client, world, operator):
    page = client.get(f"/admin/regnskap/kontoer/?klient={world.client_ids[0]}").text
    for slug, name in (("saldoer", "Saldoer"), ("posteringer", "Posteringer"),
                       ("leverandorer", "Leverandører")):
        assert f'href="/admin/regnskap/{slug}/?klient={world.client_ids[0]}">{name}</a>' in page
