import re

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.extensions import db
from tests.conftest import csrf_token_from


def _reset_by_operator(client, auth, app, email="kunde@regnskap.test") -> str:
    auth.login("operator@sticos.test", "sticos-demo")
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == email))
    details = client.get(f"/admin/brukere/details/?id={user_id}")
    assert "Nytt engangspassord" in details.text
    page = client.post(
        "/admin/brukere/reset-password/",
        data={"id": user_id, "csrf_token": csrf_token_from(details.text)},
    )
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    password = re.search(r'id="one-time-password">([^<]+)<', page.text).group(1)
    auth.logout()
    return password


def test_operator_reset_gives_a_one_time_password_that_must_be_replaced(client, auth, app):
    password = _reset_by_operator(client, auth, app)
    assert auth.login(password="kunde-demo").status_code == 401  # the old one is gone
    auth.login(password=password)
    forced = client.get("/integrasjoner/")
    assert forced.status_code == 302 and forced.headers["Location"].endswith("/bytt-passord")

    page = client.get("/bytt-passord")
    mismatch = client.post("/bytt-passord", data={
        "password": "nytt-passord-1", "confirm": "annet-passord",
        "csrf_token": csrf_token_from(page.text)})
    assert "Passordene er ikke like." in mismatch.text
    same = client.post("/bytt-passord", data={
        "password": password, "confirm": password, "csrf_token": csrf_token_from(page.text)})
    assert "Velg et annet passord" in same.text

    done = client.post("/bytt-passord", data={
        "password": "nytt-passord-1", "confirm": "nytt-passord-1",
        "csrf_token": csrf_token_from(page.text)}, follow_redirects=True)
    assert "Passordet er endret." in done.text
    assert client.get("/integrasjoner/").status_code == 200
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert "user_password_reset" in actions and "user_password_changed" in actions


def test_reset_needs_an_operator_and_csrf(client, auth, app):
    auth.login()
    token = auth.csrf_token("/integrasjoner/")
    assert client.post("/admin/brukere/reset-password/", data={"id": 1, "csrf_token": token}).status_code == 403
    auth.logout()
    auth.login("operator@sticos.test", "sticos-demo")
    assert client.post("/admin/brukere/reset-password/", data={"id": 1}).status_code == 400
