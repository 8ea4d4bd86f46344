"""End to end in a real browser: Playwright driving Debian's Chromium against the app, the
Visma simulator and an in-process worker, all on loopback. Screenshots of the main pages are
saved to test-artifacts/screenshots/ for review."""

from __future__ import annotations

import re

import pytest
import requests

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WORK = 60_000  # ms: background work (client list, a sync) finishes within this


@pytest.fixture
def page(chromium, live_app):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="nb-NO")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert not errors, f"JavaScript errors or CSP refusals: {errors}"


def login(page, base):
    from playwright.sync_api import expect

    page.goto(base + "/logg-inn")
    page.get_by_label("E-post").fill("kunde@regnskap.test")
    page.get_by_label("Passord").fill("kunde-demo")
    page.get_by_role("button", name="Logg inn").click()
    expect(page.get_by_role("heading", name="Integrasjoner")).to_be_visible()


def new_integration(page, shots=None, description="Demo Visma.net"):
    from playwright.sync_api import expect

    page.get_by_role("link", name="Legg til Ny integrasjon").click()
    expect(page.get_by_role("heading", name="Ny integrasjon")).to_be_visible()
    page.get_by_label("Visma.net").check()
    page.get_by_label("Beskrivelse (Ikke fyll inn personopplysninger i feltet)").fill(description)
    if shots:
        page.screenshot(path=shots / "02-ny-integrasjon.png", full_page=True)
    page.get_by_role("button", name="Opprett").click()


def visma_login(page, shots=None):
    from playwright.sync_api import expect

    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    page.locator("#email").fill("demo@visma.test")
    page.locator("#password").fill("visma-demo")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_text("would like to get access to")).to_be_visible()
    expect(page.get_by_text("Organization data for TrekkSpill")).to_be_visible()
    if shots:
        page.screenshot(path=shots / "03-visma-samtykke.png", full_page=True)


def row(page, name):
    return page.locator("tr[data-client-id]", has=page.locator(".client-name", has_text=re.compile(f"^{name}$")))


def fits(page) -> None:
    """Nothing sticks out sideways: the page is no wider than the window.

    Measured once the document has loaded: the page reloads itself when a client-list refresh
    ends, and a document caught before its stylesheet applies is as wide as its bare tables."""
    width = page.wait_for_function(
        "document.readyState === 'complete' && document.documentElement.scrollWidth").json_value()
    window = page.viewport_size["width"]
    assert width <= window, f"{page.url} is {width} px wide in a {window} px window"


