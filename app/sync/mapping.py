"""Visma.net records -> store rows (column dicts for ``app.accounting.store.write_rows``).

Tolerant of what Visma's published schemas allow: unknown fields are ignored, optional fields
may be absent, codes may come as objects (``vatCode: {id, description}``, ``subaccount:
{subaccountNumber, …}``) or, in older answers, as plain values. A record that lacks a field
our keys or the books need (an account number, a batch number…) raises ``RejectedRecord``: the
engine leaves that record out, goes on with the rest and reports it on the run.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from app.accounting.store import LINE_COLUMNS, LINE_MONEY
from app.visma.streams import parse_datetime

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
VOIDED = "Voided"
# Batch statuses that have not (or no longer) hit the general ledger.
NOT_POSTED = frozenset({VOIDED, "Hold", "Balanced", "Unposted", "Scheduled"})


class RejectedRecord(ValueError):
    """One source record that cannot be stored; ``str()`` is a Norwegian reason naming it."""


def module_code(value: Any) -> str:
    """``ModuleGL`` (answers) and ``GL`` (the filter parameter, older answers) -> ``GL``."""
    return text(value, 20).removeprefix("Module")[:10]


def code(value: Any) -> str:
    """A code that newer answers nest as ``{id, description}``: the id."""
    if isinstance(value, dict):
        value = value.get("id")
    return text(value, 30)


def description(value: Any, limit: int = 200) -> str:
    return text(value.get("description"), limit) if isinstance(value, dict) else ""


def subaccount_code(record: dict) -> str:
    """The subaccount of a GL balance row or a journal line: the newer ``subaccount`` object
    (``subaccountNumber``) or the older ``subAccountCd``; "" when the company has none."""
    sub = record.get("subaccount")
    if isinstance(sub, dict):
        sub = sub.get("subaccountNumber") or sub.get("subaccountCd") or sub.get("id")
    return text(sub or record.get("subAccountCd"), 30)


def branch_code(value: Any) -> str:
    """A branch as ``{number, name}`` or as its number."""
    return text(value.get("number") if isinstance(value, dict) else value, 30)


def money(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal("0.00")
    return Decimal(str(value)).quantize(CENT)


def timestamp(value: Any) -> datetime | None:
    parsed = parse_datetime(value) if value else None
    return parsed.replace(tzinfo=UTC) if parsed else None


def day(value: Any) -> date | None:
    if not value:
        return None
    return date.fromisoformat(str(value)[:10])


def text(value: Any, limit: int) -> str:
    if type(value) is str:
        return value.strip()[:limit]
    return ("" if value is None else str(value)).strip()[:limit]


def _required(record: dict, key: str, what: str) -> str:
    value = record.get(key)
    if value in (None, "") or isinstance(value, dict | list):
        raise RejectedRecord(f"{what} mangler {key}")
    return str(value).strip()


def account_row(r: dict) -> dict:
    return {
        "account_number": _required(r, "accountCD", "Konto"),
        "account_id": r.get("accountID"),
        "description": text(r.get("description"), 300),
        "type": r.get("type"),
        "active": bool(r.get("active", True)),
        "source_modified_at": timestamp(r.get("lastModifiedDateTime")),
    }


def period_row(r: dict) -> dict:
    period = _required(r, "period", "Periode")
    return {
        "period": period,
        "year": int(r.get("year") or period[:4]),
        "start_date": day(r.get("startDate")),
        "end_date": day(r.get("endDate")),
        "description": text(r.get("description"), 100),
        "active": bool(r.get("active", True)),
        "closed_in_gl": bool(r.get("closedInGeneralLedger", False)),
        "source_modified_at": timestamp(r.get("lastModifiedDateTime")),
    }


def gl_balance_row(r: dict) -> dict:
    account = r.get("account") or {}
    branch = r.get("branch") or {}
    ledger = r.get("ledger") or {}
    period = _required(r, "financialPeriod", "En saldo")
    return {
        "period": period,
        "account_number": _required(account, "number", f"En saldo i {period}"),
        "subaccount": subaccount_code(r),
        "branch_number": text(branch.get("number"), 30),
        "ledger_id": text(ledger.get("id"), 30),
        "account_description": text(account.get("description"), 300),
        "account_type": account.get("type"),
        "branch_name": text(branch.get("name"), 200),
        "ledger_description": text(ledger.get("description"), 200),
        "balance_type": text(r.get("balanceType"), 20),
        "currency": r.get("currencyId"),
        "beginning_balance": money(r.get("beginningBalance")),
        "period_debit": money(r.get("periodToDateDebit")),
        "period_credit": money(r.get("periodToDateCredit")),
        "ytd_balance": money(r.get("yearToDateBalance")),
        "source_modified_at": timestamp(r.get("lastModifiedDateTime")),
    }


def journal_batch_row(r: dict, *, now: datetime | None) -> dict:
    """A batch's header row (``line_count`` from its lines); voided: a tombstone as of ``now``."""
    raw_lines = r.get("journalTransactionLines") or []
    batch_number = _required(r, "batchNumber", "Et bilag")
    return {
        "module": module_code(r.get("module")),
        "batch_number": batch_number,
        "status": text(r.get("status"), 20),
        "transaction_date": day(r.get("transactionDate")),
        "period": _required(r, "financialPeriod", f"Bilag {batch_number}"),
        "description": text(r.get("description"), 500),
        "currency": r.get("currencyId"),
        "debit_total": money(r.get("debitTotal")),
        "credit_total": money(r.get("creditTotal")),
        "line_count": len(raw_lines),
        "source_modified_at": timestamp(r.get("lastModifiedDateTime")),
        "deleted_at": now if r.get("status") == VOIDED else None,
    }


