"""The panel in a real browser: screenshots of the dashboard, the client list and a failed run,
and a bulk action driven through Flask-Admin's own JavaScript (no network: all assets local)."""

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app.extensions import db
from app.integrations.models import Client

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(app, world):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_screenshots_and_a_bulk_action(app, world, chromium, live_server):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = chromium.new_page(viewport={"width": 1440, "height": 1000})
    refused = []  # what the Content-Security-Policy blocked: nothing may be
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{live_server}/logg-inn")
    page.fill("input[name=email]", "operator@sticos.test")
    page.fill("input[name=password]", "sticos-demo")
    page.click("button[type=submit]")

    page.goto(f"{live_server}/admin/")
    assert page.locator("[data-figure=runs-failed-24h]").inner_text() == "1"
    assert page.locator("[data-figure=runs-queued]").inner_text() == "1"
    page.screenshot(path=str(SCREENSHOTS / "admin-dashboard.png"), full_page=True)

    page.goto(f"{live_server}/admin/klienter/")
    assert page.locator("table.model-list tbody tr").count() == 6
    page.screenshot(path=str(SCREENSHOTS / "admin-client-list.png"), full_page=True)

    # Tick two inactive clients, "Med valgte" → "Aktiver", accept the confirmation.
    for client_id in world.client_ids[3:5]:
        page.check(f"input.action-checkbox[value='{client_id}']")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("text=Med valgte")
    page.click(".dropdown-menu >> text=Aktiver")
    page.wait_for_selector(".alert-success")
    assert "Aktiver: 2 aktivert" in page.locator(".alert-success").inner_text()
    with app.app_context():
        assert all(db.session.get(Client, i).active for i in world.client_ids[3:5])

    # A per-row button: Deaktiver on the first client (a POST form, confirmed).
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"form.row-action:has(input[name=rowid][value='{world.client_ids[0]}']) "
                 "button[data-row-action=deactivate]").click()
    page.wait_for_selector(".alert-success")
    assert "Deaktiver: 1 deaktivert" in page.locator(".alert-success").inner_text()

    page.goto(f"{live_server}/admin/kjoringer/details/?id={world.failed_run_id}")
    assert "for mange forespørsler" in page.locator("#run-error").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "admin-failed-run.png"), full_page=True)

    # For review, not asserted on: the integration page and the run list.
    page.goto(f"{live_server}/admin/integrasjoner/details/?id={world.integration_id}")
    page.screenshot(path=str(SCREENSHOTS / "admin-integration.png"), full_page=True)
    page.goto(f"{live_server}/admin/kjoringer/")
    page.screenshot(path=str(SCREENSHOTS / "admin-run-list.png"), full_page=True)
    page.close()
    assert not refused, "\n".join(refused)
