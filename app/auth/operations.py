"""Creating users: one function for the CLI, the demo seed and the admin panel."""

import secrets

from sqlalchemy import func, select

from app.audit.operations import Actor, record
from app.auth.models import Role, User
from app.customers.models import Customer
from app.extensions import db

MIN_PASSWORD_LENGTH = 8


class UserError(ValueError):
    """The user cannot be created as asked; the message says why."""


def create_user(
    *,
    email: str,
    role: str,
    password: str,
    customer_name: str | None = None,
    actor: Actor | None = None,
    must_change_password: bool = False,
) -> User:
    email = email.strip().lower()
    if "@" not in email:
        raise UserError(f"{email!r} is not an e-mail address.")
    if role not in {r.value for r in Role}:
        raise UserError(f"Unknown role {role!r}: use operator or customer.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise UserError(f"A user with e-mail {email} already exists.")
    customer = None
    if role == Role.CUSTOMER:
        if not customer_name:
            raise UserError("A customer user needs --customer NAME.")
        customer = db.session.scalar(select(Customer).where(Customer.name == customer_name))
        if customer is None:
            raise UserError(f"No customer named {customer_name!r}.")
    elif customer_name:
        raise UserError("An operator belongs to no customer: drop --customer.")
    user = User(email=email, role=role, customer=customer, must_change_password=must_change_password)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record(actor or Actor.system("cli"), "user_created", user, role=role)
    db.session.commit()
    return user


ONE_TIME_PASSWORD_BYTES = 9  # 12 url-safe characters


def new_one_time_password() -> str:
    return secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)


def issue_one_time_password(user: User, *, actor: Actor) -> str:
    """Replace the user's password with a one-time password, to be changed at next login.

    Returned once for an operator to hand over: there is no mail server to send it."""
    password = new_one_time_password()
    user.set_password(password)
    user.must_change_password = True
    record(actor, "user_password_reset", user)
    db.session.commit()
    return password


def replace_password(user: User, new_password: str, *, actor: Actor) -> None:
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"Passordet må ha minst {MIN_PASSWORD_LENGTH} tegn.")
    if user.check_password(new_password):
        raise UserError("Velg et annet passord enn det du har nå.")
    user.set_password(new_password)
    user.must_change_password = False
    record(actor, "user_password_changed", user)
    db.session.commit()
