"""Incremental sync: after rounds of source mutations the store equals the ground truth."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select

from app.accounting.models import Account, DatasetState, JournalBatch
from app.extensions import db
from app.integrations.visma import visma_client
from app.jobs.models import RunKind, RunStatus
from app.visma.simulator import SimulatorConfig

from .mutations import mutate


def assert_ok(run):
    """Succeeded, or warned only about jumps (a voided opening balance is a big change)."""
    assert run.status in (RunStatus.SUCCEEDED, RunStatus.WARNINGS), run.error_message
    assert not [w for w in run.warnings if not w["check"].endswith("_jump")], run.warnings


def _ready(env, name="Nordlys Regnskap AS"):
    integration = env.connect()
    assert env.run(RunKind.REFRESH_CLIENTS, integration).status == RunStatus.SUCCEEDED
    client = env.client_named(integration, name)
    env.activate(client)
    return integration, client


@pytest.mark.slow
@pytest.mark.parametrize("sim_config", [SimulatorConfig(seed=3, journal_lines=600),
                                        SimulatorConfig(seed=11, journal_lines=900)],
                         ids=["seed3", "seed11"])
def test_incremental_rounds_equal_truth(env, sim_config):
    integration, client = _ready(env)
    run = env.run(RunKind.FULL_SYNC, integration, client)
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    full_calls = run_calls = None
    rng = random.Random(sim_config.seed)
    for round_number in range(4):
        done = mutate(env.sim.state, client.external_id, rng, changes=15)
        before = visma_client().api_calls
        run = env.run(RunKind.INCREMENTAL_SYNC, integration, client)
        run_calls = visma_client().api_calls - before
        # random deletions may halve a small month's totals: only the jump checks may warn
        consistency = [w for w in run.warnings if not w["check"].endswith("_jump")]
        assert run.status in (RunStatus.SUCCEEDED, RunStatus.WARNINGS), (round_number, done,
                                                                         run.error_message)
        assert not consistency, (round_number, done, consistency)
        env.assert_equal_to_truth(client)
    assert run_calls < 25  # a handful of pages, not a re-read
    del full_calls


def test_unchanged_rows_keep_changed_at_and_deletions_are_tombstones(env):
    integration, client = _ready(env)
    env.run(RunKind.FULL_SYNC, integration, client)
    stamps = dict(db.session.execute(select(Account.account_number, Account.changed_at)
                                     .where(Account.client_id == client.id)).all())
    state, tenant = env.sim.state, client.external_id
    state.add_account(tenant, "8123", "Midlertidig")
    env.run(RunKind.INCREMENTAL_SYNC, integration, client)
    state.delete_account(tenant, "8123")
    state.update_account(tenant, "1920", description="Bank hovedkonto")
    batch = state.truth(tenant)["journalTransactions"][0]["batchNumber"]
    state.void_voucher(tenant, batch)
    run = env.run(RunKind.INCREMENTAL_SYNC, integration, client)
    assert_ok(run)
    db.session.expire_all()
    rows = {a.account_number: a for a in db.session.scalars(
        select(Account).where(Account.client_id == client.id))}
    assert rows["8123"].deleted_at is not None  # a tombstone readers can learn from
    assert rows["1920"].changed_at > stamps["1920"]
    unchanged = [n for n in stamps if n not in ("1920",) and rows[n].changed_at != stamps[n]]
    assert not unchanged
    voided = db.session.scalar(select(JournalBatch).where(
        JournalBatch.client_id == client.id, JournalBatch.batch_number == batch))
    assert voided.deleted_at is not None and voided.status == "Voided"
    env.assert_equal_to_truth(client)

    # a full sync keeps the tombstones and the unchanged stamps, in a new generation
    run = env.run(RunKind.FULL_SYNC, integration, client)
    assert_ok(run)
    db.session.expire_all()
    generations = set(db.session.scalars(select(Account.generation).where(
        Account.client_id == client.id)))
    assert generations == {2}
    after = {a.account_number: a for a in db.session.scalars(
        select(Account).where(Account.client_id == client.id))}
    assert after["8123"].deleted_at is not None
    assert after["2400"].changed_at == stamps["2400"]
    env.assert_equal_to_truth(client)


def test_bookmarks_set_and_incremental_reads_little(env):
    integration, client = _ready(env)
    env.run(RunKind.FULL_SYNC, integration, client)
    state = db.session.scalar(select(DatasetState).where(
        DatasetState.client_id == client.id, DatasetState.dataset == "journal_batches"))
    assert state.bookmark is not None and state.current_generation == 1
    env.sim.state.add_voucher(client.external_id, [
        {"accountNumber": "1920", "debitAmount": 100}, {"accountNumber": "3000", "creditAmount": 100}])
    run = env.run(RunKind.INCREMENTAL_SYNC, integration, client)
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.counts["journal_batches"] >= 1
    assert run.counts["journal_lines"] < 50  # the new batch (plus the look-back), not everything
    total = db.session.scalar(select(func.count()).select_from(JournalBatch).where(
        JournalBatch.client_id == client.id, JournalBatch.deleted_at.is_(None)))
    assert total == len(env.sim.state.truth(client.external_id)["journalTransactions"])
