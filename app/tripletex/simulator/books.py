"""One simulated Tripletex company's books: accounts, departments, currencies, customers,
suppliers, accounting periods and vouchers with postings, generated from a seed.

Money is kept in øre (ints) so every sum is exact; the API renders it as JSON numbers.
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import random
from dataclasses import dataclass, field

from app.visma.simulator.chart import chart
from app.visma.simulator.generator import random_orgnr

NAME_A = ["Fjord", "Nord", "Vest", "Lys", "Berg", "Skog", "Elv", "Kyst", "Tinde", "Dal"]
NAME_B = ["Bygg", "Transport", "Handel", "Rør", "Elektro", "Konsult", "Sjømat", "Design",
          "Data", "Verksted", "Maling", "Auto", "Interiør", "Catering"]
MONTHS = ["Januar", "Februar", "Mars", "April", "Mai", "Juni", "Juli", "August", "September",
          "Oktober", "November", "Desember"]
DEPARTMENTS = [("1", "Hovedkontor"), ("2", "Butikk Bergen"), ("3", "Prosjekt")]
CURRENCIES = ["NOK", "EUR", "SEK"]
EXCHANGE = {"NOK": 1.0, "EUR": 11.5, "SEK": 1.02}
VAT_TYPES = [(1, "1", "Fradrag inngående avgift, høy sats"), (3, "3", "Utgående avgift, høy sats"),
             (0, "0", "Ingen avgiftsbehandling")]
REVENUE, RECEIVABLE, PAYABLE, BANK, VAT_OUT, VAT_IN = "3000", "1500", "2400", "1920", "2700", "2710"
EXPENSES = ["4000", "6300", "6340", "6540", "6800", "6900", "7140", "7320", "7770"]
def account_type(number: str) -> str:
    """Tripletex's account type for an NS 4102 number."""
    if number[0] == "1":
        return "ASSETS"
    if number[:2] == "20":
        return "EQUITY"
    if number[0] == "2":
        return "LIABILITIES"
    if number[0] == "3":
        return "OPERATING_REVENUES"
    if number[:2] == "80":
        return "INVESTMENT_INCOME"
    if number[:2] == "81":
        return "COST_OF_CAPITAL"
    if number[:2] == "83":
        return "TAX_ON_ORDINARY_ACTIVITIES"
    if number[:2] == "88":
        return "ANNUAL_RESULT"
    if number[:2] == "89":
        return "TRANSFERS_AND_ALLOCATIONS"
    return "OPERATING_EXPENSES"


def ledger_type(number: str) -> str:
    return {RECEIVABLE: "CUSTOMER", PAYABLE: "VENDOR"}.get(number, "GENERAL")


def resets_yearly(number: str) -> bool:
    """Profit-and-loss accounts (3000-8999) start each year at 0 in ``balanceIn``; balance-sheet
    accounts carry over. (The real rule is not documented; this is the Norwegian practice.)"""
    return number[0] in "345678"


@dataclass
class Posting:
    id: int
    row: int
    date: dt.date
    description: str
    account: int  # account id
    amount: int  # øre, debit positive
    currency: str = "NOK"
    amount_currency: int | None = None
    customer: int | None = None
    supplier: int | None = None
    department: int | None = None
    vat_type: int | None = None


@dataclass
class Voucher:
    id: int
    number: int
    year: int
    date: dt.date
    description: str
    voucher_type: str
    postings: list[Posting]
    changed: dt.datetime
    version: int = 0


@dataclass
class Party:
    id: int
    number: int
    name: str
    organization_number: str
    is_inactive: bool
    changes: list[tuple[dt.datetime, str]] = field(default_factory=list)
    version: int = 0


