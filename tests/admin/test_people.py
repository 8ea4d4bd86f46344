"""Kunder and Brukere: validation, a one-time password shown once, audited, no hashes."""

import re

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.customers.models import Customer
from app.extensions import db


def test_customer_orgnr_is_checked_and_names_are_unique(app, client, admin_csrf):
    bad = client.post("/admin/kunder/new/", data={
        "csrf_token": admin_csrf, "name": "Nytt Byrå AS", "orgnr": "123456789"})
    assert bad.status_code == 200 and "Ugyldig organisasjonsnummer" in bad.text
    taken = client.post("/admin/kunder/new/", data={
        "csrf_token": admin_csrf, "name": "regnskapsbyrå demo as", "orgnr": ""})
    assert "Det finnes allerede en kunde med dette navnet." in taken.text
    ok = client.post("/admin/kunder/new/", data={
        "csrf_token": admin_csrf, "name": "Nytt Byrå AS", "orgnr": "NO 923 609 016 MVA"})
    assert ok.status_code == 302
    with app.app_context():
        customer = db.session.scalar(select(Customer).where(Customer.name == "Nytt Byrå AS"))
        assert customer.orgnr == "923609016"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "customer_created"))
        assert event.actor == "operator@sticos.test" and event.customer_id == customer.id


def test_customer_with_integrations_cannot_be_deleted_here(app, client, world, admin_csrf):
    response = client.post("/admin/kunder/delete/", data={
        "csrf_token": admin_csrf, "id": str(world.customer_id), "url": ""}, follow_redirects=True)
    assert "Kunden har integrasjoner" in response.text
    with app.app_context():
        assert db.session.get(Customer, world.customer_id) is not None


def test_create_customer_user_shows_one_time_password_once(app, client, auth, admin_csrf):
    with app.app_context():
        customer_id = db.session.scalar(select(Customer.id).where(Customer.name == "Annen Kunde AS"))
    missing = client.post("/admin/brukere/new/", data={
        "csrf_token": admin_csrf, "email": "ny@kunde.test", "role": "customer", "customer_id": ""})
    assert "En kundebruker må høre til en kunde." in missing.text
    duplicate = client.post("/admin/brukere/new/", data={
        "csrf_token": admin_csrf, "email": "KUNDE@regnskap.test", "role": "customer",
        "customer_id": str(customer_id)})
    assert "Det finnes allerede en bruker med denne e-postadressen." in duplicate.text

    created = client.post("/admin/brukere/new/", data={
        "csrf_token": admin_csrf, "email": "Ny@Kunde.test", "role": "customer",
        "customer_id": str(customer_id)})
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    password = re.search(r'id="one-time-password">([^<]+)<', created.text).group(1)
    assert len(password) >= 12
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ny@kunde.test"))
        assert user.must_change_password and user.customer_id == customer_id
        assert user.check_password(password)
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user_created",
                                                           AuditEvent.object_id == user.id))
        assert event.actor == "operator@sticos.test" and password not in str(event.details)
        user_id = user.id
    # Shown once: neither the list, the detail page nor the flash carries it afterwards.
    for path in ("/admin/brukere/", f"/admin/brukere/details/?id={user_id}", "/admin/"):
        assert password not in client.get(path).text
    # The new user can log in with it.
    auth.logout()
    response = auth.login("ny@kunde.test", password)
    assert response.status_code == 302


def test_operator_user_gets_no_customer(app, client, admin_csrf):
    with app.app_context():
        customer_id = db.session.scalar(select(Customer.id).limit(1))
    response = client.post("/admin/brukere/new/", data={
        "csrf_token": admin_csrf, "email": "drift2@sticos.test", "role": "operator",
        "customer_id": str(customer_id)})
    assert "En operatør hører ikke til noen kunde." in response.text


def test_edit_user_is_validated_and_audited(app, client, admin_csrf):
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == "annen@kunde.test"))
        customer_id = db.session.scalar(select(User.customer_id).where(User.id == user_id))
    taken = client.post(f"/admin/brukere/edit/?id={user_id}", data={
        "csrf_token": admin_csrf, "email": "kunde@regnskap.test", "role": "customer",
        "customer_id": str(customer_id), "is_active_user": "y"})
    assert "Det finnes allerede en bruker" in taken.text
    edit_page = client.get(f"/admin/brukere/edit/?id={user_id}").text
    assert "password" not in edit_page.lower().replace("must_change_password", "")
    done = client.post(f"/admin/brukere/edit/?id={user_id}", data={
        "csrf_token": admin_csrf, "email": "annen@kunde.test", "role": "customer",
        "customer_id": str(customer_id)})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(User, user_id).is_active_user is False
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user_updated"))
        assert event.details["changes"] == {"is_active_user": [True, False]}


def test_customer_without_integrations_or_users_can_be_deleted(app, client, admin_csrf):
    client.post("/admin/kunder/new/", data={"csrf_token": admin_csrf, "name": "Kortvarig AS"})
    with app.app_context():
        customer_id = db.session.scalar(select(Customer.id).where(Customer.name == "Kortvarig AS"))
        with_users = db.session.scalar(select(Customer.id).where(Customer.name == "Annen Kunde AS"))
    refused = client.post("/admin/kunder/delete/", data={
        "csrf_token": admin_csrf, "id": str(with_users), "url": ""}, follow_redirects=True)
    assert "Kunden har brukere." in refused.text
    client.post("/admin/kunder/delete/", data={
        "csrf_token": admin_csrf, "id": str(customer_id), "url": ""})
    with app.app_context():
        assert db.session.get(Customer, customer_id) is None
        assert db.session.get(Customer, with_users) is not None
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "customer_deleted"))
        assert event.actor == "operator@sticos.test" and event.details["name"] == "Kortvarig AS"
