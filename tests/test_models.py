from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from app.customers.models import Customer
from app.db_types import token_cipher
from app.extensions import db
from app.integrations.models import Client, Integration
from tests.factories import ClientFactory, IntegrationFactory

TOKEN = {"access_token": "eyJ-access-SECRET", "refresh_token": "refresh-SECRET-123", "expires_at": 1}


def test_tokens_are_encrypted_at_rest(app):
    with app.app_context():
        integration = IntegrationFactory(customer__name="Kryptert AS", token=TOKEN)
        db.session.commit()
        raw = db.session.execute(
            text("SELECT token FROM integration WHERE id = :id"), {"id": integration.id}
        ).scalar_one()
        assert "refresh-SECRET-123" not in raw and "eyJ-access-SECRET" not in raw
        assert token_cipher().decrypt(raw.encode())  # it is a Fernet token of our key
        db.session.expire_all()
        assert db.session.get(Integration, integration.id).token == TOKEN


def test_token_under_a_rotated_away_key_reads_as_none(app):
    with app.app_context():
        integration = IntegrationFactory(customer__name="Rotert AS", token=TOKEN)
        db.session.commit()
        app.config["TOKEN_ENCRYPTION_KEY"] = Fernet.generate_key().decode()
        db.session.expire_all()
        assert db.session.get(Integration, integration.id).token is None


def test_timestamps_come_back_as_aware_utc(app):
    with app.app_context():
        customer = Customer(name="Tid AS")
        db.session.add(customer)
        db.session.commit()
        db.session.expire_all()
        created = db.session.get(Customer, customer.id).created_at
        assert created.tzinfo is UTC
        assert abs((datetime.now(UTC) - created).total_seconds()) < 60


def test_naive_datetimes_are_refused(app):
    with app.app_context():
        db.session.add(Customer(name="Naiv AS", created_at=datetime(2025, 1, 1)))
        with pytest.raises(Exception, match="aware datetime"):
            db.session.commit()


def test_one_client_per_source_id_per_integration(app):
    with app.app_context():
        integration = IntegrationFactory(customer__name="Unik AS")
        ClientFactory(integration=integration, external_id="t1", name="A")
        with pytest.raises(Exception, match="UNIQUE"):
            ClientFactory(integration=integration, external_id="t1", name="B")


def test_deleting_an_integration_removes_its_clients(app):
    with app.app_context():
        ClientFactory(integration__customer__name="Slett AS", external_id="t1", name="A")
        db.session.commit()
        db.session.execute(text("DELETE FROM integration"))
        db.session.commit()
        assert db.session.scalars(select(Client)).all() == []
