"""Imports every model so SQLAlchemy's metadata (and Alembic) see the whole schema."""

from app.audit.models import AuditEvent
from app.auth.models import LoginAttempt, User
from app.customers.models import Customer
from app.integrations.models import Client, Integration
from app.jobs.models import SyncRun

__all__ = ["AuditEvent", "Client", "Customer", "Integration", "LoginAttempt", "SyncRun", "User"]
