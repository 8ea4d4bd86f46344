"""Accounting checks run after every sync, on the client's visible copy.

- every journal batch balances (debit = credit);
- the trial balance nets to zero per period (GL debit = GL credit);
- GL balances equal the summed journal lines per account, subaccount, branch and period (net);
- the number of accounts or a period's totals did not jump against the previous run.

A finding is a warning dict ``{"check", "detail", "accounts", "periods"}`` naming what is off;
the run then completes "with warnings".
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import and_, func, or_, select

from app.accounting.models import Account, GLBalance, JournalBatch, JournalLine, SyncedRow
from app.accounting.store import DATASET_OF, current_generation, keys_in
from app.extensions import db
from app.sync.mapping import NOT_POSTED

TOLERANCE = Decimal("0.005")
MAX_NAMED = 20  # items named in one warning
ACCOUNT_JUMP_SHARE = 0.2
ACCOUNT_JUMP_MIN = 10
PERIOD_JUMP_SHARE = 0.5
PERIOD_JUMP_MIN = Decimal("1000")


def kr(value) -> str:
    """1234567.5 -> '1 234 567,50'."""
    return f"{Decimal(value):,.2f}".replace(",", " ").replace(".", ",")


def _series_label(key: tuple[str, ...]) -> str:
    """konto 6300 (underkonto 100, avdeling 2): only the parts the company uses."""
    _, account, subaccount, branch = key
    extra = [f"underkonto {subaccount}"] if subaccount else []
    extra += [f"avdeling {branch}"] if branch else []
    return f"konto {account}" + (f" ({', '.join(extra)})" if extra else "")


def _period_label(period: str) -> str:
    return f"{period[:4]}-{period[4:]}" if len(period) == 6 else period


def _live(model: type[SyncedRow], client_id: int) -> list:
    generation = current_generation(client_id, DATASET_OF[model])
    return [model.client_id == client_id, model.generation == generation, model.deleted_at.is_(None)]


def actual_ledger():
    """GL balance rows of the bookkeeping itself: balance type Actual, or, when the answer
    gave no balance type, the ACTUAL ledger (or none). Budget ledgers are not checked."""
    return or_(GLBalance.balance_type == "Actual",
               and_(GLBalance.balance_type == "", GLBalance.ledger_id.in_(("ACTUAL", ""))))


def _gl_live(client_id: int) -> list:
    return [*_live(GLBalance, client_id), actual_ledger()]


def _dec(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def unbalanced_batches(client_id: int) -> list[tuple[str, str, Decimal, Decimal]]:
    rows = db.session.execute(
        select(
            JournalLine.module,
            JournalLine.batch_number,
            func.sum(JournalLine.debit),
            func.sum(JournalLine.credit),
        )
        .where(*_live(JournalLine, client_id))
        .group_by(JournalLine.module, JournalLine.batch_number)
        .having(func.abs(func.sum(JournalLine.debit) - func.sum(JournalLine.credit)) > 0.005)
    ).all()
    return [(m, b, _dec(d), _dec(c)) for m, b, d, c in rows]


def unbalanced_periods(client_id: int) -> list[tuple[str, Decimal, Decimal]]:
    rows = db.session.execute(
        select(GLBalance.period, func.sum(GLBalance.period_debit), func.sum(GLBalance.period_credit))
        .where(*_gl_live(client_id))
        .group_by(GLBalance.period)
        .having(
            func.abs(func.sum(GLBalance.period_debit) - func.sum(GLBalance.period_credit)) > 0.005
        )
    ).all()
    return [(p, _dec(d), _dec(c)) for p, d, c in rows]


SERIES = ("period", "account_number", "subaccount", "branch_number")
"""What GL balances and journal lines are compared per (both tables have these columns)."""


def gl_journal_differences(client_id: int) -> dict[tuple[str, ...], tuple[Decimal, ...]]:
    """(period, account, subaccount, branch) -> (GL debit, GL credit, journal debit, journal
    credit) where the ACTUAL ledger and the journal lines differ."""
    gl: dict[tuple[str, ...], list[Decimal]] = {}
    gl_series = [getattr(GLBalance, name) for name in SERIES]
    for *key, debit, credit in db.session.execute(
        select(*gl_series, func.sum(GLBalance.period_debit), func.sum(GLBalance.period_credit))
        .where(*_gl_live(client_id))
        .group_by(*gl_series)
    ):
        gl[tuple(key)] = [_dec(debit), _dec(credit)]
    # Journal sums per (period, account) from the lines alone, then minus the lines of batches
    # not posted (rare: usually no such batch, no query). No line-to-batch join: its plan would
    # hang on fresh statistics (a nested loop over a just-written generation is quadratic).
    line_live = _live(JournalLine, client_id)
    line_series = [getattr(JournalLine, name) for name in SERIES]
    sums = (*line_series, func.sum(JournalLine.debit), func.sum(JournalLine.credit))
    journal: dict[tuple[str, ...], list[Decimal]] = {}
    for *key, debit, credit in db.session.execute(
        select(*sums).where(*line_live).group_by(*line_series)
    ):
        journal[tuple(key)] = [_dec(debit), _dec(credit)]
    unposted = db.session.execute(
        select(JournalBatch.module, JournalBatch.batch_number).where(
            *_live(JournalBatch, client_id), JournalBatch.status.in_(NOT_POSTED))
    ).all()
    for condition in keys_in(JournalLine, JournalLine.parent_key, [tuple(k) for k in unposted]):
        for *key, debit, credit in db.session.execute(
            select(*sums).where(*line_live, condition).group_by(*line_series)
        ):
            entry = journal[tuple(key)]
            entry[0] -= _dec(debit)
            entry[1] -= _dec(credit)
    zero = [Decimal(0), Decimal(0)]
    differences = {}
    for key in set(gl) | set(journal):
        g, j = gl.get(key, zero), journal.get(key, zero)
        # Net amounts: Tripletex's /balanceSheet gives one net change per account and period
        # (Visma.net's gross debit and credit agree with the journal's net as well).
        if abs((g[0] - g[1]) - (j[0] - j[1])) > TOLERANCE:
            differences[key] = (g[0], g[1], j[0], j[1])
    return differences


def figures(client_id: int) -> dict:
    """What the next run compares against: account count and GL debit total per period."""
    accounts = db.session.scalar(
        select(func.count()).select_from(Account).where(*_live(Account, client_id))
    )
    totals = {
        period: str(_dec(debit))
        for period, debit in db.session.execute(
            select(GLBalance.period, func.sum(GLBalance.period_debit))
            .where(*_gl_live(client_id))
            .group_by(GLBalance.period)
        )
    }
    return {"accounts": accounts or 0, "period_debits": totals}


def run_checks(client_id: int, previous: dict | None) -> tuple[list[dict], dict]:
    """All checks for one client: (warnings, figures to keep for the next run)."""
    warnings: list[dict] = []

    batches = unbalanced_batches(client_id)
    if batches:
        named = ", ".join(
            f"{m} {b} (debet {kr(d)}, kredit {kr(c)})" for m, b, d, c in batches[:MAX_NAMED]
        )
        warnings.append({
            "check": "batch_balanced",
            "detail": f"{len(batches)} bilag balanserer ikke: {named}",
            "batches": [f"{m} {b}" for m, b, _, _ in batches[:MAX_NAMED]],
            "accounts": [],
            "periods": [],
        })

    periods = unbalanced_periods(client_id)
    if periods:
        named = ", ".join(
            f"{_period_label(p)} (debet {kr(d)}, kredit {kr(c)})" for p, d, c in periods
        )
        warnings.append({
            "check": "trial_balance",
            "detail": f"Saldobalansen går ikke i null for periode {named}",
            "accounts": [],
            "periods": [p for p, _, _ in periods],
        })

    differences = gl_journal_differences(client_id)
    if differences:
        keys = sorted(differences)
        named = ", ".join(
            f"{_series_label(key)} i {_period_label(key[0])} "
            f"(saldo {kr(differences[key][0] - differences[key][1])}, "
            f"bilag {kr(differences[key][2] - differences[key][3])})"
            for key in keys[:MAX_NAMED]
        )
        warnings.append({
            "check": "gl_matches_journal",
            "detail": f"Saldo og bilagslinjer stemmer ikke for {len(keys)} konto/periode: {named}",
            "accounts": sorted({key[1] for key in keys})[:MAX_NAMED],
            "periods": sorted({key[0] for key in keys})[:MAX_NAMED],
        })

    now_figures = figures(client_id)
    if previous:
        old_accounts = int(previous.get("accounts") or 0)
        new_accounts = now_figures["accounts"]
        if old_accounts and abs(new_accounts - old_accounts) > max(
            ACCOUNT_JUMP_MIN, old_accounts * ACCOUNT_JUMP_SHARE
        ):
            warnings.append({
                "check": "account_count_jump",
                "detail": f"Antall kontoer endret seg fra {old_accounts} til {new_accounts} "
                "siden forrige synkronisering",
                "accounts": [],
                "periods": [],
            })
        jumped = []
        for period, old_text in (previous.get("period_debits") or {}).items():
            old_total = Decimal(old_text)
            new_total = Decimal(now_figures["period_debits"].get(period, "0"))
            change = abs(new_total - old_total)
            if old_total and change > PERIOD_JUMP_MIN and change > old_total * Decimal(
                str(PERIOD_JUMP_SHARE)
            ):
                jumped.append((period, old_total, new_total))
        if jumped:
            named = ", ".join(
                f"{_period_label(p)} ({kr(o)} → {kr(n)})" for p, o, n in jumped[:MAX_NAMED]
            )
            warnings.append({
                "check": "period_total_jump",
                "detail": f"Periodetotaler endret seg kraftig siden forrige synkronisering: {named}",
                "accounts": [],
                "periods": [p for p, _, _ in jumped[:MAX_NAMED]],
            })
    return warnings, now_figures
