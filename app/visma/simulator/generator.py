"""Deterministic, realistic Norwegian bookkeeping for one company: a pure function of a seed."""

from __future__ import annotations

import calendar
import datetime as dt
import random
from decimal import Decimal

from .chart import chart
from .ledger import AP_ACCOUNT, AR_ACCOUNT, Batch, Ledger

INACTIVE = {"1000", "1020", "1030", "1140", "2200", "2210", "2310", "3150", "6210", "6220",
            "8000", "8050", "8130"}
EXPENSES = ["4000", "4300", "4500", "6100", "6200", "6300", "6320", "6340", "6360", "6420",
            "6540", "6551", "6552", "6560", "6620", "6700", "6705", "6720", "6800", "6860",
            "6900", "6907", "6940", "7000", "7020", "7140", "7320", "7350", "7500", "7790"]
NAME_A = ["Nordlys", "Fjord", "Bjørk", "Havblikk", "Solsikke", "Tinde", "Elvebakken", "Granitt",
          "Midnatt", "Vidde", "Lyngheim", "Sjøbris", "Furu", "Skarven", "Polar", "Kystlys",
          "Fossen", "Myra", "Breen", "Aurora", "Strand", "Lofot", "Tind", "Åsen", "Østby"]
NAME_B = ["Bygg", "Transport", "Regnskap", "Handel", "Eiendom", "Rør", "Elektro", "Konsult",
          "Bakeri", "Sjømat", "Maskin", "Design", "Data", "Service", "Verksted", "Trelast",
          "Catering", "Renhold", "Maling", "Auto", "Media", "Interiør", "Landbruk", "Helse"]
WEIGHTS = (("sale", 35), ("receipt", 20), ("purchase", 25), ("payment", 11), ("fee", 6),
           ("accrual", 3))


