"""Tripletex on the customer pages, in the admin panel and in the read API: what a user or a
caller sees, beside Visma.net."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.api.operations import create_api_key
from app.audit.operations import Actor
from app.customers.models import Customer
from app.extensions import db
from app.integrations.models import Integration, IntegrationStatus, System
from app.jobs.models import RunKind, SyncRun
from tests.conftest import csrf_token_from
from tests.factories import ClientFactory, IntegrationFactory

NEW = "/integrasjoner/ny"


@pytest.fixture
def customer(app, client, auth, sim):
    app.config.update(TRIPLETEX_API_URL=sim.api_url,
                      TRIPLETEX_CONSUMER_TOKEN=sim.consumer_token)
    auth.login()
    return client


def integrations(app) -> list[Integration]:
    with app.app_context():
        return db.session.scalars(select(Integration)).all()


def submit(client, url, data, form_url=None):
    token = csrf_token_from(client.get(form_url or url).text)
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=True)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_demo_key_connects_and_queues_the_client_list(app, customer, sim):
    response = submit(customer, NEW, {"system": "tripletex", "key": f"  {sim.firm_key}\n",
                                      "description": "Byråets klienter"})

    assert response.status_code == 200
    text = text_of(response.text)
    assert "Tripletex er koblet til: nøkkelen gir tilgang til 3 klienter." in text
    assert "Byråets klienter" in text
    [integration] = integrations(app)
    assert (integration.system, integration.status) == (System.TRIPLETEX,
                                                        IntegrationStatus.CONNECTED)
    with app.app_context():
        assert db.session.get(Integration, integration.id).token == {"key": sim.firm_key}
        kinds = db.session.scalars(select(SyncRun.kind)).all()
    assert kinds == [RunKind.REFRESH_CLIENTS]
    assert sim.firm_key not in response.text  # the key is never shown again


@pytest.mark.parametrize("key, said", [
    ("test-finnes-ikke", "Tripletex godtok ikke nøkkelen"),
    ("prod-demo-feil-miljo", "Nøkkelen hører til et annet Tripletex-miljø"),
    ("", "Lim inn regnskapskontorets brukernøkkel fra Tripletex."),
])
def test_a_wrong_key_is_explained_and_nothing_is_created(app, customer, key, said):
    response = submit(customer, NEW, {"system": "tripletex", "key": key, "description": "Hei"})

    assert response.status_code == 400
    assert said in text_of(response.text)
    assert "Hei</textarea>" in response.text  # what was typed is kept
    assert integrations(app) == []


def test_a_missing_consumer_token_blames_sticos_not_the_customer(app, customer, sim):
    app.config["TRIPLETEX_CONSUMER_TOKEN"] = None

    response = submit(customer, NEW, {"system": "tripletex", "key": sim.firm_key})

    assert response.status_code == 400
    assert "feil satt opp hos Sticos" in text_of(response.text)
    assert integrations(app) == []


def test_visma_net_still_redirects_to_its_login(app, customer):
    token = csrf_token_from(customer.get(NEW).text)
    response = customer.post(NEW, data={"csrf_token": token, "system": "visma_net"})

    assert response.status_code == 302
    assert "/connect/authorize" in response.headers["Location"]


def test_endre_system_takes_a_new_key_and_keeps_the_clients(app, customer, sim):
    submit(customer, NEW, {"system": "tripletex", "key": sim.firm_key})
    [integration] = integrations(app)
    with app.app_context():
        stored = db.session.get(Integration, integration.id)
        stored.status = IntegrationStatus.REAUTHORIZATION_REQUIRED
        stored.token = None
        ClientFactory(integration=stored, name="Beholdt Klient AS", active=True)
        db.session.commit()
    edit = f"/integrasjoner/{integration.id}/endre"
    reconnect = customer.get(f"/integrasjoner/{integration.id}")
    assert "Tilkoblingen til Tripletex må fornyes" in text_of(reconnect.text)
    token = csrf_token_from(reconnect.text)
    assert customer.post(f"/integrasjoner/{integration.id}/koble-til",
                         data={"csrf_token": token}).headers["Location"].endswith("endre#nokkel")

    refused = submit(customer, f"/integrasjoner/{integration.id}/nokkel",
                     {"key": "test-finnes-ikke"}, form_url=edit)
    assert refused.status_code == 400
    assert "Tripletex godtok ikke nøkkelen" in text_of(refused.text)
    assert integrations(app)[0].status == IntegrationStatus.REAUTHORIZATION_REQUIRED

    accepted = submit(customer, f"/integrasjoner/{integration.id}/nokkel",
                      {"key": sim.firm_key}, form_url=edit)
    assert "Ny nøkkel er lagret: nøkkelen gir tilgang til 3 klienter." in text_of(accepted.text)
    assert integrations(app)[0].status == IntegrationStatus.CONNECTED
    assert "Beholdt Klient AS" in accepted.text


def test_another_customer_cannot_change_the_key(app, client, auth, customer, sim):
    submit(customer, NEW, {"system": "tripletex", "key": sim.firm_key})
    [integration] = integrations(app)
    auth.logout()
    auth.login("annen@kunde.test", "annen-demo")
    token = auth.csrf_token()

    response = client.post(f"/integrasjoner/{integration.id}/nokkel",
                           data={"csrf_token": token, "key": "test-annen"})

    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Integration, integration.id).token == {"key": sim.firm_key}


@pytest.fixture
def two_systems(app, demo):
    with app.app_context():
        owner = db.session.scalar(select(Customer).where(Customer.name == "Regnskapsbyrå Demo AS"))
        visma = IntegrationFactory(customer=owner, system=System.VISMA_NET)
        tripletex = IntegrationFactory(customer=owner, system=System.TRIPLETEX)
        ids = {"visma": ClientFactory(integration=visma, name="Visma Klient AS").id,
               "tripletex": ClientFactory(integration=tripletex, name="Tripletex Klient AS",
                                          external_id="123456").id}
        db.session.commit()
        return ids, {"visma": visma.id, "tripletex": tripletex.id}


def test_the_admin_filters_integrations_and_clients_by_system(client, auth, two_systems):
    clients, integration_ids = two_systems
    auth.login("operator@sticos.test", "sticos-demo")

    def listed(url):
        return {int(i) for i in re.findall(r'name="rowid" class="action-checkbox" value="(\d+)"',
                                           client.get(url).text)}

    assert listed("/admin/klienter/?flt0_system_er=tripletex") == {clients["tripletex"]}
    assert listed("/admin/klienter/?flt0_system_er=visma_net") == {clients["visma"]}
    assert listed("/admin/integrasjoner/?flt0_system_er=tripletex") == {
        integration_ids["tripletex"]}
    assert "Tripletex" in client.get("/admin/integrasjoner/").text


def test_the_api_serves_both_systems_alike_with_a_system_field(app, client, two_systems):
    clients, _ = two_systems
    with app.app_context():
        _row, key = create_api_key("Sticos Rapport", actor=Actor.system("test"))
        db.session.commit()
    headers = {"Authorization": f"Bearer {key}"}

    listed = client.get("/api/v1/clients", headers=headers).get_json()["data"]
    one = client.get(f"/api/v1/clients/{clients['tripletex']}", headers=headers).get_json()
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Client"]

    by_name = {c["name"]: c for c in listed}
    assert by_name["Tripletex Klient AS"]["system"] == "tripletex"
    assert by_name["Visma Klient AS"]["system"] == "visma_net"
    assert set(by_name["Tripletex Klient AS"]) == set(by_name["Visma Klient AS"])
    assert one["system"] == "tripletex"
    assert schema["properties"]["system"]["enum"] == ["visma_net", "tripletex"]


def test_an_unreachable_tripletex_client_says_what_to_do_in_tripletex(app, customer, sim):
    submit(customer, NEW, {"system": "tripletex", "key": sim.firm_key})
    [integration] = integrations(app)
    with app.app_context():
        lost = ClientFactory(integration=db.session.get(Integration, integration.id),
                             name="Tapt Klient AS", reachable=False)
        db.session.commit()
        lost_id = lost.id

    response = submit(customer, f"/integrasjoner/{integration.id}/klienter/{lost_id}/aktiver", {},
                      form_url=f"/integrasjoner/{integration.id}")

    text = text_of(response.text)
    assert "Tapt Klient AS: kan ikke aktiveres fordi Sticos ikke lenger når klienten i " \
           "Tripletex." in text
    assert "klienttilgang i Tripletex" in text and "App Store" not in text
