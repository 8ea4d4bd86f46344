"""Tokens and password hashes never reach an admin page or a CSV export."""

import re

from flask import url_for
from sqlalchemy import text

from app.accounting.models import DATASETS
from app.admin.accounting import endpoint
from app.extensions import db
from tests.admin.conftest import SECRET_ACCESS, SECRET_REFRESH, password_hashes

LIST_VIEWS = ["customers_admin", "users_admin", "integrations_admin", "clients_admin",
              "runs_admin", "audit_admin", "api_keys_admin",
              *(endpoint(dataset) for dataset in DATASETS if dataset.browse)]


def stored_ciphertext(app) -> str:
    with app.app_context():
        return db.session.execute(text("SELECT token FROM integration")).scalar_one()


def crawl(client) -> dict[str, str]:
    """The index, every list, every detail/edit page linked from them and every CSV export."""
    pages = {"/admin/": client.get("/admin/").text}
    for view in LIST_VIEWS:
        with client.application.test_request_context():
            base = url_for(f"{view}.index_view")
        listing = client.get(base)
        if listing.status_code == 404:
            continue
        pages[base] = listing.text
        for link in set(re.findall(rf'href="({re.escape(base)}(?:details|edit)/\?id=[^"&]+)', listing.text)):
            pages[link] = client.get(link.replace("&amp;", "&")).text
        pages[base + "new/"] = client.get(base + "new/").text
        export = client.get(base + "export/csv/")
        if export.status_code == 200 and export.mimetype == "text/csv":
            pages[base + "export/csv/"] = export.get_data(as_text=True)
    return pages


def test_no_secret_in_any_page_or_export(app, client, world, operator):
    secrets = [SECRET_ACCESS, SECRET_REFRESH, stored_ciphertext(app), *password_hashes(app)]
    assert all(secrets)
    pages = crawl(client)
    exports = [p for p in pages if p.endswith("/export/csv/")]
    assert {"/admin/integrasjoner/export/csv/", "/admin/brukere/export/csv/",
            "/admin/klienter/export/csv/"} <= set(exports)
    assert f"/admin/integrasjoner/details/?id={world.integration_id}" in pages
    assert len(pages) > 20
    for path, body in pages.items():
        for secret in secrets:
            assert secret not in body, f"a secret leaked on {path}"
        assert "password_hash" not in body and "refresh_token" not in body, path
        assert "Token" not in body and "token</" not in body.lower(), path
    # The integration's export and detail do show the harmless columns.
    assert "Kari Nordmann" in pages["/admin/integrasjoner/export/csv/"]
    assert "Hovedkontor" in pages[f"/admin/integrasjoner/details/?id={world.integration_id}"]


def test_search_and_filters_cannot_probe_the_token(client, world, operator):
    """The token is not searchable or filterable: a search for it finds nothing."""
    page = client.get(f"/admin/integrasjoner/?search={SECRET_ACCESS}").text
    assert "Hovedkontor" not in page and "Ingen treff." in page
    assert "Hovedkontor" in client.get("/admin/integrasjoner/?search=Kari").text
