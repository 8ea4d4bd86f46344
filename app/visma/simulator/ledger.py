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
ACTUAL = {"id": "ACTUAL", "description": "Actual ledger"}
BUDGET = {"id": "BUDSJETT", "description": "Budsjett"}
VAT_CODES = {"1": "Inngående mva 25 %", "3": "Utgående mva 25 %",
             "5": "Utgående mva 0 % (innenlands)", "14": "Innførsel av varer 25 %"}
PARTY_STATUSES = {"customer": ("Active", "OnHold", "CreditHold", "Inactive", "OneTime"),
                  "supplier": ("Active", "OnHold", "HoldPayments", "Inactive", "OneTime")}

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

    def as_json(self, kind: str = "customer") -> dict:
        data = {
            "internalId": self.internal_id,
            "number": self.number,
            "name": self.name,
            "status": self.status,
            "corporateId": self.corporate_id,
            "vatRegistrationId": f"NO{self.corporate_id}MVA" if self.corporate_id else "",
            "lastModifiedDateTime": fmt_ts(self.modified),
            "timeStamp": timestamp_token(self.version),
        }
        if kind == "customer":  # Visma's SupplierDto has no createdDateTime
            data["createdDateTime"] = fmt_ts(self.created)
        return data

    def ref(self) -> dict:
        return {"internalId": self.internal_id, "number": self.number, "name": self.name}


# A journal line: (lineNumber, accountNumber, description, debitØre, creditØre,
#                  referenceNumber, vatCode, customerSupplier, branch, subaccount,
#                  debit in the batch's currency (cents), credit in it)
Line = tuple[int, str, str, int, int, str, str, str, str, str, int, int]


@dataclass(frozen=True)
class Profile:
    """What a company's books are made of beyond the plain single-branch NOK company."""

    branches: tuple[tuple[str, str], ...] = (("1", "Hovedkontor"),)
    subaccounts: tuple[tuple[str, str], ...] = ()
    """(code, description); when set, income and expense lines carry one."""
    budget: bool = False
    """A budget ledger (BUDSJETT) beside ACTUAL in the GL balances."""
    foreign_currency: bool = False
    """Some supplier invoices in EUR (amounts in currency beside the NOK amounts)."""
    sister_organizations: tuple[tuple[str, str], ...] = ()
    """(name, corporateId) of further organizations /v1/organization lists for the tenant."""


PLAIN = Profile()


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
    currency: str = "NOK"
    rate: Decimal = Decimal(1)
    branch: str = "1"

    def header_json(self) -> dict:
        return {
            "batchNumber": self.number,
            "module": "Module" + self.module,
            "status": self.status,
            "hold": False,
            "transactionDate": fmt_date(self.date),
            "postPeriod": self.period,
            "financialPeriod": self.period,
            "ledger": ACTUAL["id"],
            "ledgerDescription": ACTUAL["description"],
            "currencyId": self.currency,
            "exchangeRate": float(self.rate),
            "description": self.description,
            "debitTotal": money(self.debit),
            "debitTotalInCurrency": money(sum(line[10] for line in self.lines)),
            "creditTotal": money(self.credit),
            "creditTotalInCurrency": money(sum(line[11] for line in self.lines)),
            "branch": self.branch,
            "lastModifiedDateTime": fmt_ts(self.modified),
            "timeStamp": timestamp_token(self.version),
        }

    def as_json(self, lines: Iterable[Line] | None = None,
                subaccount_ids: dict[str, tuple[int, str]] | None = None) -> dict:
        data = self.header_json()
        data["journalTransactionLines"] = [
            line_json(line, subaccount_ids) for line in (self.lines if lines is None else lines)]
        return data


