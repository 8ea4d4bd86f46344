"""Run-queue throughput on PostgreSQL, printed as JSON.

1. claims per second with 1, 2 and 4 worker processes draining zero-work runs (claim, execute
   nothing, record success: the whole worker cycle);
2. end to end: 500 clients (each a small company in the Visma.net simulator) activated at once
   (500 full syncs queued) and synced with 1 vs 4 worker processes.

    .venv/bin/python bench/queue_bench.py [--runs 2000] [--clients 500] [--lines 20] [--skip-e2e]

Needs the local PostgreSQL (TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1/test);
each measurement gets a fresh schema, dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root

from sqlalchemy import create_engine, func, select, text

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


class Schema:
    """A fresh PostgreSQL schema and the URL that selects it."""

    def __enter__(self) -> str:
        self.name = f"bench_{uuid.uuid4().hex[:10]}"
        self.admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        separator = "&" if "?" in POSTGRES_URL else "?"
        return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{self.name}"

    def __exit__(self, *exc) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{self.name}" CASCADE'))
        self.admin.dispose()


def log(message: str) -> None:
    print(f"[queue_bench] {message}", file=sys.stderr, flush=True)


def make_app(url: str, **overrides):
    from app import create_app
    from config import TestConfig

    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, **overrides)


def zero_work(run_id, progress):
    from app.jobs.runtime import Outcome

    return Outcome()


def queue_is_empty() -> bool:
    from app.extensions import db
    from app.jobs.models import ACTIVE_STATUSES, SyncRun

    db.session.rollback()
    return not db.session.scalar(
        select(func.count()).where(SyncRun.status.in_(ACTIVE_STATUSES))
    )


def worker_process(url: str, overrides: dict, zero: bool, ready, go, done) -> None:
    """One worker process (one thread): waits for go, drains the queue, reports its runs."""
    from app.extensions import db
    from app.jobs.worker import Worker

    app = make_app(url, **overrides)
    with app.app_context():
        db.session.execute(text("SELECT 1"))  # connect before the clock starts
        db.session.rollback()
    ready.release()
    go.wait()
    worker = Worker(app, threads=1, executor=zero_work if zero else None, poll_seconds=0.02)
    worker.start()
    with app.app_context():
        while not queue_is_empty():
            time.sleep(0.02)
    worker.stop(grace_seconds=30)
    done.put(os.getpid())


def drain_with(url: str, workers: int, overrides: dict, zero: bool, enqueue) -> float:
    """Start the worker processes, queue the work, return seconds until all runs finished."""
    context = multiprocessing.get_context("spawn")
    ready, go, done = context.Semaphore(0), context.Event(), context.Queue()
    processes = [
        context.Process(target=worker_process, args=(url, overrides, zero, ready, go, done))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            ready.acquire()
        enqueue()
    except BaseException:
        for process in processes:
            process.terminate()
        raise
    started = time.perf_counter()
    go.set()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    log(f"{workers} worker(s): {elapsed:.1f} s")
    assert all(p.exitcode == 0 for p in processes), [p.exitcode for p in processes]
    return elapsed


def bench_claims(runs: int, integrations: int = 50) -> dict:
    from app.audit.operations import Actor
    from app.extensions import db
    from app.jobs.models import RunStatus, SyncRun, Trigger
    from app.jobs.queue import enqueue_for_clients
    from tests.jobs.helpers import make_integration

    results = {}
    for workers in (1, 2, 4):
        with Schema() as url:
            overrides = {"MAX_RUNNING_PER_INTEGRATION": 1000}
            app = make_app(url, **overrides)
            with app.app_context():
                db.create_all()
                clients = [make_integration(f"Kunde {n} AS", runs // integrations)[1]
                           for n in range(integrations)]

                def enqueue(clients=clients):
                    for ids in clients:
                        enqueue_for_clients("incremental_sync", ids, actor=Actor.system("bench"),
                                            trigger=Trigger.SCHEDULE)
                    db.session.commit()

                elapsed = drain_with(url, workers, overrides, True, enqueue)
                done = db.session.scalar(select(func.count()).where(
                    SyncRun.status == RunStatus.SUCCEEDED, SyncRun.attempts == 1))
                assert done == runs, done
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        results[f"{workers}_workers"] = {
            "runs": runs, "seconds": round(elapsed, 2), "claims_per_second": round(runs / elapsed, 1)
        }
    return results


def bench_end_to_end(clients: int, lines: int, worker_counts=(1, 4)) -> dict:
    from app.audit.operations import Actor
    from app.extensions import db
    from app.integrations.models import Client
    from app.integrations.operations import activate_clients
    from app.integrations.visma import visma_client
    from app.jobs.models import RunKind, RunStatus, SyncRun, Trigger
    from app.jobs.queue import enqueue
    from app.jobs.worker import run_inline
    from app.visma.simulator import SimulatorConfig
    from app.visma.simulator.state import DEMO_USER
    from app.visma.simulator.testing import start_simulator
    from tests.sync.conftest import SyncEnv

    results = {}
    for workers in worker_counts:
        # A fresh simulator per round: the same world (same seed), consent not yet given.
        sim = start_simulator(SimulatorConfig(journal_lines=lines))
        for n in range(clients):
            sim.state.add_company(f"Bench klient {n:03d} AS", users=[DEMO_USER], approved=True)
        try:
            with Schema() as url:
                overrides = {
                    "VISMA_CONNECT_URL": sim.url, "VISMA_API_URL": sim.api_url,
                    "VISMA_BACKOFF_SECONDS": 0.01, "VISMA_HTTP_TIMEOUT_SECONDS": 30,
                    # one integration holds all 500 clients: let every worker take part
                    "MAX_RUNNING_PER_INTEGRATION": max(workers, 2),
                }
                app = make_app(url, **overrides)
                with app.app_context():
                    db.create_all()
                    integration = SyncEnv(app, sim).connect()
                    refresh, _ = enqueue(RunKind.REFRESH_CLIENTS, integration_id=integration.id,
                                         actor=Actor.system("bench"), trigger=Trigger.CLI)
                    db.session.commit()
                    assert run_inline(refresh.id) == RunStatus.SUCCEEDED
                    selection = select(Client.id).where(
                        Client.integration_id == integration.id,
                        Client.name.like("Bench klient %"),
                    )

                    def enqueue_all(selection=selection):
                        result = activate_clients(selection, actor=Actor.system("bench"))
                        assert result.queued == clients, result

                    elapsed = drain_with(url, workers, overrides, False, enqueue_all)
                    statuses = dict(db.session.execute(
                        select(SyncRun.status, func.count())
                        .where(SyncRun.kind == RunKind.FULL_SYNC).group_by(SyncRun.status)
                    ).all())
                    lines_stored = sum(
                        (r.counts or {}).get("journal_lines", 0)
                        for r in db.session.scalars(select(SyncRun).where(
                            SyncRun.kind == RunKind.FULL_SYNC))
                    )
                    visma_client().close()
                    db.session.remove()
                    db.engine.dispose()
                results[f"{workers}_workers"] = {
                    "clients": clients, "journal_lines_per_client": lines,
                    "seconds": round(elapsed, 1),
                    "clients_per_second": round(clients / elapsed, 2),
                    "statuses": statuses, "journal_lines_stored": lines_stored,
                }
        finally:
            sim.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--lines", type=int, default=20, help="journal lines per company")
    parser.add_argument("--skip-e2e", action="store_true")
    args = parser.parse_args()
    report = {"cpu_count": os.cpu_count(), "zero_work_claims": bench_claims(args.runs)}
    if not args.skip_e2e:
        report["end_to_end_full_sync"] = bench_end_to_end(args.clients, args.lines)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
