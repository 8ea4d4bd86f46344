"""Answers shaped exactly like Visma's published schemas (``tests/contract/visma_openapi``);
``test_visma_shapes.py`` proves each one against the schema before using it.

Field values are what a multi-branch Norwegian company shows: branches 1 and 2, subaccounts,
a budget ledger beside ACTUAL, an EUR invoice with amounts in currency, vatCode objects.
"""

from __future__ import annotations

ORGANIZATIONS = [
    {
        "organizationCd": "01",
        "name": "Fjordhandel Gruppen AS",
        "organizationType": "Company",
        "fileTaxByBranches": True,
        "baseCurrency": "NOK",
        "corporateId": "914778263",
        "vatRegistrationId": "NO914778263MVA",
        "defaultCountry": {"id": "NO", "name": "Norge"},
        "currency": {"id": "NOK", "description": "Norske kroner", "isBaseCurrency": True},
        "lastModifiedDateTime": "2024-11-01T09:00:00.000",
        "branches": [{"number": "1", "name": "Oslo"}, {"number": "2", "name": "Bergen"}],
    },
    {
        "organizationCd": "02",
        "name": "Fjordhandel Eiendom AS",
        "baseCurrency": "NOK",
        "corporateId": "914 778 271",
        "defaultCountry": {"id": "NO", "name": "Norge"},
    },
]

_RENT_OSLO = {  # the older subaccount fields
    "branch": {"number": "1", "name": "Oslo"},
    "ledger": {"id": "ACTUAL", "description": "Actual ledger"},
    "balanceType": "Actual",
    "financialPeriod": "202503",
    "account": {"type": "Expense", "number": "6300", "description": "Leie lokale"},
    "subaccountId": "1",
    "subAccountCd": "100",
    "currencyId": "NOK",
    "periodToDateDebit": 12500.0,
    "periodToDateCredit": 0.0,
    "beginningBalance": 25000.0,
    "yearToDateBalance": 37500.0,
    "yearClosed": False,
    "lastModifiedDateTime": "2025-03-31T18:02:11.123",
    "metadata": {"totalCount": 3, "maxPageSize": 1000},
}
GL_BALANCES = [
    _RENT_OSLO,
    {  # same account and subaccount in the other branch
        **_RENT_OSLO,
        "branch": {"number": "2", "name": "Bergen"},
        "periodToDateDebit": 8000.5,
        "beginningBalance": 0.0,
        "yearToDateBalance": 8000.5,
    },
    {  # the budget beside it; no subaccount, optional fields absent
        "branch": {"number": "1", "name": "Oslo"},
        "ledger": {"id": "BUDSJETT", "description": "Budsjett"},
        "balanceType": "Budget",
        "financialPeriod": "202503",
        "account": {"number": "6300"},
        "periodToDateDebit": 15000.0,
        "metadata": {"totalCount": 3, "maxPageSize": 1000},
    },
]

VAT_OUT = {"id": "3", "description": "Utgående mva 25 %"}
SUB_SHOP = {"subaccountNumber": "100", "subaccountId": 1, "description": "Butikk"}


def _batch_head(number: str, currency: str = "NOK", rate: float = 1.0) -> dict:
    return {
        "module": "ModuleAR",
        "batchNumber": number,
        "status": "Posted",
        "hold": False,
        "transactionDate": "2025-03-14T00:00:00",
        "postPeriod": "202503",
        "financialPeriod": "202503",
        "ledger": "ACTUAL",
        "currencyId": currency,
        "exchangeRate": rate,
        "description": f"Faktura {number}",
        "branch": "2",
        "lastModifiedDateTime": "2025-03-14T10:15:00.250",
    }