def journal_rows(r: dict, *, now: datetime | None) -> tuple[dict, list[dict]]:
    """A whole batch -> (batch row, line rows); a voided batch and its lines are tombstones.
    A line without lineNumber or accountNumber rejects the whole batch (``RejectedRecord``):
    stored without it, the batch would not balance."""
    batch = journal_batch_row(r, now=now)
    names = LINE_COLUMNS
    extra = {"source_modified_at": batch["source_modified_at"], "deleted_at": batch["deleted_at"]}
    lines = []
    for values in journal_line_values(batch, r.get("journalTransactionLines") or []):
        row = dict(zip(names, values, strict=True))
        for name in LINE_MONEY:
            row[name] = Decimal(row[name])
        lines.append({**row, **extra})
    return batch, lines


def money_text(value: Any) -> str:
    """An amount as exact two-decimal text, equal to ``str(money(value))``: the fast path for
    JSON numbers with at most two decimals (what Visma sends), ``money`` for anything else."""
    if not value:
        return "0.00"
    if type(value) is float and -1e13 < value < 1e13:
        # A shortest repr with one or two decimals is the amount in øre: below 1e13 it lies
        # within 0.001 of the float, so ``f"{value:.2f}"`` would give the same text (slower).
        shortest = repr(value)
        if shortest[-2] == ".":
            return shortest + "0"
        if shortest[-3] == ".":
            return shortest
    elif type(value) is int:
        return f"{value}.00"
    return str(money(value))


