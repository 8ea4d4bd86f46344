"""Accounting checks run after every sync, on the client's visible copy.

- every journal batch balances (debit = credit);
- the trial balance nets to zero per period (GL debit = GL credit);
- GL balances equal the summed journal lines per account, subaccount, branch and period (net);
- the number of accounts or a period's totals did not jump against the previous run.

A finding is a warning dict ``{"check", "detail", "accounts", "periods"}`` naming what is off;
the run then completes "with warnings".
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from sqlalchemy import and_, func, or_, select, true

from app.accounting.models import Account, GLBalance, JournalBatch, JournalLine
from app.accounting.queries import visible
from app.accounting.store import UNCHECKED, key_ranges, keys_in
from app.extensions import db
from app.sync.mapping import NOT_POSTED

TOLERANCE = Decimal("0.005")
MAX_NAMED = 20  # items named in one warning
ACCOUNT_JUMP_SHARE = 0.2
ACCOUNT_JUMP_MIN = 10
PERIOD_JUMP_SHARE = 0.5
PERIOD_JUMP_MIN = Decimal("1000")
GL_JOURNAL = "gl_journal"
"""figures key: the GL/journal differences found, [*SERIES values, 4 × amount]."""
UNBALANCED = "unbalanced_batches"
"""figures key: the unbalanced batches found, [module, batch number, period, debit, credit]."""


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


def actual_ledger():
    """GL balance rows of the bookkeeping itself: balance type Actual, or, when the answer
    gave no balance type, the ACTUAL ledger (or none). Budget ledgers are not checked."""
    return or_(GLBalance.balance_type == "Actual",
               and_(GLBalance.balance_type == "", GLBalance.ledger_id.in_(("ACTUAL", ""))))


def _gl_live(client_id: int) -> list:
    return [*visible(GLBalance, client_id), actual_ledger()]


def _dec(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def unbalanced_batches(client_id: int, periods: Collection[str] | None = None
                       ) -> list[tuple[str, str, str, Decimal, Decimal]]:
    """(module, batch number, period, debit, credit) of each batch whose lines do not
    balance, in batch order.

    With ``periods`` only the batches of those periods are summed: their lines found through
    the batch-number ranges of their batches, as ``_journal_sums_in`` finds them."""
    line_live = visible(JournalLine, client_id)
    ranges = [true()]
    if periods is not None:
        periods = sorted(periods)
        ranges = key_ranges(JournalLine, JournalLine.parent_key,
                            [(module, number) for module, number, _ in
                             _batches_in(client_id, periods)])
        line_live.append(JournalLine.period.in_(periods))
    found = []
    for condition in ranges:
        found += db.session.execute(
            select(
                JournalLine.module,
                JournalLine.batch_number,
                func.min(JournalLine.period),  # a line's period is its batch's
                func.sum(JournalLine.debit),
                func.sum(JournalLine.credit),
            )
            .where(*line_live, condition)
            .group_by(JournalLine.module, JournalLine.batch_number)
            .having(func.abs(func.sum(JournalLine.debit) - func.sum(JournalLine.credit)) > 0.005)
        ).all()
    return sorted((m, b, p, _dec(d), _dec(c)) for m, b, p, d, c in found)


def _batches_in(client_id: int, periods: Collection[str]) -> list:
    """(module, batch number, status) of the visible batches of ``periods``."""
    return db.session.execute(
        select(JournalBatch.module, JournalBatch.batch_number, JournalBatch.status).where(
            *visible(JournalBatch, client_id), JournalBatch.period.in_(sorted(periods)))
    ).all()


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


def gl_journal_differences(
    client_id: int, periods: Collection[str] | None = None
) -> dict[tuple[str, ...], tuple[Decimal, ...]]:
    """(period, account, subaccount, branch) -> (GL debit, GL credit, journal debit, journal
    credit) where the ACTUAL ledger and the journal lines differ.

    With ``periods`` only those periods are summed: their GL rows through the natural-key
    index, their journal lines through their batches (a line's period is its batch's), so an
    incremental run pays for what it touched, not for the whole journal."""
    gl_live = _gl_live(client_id)
    if periods is not None:
        if not periods:
            return {}
        gl_live.append(GLBalance.period.in_(sorted(periods)))
    gl: dict[tuple[str, ...], list[Decimal]] = {}
    gl_series = [getattr(GLBalance, name) for name in SERIES]
    for *key, debit, credit in db.session.execute(
        select(*gl_series, func.sum(GLBalance.period_debit), func.sum(GLBalance.period_credit))
        .where(*gl_live)
        .group_by(*gl_series)
    ):
        gl[tuple(key)] = [_dec(debit), _dec(credit)]
    journal = _journal_sums(client_id) if periods is None else _journal_sums_in(client_id, periods)
    zero = [Decimal(0), Decimal(0)]
    differences = {}
    for key in set(gl) | set(journal):
        g, j = gl.get(key, zero), journal.get(key, zero)
        # Net amounts: Tripletex's /balanceSheet gives one net change per account and period
        # (Visma.net's gross debit and credit agree with the journal's net as well).
        if abs((g[0] - g[1]) - (j[0] - j[1])) > TOLERANCE:
            differences[key] = (g[0], g[1], j[0], j[1])
    return differences


_LINE_SERIES = tuple(getattr(JournalLine, name) for name in SERIES)
_LINE_SUMS = (*_LINE_SERIES, func.sum(JournalLine.debit), func.sum(JournalLine.credit))


def _add_sums(journal: dict[tuple[str, ...], list[Decimal]], statement, sign: int = 1) -> None:
    for *key, debit, credit in db.session.execute(statement.group_by(*_LINE_SERIES)):
        entry = journal.setdefault(tuple(key), [Decimal(0), Decimal(0)])
        entry[0] += sign * _dec(debit)
        entry[1] += sign * _dec(credit)


def _journal_sums(client_id: int) -> dict[tuple[str, ...], list[Decimal]]:
    """Posted journal sums per ``SERIES`` of the whole journal: from the lines alone, then
    minus the lines of batches not posted (rare: usually no such batch, no query). No
    line-to-batch join: its plan would hang on fresh statistics (a nested loop over a
    just-written generation is quadratic)."""
    line_live = visible(JournalLine, client_id)
    journal: dict[tuple[str, ...], list[Decimal]] = {}
    _add_sums(journal, select(*_LINE_SUMS).where(*line_live))
    unposted = db.session.execute(
        select(JournalBatch.module, JournalBatch.batch_number).where(
            *visible(JournalBatch, client_id), JournalBatch.status.in_(NOT_POSTED))
    ).all()
    for condition in keys_in(JournalLine, JournalLine.parent_key, [tuple(k) for k in unposted]):
        _add_sums(journal, select(*_LINE_SUMS).where(*line_live, condition), sign=-1)
    return journal


def _journal_sums_in(client_id: int, periods: Collection[str]
                     ) -> dict[tuple[str, ...], list[Decimal]]:
    """Posted journal sums per ``SERIES`` of ``periods`` only: the lines of those periods,
    found through the batch-number ranges of their batches (index range scans of the lines'
    natural key; a line's period is its batch's), minus the lines of batches not posted."""
    periods = sorted(periods)
    batches = _batches_in(client_id, periods)
    line_live = [*visible(JournalLine, client_id), JournalLine.period.in_(periods)]
    journal: dict[tuple[str, ...], list[Decimal]] = {}
    for condition in key_ranges(JournalLine, JournalLine.parent_key,
                                [(module, number) for module, number, _ in batches]):
        _add_sums(journal, select(*_LINE_SUMS).where(*line_live, condition))
    unposted = [(module, number) for module, number, status in batches if status in NOT_POSTED]
    for condition in keys_in(JournalLine, JournalLine.parent_key, unposted):
        _add_sums(journal, select(*_LINE_SUMS).where(*line_live, condition), sign=-1)
    return journal


def figures(client_id: int) -> dict:
    """What the next run compares against: account count and GL debit total per period."""
    accounts = db.session.scalar(
        select(func.count()).select_from(Account).where(*visible(Account, client_id))
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


def _gl_journal_now(client_id: int, previous: dict | None, periods: Collection[str] | None
                    ) -> dict[tuple[str, ...], tuple[Decimal, ...]]:
    """The GL/journal differences of the whole copy: with ``periods`` (what an incremental run
    wrote) only those periods and the ones an earlier run left unchecked are summed again; the
    other periods keep what the previous checks found (their rows did not change since)."""
    width = len(SERIES)
    stored = (previous or {}).get(GL_JOURNAL)
    if periods is None or stored is None or any(len(found) != width + 4 for found in stored):
        return gl_journal_differences(client_id)
    resum = set(periods) | set(previous.get(UNCHECKED) or ())
    kept = {tuple(found[:width]): tuple(Decimal(v) for v in found[width:])
            for found in stored if found[0] not in resum}
    kept.update(gl_journal_differences(client_id, resum))
    return kept


def _unbalanced_now(client_id: int, previous: dict | None, periods: Collection[str] | None
                    ) -> list[tuple[str, str, str, Decimal, Decimal]]:
    """The unbalanced batches of the whole copy, summed again as ``_gl_journal_now`` sums the
    GL/journal differences: with ``periods`` only the batches of those periods and of the
    ones an earlier run left unchecked; the other batches keep what the previous checks found.
    A kept batch that is now in a period summed again (it moved) is that sum's to judge."""
    stored = (previous or {}).get(UNBALANCED)
    if periods is None or stored is None or any(len(found) != 5 for found in stored):
        return unbalanced_batches(client_id)
    kept = [(module, number, period, Decimal(debit), Decimal(credit))
            for module, number, period, debit, credit in stored]
    resum = set(periods) | set(previous.get(UNCHECKED) or ())
    if not resum:
        return kept
    summed = {(module, number) for module, number, _ in _batches_in(client_id, resum)}
    kept = [found for found in kept if found[2] not in resum and found[:2] not in summed]
    return sorted(kept + unbalanced_batches(client_id, resum))


def run_checks(client_id: int, previous: dict | None, touched: Collection[str] | None = None
               ) -> tuple[list[dict], dict]:
    """All checks for one client: (warnings, figures to keep for the next run). ``touched``:
    the periods an incremental run wrote (see ``_gl_journal_now`` and ``_unbalanced_now``);
    None checks everything."""
    warnings: list[dict] = []

    batches = _unbalanced_now(client_id, previous, touched)
    if batches:
        named = ", ".join(
            f"{m} {b} (debet {kr(d)}, kredit {kr(c)})" for m, b, _, d, c in batches[:MAX_NAMED]
        )
        warnings.append({
            "check": "batch_balanced",
            "detail": f"{len(batches)} bilag balanserer ikke: {named}",
            "batches": [f"{m} {b}" for m, b, _, _, _ in batches[:MAX_NAMED]],
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

    differences = _gl_journal_now(client_id, previous, touched)
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
    now_figures[GL_JOURNAL] = [[*key, *(str(v) for v in values)]
                               for key, values in sorted(differences.items())]
    now_figures[UNBALANCED] = [[m, b, p, str(d), str(c)] for m, b, p, d, c in batches]
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
