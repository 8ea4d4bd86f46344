"""Tripletex records -> the store's row dicts, the same columns the Visma.net mapping fills."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.accounting.models import SYNCED_MODELS
from app.accounting.store import value_columns
from app.tripletex import mapping
from app.tripletex.errors import MalformedResponse
from app.tripletex.simulator.control import ground_truth

STORE_DATASET = {"accounts": "accounts", "periods": "periods", "gl_balances": "gl_balances",
                 "customers": "customers", "suppliers": "suppliers",
                 "customer_balances": "customer_balances",
                 "supplier_balances": "supplier_balances"}


@pytest.fixture
def truth(sim_state):
    return ground_truth(sim_state, sim_state.company_id("Fjordlys Rørlegger AS"))


def store_columns(dataset: str) -> set[str]:
    model = SYNCED_MODELS[dataset]
    return {*model.natural_key, *value_columns(model), "source_modified_at"}


@pytest.mark.parametrize("dataset", ["accounts", "periods", "gl_balances", "customers",
                                     "suppliers"])
def test_rows_carry_exactly_the_store_columns(truth, dataset):
    records = truth["balances" if dataset == "gl_balances" else dataset]
    row = mapping.ROW_MAPPERS[dataset](records[0])

    assert set(row) == store_columns(dataset)


def test_journal_rows_carry_exactly_the_store_columns(truth):
    batch, lines = mapping.journal_rows(truth["vouchers"][0])

    assert set(batch) == store_columns("journal_batches") | {"deleted_at"}
    assert set(lines[0]) == store_columns("journal_lines") | {"deleted_at"}


def test_conform_fits_a_row_to_a_store_whose_key_grew():
    row = mapping.gl_balance_row({"startDate": "2025-03-01", "account": {"number": 1920},
                                  "balanceIn": 10, "balanceChange": -2.5, "balanceOut": 7.5})
    columns = ["period", "account_number", "branch_number", "subaccount", "ledger_id",
               "beginning_balance", "period_debit", "period_credit", "ytd_balance"]

    fitted = mapping.conform(row, columns, key_columns=["period", "account_number",
                                                        "branch_number", "subaccount",
                                                        "ledger_id"])

    assert fitted == {"period": "202503", "account_number": "1920", "branch_number": "",
                      "subaccount": "", "ledger_id": "",
                      "beginning_balance": Decimal("10.00"), "period_debit": Decimal("0.00"),
                      "period_credit": Decimal("2.50"), "ytd_balance": Decimal("7.50")}


def test_every_voucher_is_a_balanced_batch_with_debit_positive_lines(truth):
    for voucher in truth["vouchers"]:
        batch, lines = mapping.journal_rows(voucher)
        assert batch["debit_total"] == batch["credit_total"] > 0
        assert sum(line["debit"] for line in lines) == batch["debit_total"]
        assert [line["line_number"] for line in lines] == list(range(1, len(lines) + 1))
        for posting, line in zip(voucher["postings"], lines, strict=True):
            assert line["debit"] - line["credit"] == Decimal(str(posting["amount"]))


def test_voucher_keys_are_the_numbers_tripletex_shows(truth):
    voucher = truth["vouchers"][0]
    batch, lines = mapping.journal_rows(voucher)

    assert batch["batch_number"] == f"{voucher['number']}-{voucher['year']}"
    assert batch["module"] == "GL" and batch["status"] == "Posted"
    assert batch["period"] == voucher["date"][:4] + voucher["date"][5:7]
    assert {line["batch_number"] for line in lines} == {batch["batch_number"]}


def test_sales_lines_name_the_customer_and_vat_code(truth):
    sale = next(v for v in truth["vouchers"] if v["description"] == "Utgående faktura")
    _, lines = mapping.journal_rows(sale)
    receivable = next(line for line in lines if line["account_number"] == "1500")
    revenue = next(line for line in lines if line["account_number"] == "3000")

    customer = sale["postings"][0]["customer"]
    assert receivable["customer_supplier"] == str(customer["customerNumber"])
    assert revenue["vat_code"] == "3" and revenue["credit"] > 0


def test_foreign_currency_postings_are_stored_in_company_currency(truth):
    voucher = next(v for v in truth["vouchers"] if v["description"].startswith("Innkjøp i "))
    _, lines = mapping.journal_rows(voucher)

    posting = voucher["postings"][0]
    assert posting["currency"]["code"] in ("EUR", "SEK")
    assert posting["amountCurrency"] != posting["amount"]
    assert lines[0]["debit"] == Decimal(str(posting["amount"])).quantize(Decimal("0.01"))


def test_accounts_translate_types_and_inactivity(truth):
    rows = {r["account_number"]: r for r in map(mapping.account_row, truth["accounts"])}

    assert rows["1920"]["type"] == "Asset" and rows["2400"]["type"] == "Liability"
    assert rows["3000"]["type"] == "Income" and rows["6300"]["type"] == "Expense"
    assert rows["1020"]["active"] is False and rows["1920"]["active"] is True


def test_periods_end_the_day_before_tripletex_exclusive_end(truth):
    row = mapping.period_row(truth["periods"][1])

    assert (row["period"], row["start_date"], row["end_date"]) == (
        "202502", dt.date(2025, 2, 1), dt.date(2025, 2, 28))
    assert row["closed_in_gl"] is True and row["description"] == "Februar 2025"


def test_parties_keep_number_status_orgnr_and_change_time(truth):
    inactive = next(c for c in truth["customers"] if c["isInactive"])
    row = mapping.party_row(inactive, "customer")

    assert row["number"] == str(inactive["customerNumber"])
    assert row["status"] == "Inactive"
    assert row["corporate_id"] == inactive["organizationNumber"]
    assert row["source_modified_at"] == dt.datetime.fromisoformat(
        inactive["changes"][-1]["timestamp"].replace("Z", "+00:00"))


def test_party_balances_map_to_balance_rows():
    row = mapping.party_balance_row({
        "supplier": {"id": 7, "supplierNumber": 50003, "name": "Fjord Konsult AS"},
        "beginBalance": Decimal("-10.5"), "yearToDateBalance": Decimal("-4"),
        "fromPeriod": "202601", "toPeriod": "202612"}, "supplier")

    assert row == {"party_number": "50003", "branch_number": "", "party_internal_id": 7,
                   "party_name": "Fjord Konsult AS", "from_period": "202601",
                   "to_period": "202612", "begin_balance": Decimal("-10.50"),
                   "ytd_balance": Decimal("-4.00")}
    assert set(row) == store_columns("supplier_balances") - {"source_modified_at"}


def test_a_record_without_its_key_is_malformed_not_a_crash():
    with pytest.raises(MalformedResponse, match="Konto uten number"):
        mapping.account_row({"id": 1, "name": "Uten nummer"})
    with pytest.raises(MalformedResponse):
        mapping.journal_rows({"id": 1, "date": "2025-01-01",
                              "postings": [{"amount": 1, "account": {"id": 3}}]})
