"""The client and the mapping on answers shaped exactly like Visma's published schemas."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from app.sync import mapping
from app.visma.errors import AmbiguousOrganization, MalformedResponse
from app.visma.streams import InvalidParameters
from tests.contract.schema import problems

from . import visma_shapes as shapes
from .conftest import API, add_service_token, query

JOURNAL = f"{API}/v2/journaltransaction"
ORG = f"{API}/v1/organization"


@pytest.fixture
def api(visma, mocked):
    add_service_token(mocked)
    return visma.tenant_api("tenant-1")


@pytest.mark.parametrize("path, body", [
    ("/v1/organization", shapes.ORGANIZATIONS),
    ("/v2/generalLedgerBalance", shapes.GL_BALANCES),
    ("/v2/journaltransaction", shapes.JOURNAL_PAGE_1),
    ("/v2/journaltransaction", shapes.JOURNAL_PAGE_2),
    ("/v2/journaltransaction", shapes.JOURNAL_PAGE_3),
    ("/v2/customer/balance", shapes.CUSTOMER_BALANCES),
    ("/v2/supplier/balance", shapes.SUPPLIER_BALANCES),
    ("/v1/financialPeriod", shapes.FINANCIAL_PERIODS),
])
def test_fixtures_are_shaped_exactly_like_visma(path, body):
    assert problems(path, body) == []


# -- organization ---------------------------------------------------------------------------


def test_the_tenants_company_is_chosen_by_orgnr(api, mocked):
    mocked.add(responses.GET, ORG, json=shapes.ORGANIZATIONS)
    assert api.organization(corporate_id="914778271")["name"] == "Fjordhandel Eiendom AS"
    assert api.organization(corporate_id="914 778 263")["name"] == "Fjordhandel Gruppen AS"
    # no orgnr known: the name decides
    assert api.organization(name="fjordhandel gruppen as")["corporateId"] == "914778263"
    row = mapping.organization_values(api.organization(corporate_id="914778263"))
    assert row["default_country"] == "NO" and row["base_currency"] == "NOK"


def test_an_ambiguous_organization_is_a_clear_error(api, mocked):
    mocked.add(responses.GET, ORG, json=shapes.ORGANIZATIONS)
    with pytest.raises(AmbiguousOrganization) as caught:
        api.organization(corporate_id="999999999", name="Noe annet AS")
    assert caught.value.message.startswith("Selskapet har 2 organisasjoner i Visma.net")
    assert "Fjordhandel Eiendom AS (914 778 271)" in caught.value.message
    assert "999999999" in caught.value.message
    assert len(mocked.calls) == 2  # token + one read: nothing retried


def test_one_organization_needs_no_orgnr_and_none_is_malformed(api, mocked):
    mocked.add(responses.GET, ORG, json=shapes.ORGANIZATIONS[:1])
    mocked.add(responses.GET, ORG, json=[])
    assert api.organization(corporate_id="123")["name"] == "Fjordhandel Gruppen AS"
    with pytest.raises(MalformedResponse):
        api.organization()


# -- journal: a batch split across pages, vatCode objects, branches, currency ----------------


def test_journal_batches_split_across_pages_map_to_codes_branches_and_currency(api, mocked):
    pages = [shapes.JOURNAL_PAGE_1, shapes.JOURNAL_PAGE_2, shapes.JOURNAL_PAGE_3, []]

    def serve(request):
        number = int(parse_qs(urlparse(request.url).query)["pageNumber"][0])
        return 200, {}, json.dumps(pages[number - 1])

    mocked.add_callback(responses.GET, JOURNAL, callback=serve)
    batches = [b for page in api.stream("journal_transactions").pages({"periodId": "202503"})
               for b in page]
    assert [b["batchNumber"] for b in batches] == ["0000101", "0000102"]
    assert [len(b["journalTransactionLines"]) for b in batches] == [3, 2]
    assert [query(c)["pageSize"] for c in mocked.calls[1:]] == ["1000", "2", "2"]

    rows = [mapping.journal_rows(b, now=None) for b in batches]
    (sale, sale_lines), (purchase, purchase_lines) = rows
    assert (sale["module"], purchase["module"]) == ("AR", "AP")
    assert purchase["currency"] == "EUR"
    assert [(line["vat_code"], line["vat_description"]) for line in sale_lines] == [
        ("", ""), ("3", "Utgående mva 25 %"), ("3", "Utgående mva 25 %")]
    assert [line["branch_number"] for line in sale_lines + purchase_lines] == ["2", "2", "2",
                                                                               "1", "1"]
    assert [line["subaccount"] for line in sale_lines] == ["", "100", ""]
    eur = purchase_lines[0]
    assert (eur["debit"], eur["debit_in_currency"]) == (Decimal("1148.20"), Decimal("100.00"))
    # amounts in currency default to the amounts when the answer leaves them out
    assert sale_lines[2]["credit_in_currency"] == Decimal("250.00")
    # the fused path of a full sync gives the same values
    values = mapping.journal_line_values(sale, batches[0]["journalTransactionLines"])
    assert values[1][13:15] == ("3", "Utgående mva 25 %")


def test_a_line_without_account_rejects_its_batch_with_a_norwegian_reason():
    batch = copy.deepcopy(shapes.JOURNAL_PAGE_1[0])
    del batch["journalTransactionLines"][1]["accountNumber"]
    with pytest.raises(mapping.RejectedRecord) as caught:
        mapping.journal_rows(batch, now=None)
    assert str(caught.value) == ("Bilag AR 0000101 (202503): linje 2 mangler kontonummer; "
                                 "bilaget er ikke lagret")
    batch["journalTransactionLines"][1]["accountNumber"] = "3000"
    del batch["batchNumber"]
    with pytest.raises(mapping.RejectedRecord, match="Et bilag mangler batchNumber"):
        mapping.journal_rows(batch, now=None)


# -- GL balances: subaccounts old and new, branches, ledgers ---------------------------------


def test_gl_balance_rows_keep_subaccount_branch_and_ledger_apart():
    rows = [mapping.gl_balance_row(r) for r in shapes.GL_BALANCES]
    keys = [(r["period"], r["account_number"], r["subaccount"], r["branch_number"],
             r["ledger_id"]) for r in rows]
    assert keys == [("202503", "6300", "100", "1", "ACTUAL"),
                    ("202503", "6300", "100", "2", "ACTUAL"),
                    ("202503", "6300", "", "1", "BUDSJETT")]
    assert [r["balance_type"] for r in rows] == ["Actual", "Actual", "Budget"]
    newer = {k: v for k, v in shapes.GL_BALANCES[0].items()
             if k not in ("subaccountId", "subAccountCd")}
    newer["subaccount"] = {"subaccountNumber": "100", "subaccountId": 1}
    newer["somethingVismaAddsLater"] = {"x": 1}
    assert mapping.gl_balance_row(newer) == rows[0]


# -- party balances: required period range, branches, no metadata ----------------------------


def test_party_balances_need_the_period_range_and_end_on_a_short_page(api, mocked):
    with pytest.raises(InvalidParameters):
        list(api.stream("customer_balances").pages())
    url = f"{API}/v2/customer/balance"
    mocked.add(responses.GET, url, json=shapes.CUSTOMER_BALANCES)
    pages = list(api.stream("customer_balances").pages(
        {"fromFinPeriod": "202501", "toFinPeriod": "202512"}))
    assert [len(p) for p in pages] == [2]
    calls = [c for c in mocked.calls if c.request.url.startswith(url)]
    assert len(calls) == 1  # no metadata, a short page: the end
    assert query(calls[0])["fromFinPeriod"] == "202501"
    rows = [mapping.party_balance_row(r, "customer", from_period="202501", to_period="202512")
            for r in pages[0]]
    assert [(r["party_number"], r["branch_number"], r["ytd_balance"], r["from_period"])
            for r in rows] == [("10001", "1", Decimal("1500.00"), "202501"),
                               ("10001", "2", Decimal("1250.00"), "202501")]
    supplier = mapping.party_balance_row(shapes.SUPPLIER_BALANCES[0], "supplier")
    assert (supplier["branch_number"], supplier["ytd_balance"]) == ("1", Decimal("1148.20"))