class Books:
    """Everything one company holds; mutated only through methods that keep vouchers balanced."""

    def __init__(self, years: tuple[int, ...], first_id: int = 291297300):
        self.years = years
        self._ids = itertools.count(first_id)
        self.accounts: dict[int, dict] = {}
        self.by_number: dict[str, int] = {}
        self.departments = {self.new_id(): {"departmentNumber": n, "name": name}
                            for n, name in DEPARTMENTS}
        self.currencies = {self.new_id(): code for code in CURRENCIES}
        self.currency_ids = {code: cid for cid, code in self.currencies.items()}
        self.vat_types = {self.new_id(): (number, name) for _, number, name in VAT_TYPES}
        self.vat_ids = {number: vid for vid, (number, _) in self.vat_types.items()}
        self.customers: dict[int, Party] = {}
        self.suppliers: dict[int, Party] = {}
        self.vouchers: dict[int, Voucher] = {}
        self.next_number: dict[int, int] = {}
        self.periods = [self._period(year, month, closed=year < years[-1])
                        for year in years for month in range(1, 13)]

    def new_id(self) -> int:
        """Tripletex ids are large integers, unique across object kinds (so they are here)."""
        return next(self._ids)

    def _period(self, year: int, month: int, *, closed: bool) -> dict:
        start = dt.date(year, month, 1)
        end = dt.date(year + (month == 12), month % 12 + 1, 1)
        return {"id": self.new_id(), "version": 0, "number": month,
                "name": f"{MONTHS[month - 1]} {year}", "start": start.isoformat(),
                "end": end.isoformat(), "isClosed": closed}

    # -- building ---------------------------------------------------------------------------

    def add_account(self, number: str, name: str, inactive: bool = False) -> dict:
        account = {"id": self.new_id(), "version": 0, "number": int(number), "name": name,
                   "description": "", "type": account_type(number),
                   "ledgerType": ledger_type(number), "isInactive": inactive,
                   "isBankAccount": number.startswith("19"), "saftCode": number[:2]}
        self.accounts[account["id"]] = account
        self.by_number[number] = account["id"]
        return account

    def add_party(self, kind: str, name: str, organization_number: str, *, when: dt.datetime,
                  inactive: bool = False) -> Party:
        parties = self.customers if kind == "customer" else self.suppliers
        base = 10000 if kind == "customer" else 50000
        party = Party(self.new_id(), base + len(parties) + 1, name, organization_number, inactive,
                      [(when, "CREATE")])
        parties[party.id] = party
        return party

    def update_party(self, kind: str, party_id: int, *, when: dt.datetime, name: str | None = None,
                     is_inactive: bool | None = None,
                     organization_number: str | None = None) -> Party:
        party = (self.customers if kind == "customer" else self.suppliers)[party_id]
        if name is not None:
            party.name = name
        if is_inactive is not None:
            party.is_inactive = is_inactive
        if organization_number is not None:
            party.organization_number = organization_number
        party.changes.append((when, "UPDATE"))
        party.version += 1
        return party

    def post(self, date: dt.date, description: str, lines: list[dict], *, when: dt.datetime,
             voucher_type: str = "Bilag") -> Voucher:
        """Post a voucher of lines ``{account, amount (øre, debit +), customer?, supplier?,
        department?, vat?, currency?, amountCurrency?}``; it must sum to 0."""
        if len(lines) < 2:
            raise ValueError("Et bilag må ha minst to posteringer.")
        if sum(line["amount"] for line in lines) != 0:
            raise ValueError("Bilaget balanserer ikke: summen av posteringene er ikke 0.")
        postings = []
        for row, line in enumerate(lines, start=1):
            account_id = self.by_number.get(str(line["account"]))
            if account_id is None:
                raise ValueError(f"Kontoen {line['account']} finnes ikke.")
            postings.append(Posting(
                self.new_id(), row, date, line.get("description", description), account_id,
                int(line["amount"]), line.get("currency", "NOK"), line.get("amountCurrency"),
                line.get("customer"), line.get("supplier"), line.get("department"),
                self.vat_ids.get(line.get("vat", "0"))))
        number = self.next_number.get(date.year, 1)
        self.next_number[date.year] = number + 1
        voucher = Voucher(self.new_id(), number, date.year, date, description, voucher_type, postings,
                          when)
        self.vouchers[voucher.id] = voucher
        return voucher

    def delete_voucher(self, voucher_id: int) -> None:
        """Deleted vouchers vanish from every list, with no tombstone (only webhooks name them)."""
        if self.vouchers.pop(voucher_id, None) is None:
            raise KeyError(voucher_id)

    # -- queries ----------------------------------------------------------------------------

    def postings(self):
        for voucher in self.vouchers.values():
            yield from voucher.postings

    def balance_sheet(self, date_from: dt.date, date_to: dt.date, *, with_empty: bool = False,
                      number_from: int | None = None, number_to: int | None = None) -> list[dict]:
        """Rows of ``/balanceSheet`` for [date_from, date_to): in, change, out per account (øre)."""
        opening: dict[int, int] = {}
        change: dict[int, int] = {}
        moved: set[int] = set()
        for posting in self.postings():
            number = str(self.accounts[posting.account]["number"])
            if posting.date >= date_to:
                continue
            if posting.date >= date_from:
                change[posting.account] = change.get(posting.account, 0) + posting.amount
                moved.add(posting.account)
            elif not resets_yearly(number) or posting.date.year == date_from.year:
                opening[posting.account] = opening.get(posting.account, 0) + posting.amount
        rows = []
        for account_id in sorted(self.accounts, key=lambda a: self.accounts[a]["number"]):
            account = self.accounts[account_id]
            if number_from is not None and account["number"] < number_from:
                continue
            if number_to is not None and account["number"] > number_to:
                continue
            balance_in, delta = opening.get(account_id, 0), change.get(account_id, 0)
            if not (balance_in or account_id in moved or (with_empty and not account["isInactive"])):
                continue
            rows.append({"account": account_id, "balanceIn": balance_in, "balanceChange": delta,
                         "balanceOut": balance_in + delta})
        return rows


