"""`flask sync run` and `flask sync refresh-clients`."""

from __future__ import annotations

from app.extensions import db
from app.jobs.models import RunKind, RunStatus, SyncRun


def test_cli_refresh_then_sync(env):
    integration = env.connect()
    runner = env.app.test_cli_runner()
    result = runner.invoke(args=["sync", "refresh-clients", str(integration.id)])
    assert result.exit_code == 0, result.output
    assert "Fullført" in result.output and "3 klienter funnet" in result.output
    client = env.client_named(integration, "Testing")
    result = runner.invoke(args=["sync", "run", str(client.id)])
    assert result.exit_code == 1 and "ikke aktiv" in result.output
    env.activate(client)
    result = runner.invoke(args=["sync", "run", str(client.id), "--full"])
    assert result.exit_code == 0, result.output
    assert "journal_lines: 400" in result.output
    db.session.expire_all()
    run = db.session.scalars(db.select(SyncRun).where(SyncRun.kind == RunKind.FULL_SYNC)).one()
    assert run.status == RunStatus.SUCCEEDED and run.trigger == "cli"
    result = runner.invoke(args=["sync", "run", str(client.id), "--test-data"])
    assert result.exit_code == 0 and "Testdata sendt" in result.output
    result = runner.invoke(args=["sync", "run", str(client.id), "--delete-old-accounts"])
    assert result.exit_code == 0 and "ingen gamle kontoer" in result.output
