"""`flask serve`: the whole product in one process for `make run` — web, Visma.net simulator,
scheduler and a worker — so a fresh clone works with a single command and no Visma account."""

import os
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from werkzeug.serving import make_server, run_simple

from app.demo.seed import DEMO_LOGINS


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True,
              envvar="PORT")
@click.option("--simulator-port", type=click.IntRange(1, 65535), default=5001,
              show_default=True, envvar="SIM_PORT")
@click.option("--no-simulator", is_flag=True,
              help="Talk to the Visma.net configured in the environment instead.")
@click.option("--worker-threads", type=click.IntRange(0, 32), default=None,
              help="In-process worker threads (default: WORKER_THREADS).")
@with_appcontext
def serve_command(host, port, simulator_port, no_simulator, worker_threads) -> None:
    """Serve web + simulator + scheduler + worker (development and demos; not for production)."""
    app = current_app._get_current_object()
    if not no_simulator:
        sim_url = start_simulator(host, simulator_port)
        use_simulator(app, sim_url)
        click.echo(f"Visma.net simulator: {sim_url}  (Visma-bruker demo@visma.test / visma-demo)")
    threads = app.config["WORKER_THREADS"] if worker_threads is None else worker_threads
    if threads:
        from app.jobs.worker import start_background_worker

        start_background_worker(app, threads=threads)
        click.echo(f"Worker: {threads} thread(s) in this process, scheduler included.")
    click.echo(f"\nErpIntegrasjon: http://{host}:{port}\nDemo logins:")
    for email, password, what in DEMO_LOGINS:
        click.echo(f"  {email:<24} {password:<14} {what}")
    click.echo("")
    # No reloader: it would start a second scheduler and a second simulator.
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


def start_simulator(host: str, port: int) -> str:
    from app.visma.simulator import SimulatorConfig, create_simulator_app

    seed = int(os.environ.get("SIM_SEED", "1"))
    sim_app = create_simulator_app(SimulatorConfig(seed=seed))
    try:
        server = make_server(host, port, sim_app, threaded=True)
    except OSError as exc:
        raise click.ClickException(
            f"Port {port} for the Visma.net simulator is taken ({exc.strerror}); "
            "set SIM_PORT to a free port."
        ) from None
    threading.Thread(target=server.serve_forever, name="visma-simulator", daemon=True).start()
    return f"http://{host}:{port}"


def use_simulator(app: Flask, sim_url: str) -> None:
    from app.visma.simulator.state import (
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        DEMO_SERVICE_CLIENT_ID,
        DEMO_SERVICE_CLIENT_SECRET,
    )

    # Both applications of the integration, as a production install registers them.
    app.config.update(
        VISMA_CONNECT_URL=sim_url,
        VISMA_API_URL=f"{sim_url}/api",
        VISMA_CLIENT_ID=DEMO_CLIENT_ID,
        VISMA_CLIENT_SECRET=DEMO_CLIENT_SECRET,
        VISMA_SERVICE_CLIENT_ID=DEMO_SERVICE_CLIENT_ID,
        VISMA_SERVICE_CLIENT_SECRET=DEMO_SERVICE_CLIENT_SECRET,
        VISMA_SIMULATOR=True,
    )
