"""Test data with factory_boy: customers, users, integrations, clients and runs.

Every factory adds to `db.session` and flushes (ids are set, nothing is committed): the test
commits when its scenario is built, as the code under test would. Call them inside an app
context. `IntegrationFactory(connected=True)` is an integration a finished OAuth flow left.
"""

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app.auth.models import Role, User
from app.customers.models import Customer
from app.db_types import utcnow
from app.extensions import db
from app.integrations.models import Client, Integration, IntegrationStatus
from app.jobs.models import RunKind, SyncRun, Trigger
from app.orgnr import is_valid_orgnr

PASSWORD = "test-passord-123"
TOKEN = {"access_token": "a", "refresh_token": "r", "expires_at": 4_000_000_000}


class _Factory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 (the app context's session)
        sqlalchemy_session_persistence = "flush"


class CustomerFactory(_Factory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Kunde {n} AS")


class UserFactory(_Factory):
    """A customer's login (`role=Role.OPERATOR, customer=None` for an operator); password
    `PASSWORD` unless given."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"bruker{n}@kunde.test")
    role = Role.CUSTOMER
    customer = factory.SubFactory(CustomerFactory)
    password_hash = ""

    @factory.post_generation
    def password(user, create, value, **kwargs):
        user.set_password(value or PASSWORD)
        if create:
            db.session.flush()


class IntegrationFactory(_Factory):
    class Meta:
        model = Integration

    class Params:
        connected = factory.Trait(
            status=IntegrationStatus.CONNECTED,
            authorized_by_name="Demo Bruker",
            authorized_by_email="demo@visma.test",
            authorized_at=factory.LazyFunction(utcnow),
            token=TOKEN,
            token_refreshed_at=factory.LazyFunction(utcnow),
        )

    customer = factory.SubFactory(CustomerFactory)
    description = ""


class ClientFactory(_Factory):
    """A company of an integration; `orgnr_valid` follows the mod-11 check of `orgnr`."""

    class Meta:
        model = Client

    integration = factory.SubFactory(IntegrationFactory, connected=True)
    external_id = factory.Sequence(lambda n: f"tenant-{n}")
    name = factory.Sequence(lambda n: f"Firma {n} AS")
    orgnr = None
    orgnr_valid = factory.LazyAttribute(lambda client: is_valid_orgnr(client.orgnr))


class RunFactory(_Factory):
    """A queued incremental sync of a client (pass `client=` and the rest as needed)."""

    class Meta:
        model = SyncRun

    kind = RunKind.INCREMENTAL_SYNC
    client = factory.SubFactory(ClientFactory)
    integration = factory.SelfAttribute("client.integration")
    requested_by = "scheduler"
    trigger = Trigger.SCHEDULE
