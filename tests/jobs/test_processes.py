"""Real `flask worker` processes: clean SIGTERM (SQLite), several processes on PostgreSQL."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.audit.operations import Actor
from app.db_types import utcnow
from app.extensions import db
from app.jobs.models import RunKind, RunStatus, SchedulerJob, SyncRun
from app.jobs.queue import enqueue
from tests.jobs.helpers import make_integration, wait_for

ROOT = Path(__file__).resolve().parents[2]
OPERATOR = Actor(label="operator@sticos.test")


def start_worker(database_url, *args, overrides=None):
    env = dict(os.environ)
    env.update(
        JOBS_TEST_DATABASE_URL=database_url,
        JOBS_TEST_OVERRIDES=json.dumps(overrides or {}),
        PYTHONPATH=str(ROOT),
        FLASK_APP="tests.jobs.subprocess_app:create()",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "worker", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def stop(process, sig=signal.SIGTERM, timeout=30, *, signalled=False):
    if not signalled and process.poll() is None:
        process.send_signal(sig)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        raise AssertionError(f"worker did not stop in {timeout}s:\n{output}") from None
    return output


def stop_all(processes, sig=signal.SIGTERM, timeout=30):
    """Signal every process first, so they shut down side by side; their outputs in order."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(sig)
    return [stop(process, sig, timeout, signalled=True) for process in processes]


def queue_slow_run(seconds):
    integration_id, (client_id,) = make_integration(f"Treg {seconds} AS", 1)
    run, _ = enqueue(RunKind.FULL_SYNC, integration_id=integration_id, client_id=client_id,
                     actor=OPERATOR, params={"seconds": seconds})
    db.session.commit()
    return run.id


def status_of(run_id):
    db.session.rollback()
    return db.session.get(SyncRun, run_id, populate_existing=True)


def wait_until_running(run_id, process):
    def running():
        assert process.poll() is None, process.communicate()[0]
        return status_of(run_id).status == RunStatus.RUNNING

    wait_for(running, timeout=30)


@pytest.mark.slow
def test_sigterm_lets_a_short_run_finish(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        run_id = queue_slow_run(1.5)
        worker = start_worker(url, "--threads", "1", "--no-scheduler", "--grace", "20",
                              "--executor", "tests.jobs.executors:slow",
                              overrides={"WORKER_POLL_SECONDS": 0.2})
        wait_until_running(run_id, worker)
        output = stop(worker)
        assert worker.returncode == 0, output
        run = status_of(run_id)
        assert run.status == RunStatus.SUCCEEDED, output
        assert run.attempts == 1 and run.active_key is None


@pytest.mark.slow
def test_sigterm_puts_a_long_run_back_in_the_queue(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    with app.app_context():
        run_id = queue_slow_run(60)
        worker = start_worker(url, "--threads", "1", "--no-scheduler", "--grace", "1",
                              "--executor", "tests.jobs.executors:slow",
                              overrides={"WORKER_POLL_SECONDS": 0.2})
        wait_until_running(run_id, worker)
        output = stop(worker)
        assert worker.returncode == 0, output
        assert "released 1 unfinished run(s)" in output
        run = status_of(run_id)
        assert run.status == RunStatus.QUEUED, output
        assert run.attempts == 0 and run.worker_id is None and run.lease_expires_at is None
        assert run.active_key is not None  # still deduplicated: nobody can queue it twice


# --- PostgreSQL -----------------------------------------------------------------------------


def scheduler_state():
    db.session.rollback()
    return {row.id: row for row in db.session.scalars(select(SchedulerJob))}


@pytest.mark.postgres
@pytest.mark.slow
def test_a_second_scheduler_process_does_not_double_the_periodic_jobs(pg_app, postgres_url):
    overrides = {"SCHEDULER_ENABLED": True, "SCHEDULER_TICK_SECONDS": 1,
                 "SCHEDULER_LEADER_RETRY_SECONDS": 1, "WORKER_POLL_SECONDS": 0.5}
    with pg_app.app_context():
        make_integration("Planlagt AS", 5, next_sync_at=utcnow() - timedelta(minutes=1))
        first = start_worker(postgres_url, "--threads", "0", overrides=overrides)
        second = None
        try:
            wait_for(lambda: scheduler_state().get("enqueue_due_syncs")
                     and scheduler_state()["enqueue_due_syncs"].run_count >= 1, timeout=30)
            leader = scheduler_state()["enqueue_due_syncs"].owner
            assert leader.split(":")[1] == f"{first.pid}/scheduler"
            second = start_worker(postgres_url, "--threads", "0", overrides=overrides)
            counted_from = scheduler_state()["enqueue_due_syncs"].run_count
            started = time.monotonic()
            time.sleep(3)
            runs_in_window = scheduler_state()["enqueue_due_syncs"].run_count - counted_from
            elapsed = time.monotonic() - started
            # One scheduler ticks once a second; two would tick about twice as often (5 or
            # more times in three seconds).
            assert runs_in_window <= elapsed + 1.5, runs_in_window
            assert scheduler_state()["enqueue_due_syncs"].owner == leader
            assert len(db.session.scalars(select(SyncRun)).all()) == 5

            # The leader dies; the other process takes the scheduler over.
            first.kill()
            first.communicate(timeout=10)
            wait_for(lambda: scheduler_state()["enqueue_due_syncs"].owner != leader, timeout=30)
            new_leader = scheduler_state()["enqueue_due_syncs"].owner
            assert new_leader.split(":")[1] == f"{second.pid}/scheduler"
        finally:
            if first.poll() is None:
                stop(first)
            if second is not None:
                stop(second)
