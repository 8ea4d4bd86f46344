"""Mapped Tripletex rows go into the store's tables, and the accounting checks hold on them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.accounting import store
from app.accounting.models import SYNCED_MODELS, JournalBatch, JournalLine
from app.extensions import db
from app.sync import checks
from app.tripletex import mapping
from app.tripletex.simulator.control import ground_truth
from tests.factories import ClientFactory

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def stored(app, sim_state):
    """One Tripletex company's ground truth, mapped and written into the store."""
    truth = ground_truth(sim_state, sim_state.company_id("Nordkapp Bakeri AS"))
    with app.app_context():
        client = ClientFactory(integration__customer__name="Byrå AS",
                               integration__system="tripletex",
                               external_id=str(truth["company"]["id"]),
                               name=truth["company"]["name"])
        sources = {"accounts": "accounts", "periods": "periods", "gl_balances": "balances",
                   "customers": "customers", "suppliers": "suppliers"}
        for dataset, source in sources.items():
            model = SYNCED_MODELS[dataset]
            rows = [mapping.conform(mapping.ROW_MAPPERS[dataset](r),
                                    (*model.natural_key, *store.value_columns(model),
                                     "source_modified_at"), model.natural_key)
                    for r in truth[source]]
            store.write_rows(model, client.id, 0, rows, now=NOW)
        batches, lines = [], []
        for voucher in truth["vouchers"]:
            batch, batch_lines = mapping.journal_rows(voucher)
            batches.append(batch)
            lines.extend(batch_lines)
        store.write_rows(JournalBatch, client.id, 0, batches, now=NOW)
        store.write_rows(JournalLine, client.id, 0, lines, now=NOW)
        db.session.commit()
        yield client.id, truth


def test_rows_land_in_the_store_one_per_record(app, stored):
    client_id, truth = stored
    with app.app_context():
        counts = {name: db.session.query(model).filter_by(client_id=client_id).count()
                  for name, model in SYNCED_MODELS.items()}

    assert counts["accounts"] == len(truth["accounts"])
    assert counts["gl_balances"] == len(truth["balances"])
    assert counts["journal_batches"] == len(truth["vouchers"])
    assert counts["journal_lines"] == sum(len(v["postings"]) for v in truth["vouchers"])
    assert counts["customers"] == len(truth["customers"])


def test_balanced_batches_and_a_zero_trial_balance(app, stored):
    client_id, _ = stored
    with app.app_context():
        assert checks.unbalanced_batches(client_id) == []
        assert checks.unbalanced_periods(client_id) == []


def test_gl_balances_equal_the_journal_net_per_account_and_period(app, stored):
    """/balanceSheet gives a net change, so GL and journal agree on debit minus credit; the
    Visma-era check comparing debit and credit separately flags accounts that moved both ways
    (the integration must make that check compare nets)."""
    client_id, _ = stored
    with app.app_context():
        differences = checks.gl_journal_differences(client_id)

    net_off = {key: d for key, d in differences.items() if (d[0] - d[1]) != (d[2] - d[3])}
    assert net_off == {}
