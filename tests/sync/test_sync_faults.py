"""Faults, each against the simulator: throttling, 500s, timeouts, malformed pages, expired
tokens, a revoked grant, a company's permission withdrawn, and a run killed mid-stream."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from app.accounting.models import JournalLine
from app.extensions import db
from app.integrations.models import IntegrationStatus, SyncResult
from app.integrations.visma import visma_client
from app.jobs.models import RunKind, RunStatus, SyncRun
from app.jobs.runtime import Progress
from app.sync import execute_run
from app.visma.simulator.state import DEMO_USER

from .conftest import make_env


def _ready(env, name="Nordlys Regnskap AS"):
    integration = env.connect()
    assert env.run(RunKind.REFRESH_CLIENTS, integration).status == RunStatus.SUCCEEDED
    client = env.client_named(integration, name)
    env.activate(client)
    return integration, client


def _ok(run):
    assert run.status in (RunStatus.SUCCEEDED, RunStatus.WARNINGS), run.error_message
    assert not [w for w in run.warnings if not w["check"].endswith("_jump")], run.warnings


@pytest.mark.slow
def test_429_retry_after_is_honoured(env):
    integration, client = _ready(env)
    # A window of a few seconds: under load the run's first call may come a second after the
    # calls spent here, and a one-second window would have reset by then. Ten calls a window:
    # a full sync (nine calls) runs low on the next window's budget and paces itself, without
    # waiting out a third window.
    env.sim.state.set_faults(throttle_limit=10, throttle_window=3)
    for _ in range(10):  # someone else spent this window: our first call gets a 429
        env.sim.state.count_call(env.sim.service_client_id, client.external_id)
    run = env.run(RunKind.FULL_SYNC, integration, client)
    _ok(run)
    status = visma_client().rate_limit(client.external_id)
    assert status.throttled >= 1 and status.limit == 10
    assert status.paced_seconds > 0  # and then it slowed down before further 429s
    env.sim.state.reset_faults()
    env.assert_equal_to_truth(client)


def test_a_share_of_500s_is_retried(env):
    integration, client = _ready(env)
    env.sim.state.set_faults(error_rate=0.3)
    _ok(env.run(RunKind.FULL_SYNC, integration, client))
    env.sim.state.reset_faults()
    env.assert_equal_to_truth(client)


def test_timeouts_are_retried(tmp_path, sim):
    env = make_env(tmp_path, sim, VISMA_HTTP_TIMEOUT_SECONDS=1)
    with env.app.app_context():
        integration, client = _ready(env)
        sim.state.set_faults(timeout_seconds=1.6, timeout_calls=2)
        _ok(env.run(RunKind.FULL_SYNC, integration, client))
        env.assert_equal_to_truth(client)
        visma_client().close()
        db.session.remove()


def test_malformed_pages_are_fetched_again(env):
    integration, client = _ready(env)
    env.sim.state.set_faults(malformed_pages=3)
    _ok(env.run(RunKind.FULL_SYNC, integration, client))
    env.assert_equal_to_truth(client)


def test_persistent_failure_fails_the_run_with_visma_words(env):
    integration, client = _ready(env)
    env.sim.state.set_faults(error_rate=1.0)
    run = env.run(RunKind.FULL_SYNC, integration, client)
    assert run.status in (RunStatus.QUEUED, RunStatus.FAILED)  # queued again for a retry
    assert "An error has occurred." in run.error_message
    db.session.refresh(client)
    assert client.last_sync_result == SyncResult.FAILED


def test_expired_access_tokens_are_renewed(env):
    integration, client = _ready(env)
    _ok(env.run(RunKind.FULL_SYNC, integration, client))
    env.sim.state.advance_clock(3700)  # every access token, service and interactive, is dead
    env.sim.state.add_voucher(client.external_id, [
        {"accountNumber": "1920", "debitAmount": 10}, {"accountNumber": "3000", "creditAmount": 10}])
    _ok(env.run(RunKind.INCREMENTAL_SYNC, integration, client))
    env.assert_equal_to_truth(client)
    run = env.run(RunKind.REFRESH_CLIENTS, integration)
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    db.session.refresh(integration)
    assert integration.status == IntegrationStatus.CONNECTED


def test_revoked_grant_requires_reauthorization_and_keeps_data(env):
    integration, client = _ready(env)
    _ok(env.run(RunKind.FULL_SYNC, integration, client))
    lines = db.session.scalar(select(func.count()).select_from(JournalLine))
    env.sim.state.revoke_user_grants(DEMO_USER)
    integration.token = {**integration.token, "expires_at": 1}  # due for a refresh
    db.session.commit()
    run = env.run(RunKind.INCREMENTAL_SYNC, integration, client)
    assert run.status == RunStatus.FAILED
    assert "Koble til på nytt" in run.error_message
    db.session.refresh(integration)
    assert integration.status == IntegrationStatus.REAUTHORIZATION_REQUIRED
    assert "revoked" in integration.status_message
    assert db.session.scalar(select(func.count()).select_from(JournalLine)) == lines


def test_withdrawn_company_is_marked_and_others_carry_on(env):
    integration, nordlys = _ready(env)
    testing = env.client_named(integration, "Testing")
    env.activate(testing)
    _ok(env.run(RunKind.FULL_SYNC, integration, nordlys))
    _ok(env.run(RunKind.FULL_SYNC, integration, testing))
    env.sim.state.withdraw(nordlys.external_id)
    run = env.run(RunKind.INCREMENTAL_SYNC, integration, nordlys)
    assert run.status == RunStatus.FAILED
    assert "No license for this company." in run.error_message
    db.session.refresh(nordlys)
    assert not nordlys.reachable and "No license" in nordlys.unreachable_reason
    _ok(env.run(RunKind.INCREMENTAL_SYNC, integration, testing))
    db.session.refresh(testing)
    assert testing.reachable and testing.last_sync_result == SyncResult.SUCCEEDED
    env.assert_equal_to_truth(testing)
    # permission given back: the next sync works and the mark goes away
    env.sim.state.approve(nordlys.external_id)
    _ok(env.run(RunKind.INCREMENTAL_SYNC, integration, nordlys))
    db.session.refresh(nordlys)
    assert nordlys.reachable


class Killed(Exception):
    pass


class KillAfter(Progress):
    """Progress that dies (like a killed worker) after ``pages`` page updates with data."""

    def __init__(self, claim, pages):
        super().__init__(claim)
        self.left = pages

    def update(self, step=None, **kwargs):
        super().update(step, **kwargs)
        if kwargs.get("counts"):
            self.left -= 1
            if self.left <= 0:
                raise Killed(step)


def _kill(env, kind, integration, client, pages):
    from app.audit.operations import Actor
    from app.jobs.queue import claim_run, enqueue

    run, _ = enqueue(kind, integration_id=integration.id, client_id=client.id,
                     actor=Actor.system("test"))
    db.session.commit()
    claim = claim_run(run.id, "killed-worker")
    with pytest.raises(Killed):
        execute_run(run.id, KillAfter(claim, pages))
    db.session.rollback()
    run.status, run.active_key = RunStatus.FAILED, None  # what lease expiry would do
    db.session.commit()


@pytest.mark.slow
@pytest.mark.parametrize("sim_config", [__import__("app.visma.simulator", fromlist=["x"])
                                        .SimulatorConfig(journal_lines=2500, seed=5)])
def test_killed_runs_lose_nothing_and_readers_see_a_whole_copy(env, sim_config, monkeypatch):
    from app.sync import engine

    from .mutations import mutate

    monkeypatch.setattr(engine, "PROGRESS_SECONDS", 0)  # report (and so die) after every page

    integration, client = _ready(env)
    _ok(env.run(RunKind.FULL_SYNC, integration, client))
    before = env.stored(client.id)
    import random

    mutate(env.sim.state, client.external_id, random.Random(1), changes=20)
    _kill(env, RunKind.FULL_SYNC, integration, client, pages=9)  # inside the journal
    db.session.expire_all()
    assert env.stored(client.id) == before  # readers still see the old copy, whole
    _kill(env, RunKind.INCREMENTAL_SYNC, integration, client, pages=9)
    _ok(env.run(RunKind.INCREMENTAL_SYNC, integration, client))
    env.assert_equal_to_truth(client)
    mutate(env.sim.state, client.external_id, random.Random(2), changes=20)
    _kill(env, RunKind.FULL_SYNC, integration, client, pages=10)
    _ok(env.run(RunKind.FULL_SYNC, integration, client))
    env.assert_equal_to_truth(client)


def test_a_grant_revoked_in_visma_is_noticed_at_the_next_client_list_refresh(env):
    """The access token is a JWT that outlives the grant: the refresh must find out anyway."""
    integration = env.connect()
    assert env.run(RunKind.REFRESH_CLIENTS, integration).status == RunStatus.SUCCEEDED
    env.sim.state.revoke_user_grants(DEMO_USER)  # the user says no in Visma.net
    run = env.run(RunKind.REFRESH_CLIENTS, integration)
    assert run.status == RunStatus.FAILED
    assert "Koble til på nytt" in run.error_message
    db.session.refresh(integration)
    assert integration.status == IntegrationStatus.REAUTHORIZATION_REQUIRED


@pytest.mark.slow
def test_a_long_throttle_wait_is_shown_in_the_runs_status(env):
    integration, client = _ready(env)
    # Five-second windows: a call late in a window under load must still meet a wait of two
    # seconds or more (the notice's threshold). Most calls run in prefetch and page threads;
    # their waits are told in the run's thread (tests/visma/test_parallel_paging.py).
    env.sim.state.set_faults(throttle_limit=4, throttle_window=5)
    for _ in range(4):  # someone else spent this window: our first calls wait
        env.sim.state.count_call(env.sim.service_client_id, client.external_id)
    steps, done = [], threading.Event()

    def watch():  # what the customer's page shows while the run works
        with env.app.app_context():
            while not done.is_set():
                step = db.session.scalar(select(SyncRun.current_step).order_by(SyncRun.id.desc()))
                if step and (not steps or steps[-1] != step):
                    steps.append(step)
                    if step.startswith("Visma.net begrenser"):
                        # Shown: the rest of the run need not crawl through more windows.
                        env.sim.state.reset_faults()
                db.session.rollback()
                time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        run = env.run(RunKind.FULL_SYNC, integration, client)
    finally:
        done.set()
        watcher.join()
    _ok(run)
    notices = [s for s in steps if s.startswith("Visma.net begrenser antall kall; venter")]
    assert notices, steps
    assert "før neste kall (Henter" in notices[0]
    assert not steps[-1].startswith("Visma.net begrenser")  # the wait's notice went away
