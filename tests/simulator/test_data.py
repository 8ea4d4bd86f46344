"""The generated books and their invariants, before and after mutations."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from app.visma.simulator import SimulatorConfig, SimulatorState
from app.visma.simulator.generator import valid_orgnr

from .helpers import assert_books_consistent, d

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$")


def test_demo_books_are_consistent(sim_state, trekkspill):
    truth = sim_state.truth(trekkspill)
    assert_books_consistent(truth)
    assert sum(len(b["journalTransactionLines"]) for b in truth["journalTransactions"]) == 600
    assert len(truth["financialPeriods"]) == 24
    assert len(truth["accounts"]) > 250
    names = {a["accountCD"]: a["description"] for a in truth["accounts"]}
    for number, name in (("1500", "Kundefordringer"), ("1920", "Bankinnskudd"),
                         ("2400", "Leverandørgjeld"), ("6300", "Leie lokale")):
        assert names[number] == name
    [organization] = truth["organizations"]
    assert {k: organization[k] for k in ("name", "corporateId", "vatRegistrationId",
                                         "baseCurrency", "defaultCountry")} == {
        "name": "TrekkSpill", "corporateId": "222333444", "vatRegistrationId": "NO222333444MVA",
        "baseCurrency": "NOK", "defaultCountry": {"id": "NO", "name": "Norge"}}
    for batch in truth["journalTransactions"]:
        assert TIMESTAMP.match(batch["lastModifiedDateTime"])
        for line in batch["journalTransactionLines"]:
            for field in ("debitAmount", "creditAmount"):
                assert d(line[field]) == d(line[field]).quantize(Decimal("0.01"))


@pytest.mark.parametrize("lines", [0, 2, 3, 13, 601, 5000])
def test_journal_size_is_exact(lines):
    state = SimulatorState(SimulatorConfig(demo_world=False))
    tenant = state.add_company("Størrelse AS", journal_lines=lines)["tenantId"]
    truth = state.truth(tenant)
    assert sum(len(b["journalTransactionLines"]) for b in truth["journalTransactions"]) == lines
    assert_books_consistent(truth)


def _stable(truth: dict) -> dict:
    """The truth without timestamps and row versions (which depend on when it was generated)."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()
                    if k not in ("lastModifiedDateTime", "timeStamp", "createdDateTime")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    return strip(truth)


def test_data_is_deterministic_from_the_seed():
    a, b, c = (SimulatorState(SimulatorConfig(seed=s, journal_lines=800)) for s in (5, 5, 6))
    ta, tb, tc = (s.truth(s.tenant_id("Testing")) for s in (a, b, c))
    assert a.tenant_id("Testing") == b.tenant_id("Testing") != c.tenant_id("Testing")
    assert _stable(ta) == _stable(tb)
    assert _stable(ta)["journalTransactions"] != _stable(tc)["journalTransactions"]


def test_parties_have_valid_and_some_invalid_orgnrs():
    state = SimulatorState(SimulatorConfig(demo_world=False))
    tenant = state.add_company("Mange Kunder AS", journal_lines=20000)["tenantId"]
    truth = state.truth(tenant)
    orgnrs = [c["corporateId"] for c in truth["customers"] + truth["suppliers"]
              if c["corporateId"]]
    valid = sum(valid_orgnr(o) for o in orgnrs)
    assert valid > len(orgnrs) * 0.7
    assert valid < len(orgnrs)
    assert {c["status"] for c in truth["customers"]} == {"Active", "Inactive"}


