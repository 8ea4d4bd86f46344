from sqlalchemy import select

from app.audit.operations import Actor
from app.auth.models import Role, User
from app.auth.operations import create_user
from app.customers.models import Customer
from app.extensions import db

DEMO_CUSTOMERS = (("Regnskapsbyrå Demo AS", "974760673"), ("Annen Kunde AS", "923609016"))
DEMO_LOGINS = (
    ("operator@sticos.test", "sticos-demo", "Sticos-operatør (driftspanel)"),
    ("kunde@regnskap.test", "kunde-demo", "kunde: Regnskapsbyrå Demo AS"),
    ("annen@kunde.test", "annen-demo", "kunde: Annen Kunde AS"),
)
_LOGIN_CUSTOMER = {
    "kunde@regnskap.test": "Regnskapsbyrå Demo AS",
    "annen@kunde.test": "Annen Kunde AS",
}


def seed_demo() -> int:
    """Create what is missing of the demo world; returns how many objects were created."""
    actor = Actor.system("demo-seed")
    created = 0
    for name, orgnr in DEMO_CUSTOMERS:
        if db.session.scalar(select(Customer.id).where(Customer.name == name)) is None:
            db.session.add(Customer(name=name, orgnr=orgnr))
            created += 1
    db.session.commit()
    for email, password, _ in DEMO_LOGINS:
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            continue
        customer_name = _LOGIN_CUSTOMER.get(email)
        role = Role.CUSTOMER if customer_name else Role.OPERATOR
        create_user(email=email, role=role, password=password, customer_name=customer_name, actor=actor)
        created += 1
    return created
