"""Visma.net records -> store rows (column dicts for ``app.accounting.store.write_rows``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from app.visma.errors import MalformedResponse
from app.visma.streams import parse_datetime

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
VOIDED = "Voided"
# Batch statuses that have not (or no longer) hit the general ledger.
NOT_POSTED = frozenset({VOIDED, "Hold", "Balanced", "Unposted", "Scheduled"})


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
    return ("" if value is None else str(value)).strip()[:limit]


def _required(record: dict, key: str, what: str) -> str:
    value = record.get(key)
    if value in (None, ""):
        raise MalformedResponse(f"{what} uten {key}: {str(record)[:200]}")
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
    return {
        "period": _required(r, "financialPeriod", "Saldo"),
        "account_number": _required(account, "number", "Saldo-konto"),
        "branch_number": text(branch.get("number"), 30),
        "ledger_id": text(ledger.get("id"), 30),
        "account_description": text(account.get("description"), 300),
        "account_type": account.get("type"),
        "branch_name": text(branch.get("name"), 200),
        "ledger_description": text(ledger.get("description"), 200),
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
    return {
        "module": text(r.get("module"), 10),
        "batch_number": _required(r, "batchNumber", "Bilag"),
        "status": text(r.get("status"), 20),
        "transaction_date": day(r.get("transactionDate")),
        "period": _required(r, "financialPeriod", "Bilag"),
        "description": text(r.get("description"), 500),
        "currency": r.get("currencyId"),
        "debit_total": money(r.get("debitTotal")),
        "credit_total": money(r.get("creditTotal")),
        "line_count": len(raw_lines),
        "source_modified_at": timestamp(r.get("lastModifiedDateTime")),
        "deleted_at": now if r.get("status") == VOIDED else None,
    }


def journal_rows(r: dict, *, now: datetime) -> tuple[dict, list[dict]]:
    """A whole batch -> (batch row, line rows); a voided batch and its lines are tombstones."""
    batch = journal_batch_row(r, now=now)
    module, batch_number, period = batch["module"], batch["batch_number"], batch["period"]
    modified, deleted_at = batch["source_modified_at"], batch["deleted_at"]
    lines = []
    quantize = Decimal.quantize
    for line in r.get("journalTransactionLines") or []:  # the in-place path: dicts
        number = line.get("lineNumber")
        if number is None:
            raise MalformedResponse(f"Bilag {batch_number}: en linje mangler lineNumber")
        debit, credit = line.get("debitAmount"), line.get("creditAmount")
        lines.append({
            "module": module,
            "batch_number": batch_number,
            "line_number": int(number),
            "period": period,
            "account_number": str(line.get("accountNumber") or "").strip()[:30],
            "description": str(line.get("description") or "").strip()[:500],
            "debit": quantize(Decimal(str(debit)), CENT) if debit else ZERO,
            "credit": quantize(Decimal(str(credit)), CENT) if credit else ZERO,
            "reference_number": str(line.get("referenceNumber") or "").strip()[:100],
            "vat_code": str(line.get("vatCode") or "").strip()[:30],
            "customer_supplier": str(line.get("customerSupplier") or "").strip()[:30],
            "source_modified_at": modified,
            "deleted_at": deleted_at,
        })
    return batch, lines


def money_text(value: Any) -> str:
    """An amount as exact two-decimal text, equal to ``str(money(value))``: the fast path for
    JSON numbers with at most two decimals (what Visma sends), ``money`` for anything else."""
    if not value:
        return "0.00"
    if type(value) is float and -1e13 < value < 1e13 and round(value, 2) == value:
        return f"{value:.2f}"  # exact: its shortest repr has at most two decimals
    if type(value) is int:
        return f"{value}.00"
    return str(money(value))


def journal_line_values(batch: dict, raw_lines: list) -> list[tuple]:
    """The fused path of a full sync: a batch's lines straight to value tuples in
    ``JournalLine`` column order (module, batch_number, line_number, period, account_number,
    description, debit, credit, reference_number, vat_code, customer_supplier), money as
    two-decimal text — no dict, no Decimal per line. Same values as ``journal_rows``."""
    module, batch_number, period = batch["module"], batch["batch_number"], batch["period"]
    out = []
    append = out.append
    for line in raw_lines:
        get = line.get
        number = get("lineNumber")
        if number is None:
            raise MalformedResponse(f"Bilag {batch_number}: en linje mangler lineNumber")
        account, description = get("accountNumber"), get("description")
        reference, vat, party = get("referenceNumber"), get("vatCode"), get("customerSupplier")
        append((
            module, batch_number, int(number), period,
            (account if type(account) is str else str(account or "")).strip()[:30],
            (description if type(description) is str else str(description or "")).strip()[:500],
            money_text(get("debitAmount")), money_text(get("creditAmount")),
            (reference if type(reference) is str else str(reference or "")).strip()[:100],
            (vat if type(vat) is str else str(vat or "")).strip()[:30],
            (party if type(party) is str else str(party or "")).strip()[:30],
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


def party_balance_row(r: dict, kind: str) -> dict:
    party = r.get(kind)
    if not isinstance(party, dict):
        party = {"number": party}
    return {
        "party_number": _required(party, "number", "Saldo"),
        "party_internal_id": party.get("internalId"),
        "party_name": text(party.get("name"), 300),
        "from_period": r.get("fromFinPeriod"),
        "to_period": r.get("toFinPeriod"),
        "begin_balance": money(r.get("beginBalance")),
        "ytd_balance": money(r.get("yearToDateBalance")),
    }


def organization_values(r: dict) -> dict:
    return {
        "name": text(r.get("name"), 300),
        "corporate_id": r.get("corporateId"),
        "vat_registration_id": r.get("vatRegistrationId"),
        "base_currency": r.get("baseCurrency"),
        "default_country": r.get("defaultCountry"),
        "source_modified_at": timestamp(r.get("lastModifiedDateTime")),
    }
