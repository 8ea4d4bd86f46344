"""«Slett gamle kontoer» when Visma.net cannot be read: the preview run fails at once (no
retries while a person waits), and the customer sees Visma's own words in Norwegian context
and is sent back to the integration page, not an error page."""

from __future__ import annotations

import pytest

from app.demo.seed import seed_demo
from app.jobs.models import RunKind, RunStatus
from tests.conftest import csrf_token_from
from tests.sync.test_old_accounts_preview import drain

KUNDE = ("kunde@regnskap.test", "kunde-demo")


@pytest.fixture
def preview_setup(env):
    seed_demo()
    integration = env.connect(customer="Regnskapsbyrå Demo AS")
    assert env.run(RunKind.REFRESH_CLIENTS, integration).status == RunStatus.SUCCEEDED
    client = env.client_named(integration, "Nordlys Regnskap AS")
    env.activate(client)
    browser = env.app.test_client()
    page = browser.get("/logg-inn")
    browser.post("/logg-inn", data={"email": KUNDE[0], "password": KUNDE[1],
                                    "csrf_token": csrf_token_from(page.text)})
    url = f"/integrasjoner/{integration.id}/klienter/{client.id}/slett-gamle-kontoer"
    return browser, url, integration.id, client


def _preview_page(browser, url):
    """Ask for a preview, let a worker run it, and open the page that shows it."""
    waiting = browser.get(url)
    assert waiting.status_code == 302 and "forhandsvisning=" in waiting.headers["Location"]
    drain()
    return browser.get(waiting.headers["Location"])


def _assert_back_with_message(browser, url, integration_id, client, visma_words):
    response = _preview_page(browser, url)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"/integrasjoner/{integration_id}#klient-{client.id}")
    page = browser.get(response.headers["Location"])
    assert page.status_code == 200
    assert "kunne ikke lese kontoplanen i Visma.net" in page.text
    assert "Slett gamle kontoer (Nordlys Regnskap AS)" in page.text
    assert visma_words in page.text


def test_preview_when_access_is_withdrawn_shows_vismas_words(env, preview_setup):
    browser, url, integration_id, client = preview_setup
    assert _preview_page(browser, url).status_code == 200  # the preview works while Visma answers
    env.sim.state.withdraw(client.external_id)
    _assert_back_with_message(browser, url, integration_id, client, "No license for this company")


def test_preview_when_visma_fails_shows_vismas_words(env, preview_setup):
    browser, url, integration_id, client = preview_setup
    env.sim.state.set_faults(error_rate=1.0)
    try:
        _assert_back_with_message(browser, url, integration_id, client, "An error has occurred")
    finally:
        env.sim.state.reset_faults()
