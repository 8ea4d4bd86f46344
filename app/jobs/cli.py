"""`flask worker`: N worker threads plus (if this process wins the election) the scheduler.

Run as many copies as wanted against PostgreSQL; on SQLite run one. SIGTERM/SIGINT stop
claiming, let running runs finish within the grace period and put the rest back in the queue.
"""

import importlib
import logging
import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

log = logging.getLogger(__name__)


def _load_executor(path: str | None):
    if not path:
        return None
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@click.command("worker")
@click.option("--threads", type=click.IntRange(0, 64), default=None,
              help="Worker threads (default WORKER_THREADS, at least 1; 0: scheduler only).")
@click.option("--no-scheduler", is_flag=True, help="Never run the scheduler in this process.")
@click.option("--grace", type=float, default=None,
              help="Seconds a running run may take to finish on shutdown "
                   "(default WORKER_SHUTDOWN_GRACE_SECONDS).")
@click.option("--executor", hidden=True, help="module:function executing runs (tests only).")
@with_appcontext
def worker_command(threads, no_scheduler, grace, executor) -> None:
    """Run background workers (and the scheduler, unless another process holds it)."""
    from app.jobs.scheduler import SchedulerService
    from app.jobs.worker import Worker

    app = current_app._get_current_object()
    if threads is None:
        threads = max(app.config["WORKER_THREADS"], 1)
    stopping = threading.Event()

    def on_signal(signum, frame) -> None:
        log.info("Received %s: stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    worker = Worker(app, threads=threads, executor=_load_executor(executor)).start()
    service = None
    if not no_scheduler and app.config["SCHEDULER_ENABLED"]:
        service = SchedulerService(app).start()
    click.echo(f"Worker running with {threads} thread(s)"
               f"{'' if service else ', no scheduler'}. Stop with Ctrl+C or SIGTERM.")
    while not stopping.wait(1):
        pass
    if service is not None:
        service.stop()
    released = worker.stop(grace)
    click.echo(f"Worker stopped; released {len(released)} unfinished run(s) back to the queue.")
