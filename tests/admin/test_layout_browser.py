"""The panel at laptop and desktop widths: the top menu stays on one line, the long lists fit
without sideways scrolling, and the audit log reads in Norwegian (screenshots for review)."""

import pytest

from app.audit.operations import Actor
from app.extensions import db
from app.integrations import operations
from app.jobs.models import RunKind
from tests.admin.test_browser import SCREENSHOTS, live_server  # noqa: F401

pytestmark = pytest.mark.browser

WIDTHS = (375, 1280, 1440)
PHONE, LAPTOP = 375, 1280


def _login(page, base):
    page.goto(f"{base}/logg-inn")
    page.fill("input[name=email]", "operator@sticos.test")
    page.fill("input[name=password]", "sticos-demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/**")


def _menu_lines(page) -> int:
    """How many lines the top menu occupies: its items' distinct vertical centres."""
    return page.evaluate("""() => new Set(Array.from(
        document.querySelectorAll('nav.navbar .navbar-nav > li, nav.navbar .navbar-brand, nav.navbar form, nav.navbar .navbar-toggler')
    ).filter(e => e.offsetParent).map(e => {
        const box = e.getBoundingClientRect();
        return Math.round((box.top + box.bottom) / 20);
    })).size""")


def _overflow(page, *, tables: bool = True) -> int:
    """Pixels the page (and, with ``tables``, any list) is wider than the window."""
    return page.evaluate("""(tables) => Math.max(
        document.documentElement.scrollWidth - window.innerWidth,
        ...(tables ? Array.from(document.querySelectorAll('.table-responsive, table'))
            .map(e => e.scrollWidth - e.clientWidth) : [0]))""", tables)


def test_menu_on_one_line_and_lists_without_sideways_scrolling(app, world, chromium, live_server):  # noqa: F811
    """Each page at each width, in one browser session (logging in once)."""
    with app.app_context():
        operations.activate_clients(world.client_ids[3:4], actor=Actor.system("test"))
        integration = db.session.get(operations.Integration, world.integration_id)
        operations.request_run(RunKind.REFRESH_CLIENTS, integration=integration,
                               actor=Actor.system("test"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = chromium.new_page(viewport={"width": PHONE, "height": 900})
    _login(page, live_server)
    for width in sorted(WIDTHS, key=lambda w: w == LAPTOP):  # the laptop last: checked on below
        page.set_viewport_size({"width": width, "height": 900})
        for path, name in (("/admin/", "oversikt"), ("/admin/klienter/", "klienter"),
                           ("/admin/kjoringer/", "kjoringer"),
                           ("/admin/revisjonslogg/", "revisjonslogg")):
            page.goto(live_server + path)
            page.screenshot(path=str(SCREENSHOTS / f"admin-{name}-{width}.png"), full_page=True)
            assert _menu_lines(page) == 1, f"{path}: the menu wraps at {width} px"
            # On a phone the menu folds away and a long list scrolls inside its own box.
            assert _overflow(page, tables=width > PHONE) <= 0, (
                f"{path}: sideways scrolling at {width} px")
        assert page.locator("button.navbar-toggler").is_visible() == (width == PHONE)
    # The columns an operator looks for are on screen at a laptop's width, not behind a
    # scrollbar (a wider window has room for them too).
    page.goto(live_server + "/admin/kjoringer/")
    assert page.get_by_role("columnheader", name="Feil").is_visible()
    page.goto(live_server + "/admin/klienter/")
    assert page.get_by_role("columnheader", name="Data per").is_visible()

    # Revisjonslogg in words: no raw action codes or English types, Norwegian row icons.
    page.goto(live_server + "/admin/revisjonslogg/")
    table = page.locator("table.model-list").inner_text()
    assert "Klienter aktivert" in table
    assert "Kjøring bestilt: Oppdater klientliste" in table
    for raw in ("clients_activated", "run_requested:", "Integration\t", "Client\t"):
        assert raw not in table
    titles = page.eval_on_selector_all("table.model-list a[title]", "els => els.map(e => e.title)")
    assert titles and not {"View Record", "Edit Record", "Delete Record"} & set(titles)
    page.close()
