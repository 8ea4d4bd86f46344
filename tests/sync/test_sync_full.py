"""Full sync, client-list refresh and incremental sync against the simulator's ground truth."""

from __future__ import annotations

from app.jobs.models import RunKind, RunStatus


def test_refresh_then_full_sync_equals_truth(env):
    integration = env.connect()
    run = env.run(RunKind.REFRESH_CLIENTS, integration)
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    client = env.client_named(integration, "Nordlys Regnskap AS")
    assert client is not None and not client.active and client.is_new
    env.activate(client)
    run = env.run(RunKind.FULL_SYNC, integration, client)
    assert run.status == RunStatus.SUCCEEDED, (run.error_message, run.warnings)
    assert run.counts["journal_lines"] == 400
    env.assert_equal_to_truth(client)
