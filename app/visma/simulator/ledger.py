"""One company's books: accounts, periods, journal batches, parties and the balances derived from them.

Money is held in integer øre so every sum is exact; the API shows kroner with two decimals.
Every change keeps the derived balances consistent and advances `lastModifiedDateTime` on
what it touched (including the GL balance rows whose values it changed).
"""

from __future__ import annotations

import base64
import calendar
import copy
import datetime as dt
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .chart import account_type

ACCOUNT_TYPES = ("Asset", "Liability", "Income", "Expense")
MONTHS = [calendar.month_name[m] for m in range(1, 13)]
AR_ACCOUNT = "1500"
AP_ACCOUNT = "2400"

_versions = itertools.count(1)


class SimError(Exception):
    """A request the simulated system refuses; status is the HTTP status the API answers with."""

    status = 400

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class NotFound(SimError):
    status = 404


class Conflict(SimError):
    status = 409


def fmt_ts(value: dt.datetime) -> str:
    """Visma's offset-less timestamp with milliseconds (UTC)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def fmt_date(value: dt.date) -> str:
    """A date as Visma shows it: midnight, no offset."""
    return value.strftime("%Y-%m-%dT00:00:00")


def money(ore: int) -> float:
    """Øre as a JSON number with at most two decimals (exact: the shortest repr of n/100)."""
    return ore / 100


def to_ore(value) -> int:
    """An amount in kroner (number or text) as integer øre; more than two decimals is an error."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise SimError(f"Invalid amount {value!r}.") from exc
    ore = amount * 100
    if ore != ore.to_integral_value():
        raise SimError(f"Amount {value!r} has more than two decimals.")
    return int(ore)


def timestamp_token(version: int) -> str:
    """A `timeStamp` like Visma's base64 row version."""
    return base64.b64encode(version.to_bytes(8, "big")).decode("ascii")


def next_version() -> int:
    """A fresh row version (global, strictly increasing)."""
    return next(_versions)


@dataclass(slots=True)
class Account:
    account_id: int
    number: str
    description: str
    type: str
    active: bool
    modified: dt.datetime
    version: int = field(default_factory=next_version)

    def as_json(self) -> dict:
        return {
            "accountID": self.account_id,
            "accountCD": self.number,
            "description": self.description,
            "type": self.type,
            "active": self.active,
            "lastModifiedDateTime": fmt_ts(self.modified),
            "timeStamp": timestamp_token(self.version),
        }


@dataclass(slots=True)
class Party:
    """A customer or a supplier."""

    internal_id: int
    number: str
    name: str
    status: str
    corporate_id: str
    created: dt.datetime
    modified: dt.datetime
    version: int = field(default_factory=next_version)

    def as_json(self) -> dict:
        return {
            "internalId": self.internal_id,
            "number": self.number,
            "name": self.name,
            "status": self.status,
            "corporateId": self.corporate_id,
            "vatRegistrationId": f"NO{self.corporate_id}MVA" if self.corporate_id else "",
            "createdDateTime": fmt_ts(self.created),
            "lastModifiedDateTime": fmt_ts(self.modified),
            "timeStamp": timestamp_token(self.version),
        }

    def ref(self) -> dict:
        return {"internalId": self.internal_id, "number": self.number, "name": self.name}


# A journal line: (lineNumber, accountNumber, description, debitØre, creditØre,
#                  referenceNumber, vatCode, customerSupplier)
Line = tuple[int, str, str, int, int, str, str, str]


@dataclass(slots=True)
class Batch:
    number: str
    module: str
    status: str
    date: dt.date
    period: str
    description: str
    lines: list[Line]
    debit: int
    credit: int
    modified: dt.datetime
    version: int = field(default_factory=next_version)

    def header_json(self) -> dict:
        return {
            "batchNumber": self.number,
            "module": self.module,
            "status": self.status,
            "transactionDate": fmt_date(self.date),
            "financialPeriod": self.period,
            "description": self.description,
            "currencyId": "NOK",
            "debitTotal": money(self.debit),
            "creditTotal": money(self.credit),
            "lastModifiedDateTime": fmt_ts(self.modified),
            "timeStamp": timestamp_token(self.version),
        }

    def as_json(self, lines: Iterable[Line] | None = None) -> dict:
        data = self.header_json()
        data["journalTransactionLines"] = [
            line_json(line) for line in (self.lines if lines is None else lines)]
        return data


