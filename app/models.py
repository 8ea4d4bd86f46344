"""Imports every model so SQLAlchemy's metadata (and Alembic) see the whole schema."""

from app.accounting.models import (
    Account,
    DatasetState,
    FinancialPeriod,
    GLBalance,
    JournalBatch,
    JournalLine,
    LedgerCustomer,
    LedgerCustomerBalance,
    LedgerSupplier,
    LedgerSupplierBalance,
    Organization,
)
from app.api.models import ApiKey, ApiKeyUsage
from app.audit.models import AuditEvent
from app.auth.models import LoginAttempt, User
from app.customers.models import Customer
from app.integrations.models import Client, Integration
from app.jobs.models import SchedulerJob, SyncRun

__all__ = [
    "Account",
    "ApiKey",
    "ApiKeyUsage",
    "AuditEvent",
    "Client",
    "Customer",
    "DatasetState",
    "FinancialPeriod",
    "GLBalance",
    "Integration",
    "JournalBatch",
    "JournalLine",
    "LedgerCustomer",
    "LedgerCustomerBalance",
    "LedgerSupplier",
    "LedgerSupplierBalance",
    "LoginAttempt",
    "Organization",
    "SchedulerJob",
    "SyncRun",
    "User",
]
