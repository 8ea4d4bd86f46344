"""A restarted simulator (`make run` again) remembers grants, consents, App Store permissions,
its signing key and clock, so the demo integrations stay connected."""

from __future__ import annotations

import datetime as dt
import json

from app.visma.simulator import SimulatorConfig, SimulatorState, create_simulator_app
from app.visma.simulator.persistence import keep_on_disk

from .helpers import exchange, get_code, pkce, refresh


def _simulator(path, seed=3):
    state = SimulatorState(SimulatorConfig(journal_lines=100, seed=seed))
    app = create_simulator_app(state=state)
    app.config["TESTING"] = True
    keep_on_disk(app, state, path)
    return state, app.test_client()


def test_grants_survive_a_restart(tmp_path):
    path = tmp_path / "instance" / "visma-simulator.json"
    state, client = _simulator(path)
    verifier, challenge = pkce()
    tokens = exchange(client, get_code(client, challenge), verifier).get_json()
    bakeriet = state.tenant_id("Bakeriet på Hjørnet AS")
    client.post("/_sim/clock", json={"advance": 600})
    state.approve(bakeriet)  # App Store "Integrer"; saved with the next request
    client.get("/.well-known/openid-configuration")
    assert path.exists()

    # A new process: a fresh world from the same seed, then the file.
    restarted, client = _simulator(path)
    assert bakeriet in {c.tenant_id for c in restarted.companies.values() if c.approved}
    assert restarted.now() - state.now() < dt.timedelta(seconds=5)
    # The access token the app kept still opens the ERP API ...
    trekkspill = restarted.tenant_id("TrekkSpill")
    response = client.get("/api/v1/account", headers={
        "Authorization": f"Bearer {tokens['access_token']}", "ipp-company-id": trekkspill})
    assert response.status_code == 200, response.get_json()
    # ... and the refresh token works once, as before the restart.
    renewed = refresh(client, tokens["refresh_token"])
    assert renewed.status_code == 200, renewed.get_json()
    # Single use still, once the grace period for a retried exchange has passed.
    client.post("/_sim/clock", json={"advance": restarted.faults.refresh_grace_period + 1})
    assert refresh(client, tokens["refresh_token"]).status_code == 400


def test_a_file_for_another_world_or_a_broken_file_is_ignored(tmp_path):
    path = tmp_path / "visma-simulator.json"
    state, client = _simulator(path, seed=3)
    verifier, challenge = pkce()
    exchange(client, get_code(client, challenge), verifier)
    assert json.loads(path.read_text())["grants"]

    other, _ = _simulator(path, seed=4)
    assert other.grants == {}
    path.write_text("{not json")
    broken, _ = _simulator(path, seed=3)
    assert broken.grants == {}