def orgnr_check_digit(first8: str) -> int | None:
    """The mod-11 check digit of an organisasjonsnummer, None when no valid one exists."""
    total = sum(int(d) * w for d, w in zip(first8, (3, 2, 7, 6, 5, 4, 3, 2), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def valid_orgnr(orgnr: str) -> bool:
    """True for nine digits with a correct mod-11 check digit."""
    if len(orgnr) != 9 or not orgnr.isdigit():
        return False
    return orgnr_check_digit(orgnr[:8]) == int(orgnr[8])


def random_orgnr(rng: random.Random, valid: bool = True) -> str:
    while True:
        first8 = str(rng.choice((8, 9))) + "".join(str(rng.randrange(10)) for _ in range(7))
        check = orgnr_check_digit(first8)
        if check is None:
            continue
        if valid:
            return first8 + str(check)
        return first8 + str((check + rng.randrange(1, 10)) % 10)


AHEAD_WINDOW = 30 * 86400
"""Data dated after the company was generated (vouchers entered ahead of their date) gets a
lastModifiedDateTime spread over this many seconds before that moment."""


class _Stamps:
    """lastModifiedDateTime values: around a moment plus a little, all before ``cap``.

    Draws from its own generator, the same number of draws per stamp whatever ``cap`` is, so
    the books themselves stay a function of the seed alone (and the stamps of the seed and the
    moment of generation). Millisecond precision, spread: no block of rows shares a stamp.
    """

    def __init__(self, seed: int, cap: dt.datetime):
        self.rng = random.Random(seed * 7919 + 17)
        self.cap = cap

    def __call__(self, start: dt.datetime, span_seconds: int) -> dt.datetime:
        draw = self.rng.random
        value = start + dt.timedelta(milliseconds=int(draw() * max(span_seconds, 1) * 1000))
        ahead = int(draw() * AHEAD_WINDOW * 1000)
        if value >= self.cap:  # dated after generation: entered some time before it
            value = self.cap - dt.timedelta(milliseconds=1 + ahead)
        return value


def generate(ledger: Ledger, seed: int, journal_lines: int, as_of: dt.datetime) -> None:
    """Fill ledger with a chart, parties and exactly journal_lines balanced journal lines.

    Everything is a function of seed except the lastModifiedDateTime stamps, which also
    depend on as_of: each voucher is stamped around its transaction date plus a little (hours
    to a few days), accounts around the set-up of the books, customers and suppliers spread
    over the history; whatever would fall at or after as_of (vouchers dated ahead) is spread
    over the AHEAD_WINDOW before it instead. Every stamp is strictly before as_of, so changes
    made after generation (stamped with the simulator's clock) are always newer.
    """
    rng = random.Random(seed)
    profile = ledger.profile
    # Only a company with branches, subaccounts or currency draws for them: a plain company's
    # books stay what its seed always gave.
    extra = random.Random(seed * 31 + 7)
    branches = [code for code, _ in profile.branches]
    subaccounts = [code for code, _ in profile.subaccounts]
    stamp = _Stamps(seed, as_of - dt.timedelta(seconds=1))
    first_year = ledger.years[0]
    setup = dt.datetime(first_year - 1, 12, 1, 8, 0)
    for number, description, type_ in chart():
        ledger.put_account(number, description, type_, number not in INACTIVE,
                           stamp(setup, 20 * 86400))

    def party_name(used: set[str]) -> str:
        while True:
            name = f"{rng.choice(NAME_A)} {rng.choice(NAME_B)} AS"
            if name not in used or len(used) > 500:
                if name in used:
                    name = f"{name} {len(used)}"
                used.add(name)
                return name

    used: set[str] = set()
    for kind, count, first in (("customer", max(8, min(3000, journal_lines // 80)), 10001),
                               ("supplier", max(6, min(1500, journal_lines // 150)), 20001)):
        for i in range(count):
            created = stamp(setup - dt.timedelta(days=400), 380 * 86400)
            modified = max(created, stamp(created, 700 * 86400))
            roll = rng.random()
            orgnr = "" if roll < 0.03 else random_orgnr(rng, valid=roll >= 0.12)
            status = "Inactive" if rng.random() < 0.05 else "Active"
            ledger.put_party(kind, str(first + i), party_name(used), status, orgnr, created,
                             modified)
    customers = [p.number for p in ledger.customers.values()]
    suppliers = [p.number for p in ledger.suppliers.values()]
    names = {p.number: p.name for p in (*ledger.customers.values(), *ledger.suppliers.values())}

    periods = ledger.periods
    n_periods = len(periods)
    big_max = max(20, min(300, journal_lines // 50))
    kinds = [k for k, w in WEIGHTS for _ in range(w)]
    done = 0
    invoice_no = 100000
    last_period = -1

    def batch_for(period_index: int, module: str, description: str, lines: list,
                  currency: tuple[str, Decimal, list[tuple[int, int]]] | None = None) -> None:
        period = periods[period_index]
        year, month = int(period[:4]), int(period[4:])
        day = dt.date(year, month, rng.randint(1, calendar.monthrange(year, month)[1]))
        when = dt.datetime(year, month, day.day, 7, 0) + dt.timedelta(days=rng.randrange(4))
        modified = stamp(when, 12 * 3600)
        branch = extra.choice(branches) if len(branches) > 1 else branches[0]
        numbered = []
        for i, (acc, text, debit, credit, ref, vat, party) in enumerate(lines, start=1):
            sub = ""
            if subaccounts and ledger.accounts[acc].type in ("Income", "Expense"):
                sub = extra.choice(subaccounts)
            in_currency = currency[2][i - 1] if currency else (debit, credit)
            numbered.append((i, acc, text, debit, credit, ref, vat, party, branch, sub,
                             *in_currency))
        debit = sum(line[3] for line in numbered)
        credit = sum(line[4] for line in numbered)
        assert debit == credit, description
        nonlocal done
        done += len(numbered)
        code, rate = (currency[0], currency[1]) if currency else ("NOK", Decimal(1))
        ledger.post(Batch(ledger.next_batch_number(), module, "Posted", day, period,
                          description, numbered, debit, credit, modified, currency=code,
                          rate=rate, branch=branch))

    def allocation(k: int) -> list:
        debits = []
        for _ in range(k - 1):
            debits.append((rng.choice(EXPENSES), rng.randrange(100, 200000) * 100))
        text = "Periodisering"
        lines = [(acc, text, amt, 0, "", "", "") for acc, amt in debits]
        lines.append(("2960", text, 0, sum(a for _, a in debits), "", "", ""))
        return lines

    while journal_lines - done >= 2:
        remaining = journal_lines - done
        index = min(n_periods - 1, done * n_periods // journal_lines)
        if remaining <= 12:
            batch_for(index, "GL", "Periodisering", allocation(remaining))
            continue
        if done == 0:
            capital = rng.randrange(3, 20) * 10_000_00
            bank = capital + rng.randrange(100, 1000) * 1000_00
            batch_for(0, "GL", "Inngående balanse", [
                ("1920", "Inngående balanse", bank, 0, "", "", ""),
                ("2000", "Inngående balanse", 0, capital, "", "", ""),
                ("2050", "Inngående balanse", 0, bank - capital, "", "", ""),
            ])
            continue
        if index != last_period:
            last_period = index
            gross = rng.randrange(40, 400) * 1000_00
            tax = gross * 35 // 100
            aga = gross * 141 // 1000
            text = f"Lønn {periods[index]}"
            batch_for(index, "GL", text, [
                ("5000", text, gross, 0, "", "", ""),
                ("5400", "Arbeidsgiveravgift", aga, 0, "", "", ""),
                ("2600", "Forskuddstrekk", 0, tax, "", "", ""),
                ("2770", "Skyldig arbeidsgiveravgift", 0, aga, "", "", ""),
                ("1920", "Utbetalt lønn", 0, gross - tax, "", "", ""),
            ])
            continue
        kind = rng.choice(kinds)
        if kind == "sale":
            invoice_no += 1
            cust = rng.choice(customers)
            net = rng.randrange(50, 50000) * 100
            ref = str(invoice_no)
            text = f"Faktura {ref} {names[cust]}"
            if rng.random() < 0.2:
                lines = [(AR_ACCOUNT, text, net, 0, ref, "", cust),
                         ("3100", text, 0, net, ref, "5", "")]
            else:
                vat = net * 25 // 100
                lines = [(AR_ACCOUNT, text, net + vat, 0, ref, "", cust),
                         ("3000", text, 0, net, ref, "3", ""),
                         ("2700", text, 0, vat, ref, "3", "")]
            batch_for(index, "AR", text, lines)
        elif kind == "receipt":
            cust = rng.choice(customers)
            amount = rng.randrange(50, 60000) * 100
            text = f"Innbetaling {names[cust]}"
            batch_for(index, "GL", text, [("1920", text, amount, 0, "", "", ""),
                                          (AR_ACCOUNT, text, 0, amount, "", "", cust)])
        elif kind == "purchase" and profile.foreign_currency and extra.random() < 0.3:
            supp = rng.choice(suppliers)
            ref = str(rng.randrange(1000, 999999))
            text = f"Inngående faktura {ref} {names[supp]} (EUR)"
            rate = Decimal(extra.choice(("11.4820", "11.6235", "11.7310")))
            lines, in_currency = [], []
            for _ in range(extra.randint(1, 3)):
                cents = extra.randrange(20, 5000) * 100 + extra.randrange(100)
                ore = int((cents * rate).to_integral_value())
                lines.append((rng.choice(EXPENSES), text, ore, 0, ref, "14", ""))
                in_currency.append((cents, 0))
            lines.append((AP_ACCOUNT, text, 0, sum(line[2] for line in lines), ref, "", supp))
            in_currency.append((0, sum(c for c, _ in in_currency)))
            batch_for(index, "AP", text, lines, ("EUR", rate, in_currency))
        elif kind == "purchase":
            supp = rng.choice(suppliers)
            ref = str(rng.randrange(1000, 999999))
            text = f"Inngående faktura {ref} {names[supp]}"
            lines = []
            vat = 0
            for _ in range(rng.randint(1, 4)):
                net = rng.randrange(20, 20000) * 100
                vat += net * 25 // 100
                lines.append((rng.choice(EXPENSES), text, net, 0, ref, "1", ""))
            total = sum(line[2] for line in lines) + vat
            lines.append(("2710", text, vat, 0, ref, "1", ""))
            lines.append((AP_ACCOUNT, text, 0, total, ref, "", supp))
            batch_for(index, "AP", text, lines)
        elif kind == "payment":
            supp = rng.choice(suppliers)
            amount = rng.randrange(20, 30000) * 100
            text = f"Betaling {names[supp]}"
            batch_for(index, "GL", text, [(AP_ACCOUNT, text, amount, 0, "", "", supp),
                                          ("1920", text, 0, amount, "", "", "")])
        elif kind == "fee":
            amount = rng.randrange(100, 90000)
            batch_for(index, "GL", "Bankgebyr", [("7770", "Bankgebyr", amount, 0, "", "", ""),
                                                 ("1920", "Bankgebyr", 0, amount, "", "", "")])
        else:
            k = rng.randint(20, big_max) if rng.random() < 0.35 else rng.randint(3, 8)
            k = min(k, remaining - 2)
            batch_for(index, "GL", "Periodisering", allocation(k))
    if profile.budget:
        for account in EXPENSES[:8]:
            for branch in branches:
                sub = subaccounts[0] if subaccounts else ""
                monthly = extra.randrange(50, 3000) * 1000_00
                for period in periods:
                    ledger.budget[(account, sub, branch, period)] = monthly
    ledger.finish()