def line_json(line: Line) -> dict:
    number, account, description, debit, credit, reference, vat_code, party = line
    return {
        "lineNumber": number,
        "accountNumber": account,
        "description": description,
        "debitAmount": money(debit),
        "creditAmount": money(credit),
        "referenceNumber": reference,
        "vatCode": vat_code,
        "customerSupplier": party,
    }


def period_ids(years: Iterable[int]) -> list[str]:
    return [f"{year}{month:02d}" for year in years for month in range(1, 13)]


def period_of(day: dt.date) -> str:
    return f"{day.year}{day.month:02d}"


class Ledger:
    """The accounting data of one company (tenant), generated once and then mutated in place."""

    def __init__(self, years: Iterable[int], clock: Callable[[], dt.datetime]):
        self.years = tuple(years)
        self.periods = period_ids(self.years)
        self.clock = clock
        self.accounts: dict[str, Account] = {}
        self.customers: dict[str, Party] = {}
        self.suppliers: dict[str, Party] = {}
        self.batches: dict[str, Batch] = {}
        self.by_period: dict[str, list[Batch]] = {p: [] for p in self.periods}
        # (account, period) -> [debit øre, credit øre], posted (non-voided) lines only
        self.movements: dict[tuple[str, str], list[int]] = {}
        self.balance_modified: dict[tuple[str, str], dt.datetime] = {}
        self.balance_version: dict[tuple[str, str], int] = {}
        self.account_lines: dict[str, int] = {}
        # (party number, period) -> net øre on the AR (debit-positive) / AP (credit-positive) account
        self.customer_movements: dict[tuple[str, str], int] = {}
        self.supplier_movements: dict[tuple[str, str], int] = {}
        self.periods_modified = dt.datetime(self.years[0] - 1, 12, 1, 8, 0, 0)
        self._batch_seq = 0
        self._next_account_id = 1
        self._next_party_id = 1
        self.change_count = 0
        self._gl_cache: tuple[int, list[dict]] | None = None

    # ---- building blocks (used by the generator and the mutations) ----

    def put_account(self, number: str, description: str, type_: str, active: bool,
                    modified: dt.datetime) -> Account:
        account = Account(self._next_account_id, number, description, type_, active, modified)
        self._next_account_id += 1
        self.accounts[number] = account
        return account

    def put_party(self, kind: str, number: str, name: str, status: str, corporate_id: str,
                  created: dt.datetime, modified: dt.datetime) -> Party:
        party = Party(self._next_party_id, number, name, status, corporate_id, created, modified)
        self._next_party_id += 1
        (self.customers if kind == "customer" else self.suppliers)[number] = party
        return party

    def next_batch_number(self) -> str:
        self._batch_seq += 1
        return f"{self._batch_seq:07d}"

    def post(self, batch: Batch) -> None:
        """Add a batch and its effect on the balances (no timestamp cascading: see finish())."""
        self.batches[batch.number] = batch
        self.by_period[batch.period].append(batch)
        if batch.status != "Voided":
            self._apply(batch, +1)

    def _apply(self, batch: Batch, sign: int) -> None:
        period = batch.period
        movements = self.movements
        counts = self.account_lines
        for line in batch.lines:
            account = line[1]
            key = (account, period)
            pair = movements.get(key)
            if pair is None:
                pair = movements[key] = [0, 0]
            pair[0] += sign * line[3]
            pair[1] += sign * line[4]
            counts[account] = counts.get(account, 0) + sign
            if line[7]:
                if account == AR_ACCOUNT:
                    pkey = (line[7], period)
                    self.customer_movements[pkey] = (
                        self.customer_movements.get(pkey, 0) + sign * (line[3] - line[4]))
                elif account == AP_ACCOUNT:
                    pkey = (line[7], period)
                    self.supplier_movements[pkey] = (
                        self.supplier_movements.get(pkey, 0) + sign * (line[4] - line[3]))

    def finish(self) -> None:
        """After generation: give every GL balance row the newest timestamp of what feeds it."""
        own: dict[tuple[str, str], dt.datetime] = {}
        for batch in self.batches.values():
            for line in batch.lines:
                key = (line[1], batch.period)
                if key not in own or own[key] < batch.modified:
                    own[key] = batch.modified
        for account in {a for a, _ in self.movements}:
            running = None
            year = None
            for period in self.periods:
                if self._resets(account) and period[:4] != year:
                    running = None
                year = period[:4]
                stamp = own.get((account, period))
                if stamp and (running is None or stamp > running):
                    running = stamp
                if running is not None:
                    self.balance_modified[(account, period)] = running
                    self.balance_version[(account, period)] = next_version()
        self._gl_cache = None

    def _resets(self, account: str) -> bool:
        """Income and expense accounts start every year at zero; balance-sheet accounts carry on."""
        acc = self.accounts.get(account)
        type_ = acc.type if acc else account_type(account)
        return type_ in ("Income", "Expense")

    def _touch_balances(self, accounts: Iterable[str], period: str, now: dt.datetime) -> None:
        """Advance lastModifiedDateTime of every GL balance row whose value a change in period moved."""
        for account in set(accounts):
            for other in self.periods:
                if other < period:
                    continue
                if other != period and self._resets(account) and other[:4] != period[:4]:
                    break
                self.balance_modified[(account, other)] = now
                self.balance_version[(account, other)] = next_version()

    def _changed(self) -> None:
        self.change_count += 1
        self._gl_cache = None

    # ---- queries ----

    def financial_periods(self) -> list[dict]:
        rows = []
        current_year = self.years[-1]
        for period in self.periods:
            year, month = int(period[:4]), int(period[4:])
            last = calendar.monthrange(year, month)[1]
            closed = year < current_year
            rows.append({
                "year": year,
                "period": period,
                "startDate": fmt_date(dt.date(year, month, 1)),
                "endDate": fmt_date(dt.date(year, month, last)),
                "description": MONTHS[month - 1],
                "active": True,
                "closedInGeneralLedger": closed,
                "closedInAccountsReceivable": closed,
                "closedInAccountsPayable": closed,
                "lastModifiedDateTime": fmt_ts(self.periods_modified),
            })
        return rows

    def gl_balances(self) -> list[dict]:
        """Every GL balance row (account x period with movement or a balance), period then account."""
        if self._gl_cache and self._gl_cache[0] == self.change_count:
            return self._gl_cache[1]
        rows = []
        accounts = sorted({a for a, _ in self.movements})
        for account in accounts:
            acc = self.accounts.get(account)
            resets = self._resets(account)
            balance = 0
            year = None
            for period in self.periods:
                if resets and period[:4] != year:
                    balance = 0
                year = period[:4]
                pair = self.movements.get((account, period))
                debit, credit = pair if pair else (0, 0)
                if pair is None and balance == 0:
                    continue
                begin = balance
                balance = begin + debit - credit
                key = (account, period)
                rows.append({
                    "financialPeriod": period,
                    "account": {
                        "number": account,
                        "description": acc.description if acc else "",
                        "type": acc.type if acc else account_type(account),
                    },
                    "branch": {"number": "1", "name": "Hovedkontor"},
                    "ledger": {"id": "ACTUAL", "description": "Actual ledger"},
                    "currencyId": "NOK",
                    "beginningBalance": money(begin),
                    "periodToDateDebit": money(debit),
                    "periodToDateCredit": money(credit),
                    "yearToDateBalance": money(balance),
                    "lastModifiedDateTime": fmt_ts(
                        self.balance_modified.get(key, self.periods_modified)),
                    "timeStamp": timestamp_token(self.balance_version.get(key, 0)),
                })
        rows.sort(key=lambda r: (r["financialPeriod"], r["account"]["number"]))
        self._gl_cache = (self.change_count, rows)
        return rows

    def party_balances(self, kind: str, from_period: str | None, to_period: str | None) -> list[dict]:
        """Per party: beginBalance before from_period and the balance at the end of to_period."""
        parties = self.customers if kind == "customer" else self.suppliers
        movements = self.customer_movements if kind == "customer" else self.supplier_movements
        start = from_period or self.periods[0]
        end = to_period or self.periods[-1]
        begin: dict[str, int] = {}
        upto: dict[str, int] = {}
        for (number, period), amount in movements.items():
            if period < start:
                begin[number] = begin.get(number, 0) + amount
            if period <= end:
                upto[number] = upto.get(number, 0) + amount
        rows = []
        for party in parties.values():
            rows.append({
                kind: party.ref(),
                "fromFinPeriod": start,
                "toFinPeriod": end,
                "beginBalance": money(begin.get(party.number, 0)),
                "yearToDateBalance": money(upto.get(party.number, 0)),
            })
        return rows

    def truth(self) -> dict:
        """What a correct full extraction holds: every data set, journal batches whole, no voided."""
        return {
            "accounts": [a.as_json() for a in self.accounts.values()],
            "financialPeriods": self.financial_periods(),
            "generalLedgerBalances": copy.deepcopy(self.gl_balances()),
            "journalTransactions": [
                b.as_json() for b in self.batches.values() if b.status != "Voided"],
            "customers": [p.as_json() for p in self.customers.values()],
            "suppliers": [p.as_json() for p in self.suppliers.values()],
            "customerBalances": self.party_balances("customer", None, None),
            "supplierBalances": self.party_balances("supplier", None, None),
        }

    # ---- mutations (the control API and the state object call these) ----

    def add_account(self, number: str, description: str, type: str | None = None,
                    active: bool = True) -> dict:
        number = str(number)
        if not number.isdigit():
            raise SimError(f"Account number {number!r} must be digits.")
        if number in self.accounts:
            raise Conflict(f"Account {number} already exists.")
        type_ = type or account_type(number)
        if type_ not in ACCOUNT_TYPES:
            raise SimError(f"Account type must be one of {', '.join(ACCOUNT_TYPES)}.")
        account = self.put_account(number, description, type_, bool(active), self.clock())
        self._changed()
        return account.as_json()

    def update_account(self, number: str, *, description: str | None = None,
                       type: str | None = None, active: bool | None = None) -> dict:
        account = self._account(number)
        if type is not None and type not in ACCOUNT_TYPES:
            raise SimError(f"Account type must be one of {', '.join(ACCOUNT_TYPES)}.")
        now = self.clock()
        if description is not None:
            account.description = description
        if type is not None:
            account.type = type
        if active is not None:
            account.active = bool(active)
        account.modified = now
        account.version = next_version()
        if (description is not None or type is not None) and self.account_lines.get(number, 0):
            # the GL balance rows show the account's description and type
            for period in self.periods:
                self.balance_modified[(number, period)] = now
                self.balance_version[(number, period)] = next_version()
        self._changed()
        return account.as_json()

    def delete_account(self, number: str) -> None:
        account = self._account(number)
        if any(a == account.number for a, _ in self.movements):
            raise Conflict(f"Account {number} has transactions and cannot be deleted.")
        del self.accounts[account.number]
        self._changed()

    def _account(self, number) -> Account:
        account = self.accounts.get(str(number))
        if account is None:
            raise NotFound(f"Account {number} not found.")
        return account

    def add_voucher(self, lines: list[dict], *, transaction_date: str | None = None,
                    description: str = "Bilag", module: str = "GL") -> dict:
        """Post a balanced batch; lines carry accountNumber, debitAmount/creditAmount (kroner)."""
        if not lines or len(lines) < 2:
            raise SimError("A voucher needs at least two lines.")
        day = dt.date.fromisoformat(transaction_date[:10]) if transaction_date else \
            self.clock().date()
        period = period_of(day)
        if period not in self.by_period:
            raise SimError(f"No financial period {period}.")
        built: list[Line] = []
        for number, raw in enumerate(lines, start=1):
            account = self._account(raw.get("accountNumber"))
            if not account.active:
                raise SimError(f"Account {account.number} is inactive.")
            debit, credit = to_ore(raw.get("debitAmount", 0)), to_ore(raw.get("creditAmount", 0))
            if debit < 0 or credit < 0 or (debit and credit):
                raise SimError("A line has either a debit or a credit amount, not negative.")
            party = str(raw.get("customerSupplier") or "")
            if party and account.number == AR_ACCOUNT and party not in self.customers:
                raise NotFound(f"Customer {party} not found.")
            if party and account.number == AP_ACCOUNT and party not in self.suppliers:
                raise NotFound(f"Supplier {party} not found.")
            built.append((number, account.number, str(raw.get("description") or description),
                          debit, credit, str(raw.get("referenceNumber") or ""),
                          str(raw.get("vatCode") or ""), party))
        debit_total = sum(line[3] for line in built)
        credit_total = sum(line[4] for line in built)
        if debit_total != credit_total:
            raise SimError(f"The voucher does not balance: debit {money(debit_total)}, "
                           f"credit {money(credit_total)}.")
        now = self.clock()
        batch = Batch(self.next_batch_number(), module, "Posted", day, period, description,
                      built, debit_total, credit_total, now)
        self.post(batch)
        self._touch_balances([line[1] for line in built], period, now)
        self._changed()
        return batch.as_json()

    def void_voucher(self, batch_number: str) -> dict:
        batch = self._batch(batch_number)
        if batch.status == "Voided":
            raise Conflict(f"Batch {batch_number} is already voided.")
        now = self.clock()
        self._apply(batch, -1)
        batch.status = "Voided"
        batch.modified = now
        batch.version = next_version()
        self._touch_balances([line[1] for line in batch.lines], batch.period, now)
        self._changed()
        return batch.as_json()

    def delete_voucher(self, batch_number: str) -> None:
        batch = self._batch(batch_number)
        if batch.status != "Voided":
            self._apply(batch, -1)
        del self.batches[batch.number]
        self.by_period[batch.period].remove(batch)
        self._touch_balances([line[1] for line in batch.lines], batch.period, self.clock())
        self._changed()

    def _batch(self, batch_number) -> Batch:
        batch = self.batches.get(str(batch_number))
        if batch is None:
            raise NotFound(f"Batch {batch_number} not found.")
        return batch

    def add_party(self, kind: str, name: str, corporate_id: str = "", number: str | None = None,
                  status: str = "Active") -> dict:
        parties = self.customers if kind == "customer" else self.suppliers
        if number is None:
            number = str(max((int(n) for n in parties if n.isdigit()), default=10000) + 1)
        if number in parties:
            raise Conflict(f"{kind.capitalize()} {number} already exists.")
        now = self.clock()
        return self.put_party(kind, str(number), name, status, str(corporate_id), now, now).as_json()

    def update_party(self, kind: str, number: str, *, name: str | None = None,
                     status: str | None = None, corporate_id: str | None = None) -> dict:
        parties = self.customers if kind == "customer" else self.suppliers
        party = parties.get(str(number))
        if party is None:
            raise NotFound(f"{kind.capitalize()} {number} not found.")
        if name is not None:
            party.name = name
        if status is not None:
            if status not in ("Active", "Inactive", "Hold"):
                raise SimError("status must be Active, Inactive or Hold.")
            party.status = status
        if corporate_id is not None:
            party.corporate_id = str(corporate_id)
        party.modified = self.clock()
        party.version = next_version()
        self._changed()
        return party.as_json()
