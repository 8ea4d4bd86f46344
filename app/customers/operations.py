"""Creating, changing and deleting Sticos customers (the admin panel's «Kunder»).

Commit policy: like every operations module, each public function is its entry point's whole
unit of work and commits before it returns (or raises CustomerError having changed nothing).
"""

from sqlalchemy import select

from app.audit.operations import Actor, record
from app.customers.models import Customer
from app.extensions import db
from app.orgnr import normalize_orgnr


class CustomerError(ValueError):
    """The change is not allowed; the message says why (Norwegian)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def save_customer(customer: Customer | None, *, name: str, orgnr: str | None,
                  actor: Actor) -> Customer:
    """Create a customer (``customer`` None) or change one: name trimmed, orgnr normalised."""
    created = customer is None
    if created:
        customer = Customer()
        db.session.add(customer)
    customer.name = name.strip()
    customer.orgnr = normalize_orgnr(orgnr) or None
    db.session.flush()
    record(actor, "customer_created" if created else "customer_updated", customer,
           customer_id=customer.id, name=customer.name, orgnr=customer.orgnr)
    db.session.commit()
    return customer


def delete_customer(customer: Customer, *, actor: Actor) -> None:
    """Delete a customer that has neither integrations nor users."""
    integrations, users = db.session.execute(
        select(Customer.integrations.any(), Customer.users.any()).where(Customer.id == customer.id)
    ).one()
    if integrations:
        raise CustomerError(
            "Kunden har integrasjoner. Slett dem først (Integrasjoner → Slett system), "
            "så tilgangen hos Visma trekkes tilbake."
        )
    if users:
        raise CustomerError("Kunden har brukere. Slett eller deaktiver dem først (Brukere).")
    record(actor, "customer_deleted", customer, customer_id=customer.id, name=customer.name)
    db.session.delete(customer)
    db.session.commit()
