"""Fleet benchmark on PostgreSQL: 300 small clients, every Visma.net call 0.2 s, one incremental
sync each, drained by 1, 2 and 4 `flask worker` processes of 2 threads each.

    .venv/bin/python bench/fleet_bench.py [--clients 300] [--lines 200] [--latency 0.2]
                                          [--processes 1 2 4] [--threads 2]

Setup (not measured): the simulator gets the clients, one integration reaches them all, and
their first full syncs run with no latency. Then, per process count, the simulator's latency is
set, the worker processes start and connect, one incremental sync per client is queued and the
clock runs until the queue is empty. Figures: runs per second for each process count and the
speed-up from 1 to 4 processes (latency-bound work: >= 3x expected); every run succeeded and
none was executed twice (each run claimed once). Needs the local PostgreSQL
(TEST_POSTGRES_URL); the schema is fresh and dropped afterwards. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time

import requests
from sync_bench import (  # the script's folder is on sys.path; it puts the repository there
    DEMO_USER,
    ROOT,
    connect,
    fresh_database,
    machine,
    start_simulator,
)

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def log(message: str) -> None:
    print(f"[fleet_bench] {message}", file=sys.stderr, flush=True)


def worker_env(database: str, sim_url: str, threads: int, processes: int) -> dict:
    from config import TestConfig

    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "APP_ENV": "development",
        "DATABASE_URL": database,
        "SECRET_KEY": TestConfig.SECRET_KEY,
        "TOKEN_ENCRYPTION_KEY": TestConfig.TOKEN_ENCRYPTION_KEY,
        "VISMA_CLIENT_ID": TestConfig.VISMA_CLIENT_ID,
        "VISMA_CLIENT_SECRET": TestConfig.VISMA_CLIENT_SECRET,
        "VISMA_SERVICE_CLIENT_ID": TestConfig.VISMA_SERVICE_CLIENT_ID,
        "VISMA_SERVICE_CLIENT_SECRET": TestConfig.VISMA_SERVICE_CLIENT_SECRET,
        "VISMA_CONNECT_URL": sim_url,
        "VISMA_API_URL": sim_url + "/api",
        "SCHEDULER_ENABLED": "false",
        "WORKER_THREADS": str(threads),
        "WORKER_POLL_SECONDS": "1",
        # one integration reaches every client here: let every worker thread take part
        "MAX_RUNNING_PER_INTEGRATION": str(threads * processes),
    }


def start_workers(count: int, env: dict) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--no-scheduler"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(count)
    ]


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def wait_until_done(kind: str, expected: int, workers, timeout: float) -> float:
    """Seconds until ``expected`` runs of ``kind`` are finished (the workers must stay up)."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.jobs.models import ACTIVE_STATUSES, SyncRun

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        db.session.rollback()
        active = db.session.scalar(select(func.count()).where(
            SyncRun.kind == kind, SyncRun.status.in_(ACTIVE_STATUSES)))
        if not active:
            return time.perf_counter() - started
        dead = [w for w in workers if w.poll() is not None]
        if dead:
            raise SystemExit(f"a worker died: {dead[0].stderr.read()[-2000:]}")
        time.sleep(0.2)
    raise SystemExit(f"{kind}: not done after {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--lines", type=int, default=200, help="journal lines per client")
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from sqlalchemy import func, select

    from app import create_app
    from app.audit.operations import Actor
    from app.customers.models import Customer
    from app.extensions import db
    from app.integrations.models import Client
    from app.integrations.operations import activate_clients, create_integration
    from app.integrations.tokens import store_new_grant
    from app.integrations.visma import visma_client
    from app.jobs.models import RunKind, RunStatus, SyncRun, Trigger
    from app.jobs.queue import enqueue, enqueue_for_clients
    from app.jobs.worker import run_inline
    from config import TestConfig

    report: dict = {"benchmark": "fleet", "clients": args.clients,
                    "journal_lines_per_client": args.lines, "latency_s_per_call": args.latency,
                    "threads_per_process": args.threads, "machine_before": machine()}
    actor = Actor.system("bench")
    proc, sim = start_simulator()
    workers: list[subprocess.Popen] = []
    try:
        for n in range(args.clients):
            requests.post(f"{sim}/_sim/tenants", json={
                "name": f"Flåte {n:03d} AS", "journalLines": args.lines, "users": [DEMO_USER],
                "approved": True}).raise_for_status()
        with fresh_database(POSTGRES_URL) as database:
            app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database,
                             VISMA_CONNECT_URL=sim, VISMA_API_URL=sim + "/api")
            with app.app_context():
                db.create_all()
                owner = Customer(name="Flåten AS")
                db.session.add(owner)
                db.session.commit()
                integration = create_integration(owner.id, actor=actor)
                token, info = connect(visma_client())
                store_new_grant(integration, token, info, actor=actor)
                refresh, _ = enqueue(RunKind.REFRESH_CLIENTS, integration_id=integration.id,
                                     actor=actor, trigger=Trigger.CLI)
                db.session.commit()
                assert run_inline(refresh.id) == RunStatus.SUCCEEDED
                fleet = select(Client.id).where(Client.integration_id == integration.id,
                                                Client.name.like("Flåte %"))
                ids = list(db.session.scalars(fleet))
                assert len(ids) == args.clients, len(ids)
                log(f"{len(ids)} clients; first full syncs (no latency)")
                workers = start_workers(4, worker_env(database, sim, args.threads, 4))
                activate_clients(fleet, actor=actor)
                wait_until_done(RunKind.FULL_SYNC, args.clients, workers, timeout=1800)
                stop_workers(workers)
                failed = db.session.scalars(select(SyncRun).where(
                    SyncRun.kind == RunKind.FULL_SYNC,
                    SyncRun.status.not_in([RunStatus.SUCCEEDED, RunStatus.WARNINGS]))).all()
                assert not failed, (f"{len(failed)} first full syncs failed, e.g.: "
                                    f"{failed[0].error_message}")

                requests.post(f"{sim}/_sim/faults",
                              json={"latency": args.latency}).raise_for_status()
                rounds = {}
                for processes in args.processes:
                    env = worker_env(database, sim, args.threads, processes)
                    workers = start_workers(processes, env)
                    time.sleep(8)  # the processes import, connect and start polling
                    first = db.session.scalar(select(func.max(SyncRun.id))) or 0
                    enqueue_for_clients(RunKind.INCREMENTAL_SYNC, ids, actor=actor,
                                        trigger=Trigger.SCHEDULE)
                    db.session.commit()
                    seconds = wait_until_done(RunKind.INCREMENTAL_SYNC, args.clients, workers,
                                              timeout=3600)
                    stop_workers(workers)
                    runs = db.session.scalars(select(SyncRun).where(
                        SyncRun.id > first, SyncRun.kind == RunKind.INCREMENTAL_SYNC)).all()
                    statuses: dict[str, int] = {}
                    for run in runs:
                        statuses[run.status] = statuses.get(run.status, 0) + 1
                    rounds[f"{processes}_processes"] = {
                        "runs": len(runs), "seconds": round(seconds, 1),
                        "runs_per_s": round(len(runs) / seconds, 2), "statuses": statuses,
                        "all_succeeded": all(r.status in (RunStatus.SUCCEEDED, RunStatus.WARNINGS)
                                             for r in runs) and len(runs) == args.clients,
                        "none_executed_twice": all(r.attempts == 1 for r in runs),
                        "clients_synced_once": len({r.client_id for r in runs}) == len(runs),
                    }
                    log(f"{processes} process(es): {rounds[f'{processes}_processes']}")
                requests.post(f"{sim}/_sim/faults", json={"latency": 0}).raise_for_status()
                visma_client().close()
                db.session.remove()
                db.engine.dispose()
    finally:
        stop_workers(workers)
        proc.terminate()
        proc.wait(timeout=10)
    report["rounds"] = rounds
    low, high = min(args.processes), max(args.processes)
    speed_up = rounds[f"{high}_processes"]["runs_per_s"] / rounds[f"{low}_processes"]["runs_per_s"]
    report[f"speed_up_{low}_to_{high}_processes"] = round(speed_up, 2)
    report["targets"] = {
        "speed_up_ge_3": speed_up >= 3,
        "every_run_succeeded": all(r["all_succeeded"] for r in rounds.values()),
        "none_executed_twice": all(r["none_executed_twice"] and r["clients_synced_once"]
                                   for r in rounds.values()),
    }
    report["machine_after"] = machine()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
