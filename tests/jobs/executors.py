"""Executors for queue tests: zero-work, slow, failing (importable by `flask worker --executor`)."""

import threading
import time

from app.extensions import db
from app.jobs.models import SyncRun
from app.jobs.runtime import Outcome, RunFailed


def noop(run_id, progress):
    return Outcome(counts={"records": 1})


def slow(run_id, progress):
    """Works for params['seconds'] (default 5), reporting progress ten times a second."""
    seconds = db.session.get(SyncRun, run_id).params.get("seconds", 5)
    db.session.rollback()
    deadline = time.monotonic() + seconds
    ticks = 0
    while time.monotonic() < deadline:
        time.sleep(0.1)
        ticks += 1
        progress.update("Jobber", done=ticks, counts={"ticks": 1})
    return Outcome(counts={"ticks": ticks})


class Recorder:
    """Records every execution; optional work time; tracks concurrency per integration."""

    def __init__(self, seconds=0.0, fail=None):
        self.seconds = seconds
        self.fail = fail
        self.calls = []
        self.lock = threading.Lock()
        self.running = {}
        self.max_running = {}

    def __call__(self, run_id, progress):
        integration_id = db.session.get(SyncRun, run_id).integration_id
        db.session.rollback()
        with self.lock:
            self.calls.append(run_id)
            self.running[integration_id] = self.running.get(integration_id, 0) + 1
            self.max_running[integration_id] = max(
                self.max_running.get(integration_id, 0), self.running[integration_id]
            )
        try:
            if self.seconds:
                time.sleep(self.seconds)
            if self.fail is not None:
                raise self.fail
            return Outcome(counts={"records": 1})
        finally:
            with self.lock:
                self.running[integration_id] -= 1


def always_failing(message="Visma svarte ikke", retryable=True):
    def executor(run_id, progress):
        raise RunFailed(message, retryable=retryable)

    return executor
