"""Fixtures for the read API: customers with integrations and clients, keys, an API client."""

from dataclasses import dataclass

import pytest

from app.api.operations import create_api_key
from app.audit.operations import Actor
from app.extensions import db
from app.integrations.models import IntegrationStatus
from tests.factories import ClientFactory, IntegrationFactory


@dataclass
class World:
    customer_a: int
    customer_b: int
    client_a1: int  # active, customer A
    client_a2: int  # inactive, customer A
    client_b1: int  # active, customer B


@pytest.fixture
def world(app) -> World:
    with app.app_context():
        ids = {}
        for label, name, orgnr in (
            ("a", "Kunde A AS", "974760673"),
            ("b", "Kunde B AS", "923609016"),
        ):
            integration = IntegrationFactory(
                customer__name=name, customer__orgnr=orgnr,
                status=IntegrationStatus.CONNECTED, description=f"Visma {label}",
            )
            ids[label] = (integration.customer, integration)
        clients = [
            ClientFactory(integration=ids["a"][1], external_id="t-a1", name="A1 Regnskap AS",
                          orgnr="974760673", active=True),
            ClientFactory(integration=ids["a"][1], external_id="t-a2", name="A2 Holding AS",
                          orgnr="923609016", active=False),
            ClientFactory(integration=ids["b"][1], external_id="t-b1", name="B1 Drift AS",
                          orgnr="910000000", active=True),
        ]
        assert [c.orgnr_valid for c in clients] == [True, True, False]
        db.session.commit()
        return World(ids["a"][0].id, ids["b"][0].id, *(c.id for c in clients))


@pytest.fixture
def make_key(app):
    """make_key(name, customer_id=None, scope="read") -> the plaintext key."""

    def make(name="Sticos Rapport", customer_id=None, scope="read"):
        with app.app_context():
            _row, key = create_api_key(
                name, actor=Actor.system("test"), customer_id=customer_id, scope=scope
            )
            return key

    return make


class Api:
    """The Flask test client with a bearer key."""

    def __init__(self, client, key):
        self.client = client
        self.key = key

    def get(self, path, key=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if key is not False:
            headers.setdefault("Authorization", f"Bearer {key or self.key}")
        return self.client.get(path, headers=headers, **kwargs)

    def walk(self, path, **params):
        """Every page of a list endpoint; returns all rows."""
        rows, cursor = [], None
        while True:
            query = dict(params, **({"cursor": cursor} if cursor else {}))
            response = self.get(path, query_string=query)
            assert response.status_code == 200, response.text
            body = response.get_json()
            rows += body["data"]
            cursor = body["next_cursor"]
            if cursor is None:
                return rows


@pytest.fixture
def api(client, make_key):
    return Api(client, make_key())
