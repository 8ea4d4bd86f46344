"""The simulator's ground truth is consistent, and a full read through the client equals it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from app.tripletex import datasets, mapping
from app.tripletex.simulator.control import ground_truth
from app.tripletex.simulator.state import DEMO_CLIENTS


def dec(value) -> Decimal:
    return Decimal(str(value))


def test_every_voucher_balances(sim_state):
    for name, _ in DEMO_CLIENTS:
        for voucher in ground_truth(sim_state, sim_state.company_id(name))["vouchers"]:
            assert sum(dec(p["amount"]) for p in voucher["postings"]) == 0, voucher["id"]


def test_balances_equal_the_sum_of_postings(sim_state):
    truth = ground_truth(sim_state, sim_state.company_id("Nordkapp Bakeri AS"))
    moved: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for voucher in truth["vouchers"]:
        for p in voucher["postings"]:
            moved[(p["date"][:7], p["account"]["number"])] += dec(p["amount"])
    closing: dict[int, tuple[str, Decimal]] = {}

    for row in sorted(truth["balances"], key=lambda r: r["startDate"]):
        month, number = row["startDate"][:7], row["account"]["number"]
        assert dec(row["balanceChange"]) == moved.pop((month, number), 0), (month, number)
        assert dec(row["balanceOut"]) == dec(row["balanceIn"]) + dec(row["balanceChange"])
        year, carried = closing.get(number, (month[:4], Decimal(0)))
        restarts = str(number)[0] not in "12" and year != month[:4]  # P&L: a new year from 0
        assert dec(row["balanceIn"]) == (0 if restarts else carried), (month, number)
        closing[number] = (month[:4], dec(row["balanceOut"]))
    assert not {k: v for k, v in moved.items() if v}, "postings without a balance row"


def test_trial_balance_nets_to_zero_every_month(sim_state):
    truth = ground_truth(sim_state, sim_state.company_id("Tindeklatring Utstyr AS"))
    per_month: dict[str, Decimal] = defaultdict(Decimal)
    for row in truth["balances"]:
        per_month[row["startDate"]] += dec(row["balanceChange"])

    assert len(per_month) == 24 and set(per_month.values()) == {Decimal(0)}


def test_generated_books_have_a_deleted_voucher_and_real_company_features(sim_state):
    truth = ground_truth(sim_state, sim_state.company_id("Fjordlys Rørlegger AS"))
    numbers = sorted((v["year"], v["number"]) for v in truth["vouchers"])
    postings = [p for v in truth["vouchers"] for p in v["postings"]]

    gaps = [(a, b) for a, b in zip(numbers, numbers[1:], strict=False)
            if a[0] == b[0] and b[1] != a[1] + 1]
    assert len(gaps) == 1  # the deleted voucher left its number unused
    assert {p["currency"]["code"] for p in postings} == {"NOK", "EUR", "SEK"}
    assert len({p["department"]["name"] for p in postings if p["department"]}) == 3


def test_deleting_a_voucher_removes_it_and_moves_the_balances(make_client, sim):
    client = make_client()
    company = client.clients()[0]
    api = client.company_api(company)
    june = {"dateFrom": "2025-06-01", "dateTo": "2025-07-01"}
    vouchers = list(api.stream("vouchers").records(june))
    before = {r["account"]["number"]: dec(r["balanceChange"])
              for r in api.stream("gl_balances").records(june)}

    sim.app.test_client().delete(f"/_sim/companies/{company.id}/vouchers/{vouchers[0]['id']}")

    after = {r["account"]["number"]: dec(r["balanceChange"])
             for r in api.stream("gl_balances").records(june)}
    assert [v["id"] for v in api.stream("vouchers").records(june)] == \
        [v["id"] for v in vouchers[1:]]
    for p in vouchers[0]["postings"]:
        number = p["account"]["number"]
        assert after.get(number, 0) == before[number] - sum(
            dec(q["amount"]) for q in vouchers[0]["postings"] if q["account"]["number"] == number)


def _sorted(pages) -> list:
    return sorted((row for page in pages for row in page), key=repr)


def test_a_full_read_of_every_data_set_equals_the_ground_truth(make_client, sim):
    client = make_client()
    company = client.clients()[2]
    api = client.company_api(company)
    truth = ground_truth(sim.state, company.id)
    sources = {"accounts": "accounts", "periods": "periods", "gl_balances": "balances",
               "journal": "vouchers", "customers": "customers", "suppliers": "suppliers"}

    for name, source in sources.items():
        dataset = datasets.BY_NAME[name]
        read = _sorted(datasets.read(api, dataset, first_day=dt.date(2025, 1, 1),
                                     last_day=dt.date(2026, 12, 31), page_size=7))
        assert read == _sorted([[dataset.to_row(r) for r in truth[source]]]), name
    assert len(truth["vouchers"]) == len(sim.state.books(company.id).vouchers) > 50


def test_customer_balances_are_the_receivable_postings_per_customer(make_client, sim):
    client = make_client()
    company = client.clients()[0]
    balances = list(client.company_api(company).stream("customer_balances").records(
        {"dateFrom": "2025-01-01", "dateTo": "2027-01-01"}))
    truth = ground_truth(sim.state, company.id)
    expected: dict[int, Decimal] = defaultdict(Decimal)
    before_2026: dict[int, Decimal] = defaultdict(Decimal)
    for voucher in truth["vouchers"]:
        for p in voucher["postings"]:
            if p["customer"] and p["account"]["number"] == 1500:
                expected[p["customer"]["customerNumber"]] += dec(p["amount"])
                if dt.date.fromisoformat(p["date"]).year < 2026:
                    before_2026[p["customer"]["customerNumber"]] += dec(p["amount"])

    rows = {int(r["party_number"]): r for r in
            (mapping.party_balance_row(b, "customer") for b in balances)}
    assert {n: r["ytd_balance"] for n, r in rows.items()} == dict(expected)
    assert {n: r["begin_balance"] for n, r in rows.items()} == {
        n: before_2026.get(n, Decimal(0)) for n in expected}
    assert {(r["from_period"], r["to_period"]) for r in rows.values()} == {("202601", "202612")}


def test_a_deleted_voucher_shows_as_moved_balances_in_its_period_only(make_client, sim):
    client = make_client()
    company = client.clients()[1]
    api = client.company_api(company)
    years = {"dateFrom": "2025-01-01", "dateTo": "2027-01-01"}
    stored = [mapping.gl_balance_row(r) for r in api.stream("gl_balances").records(years)]
    vouchers = list(api.stream("vouchers").records(years))
    doomed = next(v for v in vouchers if v["date"].startswith("2025-03"))

    sim.state.delete_voucher(company.id, doomed["id"])
    fresh = [mapping.gl_balance_row(r) for r in api.stream("gl_balances").records(years)]

    assert mapping.periods_with_moved_balances(stored, fresh) == {"202503"}
    reread = {mapping.voucher_number(v) for v in api.stream("vouchers").records(
        {"dateFrom": "2025-03-01", "dateTo": "2025-04-01"})}
    had = {mapping.voucher_number(v) for v in vouchers if v["date"].startswith("2025-03")}
    assert had - reread == {mapping.voucher_number(doomed)}