def _api_rows(api, path, **params):
    response = api(path, **params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_adding_a_voucher_keeps_balances_and_advances_timestamps(sim_state, api, trekkspill):
    newest = max(r["lastModifiedDateTime"] for r in sim_state.truth(trekkspill)[
        "generalLedgerBalances"])
    bookmark = sim_state.now().isoformat(timespec="milliseconds")
    sim_state.advance_clock(0.01)
    batch = sim_state.add_voucher(trekkspill, [
        {"accountNumber": "6300", "debitAmount": 12500.5, "description": "Husleie mars"},
        {"accountNumber": "2710", "debitAmount": "3125.13"},
        {"accountNumber": "1920", "creditAmount": 15625.63},
    ], transaction_date="2025-03-15", description="Husleie")
    assert batch["financialPeriod"] == "202503" and batch["debitTotal"] == 15625.63
    assert batch["lastModifiedDateTime"] > bookmark >= newest
    assert_books_consistent(sim_state.truth(trekkspill))

    journal = _api_rows(api, "/v2/journaltransaction", lastModifiedDateTime=bookmark)
    assert [b["batchNumber"] for b in journal] == [batch["batchNumber"]]
    changed = _api_rows(api, "/v2/generalLedgerBalance", lastModifiedDateTime=bookmark,
                        pageSize=1000)
    keys = {(r["account"]["number"], r["financialPeriod"]) for r in changed}
    assert {("6300", "202503"), ("2710", "202503"), ("1920", "202503")} <= keys
    # balance-sheet accounts carry forward: later periods changed too; 6300 only within 2025
    assert ("1920", "202604") in keys and ("2710", "202601") in keys
    assert ("6300", "202512") in keys and ("6300", "202601") not in keys


def test_unbalanced_or_bad_vouchers_are_refused(sim_client, trekkspill):
    url = f"/_sim/tenants/{trekkspill}/vouchers"
    unbalanced = sim_client.post(url, json={"lines": [
        {"accountNumber": "6300", "debitAmount": 100},
        {"accountNumber": "1920", "creditAmount": 99.99}]})
    assert unbalanced.status_code == 400 and "balance" in unbalanced.get_json()["error"]
    inactive = sim_client.post(url, json={"lines": [
        {"accountNumber": "1000", "debitAmount": 1}, {"accountNumber": "1920", "creditAmount": 1}]})
    assert inactive.status_code == 400
    fractions = sim_client.post(url, json={"lines": [
        {"accountNumber": "6300", "debitAmount": 1.001},
        {"accountNumber": "1920", "creditAmount": 1.001}]})
    assert fractions.status_code == 400


def test_voiding_keeps_the_batch_visible_but_out_of_balances(sim_client, sim_state, api,
                                                             trekkspill):
    truth = sim_state.truth(trekkspill)
    victim = next(b for b in truth["journalTransactions"] if b["financialPeriod"] == "202504")
    bookmark = sim_state.now().isoformat(timespec="milliseconds")
    sim_state.advance_clock(0.01)
    response = sim_client.post(f"/_sim/tenants/{trekkspill}/vouchers/{victim['batchNumber']}/void")
    assert response.status_code == 200 and response.get_json()["status"] == "Voided"

    seen = _api_rows(api, "/v2/journaltransaction", lastModifiedDateTime=bookmark)
    assert [(b["batchNumber"], b["status"]) for b in seen] == [(victim["batchNumber"], "Voided")]
    after = sim_state.truth(trekkspill)
    assert victim["batchNumber"] not in {b["batchNumber"] for b in after["journalTransactions"]}
    assert_books_consistent(after)
    changed = _api_rows(api, "/v2/generalLedgerBalance", lastModifiedDateTime=bookmark,
                        periodId="202504")
    assert {line["accountNumber"] for line in victim["journalTransactionLines"]} <= {
        r["account"]["number"] for r in changed}
    assert sim_client.post(
        f"/_sim/tenants/{trekkspill}/vouchers/{victim['batchNumber']}/void").status_code == 409


def test_deleting_a_voucher_shows_in_a_full_period_pass(sim_client, sim_state, api, trekkspill):
    victim = next(b for b in sim_state.truth(trekkspill)["journalTransactions"]
                  if b["financialPeriod"] == "202505")
    bookmark = sim_state.now().isoformat(timespec="milliseconds")
    sim_state.advance_clock(0.01)
    response = sim_client.delete(f"/_sim/tenants/{trekkspill}/vouchers/{victim['batchNumber']}")
    assert response.status_code == 204
    assert _api_rows(api, "/v2/journaltransaction", lastModifiedDateTime=bookmark) == []
    changed = _api_rows(api, "/v2/generalLedgerBalance", lastModifiedDateTime=bookmark,
                        periodId="202505")
    assert changed  # the reader learns which period to re-read
    period = _api_rows(api, "/v2/journaltransaction", periodId="202505", pageSize=1000)
    assert victim["batchNumber"] not in {b["batchNumber"] for b in period}
    assert_books_consistent(sim_state.truth(trekkspill))
    assert sim_client.delete(
        f"/_sim/tenants/{trekkspill}/vouchers/{victim['batchNumber']}").status_code == 404


def test_account_lifecycle(sim_client, sim_state, api, trekkspill):
    base = f"/_sim/tenants/{trekkspill}/accounts"
    created = sim_client.post(base, json={"accountCD": "6301", "description": "Leie lager"})
    assert created.status_code == 201 and created.get_json()["type"] == "Expense"
    assert sim_client.post(base, json={"accountCD": "6301", "description": "x"}).status_code == 409
    deactivated = sim_client.patch(f"{base}/6301", json={"active": False}).get_json()
    assert deactivated["active"] is False
    listed = {a["accountCD"]: a for a in _api_rows(api, "/v1/account")}
    assert listed["6301"]["active"] is False
    assert sim_client.delete(f"{base}/6301").status_code == 204
    assert "6301" not in {a["accountCD"] for a in _api_rows(api, "/v1/account")}
    assert "6301" not in {a["accountCD"] for a in sim_state.truth(trekkspill)["accounts"]}
    in_use = sim_client.delete(f"{base}/1920")
    assert in_use.status_code == 409


def test_renaming_an_account_touches_its_balance_rows(sim_state, api, trekkspill):
    bookmark = sim_state.now().isoformat(timespec="milliseconds")
    sim_state.advance_clock(0.01)
    sim_state.update_account(trekkspill, "1920", description="Driftskonto")
    rows = _api_rows(api, "/v2/generalLedgerBalance", lastModifiedDateTime=bookmark,
                     pageSize=1000)
    assert rows and {r["account"]["description"] for r in rows} == {"Driftskonto"}
    assert_books_consistent(sim_state.truth(trekkspill))


def test_parties_can_be_added_and_changed(sim_client, trekkspill, api):
    added = sim_client.post(f"/_sim/tenants/{trekkspill}/customers",
                            json={"name": "Ny Kunde AS", "corporateId": "987654325"})
    assert added.status_code == 201
    number = added.get_json()["number"]
    assert sim_client.patch(f"/_sim/tenants/{trekkspill}/customers/{number}",
                            json={"status": "Inactive"}).get_json()["status"] == "Inactive"
    one = api(f"/v1/customer/{number}").get_json()
    assert one["name"] == "Ny Kunde AS" and one["vatRegistrationId"] == "NO987654325MVA"
    assert sim_client.post(f"/_sim/tenants/{trekkspill}/suppliers",
                           json={"name": "Ny Leverandør AS"}).status_code == 201


def test_multi_branch_company_books_are_consistent(sim_state):
    """Branches, subaccounts, EUR invoices and a budget ledger, and still: GL = Σ lines per
    account, subaccount, branch and period on ACTUAL; the trial balance is zero."""
    truth = sim_state.truth(sim_state.tenant_id("Fjordhandel Gruppen AS"))
    assert_books_consistent(truth)
    lines = [(b, line) for b in truth["journalTransactions"] for line in b["journalTransactionLines"]]
    assert {line["branch"] for _, line in lines} == {"1", "2"}
    assert {line["subaccount"]["subaccountNumber"] for _, line in lines
            if "subaccount" in line} == {"100", "200", "300"}
    foreign = [b for b in truth["journalTransactions"] if b["currencyId"] == "EUR"]
    assert foreign
    for batch in foreign:
        in_currency = batch["journalTransactionLines"]
        assert sum(d(x["debitAmountInCurrency"]) for x in in_currency) == sum(
            d(x["creditAmountInCurrency"]) for x in in_currency) == d(batch["debitTotalInCurrency"])
        assert d(batch["debitTotal"]) != d(batch["debitTotalInCurrency"])
    budget = [r for r in truth["generalLedgerBalances"] if r["ledger"]["id"] == "BUDSJETT"]
    assert budget and {r["balanceType"] for r in budget} == {"Budget"}
    assert {r["branch"]["number"] for r in budget} == {"1", "2"}
    two_branches = {}
    for row in truth["customerBalances"]:
        two_branches.setdefault(row["customer"]["number"], set()).add(row["branchNumber"]["number"])
    assert any(len(branches) == 2 for branches in two_branches.values())
    assert [o["corporateId"] for o in truth["organizations"]] == ["914778263", "914778271"]


def test_fault_serves_journal_lines_without_account(sim_state, api, trekkspill):
    batch = sim_state.truth(trekkspill)["journalTransactions"][3]["batchNumber"]
    sim_state.set_faults(lines_without_account=[batch])
    rows = api("/v2/journaltransaction", periodId="202501", pageSize=1000).get_json()
    served = {b["batchNumber"]: b["journalTransactionLines"] for b in rows}
    assert "accountNumber" not in served[batch][0]
    assert all("accountNumber" in line for number, lines in served.items() for line in lines
               if number != batch or line["lineNumber"] != 1)
