"""Every admin page renders for an operator."""

import pytest

PAGES = [
    "/admin/", "/admin/customers_admin/", "/admin/users_admin/", "/admin/integrations_admin/",
    "/admin/clients_admin/", "/admin/runs_admin/", "/admin/audit_admin/",
    "/admin/users_admin/new/", "/admin/customers_admin/new/",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_render(client, operator, world, path):
    response = client.get(path)
    assert response.status_code == 200, response.text[:2000]
