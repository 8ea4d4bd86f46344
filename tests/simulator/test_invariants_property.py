"""Any sequence of voucher changes keeps every batch balanced and the GL equal to the lines."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.visma.simulator import SimulatorConfig, SimulatorState
from app.visma.simulator.ledger import SimError

from .helpers import assert_books_consistent

ACCOUNTS = ["1500", "1920", "2400", "2700", "3000", "4000", "6300", "7770", "8150"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutations_keep_the_books_consistent(data):
    state = SimulatorState(SimulatorConfig(demo_world=False, seed=data.draw(st.integers(0, 99))))
    tenant = state.add_company("Egenskap AS", journal_lines=data.draw(st.integers(2, 300)))[
        "tenantId"]
    for _ in range(data.draw(st.integers(1, 8))):
        action = data.draw(st.sampled_from(["add", "add", "void", "delete"]))
        batches = list(state.ledger(tenant).batches)
        if action == "add" or not batches:
            amounts = data.draw(st.lists(st.integers(1, 10_000_000), min_size=1, max_size=5))
            lines = [{"accountNumber": data.draw(st.sampled_from(ACCOUNTS)),
                      "debitAmount": f"{a / 100:.2f}"} for a in amounts]
            lines.append({"accountNumber": data.draw(st.sampled_from(ACCOUNTS)),
                          "creditAmount": f"{sum(amounts) / 100:.2f}"})
            month = data.draw(st.integers(1, 12))
            year = data.draw(st.sampled_from([2025, 2026]))
            state.add_voucher(tenant, lines, transaction_date=f"{year}-{month:02d}-10")
        elif action == "void":
            with contextlib.suppress(SimError):  # already voided
                state.void_voucher(tenant, data.draw(st.sampled_from(batches)))
        else:
            state.delete_voucher(tenant, data.draw(st.sampled_from(batches)))
    assert_books_consistent(state.truth(tenant))
