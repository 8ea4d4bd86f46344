"""Users: creating, changing, deleting them and their passwords, for the CLI, the demo seed,
the admin panel and the password page.

Commit policy: each public function is its entry point's whole unit of work and commits
before it returns (or raises UserError having changed nothing).
"""

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
    """Create a user; a customer user belongs to the customer named ``customer_name``."""
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
    """A random password to hand over once."""
    return secrets.token_urlsafe(ONE_TIME_PASSWORD_BYTES)


def issue_one_time_password(user: User, *, actor: Actor) -> str:
    """Replace the user's password with a one-time password, to be changed at next login.

    Returned once for an operator to hand over: there is no mail server to send it."""
    password = new_one_time_password()
    user.set_password(password)
    user.end_sessions()
    user.must_change_password = True
    record(actor, "user_password_reset", user)
    db.session.commit()
    return password


def replace_password(user: User, new_password: str, *, actor: Actor) -> None:
    """The user's own new password (the password page)."""
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"Passordet må ha minst {MIN_PASSWORD_LENGTH} tegn.")
    if user.check_password(new_password):
        raise UserError("Velg et annet passord enn det du har nå.")
    user.set_password(new_password)
    user.end_sessions()
    user.must_change_password = False
    record(actor, "user_password_changed", user)
    db.session.commit()


def update_user(
    user: User,
    *,
    email: str,
    role: str,
    customer_id: int | None,
    is_active_user: bool,
    must_change_password: bool,
    actor: Actor,
) -> None:
    """Change a user's e-mail, role, customer and flags; the audit event lists what changed."""
    fields = ("email", "role", "customer_id", "is_active_user")
    before = {name: getattr(user, name) for name in fields}
    user.email = email.strip().lower()
    user.role = role
    user.customer_id = customer_id
    user.is_active_user = is_active_user
    user.must_change_password = must_change_password
    changed = {name: [before[name], getattr(user, name)] for name in fields
               if before[name] != getattr(user, name)}
    record(actor, "user_updated", user, changes=changed)
    db.session.commit()


def delete_user(user: User, *, actor: Actor) -> None:
    """Delete a user (their audit events keep their e-mail)."""
    record(actor, "user_deleted", user, email=user.email)
    db.session.delete(user)
    db.session.commit()