# Visma pages journal transactions by lines, here two per page (maxPageSize 2): a NOK sale of
# three lines split after its second line, then an EUR purchase of two lines split likewise.
JOURNAL_PAGE_1 = [
    {
        **_batch_head("0000101"),
        "debitTotal": 1250.0,
        "creditTotal": 1250.0,
        "journalTransactionLines": [
            {"lineNumber": 1, "accountNumber": "1500", "description": "Faktura 0000101",
             "debitAmount": 1250.0, "debitAmountInCurrency": 1250.0, "creditAmount": 0.0,
             "creditAmountInCurrency": 0.0, "branch": "2", "customerSupplier": "10001",
             "module": "ModuleAR"},
            {"lineNumber": 2, "accountNumber": "3000", "description": "Salg",
             "subaccount": SUB_SHOP, "debitAmount": 0.0, "creditAmount": 1000.0,
             "vatCode": VAT_OUT, "branch": "2", "referenceNumber": "100001"},
        ],
        "metadata": {"totalCount": 5, "maxPageSize": 2},
    },
]
JOURNAL_PAGE_2 = [
    {
        **_batch_head("0000101"),
        "journalTransactionLines": [
            {"lineNumber": 3, "accountNumber": "2700", "description": "Utgående mva",
             "debitAmount": 0.0, "creditAmount": 250.0, "vatCode": VAT_OUT, "branch": "2"},
        ],
        "metadata": {"totalCount": 5, "maxPageSize": 2},
    },
    {
        **_batch_head("0000102", currency="EUR", rate=11.482),
        "module": "ModuleAP",
        "debitTotal": 1148.2,
        "debitTotalInCurrency": 100.0,
        "creditTotal": 1148.2,
        "creditTotalInCurrency": 100.0,
        "journalTransactionLines": [
            {"lineNumber": 1, "accountNumber": "4300", "description": "Varekjøp EUR",
             "subaccount": SUB_SHOP, "debitAmount": 1148.2, "debitAmountInCurrency": 100.0,
             "creditAmount": 0.0, "creditAmountInCurrency": 0.0,
             "vatCode": {"id": "14", "description": "Innførsel av varer 25 %"}, "branch": "1"},
        ],
        "metadata": {"totalCount": 5, "maxPageSize": 2},
    },
]
JOURNAL_PAGE_3 = [
    {
        **_batch_head("0000102", currency="EUR", rate=11.482),
        "module": "ModuleAP",
        "journalTransactionLines": [
            {"lineNumber": 2, "accountNumber": "2400", "description": "Leverandør EUR",
             "debitAmount": 0.0, "debitAmountInCurrency": 0.0, "creditAmount": 1148.2,
             "creditAmountInCurrency": 100.0, "branch": "1", "customerSupplier": "20001"},
        ],
        "metadata": {"totalCount": 5, "maxPageSize": 2},
    },
]

CUSTOMER_BALANCES = [  # the same customer in two branches; no metadata (none is declared)
    {"branchNumber": {"number": "1", "name": "Oslo"},
     "customer": {"internalId": 1, "number": "10001", "name": "Nordlys Bygg AS"},
     "beginBalance": 500.0, "sales": 1250.0, "paymentsAndPrepayments": 250.0,
     "adjustmentsAndDiscounts": 0.0, "overdueCharges": 0.0, "yearToDateBalance": 1500.0},
    {"branchNumber": {"number": "2", "name": "Bergen"},
     "customer": {"internalId": 1, "number": "10001", "name": "Nordlys Bygg AS"},
     "beginBalance": 0.0, "sales": 1250.0, "yearToDateBalance": 1250.0},
]

SUPPLIER_BALANCES = [
    {"branch": "1", "supplier": {"internalId": 7, "number": "20001", "name": "Fjord Trelast AS"},
     "beginBalance": 0.0, "purchases": 1148.2, "paymentsAndPrepayments": 0.0,
     "adjustmentsAndDiscounts": 0.0, "yearToDateBalance": 1148.2},
]

FINANCIAL_PERIODS = [
    {"year": 2025, "period": f"2025{m:02d}", "startDate": f"2025-{m:02d}-01T00:00:00",
     "endDate": f"2025-{m:02d}-28T00:00:00", "description": "Periode", "active": True,
     "closedInGeneralLedger": False, "closedInCustomerLedger": False,
     "closedInSupplierLedger": False}
    for m in (1, 2, 3)
]
