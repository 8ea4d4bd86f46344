"""Issue 14 in a real browser: an abandoned Visma login is taken over, a long description never
widens the page, the test send shows after a reload, unreachable clients are explained once
with their buttons off, and the same Visma user connected twice is pointed out without syncing
a company twice. The customer goes through it on a 375 px phone; at every stop the page is
also laid out at 1280 and 1440 px (the flow itself does not depend on the width, and going
through it once instead of once per width spares the suite a minute and a half). Screenshots
go to test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest

from tests.web.test_browser import WORK, fits, login, row, visma_login

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A long description without a single space: it must wrap, never widen the page.
LONG = "Regnskapsavdelingen-Oslo-og-Viken-" * 5


PHONE, WIDTHS = 375, (375, 1280, 1440)


@pytest.fixture
def page(chromium, live_app):
    context = chromium.new_context(viewport={"width": PHONE, "height": 900}, locale="nb-NO")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def shot(page, screenshots=None, name=None):
    """The page as it is now, laid out at every width: nothing sticks out sideways."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        fits(page)
        if screenshots is not None:
            page.screenshot(path=screenshots / f"trip-{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": PHONE, "height": 900})


def opprett(page, description):
    page.get_by_role("link", name="Legg til Ny integrasjon").click()
    page.get_by_label("Visma.net").check()
    page.get_by_label("Beskrivelse (Ikke fyll inn personopplysninger i feltet)").fill(description)
    page.get_by_role("button", name="Opprett").click()


def test_what_a_customer_trips_over(page, live_app, screenshots):
    from playwright.sync_api import expect

    base = live_app.url
    sim = live_app.simulator.state
    login(page, base)

    # 1. Opprett, then leave the Visma login — twice: one row to continue, not a pile.
    for _ in range(2):
        opprett(page, LONG)
        expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
        page.goto(base + "/integrasjoner/")
    rows = page.locator("table.integrations tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Venter på tilgang")
    expect(rows.first.get_by_role("link", name=re.compile("^Slett"))).to_be_visible()
    shot(page, screenshots, "01-venter-pa-tilgang")

    rows.first.get_by_role("button", name="Fortsett tilkobling").click()
    visma_login(page)
    page.get_by_role("button", name="Accept").click()
    # (the flash may be gone already: the page reloads itself once the client list is in)
    expect(page.locator("main")).to_contain_text("Koblet til av Demo Bruker", timeout=WORK)
    expect(row(page, "TrekkSpill")).to_be_visible(timeout=WORK)
    expect(page.locator("#integration")).to_have_attribute("data-busy", "false", timeout=WORK)
    first_url = page.url

    # 8 and 5 on the integration page: the orgnr notice, the long description wrapped.
    expect(page.locator("#om-orgnr")).to_contain_text("Rett organisasjonsnummeret")
    shot(page)

    # 3. Activate two clients; the test send shows live, and after a reload what it sent.
    for name in ("TrekkSpill", "Nordlys Regnskap AS"):
        row(page, name).get_by_role("button", name="Aktiver").click()
        expect(page.locator(".flash")).to_contain_text(f"{name}: aktivert")
    for name in ("TrekkSpill", "Nordlys Regnskap AS"):
        expect(row(page, name)).to_contain_text("Sist synkronisert", timeout=WORK)
    row(page, "TrekkSpill").get_by_role("button", name="Send testdata til Sticos").click()
    expect(page.locator(".flash")).to_contain_text("Send testdata til Sticos (TrekkSpill): lagt i kø")
    expect(row(page, "TrekkSpill").locator(".run[data-kind=test_data]")).to_contain_text(
        "Send testdata til Sticos: Fullført", timeout=WORK)
    page.reload()
    expect(row(page, "TrekkSpill").locator(".test-send")).to_contain_text(
        re.compile(r"Testdata sendt \d\d\.\d\d\.\d{4} \d\d:\d\d: firmaopplysninger, \d+ kontoer og "
                   r"[\d\u00a0]+ saldoer for \d{4}-\d\d"))
    shot(page, screenshots, "02-testdata-sendt")

    # 6. The App Store permission for Nordlys is withdrawn: explained once, buttons off.
    sim.withdraw(sim.tenant_id("Nordlys Regnskap AS"))
    page.get_by_role("button", name="Oppdater klientliste").click()
    expect(page.locator("#om-ikke-tilgjengelige")).to_contain_text("Nordlys Regnskap AS",
                                                                   timeout=WORK)
    expect(page.get_by_text("Gi tillatelse i")).to_have_count(1)
    nordlys = row(page, "Nordlys Regnskap AS")
    expect(nordlys.locator(".badge.bad")).to_have_text("Ikke tilgjengelig")
    for label in ("Send testdata til Sticos", "Synkroniser", "Slett gamle kontoer"):
        expect(nordlys.get_by_role("button", name=label)).to_be_disabled()
    expect(row(page, "TrekkSpill").get_by_role("button", name="Synkroniser")).to_be_enabled()
    shot(page, screenshots, "03-ikke-tilgjengelig")

    # 2. The same Visma user connected again: warned, and TrekkSpill is not synced twice.
    page.goto(base + "/integrasjoner/")
    opprett(page, "Andre gang")  # still signed in at Visma, consent remembered: straight back
    expect(page.locator(".flash-warning")).to_contain_text("er allerede koblet til i integrasjonen")
    expect(page.locator("#samme-tilkobling")).to_contain_text("koblet til to ganger")
    expect(row(page, "TrekkSpill")).to_be_visible(timeout=WORK)
    expect(page.locator("#integration")).to_have_attribute("data-busy", "false", timeout=WORK)
    twin = row(page, "TrekkSpill")
    expect(twin.locator(".badge.twin")).to_contain_text("Synkroniseres i Visma.net – Regnskaps")
    expect(twin.get_by_role("button", name="Aktiver")).to_be_disabled()
    page.get_by_role("button", name="Aktiver alle").click()
    expect(page.locator(".flash")).to_contain_text("1 synkroniseres allerede i en annen integrasjon")
    expect(row(page, "TrekkSpill").get_by_role("button", name="Aktiver")).to_be_disabled()
    shot(page, screenshots, "04-samme-tilkobling")

    page.goto(base + "/integrasjoner/")
    expect(page.locator("table.integrations tbody tr")).to_have_count(2)
    shot(page, screenshots, "05-integrasjoner")
    page.goto(first_url)
    shot(page, screenshots, "06-forste-integrasjon")
