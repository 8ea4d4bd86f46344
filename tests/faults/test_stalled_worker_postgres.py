"""Issue 15, point 1 with real processes: two `flask worker` processes on PostgreSQL; the one
running a full sync is stopped with SIGSTOP deep in the journal, past its lease; the other
takes the run over; SIGCONT while the new attempt is still writing. Readers must see the old
copy or the new one, never a mix; no false tombstones; the store ends equal to the source.
"""

from __future__ import annotations

import signal
import time

import pytest

from app.extensions import db
from app.integrations.visma import visma_client
from app.jobs.models import RunKind, RunStatus
from app.jobs.queue import enqueue
from app.sync import engine
from app.visma.simulator import SimulatorConfig
from tests.jobs.helpers import wait_for
from tests.jobs.test_processes import start_worker, status_of, stop
from tests.sync.conftest import ACTOR, make_env

from .stalls import PollingReader, rows_outside_visible_copy, synced_then_changed

LEASE_SECONDS = 3


@pytest.mark.postgres
@pytest.mark.slow
def test_a_sigstopped_worker_changes_nothing_after_another_took_its_run(
        tmp_path, postgres_url):
    from app.visma.simulator.testing import start_simulator

    sim = start_simulator(SimulatorConfig(journal_lines=600, seed=15))
    env = make_env(tmp_path, sim, SQLALCHEMY_DATABASE_URI=postgres_url)
    overrides = {
        "VISMA_CONNECT_URL": sim.url, "VISMA_API_URL": sim.api_url,
        "VISMA_BACKOFF_SECONDS": 0.01, "VISMA_HTTP_TIMEOUT_SECONDS": 5,
        "RUN_LEASE_SECONDS": LEASE_SECONDS, "WORKER_POLL_SECONDS": 0.2,
    }
    workers = []
    try:
        with env.app.app_context():
            # Slow pages: the full sync takes seconds, the journal a good part of them.
            integration, client, invariants = synced_then_changed(env, latency=0.1)
            workers = [start_worker(postgres_url, "--threads", "1", "--no-scheduler",
                                    "--grace", "5", overrides=overrides) for _ in range(2)]
            by_pid = {str(process.pid): process for process in workers}

            with PollingReader(env.app, client.id, invariants) as reader:
                run, _ = enqueue(RunKind.FULL_SYNC, integration_id=integration.id,
                                 client_id=client.id, actor=ACTOR)
                db.session.commit()
                run_id = run.id

                def deep_in_the_journal():
                    run = status_of(run_id)
                    assert run.status in (RunStatus.QUEUED, RunStatus.RUNNING), run.status
                    lines = (run.counts or {}).get("journal_lines", 0)
                    return run if run.current_step == engine.JOURNAL_STEP and lines >= 250 else None

                first = wait_for(deep_in_the_journal, timeout=60, interval=0.02)
                stalled = next(p for pid, p in by_pid.items() if f":{pid}/" in first.worker_id)
                stalled.send_signal(signal.SIGSTOP)
                other = next(p for p in workers if p is not stalled)

                def taken_over():
                    run = status_of(run_id)
                    return run.status == RunStatus.RUNNING and f":{other.pid}/" in run.worker_id

                wait_for(taken_over, timeout=60, interval=0.05)
                assert status_of(run_id).attempts == 2
                stalled.send_signal(signal.SIGCONT)  # wakes beside the attempt now writing

                wait_for(lambda: status_of(run_id).status not in (RunStatus.QUEUED,
                                                                  RunStatus.RUNNING),
                         timeout=120, interval=0.1)
                time.sleep(1)  # whatever the woken worker still does, readers watch it
            outputs = {process: stop(process) for process in workers}

            assert not reader.seen, "\n".join(sorted(set(reader.seen)))
            assert reader.polls > 10
            finished = status_of(run_id)
            assert finished.status in (RunStatus.SUCCEEDED, RunStatus.WARNINGS), (
                finished.error_message, outputs[other])
            assert f":{other.pid}/" in finished.worker_id and finished.attempts == 2
            woken = outputs[stalled]
            assert woken.count("lost its lease") == 1, woken
            assert "Traceback" not in woken, woken
            db.session.rollback()
            db.session.expire_all()
            assert not invariants.violations(client.id, env.stored(client.id))
            env.assert_equal_to_truth(client)
            assert rows_outside_visible_copy(client.id) == {}
    finally:
        for process in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                stop(process, signal.SIGKILL)
        with env.app.app_context():
            visma_client().close()
            db.session.remove()
            db.engine.dispose()
        sim.stop()
