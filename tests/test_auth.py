import pytest
from sqlalchemy import select

from app import create_app
from app.auth.models import User
from app.customers.models import Customer
from app.demo.seed import seed_demo
from app.extensions import db
from config import TestConfig
from tests.conftest import csrf_token_from
from tests.factories import ClientFactory


def test_login_page_is_norwegian(client):
    page = client.get("/logg-inn")
    assert page.status_code == 200
    assert "Logg inn" in page.text and "Passord" in page.text and 'lang="nb"' in page.text


def test_customer_login_lands_on_integrations(auth, client, app):
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")
    page = client.get("/", follow_redirects=True)
    assert "Integrasjoner" in page.text
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "kunde@regnskap.test"))
        assert user.last_login_at is not None


def test_operator_login_lands_on_admin(auth, client):
    auth.login("operator@sticos.test", "sticos-demo")
    page = client.get("/", follow_redirects=True)
    assert page.request.path == "/admin/"


def test_wrong_password_is_refused_without_saying_which_part(auth, client):
    response = auth.login(password="feil-passord")
    assert response.status_code == 401
    assert "Feil e-post eller passord." in response.text
    unknown = auth.login(email="ukjent@x.test", password="whatever1")
    assert "Feil e-post eller passord." in unknown.text


def test_repeated_failures_are_throttled_even_with_the_right_password(auth, app):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert auth.login(password="feil").status_code == 401
    locked = auth.login()
    assert locked.status_code == 429
    assert "For mange mislykkede forsøk" in locked.text


def test_failures_on_made_up_addresses_do_not_lock_out_the_right_user_at_that_address(auth, app):
    for n in range(app.config["LOGIN_MAX_FAILURES"] + 2):
        assert auth.login(email=f"gjett{n}@x.test", password="feil").status_code == 401
    response = auth.login(email="operator@sticos.test", password="sticos-demo")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"


def test_one_address_spraying_many_accounts_hits_the_ip_ceiling(auth, app, client):
    app.config["LOGIN_MAX_FAILURES_PER_IP"] = 8
    for n in range(8):
        assert auth.login(email=f"gjett{n}@x.test", password="feil").status_code == 401
    locked = auth.login(email="operator@sticos.test", password="sticos-demo")
    assert locked.status_code == 429
    other_address = client.get("/logg-inn", environ_base={"REMOTE_ADDR": "10.9.9.9"})
    response = client.post(
        "/logg-inn",
        data={"email": "operator@sticos.test", "password": "sticos-demo",
              "csrf_token": csrf_token_from(other_address.text)},
        environ_base={"REMOTE_ADDR": "10.9.9.9"},
    )
    assert response.status_code == 302


def _fail_from(client, forwarded_for, email="kunde@regnskap.test"):
    page = client.get("/logg-inn")
    return client.post(
        "/logg-inn",
        data={"email": email, "password": "feil", "csrf_token": csrf_token_from(page.text)},
        headers={"X-Forwarded-For": forwarded_for},
    ).status_code


@pytest.mark.parametrize(("trusted_proxies", "locked_out"), [(0, True), (1, False)])
def test_the_client_address_comes_from_the_trusted_proxy_only(tmp_path, trusted_proxies, locked_out):
    """Behind one proxy every user arrives from the proxy's address: with TRUSTED_PROXIES=1 the
    throttle counts the address the proxy saw; with 0 a forged header changes nothing."""
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.db'}",
                     TRUSTED_PROXIES=trusted_proxies)
    with app.app_context():
        db.create_all()
        seed_demo()
    client = app.test_client()
    for n in range(app.config["LOGIN_MAX_FAILURES"]):
        assert _fail_from(client, f"203.0.113.{n}") == 401
    assert (_fail_from(client, "203.0.113.99") == 429) is locked_out
    with app.app_context():
        db.engine.dispose()


def test_logout_ends_the_session(auth, client):
    auth.login()
    auth.logout()
    response = client.get("/integrasjoner/")
    assert response.status_code == 302
    assert "/logg-inn" in response.headers["Location"]


def test_logout_by_get_is_not_allowed(auth, client):
    auth.login()
    assert client.get("/logg-ut").status_code == 405


def test_form_without_csrf_token_is_refused(client, demo):
    response = client.post(
        "/logg-inn", data={"email": "kunde@regnskap.test", "password": "kunde-demo"}
    )
    assert response.status_code == 400
    assert "Skjemaet var utløpt eller ugyldig" in response.text


@pytest.mark.parametrize(
    "next_param",
    ["//evil.example/", "/%09/evil.example", "/%0a/x", "/%5C/evil.example", "https://evil.example/",
     "///evil.example", "/%0d%0aSet-Cookie:x=1", "javascript:alert(1)", "%2F%2Fevil.example"],
)
def test_login_never_redirects_off_site_nor_fails_on_a_hostile_next(client, demo, next_param):
    page = client.get("/logg-inn")
    response = client.post(
        f"/logg-inn?next={next_param}",
        data={"email": "kunde@regnskap.test", "password": "kunde-demo",
              "csrf_token": csrf_token_from(page.text)},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_follows_a_next_path_on_this_site(client, demo):
    page = client.get("/logg-inn")
    response = client.post(
        "/logg-inn?next=/integrasjoner/ny%3Fsystem%3Dvisma",
        data={"email": "kunde@regnskap.test", "password": "kunde-demo",
              "csrf_token": csrf_token_from(page.text)},
    )
    assert response.headers["Location"] == "/integrasjoner/ny?system=visma"


def test_session_cookie_is_httponly_and_lax(auth):
    response = auth.login()
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def _other_customers_objects(app):
    with app.app_context():
        other = db.session.scalar(select(Customer).where(Customer.name == "Annen Kunde AS"))
        client = ClientFactory(integration__customer=other, integration__description="Annen",
                               name="Hemmelig AS")
        db.session.commit()
        return client.integration_id


def test_customer_gets_404_for_another_customers_integration(auth, client, app):
    other_id = _other_customers_objects(app)
    auth.login()
    response = client.get(f"/integrasjoner/{other_id}")
    assert response.status_code == 404
    assert "Hemmelig AS" not in response.text
    assert "Hemmelig AS" not in client.get("/integrasjoner/").text


def test_customer_and_anonymous_are_kept_out_of_the_admin_panel(auth, client):
    anonymous = client.get("/admin/")
    assert anonymous.status_code == 302 and "/logg-inn" in anonymous.headers["Location"]
    auth.login()
    for path in ("/admin/", "/admin/kunder/", "/admin/brukere/"):
        assert client.get(path).status_code == 403, path


def test_operator_has_no_customer_pages(auth, client):
    auth.login("operator@sticos.test", "sticos-demo")
    assert client.get("/integrasjoner/").status_code == 403