def line_json(line: Line, subaccount_ids: dict[str, tuple[int, str]] | None = None) -> dict:
    (number, account, description, debit, credit, reference, vat_code, party, branch, sub,
     debit_cur, credit_cur) = line
    data = {
        "lineNumber": number,
        "accountNumber": account,
        "description": description,
        "debitAmount": money(debit),
        "debitAmountInCurrency": money(debit_cur),
        "creditAmount": money(credit),
        "creditAmountInCurrency": money(credit_cur),
        "referenceNumber": reference,
        "branch": branch,
        "customerSupplier": party,
    }
    if vat_code:
        data["vatCode"] = {"id": vat_code, "description": VAT_CODES.get(vat_code, "")}
    if sub:
        sub_id, sub_text = (subaccount_ids or {}).get(sub, (0, ""))
        data["subaccount"] = {"subaccountNumber": sub, "subaccountId": sub_id,
                              "description": sub_text, "active": True}
    return data


def series_of(line: Line) -> tuple[str, str, str]:
    """A line's GL balance series: (account, subaccount, branch)."""
    return line[1], line[9], line[8]


def period_ids(years: Iterable[int]) -> list[str]:
    return [f"{year}{month:02d}" for year in years for month in range(1, 13)]


def period_of(day: dt.date) -> str:
    return f"{day.year}{day.month:02d}"


