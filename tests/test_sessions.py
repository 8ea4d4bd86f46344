"""Sessions end where the user expects: logout and a password change end every copy of the
session and remember cookies; pages carry security headers."""

import pytest

from tests.conftest import csrf_token_from

CUSTOMER = {"email": "kunde@regnskap.test", "password": "kunde-demo"}


def _login(client, remember=False, **credentials):
    page = client.get("/logg-inn")
    data = {**CUSTOMER, **credentials, "csrf_token": csrf_token_from(page.text)}
    if remember:
        data["remember"] = "y"
    response = client.post("/logg-inn", data=data)
    assert response.status_code == 302, response.text
    return response


def _copy_of(app, client, name):
    """A second browser holding a copy of one cookie of the first."""
    cookie = client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    thief = app.test_client()
    thief.set_cookie(name, cookie.value)
    return thief


def _sees_customer_pages(client) -> bool:
    return client.get("/integrasjoner/").status_code == 200


def _logout(client):
    page = client.get("/integrasjoner/")
    client.post("/logg-ut", data={"csrf_token": csrf_token_from(page.text)})


def _change_password(client, new):
    page = client.get("/bytt-passord")
    response = client.post("/bytt-passord", data={
        "password": new, "confirm": new, "csrf_token": csrf_token_from(page.text)})
    assert response.status_code == 302, response.text


@pytest.mark.parametrize("cookie", ["session", "remember_token"])
def test_a_copied_cookie_stops_working_at_logout(app, client, demo, cookie):
    _login(client, remember=True)
    copy = _copy_of(app, client, cookie)
    assert _sees_customer_pages(copy) and _sees_customer_pages(copy)
    _logout(client)
    assert not _sees_customer_pages(copy)


def test_husk_meg_keeps_a_new_browser_session_logged_in(app, client, demo):
    _login(client, remember=True)
    next_morning = _copy_of(app, client, "remember_token")
    assert all(_sees_customer_pages(next_morning) for _ in range(3))


def test_a_password_change_ends_other_devices_but_not_this_one(app, demo):
    laptop, phone = app.test_client(), app.test_client()
    _login(laptop)
    _login(phone, remember=True)
    remembered = _copy_of(app, phone, "remember_token")
    assert _sees_customer_pages(remembered) and _sees_customer_pages(remembered)
    _change_password(laptop, "et-helt-nytt-passord")
    assert _sees_customer_pages(laptop)
    assert not _sees_customer_pages(phone)
    assert not _sees_customer_pages(remembered)
    _login(phone, password="et-helt-nytt-passord")
    assert _sees_customer_pages(phone)


def test_pages_forbid_framing_and_sniffing_and_carry_a_csp(client, demo):
    for path in ("/logg-inn", "/api/v1/openapi.json", "/finnes-ikke"):
        headers = client.get(path).headers
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "same-origin", path
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp, path
        script_src = csp.split("script-src ")[1].split(";")[0]
        assert script_src.startswith("'self'") and "'unsafe-inline'" not in script_src, path
