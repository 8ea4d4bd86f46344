"""A worker frozen past its lease wakes up beside the attempt that took its run over (issue 15,
point 1), deterministically: threads frozen on cue inside a full sync against the simulator.

Attempt A is frozen inside the journal stream (and its heartbeat with it, as SIGSTOP or a long
GC pause freezes every thread of a process); its lease runs out; the run goes back to the
queue and attempt B claims it and is held early in its own journal stream; then A wakes. A's
next write must be refused and nothing of A may land; readers must see the old copy until B
flips, then the source's ground truth; no false tombstones.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from app.extensions import db
from app.integrations.visma import visma_client
from app.jobs import worker
from app.jobs.models import RunKind, RunStatus, SyncRun
from app.jobs.queue import claim_run, enqueue, requeue_expired_leases
from app.jobs.worker import execute_claim
from app.sync import engine, execute_run
from app.visma.simulator import SimulatorConfig
from tests.sync.conftest import ACTOR, make_env

from .stalls import PollingReader, rows_outside_visible_copy, synced_then_changed

LEASE_SECONDS = 1


class Freeze:
    """Where an attempt stops, as a frozen process would: after its Nth journal page commit."""

    def __init__(self, journal_pages: int):
        self.journal_pages = journal_pages
        self.reached = threading.Event()
        self.thawed = threading.Event()

    def freeze(self) -> None:
        self.reached.set()
        assert self.thawed.wait(timeout=120), "the test never thawed this attempt"

    def wait_while_frozen(self) -> None:
        if self.reached.is_set():
            self.thawed.wait(timeout=120)


class FreezingProgress:
    """The worker's own Progress, frozen after the Nth journal page it reports."""

    def __init__(self, progress, freeze: Freeze):
        self.progress, self.freeze, self.pages = progress, freeze, 0

    def update(self, step=None, **figures) -> None:
        self.progress.update(step, **figures)
        if step == engine.JOURNAL_STEP and figures.get("counts"):
            self.pages += 1
            if self.pages == self.freeze.journal_pages:
                self.freeze.freeze()


def _attempt(app, claim, freeze: Freeze, outcome: dict) -> threading.Thread:
    def executor(run_id, progress):
        return execute_run(run_id, FreezingProgress(progress, freeze))

    def work():
        with app.app_context():
            try:
                outcome[claim.worker_id] = execute_claim(claim, executor)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                outcome[claim.worker_id] = exc
            finally:
                db.session.remove()

    thread = threading.Thread(target=work, name=claim.worker_id, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_worker_frozen_past_its_lease_changes_nothing_when_it_wakes(
        database, request, tmp_path, monkeypatch, caplog):
    from app.visma.simulator.testing import start_simulator

    where = {}
    if database == "postgres":
        where["SQLALCHEMY_DATABASE_URI"] = request.getfixturevalue("postgres_url")
    sim = start_simulator(SimulatorConfig(journal_lines=600, seed=15))
    env = make_env(tmp_path, sim, RUN_LEASE_SECONDS=LEASE_SECONDS, **where)
    monkeypatch.setattr(engine, "PROGRESS_SECONDS", 0)  # a progress commit after every page
    freezes = {"worker-A": Freeze(journal_pages=6), "worker-B": Freeze(journal_pages=1)}
    beat = worker.extend_lease

    def heartbeat(claim):  # a frozen process's heartbeat thread is frozen with it
        freeze = freezes.get(claim.worker_id)
        if freeze is not None:
            freeze.wait_while_frozen()
        return beat(claim)

    monkeypatch.setattr(worker, "extend_lease", heartbeat)
    try:
        with env.app.app_context():
            integration, client, invariants = synced_then_changed(env)

            run, _ = enqueue(RunKind.FULL_SYNC, integration_id=integration.id,
                             client_id=client.id, actor=ACTOR)
            db.session.commit()
            run_id = run.id
            seen: list[tuple[str, list[str]]] = []

            def look(moment: str) -> None:
                db.session.rollback()
                seen.append((moment, invariants.violations(client.id, env.stored(client.id))))

            outcome: dict = {}
            with PollingReader(env.app, client.id, invariants) as reader:
                a = _attempt(env.app, claim_run(run_id, "worker-A"), freezes["worker-A"], outcome)
                assert freezes["worker-A"].reached.wait(timeout=60), outcome
                look("A frozen mid-journal")

                time.sleep(LEASE_SECONDS + 0.2)  # A's lease runs out while it is frozen
                assert requeue_expired_leases()["requeued"] == 1
                claim_b = claim_run(run_id, "worker-B")
                assert claim_b is not None and claim_b.attempt == 2
                b = _attempt(env.app, claim_b, freezes["worker-B"], outcome)
                assert freezes["worker-B"].reached.wait(timeout=60), outcome
                look("B took the run over, A still frozen")

                with caplog.at_level(logging.WARNING, logger="app.jobs.worker"):
                    freezes["worker-A"].thawed.set()  # A wakes up beside B
                    a.join(timeout=60)
                assert not a.is_alive()
                look("A woke up and went on")

                freezes["worker-B"].thawed.set()
                b.join(timeout=60)
                assert not b.is_alive()
                look("B finished")

            problems = [f"{moment}: {problem}" for moment, found in seen for problem in found]
            assert not problems, "\n".join(problems)
            assert not reader.seen, "\n".join(sorted(set(reader.seen)))
            assert reader.polls > 10

            # A stopped at its first write after waking, said so once, and recorded nothing.
            assert outcome["worker-A"] is None
            lost = [r.getMessage() for r in caplog.records if "lost its lease" in r.getMessage()]
            assert len(lost) == 1, lost
            assert outcome["worker-B"] in (RunStatus.SUCCEEDED, RunStatus.WARNINGS), outcome
            db.session.expire_all()
            finished = db.session.get(SyncRun, run_id)
            assert (finished.worker_id, finished.attempts) == ("worker-B", 2)
            env.assert_equal_to_truth(client)
            assert rows_outside_visible_copy(client.id) == {}
            db.session.remove()
    finally:
        for freeze in freezes.values():
            freeze.thawed.set()
        with env.app.app_context():
            visma_client().close()
            db.session.remove()
            db.engine.dispose()
        sim.stop()