def journal_line_values(batch: dict, raw_lines: list) -> list[tuple]:
    """A batch's lines as value tuples in ``store.LINE_COLUMNS`` order, money as two-decimal
    text: the full sync's fused path writes them as they are (no dict, no Decimal per line).
    Amounts in currency default to the amounts when the answer has none.

    The hot loop of a full sync: ``text``, ``code``, ``branch_code`` and ``money_text`` are
    inlined for the types Visma sends (str, float, None, a code object) and called for
    anything else, so the values are theirs."""
    module, batch_number, period = batch["module"], batch["batch_number"], batch["period"]
    out = []
    append = out.append
    for line in raw_lines:
        get = line.get
        number, account = get("lineNumber"), get("accountNumber")
        if number is None or account in (None, ""):
            missing = "linjenummer" if number is None else "kontonummer"
            raise RejectedRecord(
                f"Bilag {module} {batch_number} ({period}): linje {number or '?'} mangler "
                f"{missing}; bilaget er ikke lagret"
            )
        amount, amount_cur = get("debitAmount"), get("debitAmountInCurrency")
        debit = "0.00" if not amount else money_text(amount)
        # in the company's own currency the amounts in currency are the amounts: equal values
        # of one type give equal text, so those are not formatted twice
        debit_cur = (debit if amount_cur is None
                     or amount_cur == amount and type(amount_cur) is type(amount)
                     else money_text(amount_cur))
        amount, amount_cur = get("creditAmount"), get("creditAmountInCurrency")
        credit = "0.00" if not amount else money_text(amount)
        credit_cur = (credit if amount_cur is None
                      or amount_cur == amount and type(amount_cur) is type(amount)
                      else money_text(amount_cur))
        branch, memo, reference = get("branch"), get("description"), get("referenceNumber")
        party, vat = get("customerSupplier"), get("vatCode")
        if vat is None:
            vat_code = vat_description = ""
        elif isinstance(vat, dict):
            vat_code, vat_description = text(vat.get("id"), 30), text(vat.get("description"), 200)
        else:
            vat_code, vat_description = text(vat, 30), ""
        append((
            module, batch_number, number if type(number) is int else int(number), period,
            (account if type(account) is str else str(account)).strip()[:30],
            subaccount_code(line) if "subaccount" in line or "subAccountCd" in line else "",
            branch.strip()[:30] if type(branch) is str else branch_code(branch),
            memo.strip()[:500] if type(memo) is str else text(memo, 500),
            debit, credit, debit_cur, credit_cur,
            reference.strip()[:100] if type(reference) is str else text(reference, 100),
            vat_code, vat_description,
            party.strip()[:30] if type(party) is str else text(party, 30),
        ))
    return out


def party_row(r: dict) -> dict:
    return {
        "number": _required(r, "number", "Kunde/leverandør"),
        "internal_id": r.get("internalId"),
        "name": text(r.get("name"), 300),
        "status": text(r.get("status"), 20),
        "corporate_id": text(r.get("corporateId"), 30),
        "vat_registration_id": text(r.get("vatRegistrationId"), 40),
        "source_modified_at": timestamp(r.get("lastModifiedDateTime")),
    }


def party_balance_row(r: dict, kind: str, *, from_period: str | None = None,
                      to_period: str | None = None) -> dict:
    """A customer's (``branchNumber`` object) or supplier's (``branch`` text) balance in one
    branch; the period range is the one asked for (the answer does not echo it)."""
    party = r.get(kind)
    if not isinstance(party, dict):
        party = {"number": party}
    return {
        "party_number": _required(party, "number", "En saldo"),
        "branch_number": branch_code(r.get("branchNumber", r.get("branch"))),
        "party_internal_id": party.get("internalId"),
        "party_name": text(party.get("name"), 300),
        "from_period": from_period or r.get("fromFinPeriod"),
        "to_period": to_period or r.get("toFinPeriod"),
        "begin_balance": money(r.get("beginBalance")),
        "ytd_balance": money(r.get("yearToDateBalance")),
    }


def organization_values(r: dict) -> dict:
    return {
        "name": text(r.get("name"), 300),
        "corporate_id": r.get("corporateId"),
        "vat_registration_id": r.get("vatRegistrationId"),
        "base_currency": r.get("baseCurrency"),
        "default_country": code(r.get("defaultCountry"))[:2] or None,
        "source_modified_at": timestamp(r.get("lastModifiedDateTime")),
    }