def test_customer_connects_visma_and_manages_clients(page, live_app, screenshots):
    from playwright.sync_api import expect

    base = live_app.url
    login(page, base)
    page.screenshot(path=screenshots / "01-integrasjoner-tom.png", full_page=True)

    new_integration(page, screenshots)
    visma_login(page, screenshots)
    # Back on the integration's page with a clear message; the client list is fetched at once.
    # (Read from the page as served: the page reloads itself when that first refresh is done,
    # and on a loaded machine that can come before the message is looked for.)
    with page.expect_response(lambda r: r.request.method == "GET" and r.request.is_navigation_request()
                              and "/integrasjoner/" in r.url and "callback" not in r.url) as shown:
        page.get_by_role("button", name="Accept").click()
    assert "Visma.net er koblet til som Demo Bruker (demo@visma.test)" in shown.value.text()
    expect(page.locator("main")).to_contain_text("Koblet til av Demo Bruker", timeout=WORK)
    expect(page.get_by_role("heading", name="Visma.net", exact=True)).to_be_visible()
    # The page shows the clients by itself when that first refresh is done.
    expect(row(page, "TrekkSpill")).to_be_visible(timeout=WORK)
    expect(page.locator("#integration")).to_have_attribute("data-busy", "false", timeout=WORK)
    page.get_by_role("button", name="Oppdater klientliste").click()
    expect(page.locator(".flash")).to_contain_text("Oppdater klientliste: lagt i kø")
    expect(page.locator("#integration-status")).to_contain_text(
        "Oppdater klientliste: Fullført – 3 klienter", timeout=WORK)
    expect(row(page, "TrekkSpill")).to_be_visible()
    expect(row(page, "Testing")).to_be_visible()
    expect(row(page, "TrekkSpill").locator("td[data-label=ORGNR]")).to_contain_text("222333444")
    expect(row(page, "Testing").locator("td[data-label=ORGNR]")).to_contain_text("321321321")
    expect(row(page, "TrekkSpill")).to_contain_text("NY")
    # The list is settled (no refresh still running) before we act on it.
    expect(page.locator("#integration")).to_have_attribute("data-busy", "false", timeout=WORK)
    expect(page.locator(".client-counts")).to_contain_text("Aktive klienter: 0 Inaktive klienter: 3")
    page.screenshot(path=screenshots / "04-klienter-inaktive.png", full_page=True)

    # Instant search: typing filters the rows on the page without a reload.
    search = page.get_by_placeholder("Søk...")
    search.fill("321321")
    expect(row(page, "TrekkSpill")).to_be_hidden()
    expect(row(page, "Testing")).to_be_visible()
    search.fill("")
    expect(row(page, "TrekkSpill")).to_be_visible()

    page.get_by_role("button", name="Aktiver alle").click()
    expect(page.locator(".flash")).to_contain_text("Aktiver alle: 3 aktivert")
    expect(page.locator(".client-counts")).to_contain_text("Aktive klienter: 3 Inaktive klienter: 0")
    trekkspill = row(page, "TrekkSpill")
    for label in ("Send testdata til Sticos", "Synkroniser", "Slett gamle kontoer", "Deaktiver"):
        expect(trekkspill.get_by_role("button", name=label).or_(
            trekkspill.get_by_role("link", name=label))).to_be_visible()
    # The first syncs that activation queued run to their end while we watch.
    for name in ("TrekkSpill", "Testing", "Nordlys Regnskap AS"):
        expect(row(page, name).locator("[data-field=last_sync]")).to_contain_text(
            "Sist synkronisert", timeout=WORK)

    # Synkroniser: the run's progress shows in the row and ends in success with counts,
    # without a page reload.
    page.evaluate("window.__noReload = true")
    trekkspill.get_by_role("button", name="Synkroniser").click()
    expect(page.locator(".flash")).to_contain_text("Synkroniser (TrekkSpill): lagt i kø")
    page.evaluate("window.__noReload = true")
    status = row(page, "TrekkSpill").locator("[data-run-status]")
    expect(status).to_contain_text(re.compile(r"Full synkronisering: (I kø|Kjører)"))
    page.screenshot(path=screenshots / "05-synkroniserer.png", full_page=True)
    expect(status).to_contain_text(re.compile(r"Full synkronisering: Fullført.*kontoer"),
                                   timeout=WORK)
    assert page.evaluate("window.__noReload") is True
    expect(row(page, "TrekkSpill").locator("[data-field=data_as_of]")).to_contain_text("Data per")
    page.screenshot(path=screenshots / "06-integrasjon-aktive.png", full_page=True)

    # The same page on a 375 px phone: the table becomes cards, nothing sticks out.
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    expect(row(page, "TrekkSpill")).to_be_visible()
    fits(page)
    page.screenshot(path=screenshots / "07-integrasjon-mobil.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    row(page, "Testing").get_by_role("button", name="Deaktiver").click()
    expect(page.locator(".flash")).to_contain_text("Testing: deaktivert")
    expect(page.locator(".client-counts")).to_contain_text("Aktive klienter: 2 Inaktive klienter: 1")
    expect(row(page, "Testing").get_by_role("button", name="Aktiver")).to_be_visible()

    # Slett system asks first; Avbryt keeps everything.
    page.get_by_role("link", name="Slett system").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Dette kan ikke angres")
    page.screenshot(path=screenshots / "08-slett-system-dialog.png")
    dialog.get_by_role("button", name="Avbryt").click()
    expect(dialog).to_be_hidden()
    expect(row(page, "TrekkSpill")).to_be_visible()
    page.get_by_role("link", name="Slett system").click()
    dialog.get_by_role("button", name="Slett system").click()
    expect(page.locator(".flash")).to_contain_text("Slett system: Visma.net er slettet")
    expect(page.get_by_text("Du har ingen integrasjoner ennå")).to_be_visible()


def test_cancel_at_visma_consent(page, live_app, screenshots):
    from playwright.sync_api import expect

    login(page, live_app.url)
    new_integration(page)
    visma_login(page)
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator(".flash")).to_contain_text("Tilkoblingen ble avbrutt")
    expect(page.get_by_text("Ikke koblet til ennå")).to_be_visible()
    page.screenshot(path=screenshots / "09-avbrutt-hos-visma.png", full_page=True)
    # Koble til retries; this time the user accepts (still signed in at Visma).
    page.get_by_role("button", name="Koble til", exact=True).click()
    expect(page.get_by_text("would like to get access to")).to_be_visible()
    page.get_by_role("button", name="Accept").click()
    # (the flash may be gone already: the page reloads itself once the client list is in)
    expect(page.locator("main")).to_contain_text("Koblet til av Demo Bruker")
    page.goto(live_app.url + "/integrasjoner/")
    expect(page.locator("table.integrations")).to_contain_text("Tilkoblet")
    page.screenshot(path=screenshots / "10-integrasjoner.png", full_page=True)


def test_revoked_grant_shows_koble_til_pa_nytt(page, live_app, screenshots):
    from playwright.sync_api import expect

    sim = live_app.simulator.url
    login(page, live_app.url)
    new_integration(page)
    visma_login(page)
    page.get_by_role("button", name="Accept").click()
    expect(row(page, "TrekkSpill")).to_be_visible(timeout=WORK)

    # The user withdraws the grant at Visma; issued access tokens die when they expire.
    requests.post(f"{sim}/_sim/users/demo@visma.test/revoke", json={}, timeout=10).raise_for_status()
    requests.post(f"{sim}/_sim/clock", json={"advance": 2 * 3600}, timeout=10).raise_for_status()
    page.get_by_role("button", name="Oppdater klientliste").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Tilkoblingen til Visma.net må fornyes", timeout=WORK)
    expect(alert.get_by_role("button", name="Koble til på nytt")).to_be_visible()
    expect(row(page, "TrekkSpill")).to_be_visible()  # clients and data are kept
    page.screenshot(path=screenshots / "11-koble-til-pa-nytt.png", full_page=True)

    alert.get_by_role("button", name="Koble til på nytt").click()
    expect(page.get_by_text("would like to get access to")).to_be_visible()
    page.get_by_role("button", name="Accept").click()
    # (the flash may be gone already: the page reloads itself once the client list is in)
    expect(page.locator("main")).to_contain_text("Koblet til av Demo Bruker")
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(row(page, "TrekkSpill")).to_be_visible()
