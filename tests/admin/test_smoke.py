"""Every admin page renders for an operator."""

import pytest

PAGES = [
    "/admin/", "/admin/kunder/", "/admin/brukere/", "/admin/integrasjoner/",
    "/admin/klienter/", "/admin/kjoringer/", "/admin/revisjonslogg/",
    "/admin/brukere/new/", "/admin/kunder/new/",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_render(client, operator, world, path):
    response = client.get(path)
    assert response.status_code == 200, response.text[:2000]


def test_detail_pages_render(client, operator, world):
    for path in (
        f"/admin/integrasjoner/details/?id={world.integration_id}",
        f"/admin/klienter/details/?id={world.client_ids[0]}",
        f"/admin/kjoringer/details/?id={world.failed_run_id}",
        f"/admin/kjoringer/details/?id={world.queued_run_id}",
        f"/admin/kunder/details/?id={world.customer_id}",
        f"/admin/kunder/edit/?id={world.customer_id}",
        "/admin/brukere/details/?id=1",
        "/admin/brukere/edit/?id=2",
        "/admin/revisjonslogg/details/?id=1",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Fant ikke raden" not in response.text, path
    page = client.get(f"/admin/integrasjoner/details/?id={world.integration_id}").text
    assert "Aktive klienter: 3 Inaktive klienter: 3" in page
    assert "Firma 5 AS" in page and "Full synkronisering" in page  # its clients and runs


def test_filter_links_apply_a_filter(client, operator, world):
    """Every filtered link the panel itself renders names a filter that exists."""
    import re

    pages = [client.get("/admin/").text,
             client.get(f"/admin/integrasjoner/details/?id={world.integration_id}").text,
             client.get(f"/admin/klienter/details/?id={world.client_ids[0]}").text]
    links = {link.replace("&amp;", "&") for page in pages
             for link in re.findall(r'href="(/admin/[^"]*flt0_[^"]*)"', page)}
    assert len(links) >= 12
    for link in links:
        listing = client.get(link).text
        active = re.search(r'id="active-filters-data" class="d-none">(.*?)</div>', listing).group(1)
        assert active not in ("", "[]"), link
