"""Serve a simulator on a free loopback port in a background thread, for tests and demos.

    sim = start_simulator(SimulatorConfig(journal_lines=500))
    try:
        requests.get(sim.api_url + "/v1/account", headers=...)
        sim.state.withdraw(sim.state.tenant_id("TrekkSpill"))
    finally:
        sim.stop()

or `with start_simulator() as sim: ...`. Without a socket, `mount_responses(rsps, app, ...)`
dispatches the requests a `responses` mock intercepts into a simulator app.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from . import create_simulator_app
from .config import SimulatorConfig
from .state import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_SERVICE_CLIENT_ID,
    DEMO_SERVICE_CLIENT_SECRET,
    SimulatorState,
)

__all__ = ["RunningSimulator", "ServedInBackground", "start_simulator", "mount_responses", "DEMO_CLIENT_ID",
           "DEMO_CLIENT_SECRET", "DEMO_SERVICE_CLIENT_ID", "DEMO_SERVICE_CLIENT_SECRET"]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:  # noqa: ARG002 - werkzeug's signature
        pass


@dataclass
class ServedInBackground:
    """A simulator app served over real HTTP on a free loopback port; stop() it (or use it as a
    context manager). Both simulators' RunningSimulator extend it."""

    url: str
    """Base URL, e.g. http://127.0.0.1:54321."""
    app: Flask
    state: Any
    """The simulator's in-memory world: mutations, faults, truth, clock (see its README)."""
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @classmethod
    def serve(cls, app: Flask, state: Any, name: str) -> Self:
        """Serve app on 127.0.0.1:<free port> in a daemon thread."""
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        # A short poll interval: stop() returns within it (serve_forever's default is half a second).
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  name=name, daemon=True)
        thread.start()
        return cls(f"http://127.0.0.1:{server.server_port}", app, state, server, thread)

    def stop(self) -> None:
        """Shut the server down and release its port."""
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class RunningSimulator(ServedInBackground):
    """A Visma.net simulator served over real HTTP (the identity provider lives at url)."""

    state: SimulatorState

    client_id: str = DEMO_CLIENT_ID
    client_secret: str = DEMO_CLIENT_SECRET
    service_client_id: str = DEMO_SERVICE_CLIENT_ID
    service_client_secret: str = DEMO_SERVICE_CLIENT_SECRET

    @property
    def api_url(self) -> str:
        """The ERP API base, as VISMA_API_URL would name https://api.finance.visma.net."""
        return self.url + "/api"

    @property
    def token_url(self) -> str:
        return self.url + "/connect/token"

    @property
    def authorize_url(self) -> str:
        return self.url + "/connect/authorize"

    @property
    def tenants_url(self) -> str:
        return self.url + "/connect/tenants"

    def service_token(self, tenant_id: str) -> str:
        """An ERP access token for tenant_id, without an HTTP round trip (approval unchecked)."""
        return self.state.issue_service_token(tenant_id, self.service_client_id, self.url)


def start_simulator(config: SimulatorConfig | None = None) -> RunningSimulator:
    """Build a simulator for config (the demo world by default) and serve it on 127.0.0.1:<free>."""
    state = SimulatorState(config)
    return RunningSimulator.serve(create_simulator_app(state=state), state, "visma-simulator")


def mount_responses(rsps, app: Flask, connect_url: str = "https://connect.visma.test",
                    api_url: str | None = None) -> None:
    """Answer every request a `responses.RequestsMock` sees under connect_url (Visma Connect,
    /_sim) and api_url (the ERP API, default connect_url + "/api") from the simulator app."""
    connect_url = connect_url.rstrip("/")
    api_url = (api_url or connect_url + "/api").rstrip("/")
    client = app.test_client(use_cookies=False)  # requests keeps the cookies
    # the longer base first, so connect_url + "/api" reaches the ERP API
    bases = sorted([(api_url, "/api"), (connect_url, "")], key=lambda b: -len(b[0]))

    def dispatch(request):
        base, prefix = next((b, p) for b, p in bases
                            if request.url == b or request.url.startswith((b + "/", b + "?")))
        url = urlsplit(request.url)
        path = prefix + url.path[len(urlsplit(base).path):] or "/"
        # Connect keeps its base path as script root, so discovery names the mocked URLs
        script_base = base if not prefix else f"{url.scheme}://{url.netloc}"
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        body = request.body.encode() if isinstance(request.body, str) else request.body
        response = client.open(path, method=request.method, query_string=url.query,
                               headers=headers, data=body, base_url=script_base)
        out_headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return response.status_code, out_headers, response.get_data()

    for base, _ in bases:
        pattern = re.compile(re.escape(base) + r"([/?].*)?$")
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            rsps.add_callback(method, pattern, callback=dispatch, content_type=None)
