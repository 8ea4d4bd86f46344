"""How long the Visma.net simulator takes to generate a company, and to serve its first pages.

    .venv/bin/python bench/simulator_generation.py [journal_lines ...]   (default 200000 500000)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root

from app.visma.simulator import SimulatorConfig, SimulatorState, create_simulator_app


def measure(lines: int) -> None:
    state = SimulatorState(SimulatorConfig(demo_world=False))
    tenant = state.add_company("Stor Klient AS", journal_lines=lines, approved=True)["tenantId"]
    started = time.perf_counter()
    ledger = state.ledger(tenant)
    generated = time.perf_counter() - started
    client = create_simulator_app(state=state).test_client()
    headers = {"Authorization": f"Bearer {state.issue_service_token(tenant)}"}
    started = time.perf_counter()
    page = client.get("/api/v2/journaltransaction", headers=headers,
                      query_string={"periodId": "202506", "pageSize": 1000})
    first_page = time.perf_counter() - started
    started = time.perf_counter()
    gl = client.get("/api/v2/generalLedgerBalance", headers=headers,
                    query_string={"lastModifiedDateTime": "2000-01-01", "pageSize": 1000})
    gl_page = time.perf_counter() - started
    started = time.perf_counter()
    everything = client.get("/api/v2/journaltransaction", headers=headers,
                            query_string={"lastModifiedDateTime": "2000-01-01", "pageSize": 1000,
                                          "pageNumber": 100})
    incremental = time.perf_counter() - started
    assert page.status_code == gl.status_code == everything.status_code == 200
    total = sum(len(b.lines) for b in ledger.batches.values())
    print(f"{total:>8} lines, {len(ledger.batches):>6} batches, {len(ledger.customers):>5} "
          f"customers: generated in {generated:.2f} s; first journal page (1000 lines) "
          f"{first_page * 1000:.0f} ms; first GL page {gl_page * 1000:.0f} ms; page 100 of an "
          f"all-time lastModifiedDateTime journal read {incremental * 1000:.0f} ms")


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or [200_000, 500_000]:
        measure(size)
