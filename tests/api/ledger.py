"""Synthetic ledgers for the API tests and bench: a big journal bulk-inserted with Core
inserts (fast), and small data sets written through the store's own write path."""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import insert

from app.accounting.models import (
    Account,
    FinancialPeriod,
    GLBalance,
    JournalBatch,
    JournalLine,
    LedgerCustomer,
    LedgerCustomerBalance,
    LedgerSupplier,
    LedgerSupplierBalance,
)
from app.accounting.store import row_hash, write_rows
from app.db_types import utcnow
from app.extensions import db

ACCOUNTS = ["1500", "1920", "2400", "2700", "3000", "4000", "5000", "6300", "7700", "8050"]
LINES_PER_BATCH = 10


def line_values(batch: int, line: int, *, note: str = "") -> dict:
    """One journal line's source values; lines of a batch balance (debit on odd lines)."""
    month = batch % 12 + 1
    amount = Decimal(batch % 997 * 10 + line) + Decimal("0.25")
    return {
        "module": "GL",
        "batch_number": f"{batch:07d}",
        "line_number": line,
        "period": f"2024{month:02d}",
        "account_number": ACCOUNTS[(batch + line) % len(ACCOUNTS)],
        "subaccount": "",
        "branch_number": "1",
        "description": f"Bilag {batch} linje {line}{note}",
        "debit": amount if line % 2 else Decimal("0.00"),
        "credit": Decimal("0.00") if line % 2 else amount,
        "debit_in_currency": amount if line % 2 else Decimal("0.00"),
        "credit_in_currency": Decimal("0.00") if line % 2 else amount,
        "reference_number": f"R{batch}",
        "vat_code": "3" if line % 3 == 0 else "",
        "vat_description": "Utgående mva 25 %" if line % 3 == 0 else "",
        "customer_supplier": "",
    }


def bulk_journal(client_id: int, lines: int, *, generation: int = 0, chunk: int = 20_000) -> None:
    """`lines` journal lines (and their batches) in ONE generation, by Core executemany."""
    now = utcnow()
    batches = (lines + LINES_PER_BATCH - 1) // LINES_PER_BATCH
    batch_rows, line_rows = [], []

    def flush():
        if batch_rows:
            db.session.execute(insert(JournalBatch.__table__), batch_rows)
        if line_rows:
            db.session.execute(insert(JournalLine.__table__), line_rows)
        batch_rows.clear()
        line_rows.clear()

    made = 0
    for batch in range(batches):
        count = min(LINES_PER_BATCH, lines - made)
        header = {
            "module": "GL",
            "batch_number": f"{batch:07d}",
            "status": "Posted",
            "transaction_date": date(2024, batch % 12 + 1, 1) + timedelta(days=batch % 28),
            "period": f"2024{batch % 12 + 1:02d}",
            "description": f"Bilag {batch}",
            "currency": "NOK",
            "debit_total": Decimal("0.00"),
            "credit_total": Decimal("0.00"),
            "line_count": count,
        }
        batch_rows.append(_bookkeeping(JournalBatch, header, client_id, generation, now))
        for line in range(1, count + 1):
            values = line_values(batch, line)
            line_rows.append(_bookkeeping(JournalLine, values, client_id, generation, now))
        made += count
        if len(line_rows) >= chunk:
            flush()
    flush()
    db.session.commit()


def _bookkeeping(model, values: dict, client_id: int, generation: int, now) -> dict:
    row = dict(
        values,
        client_id=client_id,
        generation=generation,
        changed_at=now,
        deleted_at=None,
        source_modified_at=None,
    )
    row["row_hash"] = row_hash(model, row)
    return row


