"""Objects as Tripletex serializes them, and the ``fields`` selector.

Every object is built fully expanded; ``select`` then cuts it to what ``fields`` asks for:
top-level fields with ``*``, nested objects as ``{id, url}`` unless named with ``(…)``.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

from .books import Books, Party, Posting, Voucher

Spec = dict[str, "Spec | None"]


def kr(ore: int) -> int | float:
    """Øre as a JSON number: whole kroner as an integer (``100``, ``-100``), else two decimals."""
    return ore // 100 if ore % 100 == 0 else round(ore / 100, 2)


def parse_fields(text: str | None) -> Spec:
    """``*,account(id,number),voucher(id)`` -> ``{"*": None, "account": {...}, ...}``."""
    spec: Spec = {}
    text = (text or "").replace(" ", "")
    if not text:
        return {"*": None}
    i, name, depth, start = 0, "", 0, 0
    while i <= len(text):
        char = text[i] if i < len(text) else ","
        if depth == 0 and char == ",":
            if name:
                spec[name] = None
            name = ""
        elif char == "(":
            if depth == 0:
                start = i + 1
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                spec[name] = parse_fields(text[start:i])
                name = ""
                i += 1  # the comma after it, if any
        elif depth == 0:
            name += char
        i += 1
    return spec


def select(obj: Any, spec: Spec | None, base: str) -> Any:
    """``obj`` cut to ``spec``; a nested object without a sub-spec becomes ``{id, url}``."""
    if isinstance(obj, list):
        return [select(item, spec, base) for item in obj]
    if not isinstance(obj, dict):
        return obj
    if spec is None:
        return {"id": obj["id"], "url": f"{base}{obj['_path']}/{obj['id']}"} if "id" in obj \
            else {k: v for k, v in obj.items() if not k.startswith("_")}
    out = {}
    every = "*" in spec
    for key, value in obj.items():
        if key.startswith("_") or (not every and key not in spec):
            continue
        nested = isinstance(value, dict) or (isinstance(value, list) and value
                                            and isinstance(value[0], dict))
        out[key] = select(value, spec.get(key), base) if nested else value
    return out


def account(books: Books, account_id: int) -> dict:
    return {"_path": "/ledger/account", **books.accounts[account_id],
            "vatType": None, "balanceGroup": None}


def currency(books: Books, code: str) -> dict:
    return {"_path": "/currency", "id": books.currency_ids[code], "version": 0, "code": code}


def department(books: Books, department_id: int | None) -> dict | None:
    if department_id is None:
        return None
    d = books.departments[department_id]
    return {"_path": "/department", "id": department_id, "version": 0, **d}


def vat_type(books: Books, vat_id: int | None) -> dict | None:
    if vat_id is None:
        return None
    number, name = books.vat_types[vat_id]
    return {"_path": "/ledger/vatType", "id": vat_id, "version": 0, "number": number,
            "name": name}


def party(p: Party | None, kind: str) -> dict | None:
    if p is None:
        return None
    return {"_path": f"/{kind}", "id": p.id, "version": p.version, "name": p.name,
            "displayName": p.name, f"{kind}Number": p.number,
            "organizationNumber": p.organization_number, "isInactive": p.is_inactive,
            "ledgerAccount": None, "email": "",
            "changes": [{"employeeId": 1, "timestamp": stamp(when), "changeType": kind_}
                        for when, kind_ in p.changes]}


def stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def posting(books: Books, p: Posting, voucher: Voucher) -> dict:
    amount_currency = p.amount if p.amount_currency is None else p.amount_currency
    return {
        "_path": "/ledger/posting", "id": p.id, "version": 0,
        "voucher": {"_path": "/ledger/voucher", "id": voucher.id},
        "date": p.date.isoformat(), "description": p.description,
        "account": account(books, p.account),
        "customer": party(books.customers.get(p.customer), "customer") if p.customer else None,
        "supplier": party(books.suppliers.get(p.supplier), "supplier") if p.supplier else None,
        "employee": None, "project": None, "product": None,
        "department": department(books, p.department),
        "vatType": vat_type(books, p.vat_type),
        "amount": kr(p.amount), "amountCurrency": kr(amount_currency),
        "amountGross": kr(p.amount), "amountGrossCurrency": kr(amount_currency),
        "currency": currency(books, p.currency),
        "closeGroup": None, "invoiceNumber": "", "row": p.row, "type": "INCOMING_PAYMENT"
        if p.amount > 0 and books.accounts[p.account]["number"] == 1920 else None,
        "systemGenerated": False,
    }


def voucher(books: Books, v: Voucher) -> dict:
    return {
        "_path": "/ledger/voucher", "id": v.id, "version": v.version,
        "date": v.date.isoformat(), "number": v.number, "tempNumber": 0, "year": v.year,
        "description": v.description,
        "voucherType": {"_path": "/ledger/voucherType", "id": zlib.crc32(v.voucher_type.encode()) % 10**6,
                        "name": v.voucher_type},
        "reverseVoucher": None,
        "postings": [posting(books, p, v) for p in v.postings],
        "numberAsString": f"{v.number}-{v.year}",
    }


def period(p: dict) -> dict:
    return {"_path": "/ledger/accountingPeriod", **p}


def balance_row(books: Books, row: dict, date_from: dt.date, date_to: dt.date) -> dict:
    return {"account": account(books, row["account"]), "balanceIn": kr(row["balanceIn"]),
            "balanceChange": kr(row["balanceChange"]), "balanceOut": kr(row["balanceOut"]),
            "startDate": date_from.isoformat(), "endDate": date_to.isoformat()}


def company(c, *, with_currency: bool = True) -> dict:
    return {"_path": "/company", "id": c.id, "version": 0, "name": c.name,
            "displayName": c.name, "organizationNumber": c.organization_number, "type": c.type,
            "startDate": "2019-01-01", "endDate": None, "email": "", "address": None,
            "currency": {"_path": "/currency", "id": 1, "code": c.currency}
            if with_currency else None,
            "accountantOrSimilar": False, "customerCompanyId": c.id + 1}