class Ledger:
    """The accounting data of one company (tenant), generated once and then mutated in place.

    Balances are kept per series (account, subaccount, branch): the GL balance rows of the
    ACTUAL ledger are exactly the posted journal lines summed per series and period.
    """

    def __init__(self, years: Iterable[int], clock: Callable[[], dt.datetime],
                 profile: Profile = PLAIN):
        self.years = tuple(years)
        self.periods = period_ids(self.years)
        self.clock = clock
        self.profile = profile
        self.branch_names = dict(profile.branches)
        self.subaccount_ids = {code: (index, text) for index, (code, text)
                               in enumerate(profile.subaccounts, start=1)}
        self.accounts: dict[str, Account] = {}
        self.customers: dict[str, Party] = {}
        self.suppliers: dict[str, Party] = {}
        self.batches: dict[str, Batch] = {}
        self.by_period: dict[str, list[Batch]] = {p: [] for p in self.periods}
        # (account, subaccount, branch, period) -> [debit øre, credit øre], posted lines only
        self.movements: dict[tuple[str, str, str, str], list[int]] = {}
        # (account, subaccount, branch, period) -> budgeted øre (debit-positive)
        self.budget: dict[tuple[str, str, str, str], int] = {}
        # (account, subaccount, branch, period) -> lastModifiedDateTime of the GL balance row
        self.balance_modified: dict[tuple[str, str, str, str], dt.datetime] = {}
        self.account_lines: dict[str, int] = {}
        # (party number, branch, period) -> [debit øre, credit øre] on the AR / AP account
        self.customer_movements: dict[tuple[str, str, str], list[int]] = {}
        self.supplier_movements: dict[tuple[str, str, str], list[int]] = {}
        self.periods_modified = dt.datetime(self.years[0] - 1, 12, 1, 8, 0, 0)
        self._batch_seq = 0
        self._next_account_id = 1
        self._next_party_id = 1
        self.change_count = 0
        self._gl_cache: tuple[int, list[dict]] | None = None
        self._journal_cache: dict[tuple, tuple[list[Batch], list[int]]] = {}

    @property
    def default_branch(self) -> str:
        return self.profile.branches[0][0]

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
        self.change_count += 1

    def _apply(self, batch: Batch, sign: int) -> None:
        period = batch.period
        movements = self.movements
        counts = self.account_lines
        for line in batch.lines:
            account, branch = line[1], line[8]
            key = (account, line[9], branch, period)
            pair = movements.get(key)
            if pair is None:
                pair = movements[key] = [0, 0]
            pair[0] += sign * line[3]
            pair[1] += sign * line[4]
            counts[account] = counts.get(account, 0) + sign
            if line[7] and account in (AR_ACCOUNT, AP_ACCOUNT):
                parties = (self.customer_movements if account == AR_ACCOUNT
                           else self.supplier_movements)
                pkey = (line[7], branch, period)
                pair = parties.get(pkey)
                if pair is None:
                    pair = parties[pkey] = [0, 0]
                pair[0] += sign * line[3]
                pair[1] += sign * line[4]

    def series(self) -> list[tuple[str, str, str]]:
        """Every (account, subaccount, branch) with movements, in key order."""
        return sorted({key[:3] for key in self.movements})

    def finish(self) -> None:
        """After generation: give every GL balance row the newest timestamp of what feeds it."""
        own: dict[tuple[str, str, str, str], dt.datetime] = {}
        for batch in self.batches.values():
            for line in batch.lines:
                key = (*series_of(line), batch.period)
                if key not in own or own[key] < batch.modified:
                    own[key] = batch.modified
        for series in self.series():
            running = None
            year = None
            for period in self.periods:
                if self._resets(series[0]) and period[:4] != year:
                    running = None
                year = period[:4]
                stamp = own.get((*series, period))
                if stamp and (running is None or stamp > running):
                    running = stamp
                if running is not None:
                    self.balance_modified[(*series, period)] = running
        self._gl_cache = None

    def _resets(self, account: str) -> bool:
        """Income and expense accounts start every year at zero; balance-sheet accounts carry on."""
        acc = self.accounts.get(account)
        type_ = acc.type if acc else account_type(account)
        return type_ in ("Income", "Expense")

    def _touch_balances(self, lines: Iterable[Line], period: str, now: dt.datetime) -> None:
        """Advance lastModifiedDateTime of every GL balance row whose value a change in period
        moved: the series (account, subaccount, branch) of the lines, from period on."""
        for series in {series_of(line) for line in lines}:
            for other in self.periods:
                if other < period:
                    continue
                if other != period and self._resets(series[0]) and other[:4] != period[:4]:
                    break
                self.balance_modified[(*series, other)] = now

    def _changed(self) -> None:
        self.change_count += 1
        self._gl_cache = None

    def journal_selection(self, period: str | None, since: dt.datetime | None, module: str,
                          status: str | None) -> tuple[list[Batch], list[int]]:
        """The batches a journal query selects, in order, with the running line count at the
        end of each: a page is then a bisection, not a scan of the whole journal (which made
        every page of a large company cost as much as the company). Kept until the books
        change; a parallel read asks the same query once per page."""
        key = (period, since, module, status)
        cached = self._journal_cache.get(key)
        if cached is not None and cached[0] == self.change_count:
            return cached[1]
        source = self.by_period.get(period, []) if period else self.batches.values()
        batches = [b for b in source
                   if (since is None or b.modified >= since)
                   and (not module or b.module == module)
                   and (not status or b.status == status)]
        selection = batches, list(itertools.accumulate(len(b.lines) for b in batches))
        if len(self._journal_cache) >= 16:
            self._journal_cache.clear()
        self._journal_cache[key] = (self.change_count, selection)
        return selection

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
                "closedInCustomerLedger": closed,
                "closedInSupplierLedger": closed,
                "closedInCashManagement": closed,
                "closedInInventoryManagement": closed,
                "closedInFixedAssets": closed,
            })
        return rows

    def _balance_rows(self, series: Iterable[tuple[str, str, str]],
                      amounts: Callable[[tuple[str, str, str, str]], tuple[int, int] | None],
                      ledger: dict, balance_type: str) -> Iterable[dict]:
        for account, sub, branch in series:
            acc = self.accounts.get(account)
            resets = self._resets(account)
            balance = 0
            year = None
            for period in self.periods:
                if resets and period[:4] != year:
                    balance = 0
                year = period[:4]
                pair = amounts((account, sub, branch, period))
                debit, credit = pair if pair else (0, 0)
                if pair is None and balance == 0:
                    continue
                begin = balance
                balance = begin + debit - credit
                row = {
                    "branch": {"number": branch, "name": self.branch_names.get(branch, "")},
                    "ledger": dict(ledger),
                    "balanceType": balance_type,
                    "financialPeriod": period,
                    "account": {
                        "number": account,
                        "description": acc.description if acc else "",
                        "type": acc.type if acc else account_type(account),
                    },
                }
                if sub:
                    row["subaccountId"] = str(self.subaccount_ids.get(sub, (0, ""))[0])
                    row["subAccountCd"] = sub
                row.update({
                    "currencyId": "NOK",
                    "beginningBalance": money(begin),
                    "periodToDateDebit": money(debit),
                    "periodToDateCredit": money(credit),
                    "yearToDateBalance": money(balance),
                    "yearClosed": int(period[:4]) < self.years[-1],
                    "lastModifiedDateTime": fmt_ts(
                        self.balance_modified.get((account, sub, branch, period),
                                                  self.periods_modified)
                        if balance_type == "Actual"
                        # a budget row shows the account too: its changes restamp the row
                        else max(self.periods_modified, acc.modified if acc else
                                 self.periods_modified)),
                })
                yield row

    def gl_balances(self) -> list[dict]:
        """Every GL balance row: per ledger, account, subaccount, branch and period with
        movement or a balance; ordered by period, account, subaccount, branch, ledger."""
        if self._gl_cache and self._gl_cache[0] == self.change_count:
            return self._gl_cache[1]
        movements = self.movements
        rows = list(self._balance_rows(self.series(), movements.get, ACTUAL, "Actual"))
        if self.budget:
            budget = self.budget
            rows.extend(self._balance_rows(
                sorted({key[:3] for key in budget}),
                lambda key: (budget[key], 0) if key in budget else None, BUDGET, "Budget"))
        rows.sort(key=lambda r: (r["financialPeriod"], r["account"]["number"],
                                 r.get("subAccountCd", ""), r["branch"]["number"],
                                 r["ledger"]["id"]))
        self._gl_cache = (self.change_count, rows)
        return rows

    def party_balances(self, kind: str, from_period: str, to_period: str) -> list[dict]:
        """Per party and branch: beginBalance before from_period, the period range's movements
        and the balance at the end of to_period. A party without movements gets one zero row."""
        parties = self.customers if kind == "customer" else self.suppliers
        movements = self.customer_movements if kind == "customer" else self.supplier_movements
        # (party, branch) -> [begin, debit in range, credit in range]
        sums: dict[tuple[str, str], list[int]] = {}
        for (number, branch, period), (debit, credit) in movements.items():
            if period > to_period:
                continue
            entry = sums.setdefault((number, branch), [0, 0, 0])
            if period < from_period:
                entry[0] += debit - credit if kind == "customer" else credit - debit
            else:
                entry[1] += debit
                entry[2] += credit
        rows = []
        for party in parties.values():
            branches = sorted(b for n, b in sums if n == party.number) or [self.default_branch]
            for branch in branches:
                begin, debit, credit = sums.get((party.number, branch), (0, 0, 0))
                if kind == "customer":
                    rows.append({
                        "branchNumber": {"number": branch,
                                         "name": self.branch_names.get(branch, "")},
                        "customer": party.ref(),
                        "beginBalance": money(begin),
                        "sales": money(debit),
                        "paymentsAndPrepayments": money(credit),
                        "adjustmentsAndDiscounts": 0.0,
                        "overdueCharges": 0.0,
                        "yearToDateBalance": money(begin + debit - credit),
                    })
                else:
                    rows.append({
                        "branch": branch,
                        "supplier": party.ref(),
                        "beginBalance": money(begin),
                        "purchases": money(credit),
                        "paymentsAndPrepayments": money(debit),
                        "adjustmentsAndDiscounts": 0.0,
                        "yearToDateBalance": money(begin + credit - debit),
                    })
        return rows

    def batch_json(self, batch: Batch, lines: Iterable[Line] | None = None) -> dict:
        return batch.as_json(lines, self.subaccount_ids)

    def truth(self) -> dict:
        """What a correct full extraction holds: every data set, journal batches whole, no voided;
        party balances over the company's whole range of financial periods."""
        return {
            "accounts": [a.as_json() for a in self.accounts.values()],
            "financialPeriods": self.financial_periods(),
            "generalLedgerBalances": copy.deepcopy(self.gl_balances()),
            "journalTransactions": [
                self.batch_json(b) for b in self.batches.values() if b.status != "Voided"],
            "customers": [p.as_json("customer") for p in self.customers.values()],
            "suppliers": [p.as_json("supplier") for p in self.suppliers.values()],
            "customerBalances": self.party_balances("customer", self.periods[0],
                                                    self.periods[-1]),
            "supplierBalances": self.party_balances("supplier", self.periods[0],
                                                    self.periods[-1]),
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
            for key in self.balance_modified:
                if key[0] == number:
                    self.balance_modified[key] = now
        self._changed()
        return account.as_json()

    def delete_account(self, number: str) -> None:
        account = self._account(number)
        if any(key[0] == account.number for key in self.movements):
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
        """Post a balanced NOK batch; lines carry accountNumber, debitAmount/creditAmount
        (kroner), optionally branch (default: the first), subaccount and vatCode (a code)."""
        module = module.removeprefix("Module")
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
            branch = str(raw.get("branch") or self.default_branch)
            if branch not in self.branch_names:
                raise SimError(f"No branch {branch}.")
            sub = str(raw.get("subaccount") or "")
            if sub and sub not in self.subaccount_ids:
                raise SimError(f"No subaccount {sub}.")
            built.append((number, account.number, str(raw.get("description") or description),
                          debit, credit, str(raw.get("referenceNumber") or ""),
                          str(raw.get("vatCode") or ""), party, branch, sub, debit, credit))
        debit_total = sum(line[3] for line in built)
        credit_total = sum(line[4] for line in built)
        if debit_total != credit_total:
            raise SimError(f"The voucher does not balance: debit {money(debit_total)}, "
                           f"credit {money(credit_total)}.")
        now = self.clock()
        batch = Batch(self.next_batch_number(), module, "Posted", day, period, description,
                      built, debit_total, credit_total, now, branch=built[0][8])
        self.post(batch)
        self._touch_balances(built, period, now)
        self._changed()
        return self.batch_json(batch)

    def void_voucher(self, batch_number: str) -> dict:
        batch = self._batch(batch_number)
        if batch.status == "Voided":
            raise Conflict(f"Batch {batch_number} is already voided.")
        now = self.clock()
        self._apply(batch, -1)
        batch.status = "Voided"
        batch.modified = now
        batch.version = next_version()
        self._touch_balances(batch.lines, batch.period, now)
        self._changed()
        return self.batch_json(batch)

    def delete_voucher(self, batch_number: str) -> None:
        batch = self._batch(batch_number)
        if batch.status != "Voided":
            self._apply(batch, -1)
        del self.batches[batch.number]
        self.by_period[batch.period].remove(batch)
        self._touch_balances(batch.lines, batch.period, self.clock())
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
        return self.put_party(kind, str(number), name, status, str(corporate_id), now,
                              now).as_json(kind)

    def update_party(self, kind: str, number: str, *, name: str | None = None,
                     status: str | None = None, corporate_id: str | None = None) -> dict:
        parties = self.customers if kind == "customer" else self.suppliers
        party = parties.get(str(number))
        if party is None:
            raise NotFound(f"{kind.capitalize()} {number} not found.")
        if name is not None:
            party.name = name
        if status is not None:
            if status not in PARTY_STATUSES[kind]:
                raise SimError(f"status must be one of {', '.join(PARTY_STATUSES[kind])}.")
            party.status = status
        if corporate_id is not None:
            party.corporate_id = str(corporate_id)
        party.modified = self.clock()
        party.version = next_version()
        self._changed()
        return party.as_json(kind)
