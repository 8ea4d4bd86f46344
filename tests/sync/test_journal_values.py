"""The full sync's hot mapping path (``journal_line_values``, ``money_text`` and the fused row
hash) has fast paths for the types Visma sends; whatever shape a value comes in, it gives the
values and hashes the general helpers give."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.accounting import store
from app.accounting.models import JournalLine
from app.sync import mapping

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@given(st.one_of(
    st.integers(-10**15, 10**15).map(lambda cents: cents / 100),  # what Visma sends
    st.floats(min_value=-1e15, max_value=1e15, allow_nan=False),
    st.integers(-10**15, 10**15),
).filter(lambda value: value != 0))
def test_money_text_is_money_as_text(value):
    assert mapping.money_text(value) == str(mapping.money(value))


def test_money_text_of_amounts_on_the_edges():
    cases = [
        (0, "0.00"), (0.0, "0.00"), (None, "0.00"), ("", "0.00"), (12500.5, "12500.50"),
        (-12500.5, "-12500.50"), (15625.63, "15625.63"), (0.01, "0.01"), (0.1 + 0.2, "0.30"),
        (0.005, "0.00"), (0.015, "0.02"), (1e-05, "0.00"),
        (2.675, "2.68"),  # the amount Visma wrote, rounded half to even (not the binary float)
        (9999999999999.99, "9999999999999.99"), (1e13, "10000000000000.00"),
        (123456789012345.67, "123456789012345.67"), (100, "100.00"), (-7, "-7.00"),
        ("3125.13", "3125.13"), ("100.000", "100.00"), (" 12.5 ", "12.50"), ("1e2", "100.00"),
        (Decimal("0.125"), "0.12"),
    ]
    assert [(value, mapping.money_text(value)) for value, _ in cases] == cases


LINES = [
    {"lineNumber": 1, "accountNumber": "6300", "description": " Husleie ", "debitAmount": 12500.5,
     "debitAmountInCurrency": 12500.5, "creditAmount": 0.0, "creditAmountInCurrency": 0.0,
     "referenceNumber": "", "branch": "1", "customerSupplier": "",
     "vatCode": {"id": " 1 ", "description": "Inngående mva 25 %"}},
    {"lineNumber": "2", "accountNumber": 2710, "description": None, "debitAmount": "3125.13",
     "creditAmount": None, "referenceNumber": 77, "branch": {"number": " 2 ", "name": "Bergen"},
     "customerSupplier": None, "vatCode": "3", "subAccountCd": " 100 "},
    {"lineNumber": 3, "accountNumber": " 1920 ", "description": "x" * 600, "debitAmount": 0,
     "debitAmountInCurrency": 0.0, "creditAmount": 100, "creditAmountInCurrency": 100.0,
     "referenceNumber": "R" * 150, "branch": 1, "customerSupplier": 10001, "vatCode": None,
     "subaccount": {"subaccountNumber": "200", "description": "Avdeling"}},
    {"lineNumber": 4, "accountNumber": "3000", "debitAmount": "", "creditAmount": 1148.2,
     "creditAmountInCurrency": 100, "branch": None, "vatCode": 3, "subaccount": None,
     "customerSupplier": " 10002 "},
    {"lineNumber": 5, "accountNumber": "3000", "debitAmount": 0.1 + 0.2,
     "debitAmountInCurrency": "0.3", "creditAmount": "12.5", "creditAmountInCurrency": 12.5,
     "description": "", "vatCode": {"id": None}, "branch": "", "referenceNumber": None},
]


def test_journal_line_values_of_every_shape():
    batch = mapping.journal_batch_row({
        "batchNumber": "0000042", "module": "ModuleGL", "status": "Posted",
        "financialPeriod": "202503", "journalTransactionLines": LINES}, now=NOW)

    values = mapping.journal_line_values(batch, LINES)

    key = ("GL", "0000042")
    assert values == [
        (*key, 1, "202503", "6300", "", "1", "Husleie", "12500.50", "0.00", "12500.50", "0.00",
         "", "1", "Inngående mva 25 %", ""),
        (*key, 2, "202503", "2710", "100", "2", "", "3125.13", "0.00", "3125.13", "0.00",
         "77", "3", "", ""),
        (*key, 3, "202503", "1920", "200", "1", "x" * 500, "0.00", "100.00", "0.00", "100.00",
         "R" * 100, "", "", "10001"),
        (*key, 4, "202503", "3000", "", "", "", "0.00", "1148.20", "0.00", "100.00",
         "", "3", "", "10002"),
        (*key, 5, "202503", "3000", "", "", "", "0.30", "12.50", "0.30", "12.50",
         "", "", "", ""),
    ]
    # the dict path (incremental syncs) holds the same values, and the fused path's row
    # hashes are the ones ``write_rows`` gives those dicts
    _, rows = mapping.journal_rows({**batch, "batchNumber": "0000042", "module": "ModuleGL",
                                    "financialPeriod": "202503",
                                    "journalTransactionLines": LINES}, now=NOW)
    assert [tuple(str(row[name]) if name in store.LINE_MONEY else row[name]
                  for name in store.LINE_COLUMNS) for row in rows] == values
    fused = store.journal_line_rows([(batch, values)])
    width = len(store.LINE_COLUMNS)
    assert [line[width] for line in fused] == [store.row_hash(JournalLine, row) for row in rows]
