"""The simulator served over real HTTP (testing.start_simulator), as other tests will use it."""

from __future__ import annotations

import socket

import requests

from app.visma.simulator import SimulatorConfig
from app.visma.simulator.testing import start_simulator

from .helpers import assert_books_consistent


def test_start_simulator_serves_and_stops():
    sim = start_simulator(SimulatorConfig(journal_lines=300))
    host, port = sim.url.removeprefix("http://").split(":")
    assert sim.api_url == sim.url + "/api"
    with requests.Session() as http:
        assert http.get(sim.url + "/.well-known/openid-configuration", timeout=5).json()[
            "issuer"] == sim.url
    sim.stop()
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # ignore TIME_WAIT, not listeners
        probe.bind((host, int(port)))  # the port is free again


def test_the_shared_fixture_reads_a_tenant_end_to_end(simulator):
    state = simulator.state
    tenant = state.tenant_id("TrekkSpill")
    with requests.Session() as http:
        token = http.post(simulator.token_url, data={
            "grant_type": "client_credentials", "tenant_id": tenant},
            auth=(simulator.service_client_id, simulator.service_client_secret),
            timeout=5).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        response = http.get(simulator.api_url + "/v1/account", headers=headers, timeout=5)
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "15000"
        truth = http.get(f"{simulator.url}/_sim/tenants/{tenant}/truth", timeout=5).json()
        assert [a["accountCD"] for a in response.json()] == [
            a["accountCD"] for a in truth["accounts"]]

        journal = []
        page = 1
        while True:
            rows = http.get(simulator.api_url + "/v2/journaltransaction", headers=headers,
                            params={"lastModifiedDateTime": "2000-01-01", "pageSize": 50,
                                    "pageNumber": page}, timeout=5).json()
            if not rows:
                break
            for piece in rows:
                piece.pop("metadata")
                if journal and journal[-1]["batchNumber"] == piece["batchNumber"]:
                    journal[-1]["journalTransactionLines"] += piece["journalTransactionLines"]
                else:
                    journal.append(piece)
            page += 1
        assert journal == truth["journalTransactions"]


def test_control_api_over_http(simulator):
    base = simulator.url + "/_sim"
    with requests.Session() as http:
        tenants = http.get(base + "/tenants", timeout=5).json()
        assert {"TrekkSpill", "Testing"} <= {t["name"] for t in tenants}
        created = http.post(base + "/tenants", json={
            "name": "Ny Klient AS", "corporateId": "923456783", "journalLines": 250,
            "users": ["demo@visma.test"], "approved": True}, timeout=5)
        assert created.status_code == 201
        tenant = created.json()["tenantId"]
        assert http.post(base + f"/tenants/{tenant}/withdraw", timeout=5).json()[
            "approvedApps"] == []
        assert http.post(base + f"/tenants/{tenant}/approve", timeout=5).json()[
            "approvedApps"] == ["sticos-regnskapsdata-demo", "sticos-regnskapsdata-service"]
        token = http.post(base + f"/tenants/{tenant}/token", timeout=5).json()["access_token"]
        org = http.get(simulator.api_url + "/v1/organization",
                       headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
        assert [o["name"] for o in org] == ["Ny Klient AS"]

        faults = http.post(base + "/faults", json={"throttle_limit": 7}, timeout=5)
        assert faults.json()["throttle_limit"] == 7
        bad = http.post(base + "/faults", json={"nonsense": 1}, timeout=5)
        assert bad.status_code == 400 and "Unknown fault" in bad.json()["error"]
        assert http.post(base + "/faults/reset", timeout=5).json()["throttle_limit"] == 15000
        before = http.get(base + "/clock", timeout=5).json()["now"]
        after = http.post(base + "/clock", json={"advance": 86400}, timeout=5).json()["now"]
        assert after[:10] > before[:10]
        assert http.post(base + "/users/demo@visma.test/revoke", timeout=5).json() == {
            "revoked": 0}
        assert http.get(base + "/tenants/nope/truth", timeout=5).status_code == 404


def test_mount_responses_dispatches_into_the_simulator():
    import responses

    from app.visma.simulator import SimulatorState, create_simulator_app
    from app.visma.simulator.testing import mount_responses

    state = SimulatorState(SimulatorConfig(journal_lines=200))
    app = create_simulator_app(state=state)
    tenant = state.tenant_id("TrekkSpill")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mount_responses(rsps, app, "https://connect.visma.test",
                        "https://api.visma.test")
        discovery = requests.get(
            "https://connect.visma.test/.well-known/openid-configuration", timeout=5).json()
        assert discovery["token_endpoint"] == "https://connect.visma.test/connect/token"
        token = requests.post(discovery["token_endpoint"], data={
            "grant_type": "client_credentials", "tenant_id": tenant},
            auth=("sticos-regnskapsdata-service", "demo-service-secret"),
            timeout=5).json()["access_token"]
        response = requests.get("https://api.visma.test/v1/organization", timeout=5,
                                headers={"Authorization": f"Bearer {token}"})
        assert response.json()[0]["name"] == "TrekkSpill"
        assert response.headers["X-RateLimit-Limit"] == "15000"
        rows = requests.get("https://api.visma.test/v2/journaltransaction", timeout=5,
                            params={"periodId": "202501", "pageSize": 5},
                            headers={"Authorization": f"Bearer {token}"}).json()
        assert sum(len(b["journalTransactionLines"]) for b in rows) == 5


def test_concurrent_readers_and_writers(simulator):
    from concurrent.futures import ThreadPoolExecutor

    state = simulator.state
    tenant = state.tenant_id("Testing")
    token = simulator.service_token(tenant)

    def read(period: int) -> int:
        with requests.Session() as http:
            return http.get(simulator.api_url + "/v2/journaltransaction", timeout=10,
                            params={"periodId": f"2025{period:02d}", "pageSize": 50},
                            headers={"Authorization": f"Bearer {token}"}).status_code

    def write(i: int) -> str:
        return state.add_voucher(tenant, [{"accountNumber": "6300", "debitAmount": i + 1},
                                          {"accountNumber": "1920", "creditAmount": i + 1}],
                                 transaction_date="2025-02-01")["batchNumber"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        reads = pool.map(read, [1 + i % 12 for i in range(24)])
        writes = pool.map(write, range(12))
        assert set(reads) == {200}
        assert len(set(writes)) == 12
    assert_books_consistent(state.truth(tenant))
