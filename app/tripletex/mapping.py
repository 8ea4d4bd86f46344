"""Tripletex records -> store rows: the same column dicts ``app.sync.mapping`` makes from
Visma.net, one function per data set (``ROW_MAPPERS``), so the store, checks and read API treat
both systems alike.

Choices (Tripletex has no field for them, or the doc leaves them open):
- a voucher is one journal batch: module ``GL``, ``batch_number`` = its number as Tripletex
  shows it (``"12-2025"``), lines numbered by Tripletex's ``row`` then posting id;
- money: debit positive, so ``amount > 0`` is debit and ``amount < 0`` credit;
- ``/balanceSheet`` gives one net change per account and month, so a GL row's
  ``period_debit``/``period_credit`` hold that net change on its side (not gross turnover);
- account types are translated to Visma's words (Asset, Liability, Income, Expense), which the
  engine's year-end rules read;
- an accounting period's ``end`` is taken as exclusive, like every ``dateTo``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from .client import ClientCompany
from .errors import MalformedResponse
from .streams import amount, dig

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MODULE = "GL"
POSTED = "Posted"
INCOME_TYPES = frozenset({"OPERATING_REVENUES", "INVESTMENT_INCOME", "EXTRAORDINARY_INCOME"})
LIABILITY_TYPES = frozenset({"EQUITY", "LIABILITIES"})


def money(value: Any) -> Decimal:
    return amount(value).quantize(CENT)


def text(value: Any, limit: int) -> str:
    return ("" if value is None else str(value)).strip()[:limit]


def day(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(str(value)[:10]) if value else None


def period_of(value: dt.date) -> str:
    return f"{value.year}{value.month:02d}"


def changed_at(record: Mapping[str, Any]) -> dt.datetime | None:
    """The latest ``changes[].timestamp`` (present when read with ``fields=*,changes``), UTC."""
    stamps = [c.get("timestamp") for c in record.get("changes") or () if isinstance(c, dict)]
    parsed = [dt.datetime.fromisoformat(str(s).replace("Z", "+00:00")) for s in stamps if s]
    if not parsed:
        return None
    latest = max(p if p.tzinfo else p.replace(tzinfo=dt.UTC) for p in parsed)
    return latest.astimezone(dt.UTC)


def _required(record: Mapping[str, Any], key: str, what: str) -> Any:
    value = dig(record, key)
    if value in (None, ""):
        raise MalformedResponse(f"{what} uten {key}: {str(record)[:200]}")
    return value


def _required_day(record: Mapping[str, Any], key: str, what: str) -> dt.date:
    value = _required(record, key, what)
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise MalformedResponse(f"{what}: {key} {value!r} er ikke en dato") from None


def account_type(tripletex_type: str | None) -> str | None:
    """Tripletex's account type in the store's (Visma's) words."""
    if not tripletex_type:
        return None
    if tripletex_type == "ASSETS":
        return "Asset"
    if tripletex_type in LIABILITY_TYPES:
        return "Liability"
    if tripletex_type in INCOME_TYPES:
        return "Income"
    return "Expense"


def account_row(r: dict) -> dict:
    return {
        "account_number": text(_required(r, "number", "Konto"), 30),
        "account_id": r.get("id"),
        "description": text(r.get("name"), 300),
        "type": account_type(r.get("type")),
        "active": not r.get("isInactive", False),
        "source_modified_at": changed_at(r),
    }


def period_end(end: Any) -> dt.date | None:
    """The last day of an accounting period from Tripletex's (exclusive) ``end``."""
    value = day(end)
    return value - dt.timedelta(days=1) if value else None


def period_row(r: dict) -> dict:
    start = _required_day(r, "start", "Periode")
    return {
        "period": period_of(start),
        "year": start.year,
        "start_date": start,
        "end_date": period_end(r.get("end")),
        "description": text(r.get("name"), 100),
        "active": True,
        "closed_in_gl": bool(r.get("isClosed", False)),
        "source_modified_at": changed_at(r),
    }


def gl_balance_row(r: dict) -> dict:
    """One ``/balanceSheet`` row of a one-month window (``startDate`` names the period)."""
    start = _required_day(r, "startDate", "Saldo")
    change = money(r.get("balanceChange"))
    return {
        "period": period_of(start),
        "account_number": text(_required(r, "account.number", "Saldo"), 30),
        "subaccount": "",
        "branch_number": "",
        "ledger_id": "",
        "balance_type": "",
        "account_description": text(dig(r, "account.name"), 300),
        "account_type": account_type(dig(r, "account.type")),
        "branch_name": "",
        "ledger_description": "",
        "currency": None,
        "beginning_balance": money(r.get("balanceIn")),
        "period_debit": change if change > 0 else ZERO,
        "period_credit": -change if change < 0 else ZERO,
        "ytd_balance": money(r.get("balanceOut")),
        "source_modified_at": None,
    }


def voucher_number(r: Mapping[str, Any]) -> str:
    """A voucher's key: ``numberAsString`` ("12-2025"); an unnumbered one by its id."""
    shown = text(r.get("numberAsString"), 30)
    if shown:
        return shown
    if r.get("number") and r.get("year"):
        return f"{r['number']}-{r['year']}"
    return f"id{_required(r, 'id', 'Bilag')}"


def _party_on(posting: Mapping[str, Any]) -> str:
    for kind in ("customer", "supplier"):
        party = posting.get(kind)
        if isinstance(party, dict) and party:
            return party_number(party, kind)
    return ""


def journal_rows(r: dict) -> tuple[dict, list[dict]]:
    """A voucher with expanded postings -> (batch row, line rows)."""
    number = voucher_number(r)
    date = _required_day(r, "date", "Bilag")
    modified = changed_at(r)
    postings = sorted((p for p in r.get("postings") or () if isinstance(p, dict)),
                      key=lambda p: (p.get("row") or 0, p.get("id") or 0))
    lines, debit_total, credit_total = [], ZERO, ZERO
    for index, posting in enumerate(postings, start=1):
        value = money(posting.get("amount"))
        debit, credit = (value, ZERO) if value > 0 else (ZERO, -value)
        debit_total += debit
        credit_total += credit
        line_date = day(posting.get("date")) or date
        lines.append({
            "module": MODULE,
            "batch_number": number,
            "line_number": index,
            "period": period_of(line_date),
            "account_number": text(_required(posting, "account.number", f"Bilag {number}"), 30),
            "subaccount": "",
            "branch_number": "",
            "description": text(posting.get("description"), 500),
            "debit": debit,
            "credit": credit,
            "debit_in_currency": debit,
            "credit_in_currency": credit,
            "reference_number": text(posting.get("invoiceNumber"), 100),
            "vat_code": text(dig(posting, "vatType.number"), 30),
            "vat_description": "",
            "customer_supplier": _party_on(posting),
            "source_modified_at": modified,
            "deleted_at": None,
        })
    batch = {
        "module": MODULE,
        "batch_number": number,
        "status": POSTED,
        "transaction_date": date,
        "period": period_of(date),
        "description": text(r.get("description"), 500),
        "currency": None,
        "debit_total": debit_total,
        "credit_total": credit_total,
        "line_count": len(lines),
        "source_modified_at": modified,
        "deleted_at": None,
    }
    return batch, lines


def party_number(party: Mapping[str, Any], kind: str) -> str:
    """A customer's or supplier's key: the number the user sees, or its id when it has none."""
    number = party.get(f"{kind}Number")
    if number not in (None, "", 0):
        return text(number, 30)
    return f"id{_required(party, 'id', 'Kunde/leverandør')}"


def party_row(r: dict, kind: str) -> dict:
    """A customer (``kind="customer"``) or supplier."""
    return {
        "number": party_number(r, kind),
        "internal_id": r.get("id"),
        "name": text(r.get("name"), 300),
        "status": "Inactive" if r.get("isInactive") else "Active",
        "corporate_id": text(r.get("organizationNumber"), 30),
        "vat_registration_id": "",
        "source_modified_at": changed_at(r),
    }


def party_balance_row(r: dict, kind: str) -> dict:
    """A record of ``PartyBalancesStream`` (kind ``customer`` or ``supplier``)."""
    party = r.get(kind) or {}
    return {
        "party_number": party_number(party, kind),
        "branch_number": "",
        "party_internal_id": party.get("id"),
        "party_name": text(party.get("name"), 300),
        "from_period": r.get("fromPeriod"),
        "to_period": r.get("toPeriod"),
        "begin_balance": money(r.get("beginBalance")),
        "ytd_balance": money(r.get("yearToDateBalance")),
    }


def organization_values(company: ClientCompany) -> dict:
    return {
        "name": text(company.name, 300),
        "corporate_id": company.organization_number or None,
        "vat_registration_id": None,
        "base_currency": company.currency,
        "default_country": "NO",
        "source_modified_at": None,
    }


def periods_with_moved_balances(stored: Iterable[Mapping[str, Any]],
                                fresh: Iterable[Mapping[str, Any]]) -> set[str]:
    """Periods where a fresh ``/balanceSheet`` read moved against the stored GL rows: the
    months whose vouchers must be re-read whole to notice deleted (or back-dated) vouchers,
    which no list reveals otherwise. Compares each account's change within the period, not
    its opening balance, so a change in March does not make April-December look moved."""

    def changes(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Decimal]:
        out: dict[tuple[str, str], Decimal] = {}
        for row in rows:
            key = (row["period"], row["account_number"])
            out[key] = out.get(key, ZERO) + row["period_debit"] - row["period_credit"]
        return {key: value for key, value in out.items() if value}

    old, new = changes(stored), changes(fresh)
    return {period for period, account in old.keys() | new.keys()
            if old.get((period, account), ZERO) != new.get((period, account), ZERO)}


def conform(row: dict, columns: Iterable[str], key_columns: Iterable[str] = ()) -> dict:
    """``row`` fitted to the store's current columns: unknown ones dropped, missing key columns
    (e.g. a GL key gaining ``subaccount``) set to ``""``, the "no such dimension" value."""
    known = set(columns)
    fitted = {name: value for name, value in row.items() if name in known}
    for name in key_columns:
        fitted.setdefault(name, "")
    return fitted


ROW_MAPPERS: dict[str, Callable[[dict], Any]] = {
    "accounts": account_row,
    "periods": period_row,
    "gl_balances": gl_balance_row,
    "journal": journal_rows,
    "customers": lambda r: party_row(r, "customer"),
    "suppliers": lambda r: party_row(r, "supplier"),
    "customer_balances": lambda r: party_balance_row(r, "customer"),
    "supplier_balances": lambda r: party_balance_row(r, "supplier"),
}
"""Store data set -> mapper of one record of its stream (see ``datasets.DATASETS``)."""
