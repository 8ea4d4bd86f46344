"""Full and incremental syncs of the multi-branch demo company (branches, subaccounts, a budget
ledger, EUR invoices, two organizations) against the simulator's ground truth, and source rows
that lack a required field."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.accounting.models import (
    GLBalance,
    JournalLine,
    LedgerCustomerBalance,
    Organization,
)
from app.accounting.queries import current_rows
from app.extensions import db
from app.jobs.models import RunKind, RunStatus
from app.sync import checks
from app.visma.simulator.state import SECOND_USER

COMPANY = "Fjordhandel Gruppen AS"


def _ready(env, email: str, name: str):
    integration = env.connect(email=email)
    run = env.run(RunKind.REFRESH_CLIENTS, integration)
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    client = env.client_named(integration, name)
    env.activate(client)
    return integration, client


def test_multi_branch_company_full_sync_equals_truth_to_the_ore(env):
    integration, client = _ready(env, SECOND_USER, COMPANY)
    assert client.orgnr == "914778263"  # the tenant's own company, not its sister organization
    run = env.run(RunKind.FULL_SYNC, integration, client)
    assert run.status == RunStatus.SUCCEEDED, (run.error_message, run.warnings)
    env.assert_equal_to_truth(client)  # every row, every column, to the øre

    # GL = Σ journal lines per branch, subaccount and period on ACTUAL; trial balance 0
    assert checks.gl_journal_differences(client.id) == {}
    assert checks.unbalanced_periods(client.id) == []
    gl = db.session.scalars(current_rows(GLBalance, client.id)).all()
    assert {(r.ledger_id, r.balance_type) for r in gl} == {("ACTUAL", "Actual"),
                                                            ("BUDSJETT", "Budget")}
    assert {r.branch_number for r in gl} == {"1", "2"}
    assert {r.subaccount for r in gl} == {"", "100", "200", "300"}
    budget = [r for r in gl if r.ledger_id == "BUDSJETT"]
    assert sum(r.period_debit for r in budget) > 0  # kept, but not in the checks
    lines = db.session.scalars(current_rows(JournalLine, client.id)).all()
    eur = [line for line in lines if line.debit_in_currency and line.debit != line.debit_in_currency]
    assert eur and all(line.vat_code == "14" for line in eur if line.account_number != "2400")
    assert {(line.vat_code, line.vat_description) for line in lines if line.vat_code} >= {
        ("3", "Utgående mva 25 %"), ("1", "Inngående mva 25 %")}
    balances = db.session.scalars(current_rows(LedgerCustomerBalance, client.id)).all()
    per_customer: dict[str, set[str]] = {}
    for row in balances:
        per_customer.setdefault(row.party_number, set()).add(row.branch_number)
        assert (row.from_period, row.to_period) == ("202501", "202612")
    assert any(len(branches) == 2 for branches in per_customer.values())
    org = db.session.scalar(select(Organization).where(Organization.client_id == client.id))
    assert (org.corporate_id, org.default_country) == ("914778263", "NO")


def test_incremental_sync_of_a_branch_and_subaccount_voucher_reconciles(env):
    integration, client = _ready(env, SECOND_USER, COMPANY)
    assert env.run(RunKind.FULL_SYNC, integration, client).status == RunStatus.SUCCEEDED
    env.sim.state.add_voucher(client.external_id, [
        {"accountNumber": "6300", "debitAmount": "1234.56", "branch": "2", "subaccount": "200",
         "vatCode": "1"},
        {"accountNumber": "1920", "creditAmount": "1234.56", "branch": "2"},
    ], transaction_date="2026-02-10", description="Husleie Bergen")
    run = env.run(RunKind.INCREMENTAL_SYNC, integration, client)
    assert run.status == RunStatus.SUCCEEDED, (run.error_message, run.warnings)
    env.assert_equal_to_truth(client)
    row = db.session.scalar(current_rows(GLBalance, client.id).where(
        GLBalance.period == "202602", GLBalance.account_number == "6300",
        GLBalance.subaccount == "200", GLBalance.branch_number == "2",
        GLBalance.ledger_id == "ACTUAL"))
    assert row.period_debit >= Decimal("1234.56")


def test_journal_lines_without_account_are_rejected_not_stored(env):
    integration, client = _ready(env, "demo@visma.test", "Nordlys Regnskap AS")
    batches = env.sim.state.truth(client.external_id)["journalTransactions"]
    bad = batches[5]["batchNumber"]
    env.sim.state.set_faults(lines_without_account=[bad])
    run = env.run(RunKind.FULL_SYNC, integration, client)

    assert run.status == RunStatus.WARNINGS, run.error_message
    rejected = run.warnings[0]
    assert rejected["check"] == "rejected_records"
    assert rejected["detail"].startswith("1 oppføring(er) fra Visma.net manglet påkrevde felt "
                                         "og ble ikke lagret")
    assert f"{bad} ({batches[5]['financialPeriod']}): linje 1 mangler kontonummer" in \
        rejected["detail"]
    stored = db.session.scalars(current_rows(JournalLine, client.id)).all()
    assert bad not in {line.batch_number for line in stored}
    assert all(line.account_number for line in stored)
    assert len(stored) == 400 - len(batches[5]["journalTransactionLines"])
    db.session.refresh(client)
    assert "manglet påkrevde felt" in client.last_sync_message

    env.sim.state.reset_faults()  # the source is fixed: the next run takes the batch in
    run = env.run(RunKind.FULL_SYNC, integration, client)
    assert run.status == RunStatus.SUCCEEDED, (run.error_message, run.warnings)
    env.assert_equal_to_truth(client)


def test_an_ambiguous_organization_fails_the_run_once_with_a_norwegian_reason(env):
    integration, client = _ready(env, SECOND_USER, COMPANY)
    client.orgnr, client.name = "987654325", "Et annet navn AS"  # matches neither organization
    db.session.commit()
    run = env.run(RunKind.FULL_SYNC, integration, client)
    assert run.status == RunStatus.FAILED
    assert run.attempts == 1  # not retried: retrying cannot help
    assert run.error_message.startswith("Selskapet har 2 organisasjoner i Visma.net "
                                        "(Fjordhandel Gruppen AS (914778263), "
                                        "Fjordhandel Eiendom AS (914778271))")
    assert "987654325" in run.error_message
