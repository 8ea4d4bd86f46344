"""`flask serve`: the whole product in one process for `make run` — web, the Visma.net and
Tripletex simulators, scheduler and a worker — so a fresh clone works with a single command and
no account at either system."""

import os
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from werkzeug.serving import WSGIRequestHandler, make_server, run_simple

from app.demo.seed import DEMO_LOGINS

SIMULATOR_STATE_FILE = "visma-simulator.json"


class QuietRequestHandler(WSGIRequestHandler):
    """The dev server's request log without the noise: static files and the pages' status
    polls are left out unless they fail."""

    QUIET_PREFIXES = ("/static/", "/admin/static/", "/favicon.ico")

    def log_request(self, code="-", size="-") -> None:
        path = self.path.split("?", 1)[0]
        routine = path.startswith(self.QUIET_PREFIXES) or path.endswith("/status")
        if routine and isinstance(code, int) and code < 400:
            return
        super().log_request(code, size)


class SimulatorRequestHandler(WSGIRequestHandler):
    """The simulator answers hundreds of API calls per sync: log only its errors."""

    def log_request(self, code="-", size="-") -> None:
        if isinstance(code, int) and code >= 400:
            super().log_request(code, size)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True,
              envvar="PORT")
@click.option("--simulator-port", type=click.IntRange(1, 65535), default=5001,
              show_default=True, envvar="SIM_PORT")
@click.option("--tripletex-simulator-port", type=click.IntRange(1, 65535), default=5002,
              show_default=True, envvar="TRIPLETEX_SIM_PORT")
@click.option("--no-simulator", is_flag=True,
              help="Talk to the Visma.net and Tripletex configured in the environment instead.")
@click.option("--worker-threads", type=click.IntRange(0, 32), default=None,
              help="In-process worker threads (default: WORKER_THREADS).")
@with_appcontext
def serve_command(host, port, simulator_port, tripletex_simulator_port, no_simulator,
                  worker_threads) -> None:
    """Serve web + simulator + scheduler + worker (development and demos; not for production)."""
    app = current_app._get_current_object()
    sim_url = tripletex_url = None
    if not no_simulator:
        sim_url = start_simulator(
            host, simulator_port, os.path.join(app.instance_path, SIMULATOR_STATE_FILE))
        use_simulator(app, sim_url)
        tripletex_url = start_tripletex_simulator(host, tripletex_simulator_port)
        use_tripletex_simulator(app, tripletex_url)
    threads = app.config["WORKER_THREADS"] if worker_threads is None else worker_threads
    if threads:
        from app.jobs.worker import start_background_worker

        start_background_worker(app, threads=threads)
    click.echo(banner(f"http://{host}:{port}", sim_url, threads, tripletex_url))
    # No reloader: it would start a second scheduler and a second simulator.
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False,
               request_handler=QuietRequestHandler)


def banner(app_url: str, sim_url: str | None, threads: int,
           tripletex_url: str | None = None) -> str:
    """What `make run` prints once it is up: where to go and how to sign in."""
    lines = [f"\nErpIntegrasjon: {app_url}", "Logins:"]
    lines += [f"  {email:<24} {password:<14} {what}" for email, password, what in DEMO_LOGINS]
    if sim_url:
        from app.visma.simulator.state import DEMO_PASSWORD, DEMO_USER, SECOND_USER

        lines += [
            f"  {DEMO_USER:<24} {DEMO_PASSWORD:<14} Visma.net-bruker (på simulatorens innlogging)",
            f"  {SECOND_USER:<24} {DEMO_PASSWORD:<14} en annen Visma.net-bruker",
            f"\nVisma.net simulator: {sim_url}",
            f"  App Store (Angi tillatelser): {sim_url}/appstore",
            f"  Its grants are kept in instance/{SIMULATOR_STATE_FILE} across restarts.",
        ]
    if tripletex_url:
        from app.tripletex.simulator.state import DEMO_FIRM_KEY

        lines += [f"\nTripletex simulator: {tripletex_url}",
                  f"  Regnskapskontorets brukernøkkel (lim inn under Ny integrasjon): "
                  f"{DEMO_FIRM_KEY}"]
    if threads:
        lines.append(f"Worker: {threads} thread(s) in this process, scheduler included.")
    return "\n".join(lines) + "\n"


def start_simulator(host: str, port: int, state_file: str | None = None) -> str:
    from app.visma.simulator import SimulatorConfig, SimulatorState, create_simulator_app
    from app.visma.simulator.persistence import keep_on_disk

    seed = int(os.environ.get("SIM_SEED", "1"))
    state = SimulatorState(SimulatorConfig(seed=seed))
    sim_app = create_simulator_app(state=state)
    if state_file:
        keep_on_disk(sim_app, state, state_file)
    return _serve_in_background(sim_app, host, port, "Visma.net", "SIM_PORT")


def start_tripletex_simulator(host: str, port: int) -> str:
    from app.tripletex.simulator import SimulatorConfig, create_simulator_app

    sim_app = create_simulator_app(SimulatorConfig(seed=int(os.environ.get("SIM_SEED", "1"))))
    return _serve_in_background(sim_app, host, port, "Tripletex", "TRIPLETEX_SIM_PORT")


def _serve_in_background(wsgi_app, host: str, port: int, system: str, port_variable: str) -> str:
    try:
        server = make_server(host, port, wsgi_app, threaded=True,
                             request_handler=SimulatorRequestHandler)
    except OSError as exc:
        raise click.ClickException(
            f"Port {port} for the {system} simulator is taken ({exc.strerror}); "
            f"set {port_variable} to a free port."
        ) from None
    threading.Thread(target=server.serve_forever, name=f"{system}-simulator", daemon=True).start()
    return f"http://{host}:{port}"


def use_simulator(app: Flask, sim_url: str) -> None:
    from app.visma.simulator import SimulatorConfig
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
        # The simulator, like our Visma Connect app, accepts a used refresh token for 60 s.
        VISMA_REFRESH_GRACE_SECONDS=SimulatorConfig.refresh_grace_period,
    )


def use_tripletex_simulator(app: Flask, sim_url: str) -> None:
    from app.tripletex.simulator.state import DEMO_CONSUMER_TOKEN

    app.config.update(TRIPLETEX_API_URL=f"{sim_url}/v2", TRIPLETEX_CONSUMER_TOKEN=DEMO_CONSUMER_TOKEN)
