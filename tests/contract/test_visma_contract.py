"""The simulator against Visma's own published schemas (the vendored subset beside this file).

Every ERP path the product reads is called over real HTTP, with and without filters and over
several pages, and each answer is validated with a JSON Schema validator (jsonschema-rs) against
the response schema Visma publishes, made strict: a field the schema lacks is an error, as is a
type or an enum value outside it. Query parameters Visma marks required must give a 400 when left
out. Placeholders the subset does not expand (``x-subset-note``) accept any object.
"""

from __future__ import annotations

import pytest
import requests

from app.visma.simulator import SimulatorConfig
from app.visma.simulator.testing import start_simulator

from .schema import SPEC, problems, required_params

PAGE_SIZE = 5
PAGES = 3
# The demo companies the contract is checked on: a plain one and the multi-branch one with
# subaccounts, a budget ledger and foreign-currency lines.
COMPANIES = ("TrekkSpill", "Fjordhandel Gruppen AS")


BALANCES = {"fromFinPeriod": "202501", "toFinPeriod": "202612"}
# path -> (filter sets to try, paged?)
CALLS: dict[str, tuple[list[dict], bool]] = {
    "/v1/organization": ([{}, {"expandBranches": "true"}], False),
    "/v1/account": ([{}, {"lastModifiedDateTime": "2020-01-01",
                          "lastModifiedDateTimeCondition": ">="}], False),
    "/v1/financialPeriod": ([{}, {"greaterThanValue": "2025"}], False),
    "/v2/generalLedgerBalance": ([{"periodId": "202503"},
                                  {"lastModifiedDateTime": "2020-01-01"},
                                  {"periodId": "202503", "ledger": "ACTUAL", "branch": "1"}], True),
    "/v2/journaltransaction": ([{"periodId": "202503"},
                                {"lastModifiedDateTime": "2020-01-01"},
                                {"periodId": "202504", "module": "GL", "status": "Posted"}], True),
    "/v1/customer": ([{}, {"status": "Active"},
                      {"lastModifiedDateTime": "2020-01-01",
                       "lastModifiedDateTimeCondition": ">="}], True),
    "/v1/supplier": ([{}, {"status": "Active"},
                      {"lastModifiedDateTime": "2020-01-01",
                       "lastModifiedDateTimeCondition": ">="}], True),
    "/v2/customer/balance": ([BALANCES, {**BALANCES, "branchNumber": "1"}], True),
    "/v2/supplier/balance": ([BALANCES, {**BALANCES, "branch": "1"}], True),
}


def test_every_path_of_the_subset_is_covered():
    assert set(CALLS) == set(SPEC["paths"])


@pytest.fixture(scope="module")
def sim():
    running = start_simulator(SimulatorConfig(journal_lines=2000, seed=5))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def erp(sim):
    session = requests.Session()

    def get(company: str, path: str, params: dict) -> requests.Response:
        token = sim.service_token(sim.state.tenant_id(company))
        return session.get(sim.api_url + path, params=params, timeout=30,
                           headers={"Authorization": f"Bearer {token}"})

    yield get
    session.close()


@pytest.mark.parametrize("company", COMPANIES)
@pytest.mark.parametrize("path", sorted(CALLS))
def test_answers_match_visma_schema(erp, company, path):
    filter_sets, paged = CALLS[path]
    checked = 0
    for params in filter_sets:
        pages = range(1, PAGES + 1) if paged else [None]
        for number in pages:
            query = dict(params)
            if number is not None:
                query.update(pageNumber=number, pageSize=PAGE_SIZE)
            response = erp(company, path, query)
            assert response.status_code == 200, (path, query, response.text[:300])
            body = response.json()
            assert problems(path, body) == [], (path, query)
            if not params or number == 1:
                assert body, f"{path} {query}: an empty answer proves nothing"
            checked += len(body)
    assert checked


@pytest.mark.parametrize("path", [p for p in sorted(CALLS) if required_params(p)])
def test_required_parameters_are_required(erp, path):
    filters, _ = CALLS[path]
    for name in required_params(path):
        query = {k: v for k, v in filters[0].items() if k != name}
        response = erp("TrekkSpill", path, query)
        assert response.status_code == 400, (path, name, response.status_code)
        assert name in response.text


def test_multi_branch_company_shows_what_real_companies_have(erp):
    """Branches, subaccounts, a budget ledger, foreign currency and parties in two branches."""
    company = "Fjordhandel Gruppen AS"
    gl = erp(company, "/v2/generalLedgerBalance", {"periodId": "202503", "pageSize": 1000}).json()
    assert {row["branch"]["number"] for row in gl} >= {"1", "2"}
    assert {row["ledger"]["id"] for row in gl} >= {"ACTUAL", "BUDSJETT"}
    assert any(row.get("subAccountCd") for row in gl)
    journal = erp(company, "/v2/journaltransaction", {"lastModifiedDateTime": "2020-01-01",
                                                      "pageSize": 1000}).json()
    assert any(batch["currencyId"] != "NOK" for batch in journal)
    lines = [line for batch in journal for line in batch["journalTransactionLines"]]
    assert {line["branch"] for line in lines} >= {"1", "2"}
    assert any(isinstance(line.get("vatCode"), dict) for line in lines)
    balances = erp(company, "/v2/customer/balance", {**BALANCES, "pageSize": 1000}).json()
    branches_per_customer: dict[str, set] = {}
    for row in balances:
        branches_per_customer.setdefault(row["customer"]["number"], set()).add(
            row["branchNumber"]["number"])
    assert any(len(b) > 1 for b in branches_per_customer.values())