def small_ledger(client_id: int, *, generation: int = 0) -> None:
    """A few rows in every data set, through the store's write path (commits)."""
    now = utcnow()
    write_rows(
        Account,
        client_id,
        generation,
        [
            {
                "account_number": number,
                "account_id": i + 1,
                "description": f"Konto {number}",
                "type": "Asset" if number < "3000" else "Income",
                "active": number != "8050",
            }
            for i, number in enumerate(ACCOUNTS)
        ],
        now=now,
    )
    write_rows(
        FinancialPeriod,
        client_id,
        generation,
        [
            {
                "period": f"2024{m:02d}",
                "year": 2024,
                "start_date": date(2024, m, 1),
                "end_date": date(2024, m, 28),
                "description": f"Periode {m}",
                "active": True,
                "closed_in_gl": m < 6,
            }
            for m in range(1, 13)
        ],
        now=now,
    )
    write_rows(
        GLBalance,
        client_id,
        generation,
        [
            {
                "period": f"2024{m:02d}",
                "account_number": number,
                "subaccount": "",
                "branch_number": "1",
                "ledger_id": "L",
                "balance_type": "Actual",
                "account_description": f"Konto {number}",
                "account_type": "Asset",
                "branch_name": "Hoved",
                "ledger_description": "Actual",
                "currency": "NOK",
                "beginning_balance": Decimal("100.00"),
                "period_debit": Decimal(m),
                "period_credit": Decimal("0.50"),
                "ytd_balance": Decimal(100 + m),
            }
            for m in range(1, 13)
            for number in ACCOUNTS
        ],
        now=now,
    )
    for model, balance in (
        (LedgerCustomer, LedgerCustomerBalance),
        (LedgerSupplier, LedgerSupplierBalance),
    ):
        write_rows(
            model,
            client_id,
            generation,
            [
                {
                    "number": f"{n:05d}",
                    "internal_id": n,
                    "name": f"Part {n}",
                    "status": "Active",
                    "corporate_id": "",
                    "vat_registration_id": "",
                }
                for n in range(1, 6)
            ],
            now=now,
        )
        write_rows(
            balance,
            client_id,
            generation,
            [
                {
                    "party_number": f"{n:05d}",
                    "branch_number": "1",
                    "party_internal_id": n,
                    "party_name": f"Part {n}",
                    "from_period": "202401",
                    "to_period": "202412",
                    "begin_balance": Decimal("0.00"),
                    "ytd_balance": Decimal(n * 100),
                }
                for n in range(1, 6)
            ],
            now=now,
        )
    batches = 3
    write_rows(
        JournalBatch,
        client_id,
        generation,
        [
            {
                "module": "GL",
                "batch_number": f"{b:07d}",
                "status": "Posted",
                "transaction_date": date(2024, b + 1, 15),
                "period": f"2024{b + 1:02d}",
                "description": f"Bilag {b}",
                "currency": "NOK",
                "debit_total": Decimal("0.00"),
                "credit_total": Decimal("0.00"),
                "line_count": 4,
            }
            for b in range(batches)
        ],
        now=now,
    )
    write_rows(
        JournalLine,
        client_id,
        generation,
        [line_values(b, n) for b in range(batches) for n in range(1, 5)],
        now=now,
    )
    db.session.commit()


def bulk_balances(
    client_id: int, *, accounts: int = 500, periods: int = 12, branches: int = 2
) -> list[str]:
    """GL balances for accounts × periods × branches (Core insert); returns the account numbers."""
    now = utcnow()
    numbers = [f"{1000 + i * 10}" for i in range(accounts)]
    rows = [
        _bookkeeping(
            GLBalance,
            {
                "period": f"2024{m:02d}",
                "account_number": number,
                "branch_number": str(branch),
                "ledger_id": "L",
                "account_description": f"Konto {number}",
                "account_type": "Asset",
                "branch_name": f"Avd {branch}",
                "ledger_description": "Actual",
                "currency": "NOK",
                "beginning_balance": Decimal("100.00"),
                "period_debit": Decimal(m),
                "period_credit": Decimal("0.50"),
                "ytd_balance": Decimal(100 + m),
            },
            client_id,
            0,
            now,
        )
        for m in range(1, periods + 1)
        for number in numbers
        for branch in range(1, branches + 1)
    ]
    db.session.execute(insert(GLBalance.__table__), rows)
    db.session.commit()
    return numbers
