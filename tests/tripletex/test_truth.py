"""The simulator's ground truth is consistent, and a full read through the client equals it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from app.tripletex import mapping
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


def _mapped(read) -> dict[str, list]:
    """Every data set of one company, mapped to store rows, in a comparable order."""
    out: dict[str, list] = {}
    for dataset, records in read.items():
        mapper = mapping.ROW_MAPPERS[dataset]
        rows = [mapper(r) for r in records]
        out[dataset] = sorted(rows, key=repr)
    return out


def test_a_full_read_through_the_client_equals_the_ground_truth(make_client, sim):
    client = make_client()
    company = client.clients()[2]
    api = client.company_api(company)
    years = {"dateFrom": "2025-01-01", "dateTo": "2027-01-01"}

    read = {
        "accounts": list(api.stream("accounts", page_size=50).records()),
        "periods": list(api.stream("periods", page_size=5).records()),
        "gl_balances": list(api.stream("gl_balances", page_size=7).records(years)),
        "journal": list(api.stream("vouchers", page_size=10).records(years)),
        "customers": list(api.stream("customers", page_size=3).records()),
        "suppliers": list(api.stream("suppliers", page_size=3).records()),
    }
    truth = ground_truth(sim.state, company.id)
    expected = {"accounts": truth["accounts"], "periods": truth["periods"],
                "gl_balances": truth["balances"], "journal": truth["vouchers"],
                "customers": truth["customers"], "suppliers": truth["suppliers"]}

    assert _mapped(read) == _mapped(expected)
    assert len(read["journal"]) == len(sim.state.books(company.id).vouchers) > 50


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
