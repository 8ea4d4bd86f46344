"""The views of the operator panel, in menu order."""

from flask_admin import Admin

from app.admin import accounting
from app.admin.api_keys import ApiKeyView
from app.admin.audit import AuditView
from app.admin.clients import ClientView
from app.admin.integrations import IntegrationView
from app.admin.people import CustomerView, UserView
from app.admin.runs import RunView
from app.audit.models import AuditEvent
from app.auth.models import User
from app.customers.models import Customer
from app.extensions import db
from app.integrations.models import Client, Integration
from app.jobs.models import SyncRun


def register_views(admin: Admin) -> None:
    # Endpoints end in _admin: no blueprint of ours may be called like the customer pages'.
    admin.add_view(CustomerView(Customer, db, name="Kunder", endpoint="customers_admin", url="kunder"))
    admin.add_view(UserView(User, db, name="Brukere", endpoint="users_admin", url="brukere"))
    admin.add_view(IntegrationView(Integration, db, name="Integrasjoner", endpoint="integrations_admin", url="integrasjoner"))
    admin.add_view(ClientView(Client, db, name="Klienter", endpoint="clients_admin", url="klienter"))
    admin.add_view(RunView(SyncRun, db, name="Kjøringer", endpoint="runs_admin", url="kjoringer"))
    admin.add_view(AuditView(AuditEvent, db, name="Revisjonslogg", endpoint="audit_admin", url="revisjonslogg"))
    accounting.register(admin)
    admin.add_view(ApiKeyView(name="API-nøkler", endpoint="api_keys_admin", url="api-nokler"))
