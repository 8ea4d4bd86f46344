"""`make run`'s dev server: one banner with the logins and the simulator's App Store, and a
request log without static files and status polls."""

import logging
import threading
from contextlib import contextmanager

import requests
from werkzeug.serving import make_server

from app.demo.seed import DEMO_LOGINS
from app.devserver import QuietRequestHandler, SimulatorRequestHandler, banner


def test_banner_lists_each_login_once_and_the_app_store():
    text = banner("http://127.0.0.1:5000", "http://127.0.0.1:5001", 2)
    for email, password, _ in DEMO_LOGINS:
        assert text.count(email) == 1 and password in text
    assert text.count("demo@visma.test") == 1
    assert "http://127.0.0.1:5001/appstore" in text
    assert "http://127.0.0.1:5000" in text
    assert "/appstore" not in banner("http://127.0.0.1:5000", None, 0)


@contextmanager
def _serving(handler, status: int):
    """A real werkzeug server with ``handler`` answering every path with ``status``."""
    def wsgi(environ, start_response):
        start_response(f"{status} X", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = make_server("127.0.0.1", 0, wsgi, request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _logged(caplog, handler, path, status) -> bool:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="werkzeug"), _serving(handler, status) as base:
        requests.get(base + path, timeout=5)
    return any(path.split("?")[0] in record.getMessage() for record in caplog.records)


def test_request_log_skips_static_files_and_status_polls_unless_they_fail(caplog):
    assert not _logged(caplog, QuietRequestHandler, "/static/app.css", 200)
    assert not _logged(caplog, QuietRequestHandler, "/admin/static/admin/js/helpers.js?v=1", 304)
    assert not _logged(caplog, QuietRequestHandler, "/integrasjoner/3/status?klienter=1,2", 200)
    assert _logged(caplog, QuietRequestHandler, "/integrasjoner/3/status", 500)
    assert _logged(caplog, QuietRequestHandler, "/integrasjoner/3", 200)


def test_simulator_logs_only_its_errors(caplog):
    assert not _logged(caplog, SimulatorRequestHandler, "/api/v1/account", 200)
    assert _logged(caplog, SimulatorRequestHandler, "/api/v1/account", 429)


def test_banner_gives_the_tripletex_demo_key_to_paste():
    text = banner("http://127.0.0.1:5000", "http://127.0.0.1:5001", 2,
                  "http://127.0.0.1:5002")
    assert "Tripletex simulator: http://127.0.0.1:5002" in text
    assert "test-demo-regnskapskontor" in text
    assert "test-demo-regnskapskontor" not in banner("http://127.0.0.1:5000", None, 0)