def generate(books: Books, seed: int, vouchers_per_month: int, as_of: dt.datetime,
             *, foreign: bool = True) -> None:
    """Fill ``books`` deterministically from ``seed``: the NS 4102 chart, parties, balanced
    vouchers each month (sales, receipts, purchases, payments, salaries, some in EUR/SEK, with
    departments), and one deleted voucher (a gap in the numbering, as real books have)."""
    rng = random.Random(seed)
    for number, name, _ in chart():
        books.add_account(number, name, inactive=number in {"1020", "8920"})
    used: set[str] = set()

    def name() -> str:
        while True:
            candidate = f"{rng.choice(NAME_A)} {rng.choice(NAME_B)} AS"
            if candidate not in used:
                used.add(candidate)
                return candidate
            if len(used) > 100:
                return f"{candidate} {len(used)}"

    start = dt.datetime(books.years[0] - 1, 11, 1, 9, 0, tzinfo=dt.UTC)
    customers = [books.add_party("customer", name(), random_orgnr(rng),
                                 when=start + dt.timedelta(hours=i), inactive=i == 7)
                 for i in range(10)]
    suppliers = [books.add_party("supplier", name(), random_orgnr(rng) if i else "",
                                 when=start + dt.timedelta(hours=20 + i)) for i in range(7)]
    departments = list(books.departments)
    kinds = ["sale", "sale", "receipt", "purchase", "purchase", "payment", "salary", "foreign"]
    if not foreign:
        kinds.remove("foreign")
    open_sales: list[tuple[int, int]] = []
    open_buys: list[tuple[int, int]] = []
    for year in books.years:
        for month in range(1, 13):
            days = calendar.monthrange(year, month)[1]
            for i in range(vouchers_per_month):
                date = dt.date(year, month, rng.randint(1, days))
                when = min(dt.datetime.combine(date, dt.time(9), tzinfo=dt.UTC) + dt.timedelta(
                    minutes=rng.randrange(2000)), as_of - dt.timedelta(seconds=1 + i))
                kind = kinds[(i + rng.randrange(len(kinds))) % len(kinds)]
                lines, text = _lines(kind, rng, customers, suppliers, departments, open_sales,
                                     open_buys)
                books.post(date, text, lines, when=when,
                           voucher_type={"sale": "Utgående faktura",
                                         "purchase": "Leverandørfaktura"}.get(kind, "Bilag"))
    doomed = sorted(books.vouchers)[len(books.vouchers) // 3]
    books.delete_voucher(doomed)


def _lines(kind, rng, customers, suppliers, departments, open_sales, open_buys):
    net = rng.randrange(500, 80000) * 100
    department = rng.choice(departments)
    if kind == "sale":
        customer = rng.choice(customers).id
        vat = net // 4
        open_sales.append((customer, net + vat))
        return [
            {"account": RECEIVABLE, "amount": net + vat, "customer": customer},
            {"account": REVENUE, "amount": -net, "vat": "3", "department": department},
            {"account": VAT_OUT, "amount": -vat},
        ], "Utgående faktura"
    if kind == "receipt" and open_sales:
        customer, total = open_sales.pop(0)
        return [
            {"account": BANK, "amount": total},
            {"account": RECEIVABLE, "amount": -total, "customer": customer},
        ], "Innbetaling fra kunde"
    if kind == "purchase":
        supplier = rng.choice(suppliers).id
        vat = net // 4
        open_buys.append((supplier, net + vat))
        return [
            {"account": rng.choice(EXPENSES), "amount": net, "vat": "1",
             "department": department},
            {"account": VAT_IN, "amount": vat},
            {"account": PAYABLE, "amount": -(net + vat), "supplier": supplier},
        ], "Leverandørfaktura"
    if kind == "payment" and open_buys:
        supplier, total = open_buys.pop(0)
        return [
            {"account": PAYABLE, "amount": total, "supplier": supplier},
            {"account": BANK, "amount": -total},
        ], "Betaling til leverandør"
    if kind == "foreign":
        code = rng.choice(["EUR", "SEK"])
        foreign_amount = rng.randrange(100, 5000) * 100
        nok = int(foreign_amount * EXCHANGE[code])
        supplier = rng.choice(suppliers).id
        return [
            {"account": "4000", "amount": nok, "currency": code, "amountCurrency": foreign_amount,
             "department": department},
            {"account": PAYABLE, "amount": -nok, "currency": code,
             "amountCurrency": -foreign_amount, "supplier": supplier},
        ], f"Innkjøp i {code}"
    salary = rng.randrange(30000, 60000) * 100
    tax = salary * 3 // 10
    return [
        {"account": "5000", "amount": salary, "department": department},
        {"account": "2600", "amount": -tax},
        {"account": BANK, "amount": -(salary - tax)},
    ], "Lønn"
