"""End to end in a real browser: the customer connects Tripletex with the demo firm key,
activates its clients and watches them synced (Playwright + Debian's Chromium, the Tripletex
simulator and an in-process worker on loopback)."""

from __future__ import annotations

import re

import pytest

from app.tripletex.simulator import SimulatorConfig
from app.tripletex.simulator.testing import start_simulator
from tests.conftest import sqlite_database
from tests.web.conftest import ARTIFACTS, serve_live
from tests.web.test_browser import WORK, login, page, row  # noqa: F401 (the page fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def live_app(tmp_path):
    """The app talking to a Tripletex simulator, served with a worker (``serve_live``); the
    browser test's ``page`` fixture (tests/web) drives it."""
    from app import create_app
    from config import TestConfig

    sim = start_simulator(SimulatorConfig(vouchers_per_month=4))
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=sqlite_database(tmp_path / "live.db"),
                     TRIPLETEX_API_URL=sim.api_url, TRIPLETEX_CONSUMER_TOKEN=sim.consumer_token,
                     WORKER_THREADS=2, WORKER_POLL_SECONDS=0.1)
    try:
        with serve_live(app, sim) as live:
            yield live
    finally:
        sim.stop()


def test_customer_connects_tripletex_with_the_demo_key_and_syncs_its_clients(page, live_app):  # noqa: F811
    from playwright.sync_api import expect

    base, sim = live_app.url, live_app.simulator
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    login(page, base)
    page.get_by_role("link", name="Legg til Ny integrasjon").click()
    page.get_by_role("radio", name="Tripletex").check()

    # A wrong key: said plainly, nothing created, what was typed kept.
    key = page.get_by_label("Regnskapskontorets brukernøkkel (Tripletex)")
    key.fill("test-feil-nokkel")
    page.get_by_label("Beskrivelse (Ikke fyll inn personopplysninger i feltet)").fill("Byrået")
    page.get_by_role("button", name="Opprett").click()
    expect(page.locator(".error")).to_contain_text("Tripletex godtok ikke nøkkelen")
    page.screenshot(path=ARTIFACTS / "tripletex-01-feil-nokkel.png", full_page=True)
    page.goto(base + "/integrasjoner/")
    expect(page.get_by_text("Du har ingen integrasjoner ennå")).to_be_visible()

    page.goto(base + "/integrasjoner/ny")
    page.get_by_role("radio", name="Tripletex").check()
    page.get_by_label("Regnskapskontorets brukernøkkel (Tripletex)").fill(sim.firm_key)
    # Slow answers keep the first client-list refresh running for seconds after the page has
    # loaded, so the connect message is there to read before the page reloads itself with the
    # clients (on a loaded machine a fraction of a second was not always enough).
    sim.state.set_faults(latency=1.0)
    page.get_by_role("button", name="Opprett").click()
    expect(page.locator(".flash")).to_contain_text(
        "Tripletex er koblet til: nøkkelen gir tilgang til 3 klienter.")
    sim.state.set_faults(latency=0)  # the message was seen: the syncs need no slow answers
    expect(page.get_by_role("heading", name="Tripletex", exact=True)).to_be_visible()
    for name, orgnr in (("Fjordlys Rørlegger AS", "911223341"),
                        ("Nordkapp Bakeri AS", "987123451"),
                        ("Tindeklatring Utstyr AS", "934567897")):
        expect(row(page, name)).to_be_visible(timeout=WORK)
        expect(row(page, name).locator("td[data-label=ORGNR]")).to_contain_text(orgnr)
    expect(page.locator("#integration")).to_have_attribute("data-busy", "false", timeout=WORK)
    expect(page.locator(".client-counts")).to_contain_text("Aktive klienter: 0 Inaktive klienter: 3")

    page.get_by_role("button", name="Aktiver alle").click()
    expect(page.locator(".flash")).to_contain_text("Aktiver alle: 3 aktivert")
    for name in ("Fjordlys Rørlegger AS", "Nordkapp Bakeri AS", "Tindeklatring Utstyr AS"):
        expect(row(page, name).locator("[data-field=last_sync]")).to_contain_text(
            "Sist synkronisert", timeout=WORK)
    bakeri = row(page, "Nordkapp Bakeri AS")
    bakeri.get_by_role("button", name="Synkroniser").click()
    status = row(page, "Nordkapp Bakeri AS").locator("[data-run-status]")
    expect(status).to_contain_text(re.compile(r"Full synkronisering: Fullført.*kontoer"),
                                   timeout=WORK)
    expect(row(page, "Nordkapp Bakeri AS").locator("[data-field=data_as_of]")).to_contain_text(
        "Data per")
    page.screenshot(path=ARTIFACTS / "tripletex-02-synkronisert.png", full_page=True)

    # Endre system: a new key replaces the old one, the clients stay.
    page.get_by_role("link", name="Endre system").click()
    expect(page.get_by_role("heading", name="Koble til på nytt")).to_be_visible()
    page.get_by_label("Ny regnskapskontorets brukernøkkel").fill(sim.firm_key)
    page.get_by_role("button", name="Lagre ny nøkkel").click()
    expect(page.locator(".flash")).to_contain_text("Ny nøkkel er lagret")
    expect(page.locator(".client-counts")).to_contain_text("Aktive klienter: 3 Inaktive klienter: 0")
