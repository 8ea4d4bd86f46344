"""Writing audit events; every state change calls record() in the same transaction.

Commit policy: ``record`` never commits; the operation that calls it commits the event with
the change it describes.
"""

from dataclasses import dataclass

from flask import has_request_context, request
from flask_login import current_user

from app.audit.models import AuditEvent
from app.extensions import db


@dataclass(frozen=True)
class Actor:
    """Who asked for a change: a logged-in user, or a named system process."""

    label: str
    user_id: int | None = None
    ip: str | None = None
    is_operator: bool = False

    @classmethod
    def system(cls, name: str) -> "Actor":
        """A named system process: the scheduler, a worker, the CLI."""
        return cls(label=name)

    @classmethod
    def current(cls) -> "Actor":
        """The logged-in user of this request (web and admin), or 'anonymous'."""
        ip = request.remote_addr if has_request_context() else None
        if current_user and current_user.is_authenticated:
            return cls(
                label=current_user.email,
                user_id=current_user.id,
                ip=ip,
                is_operator=current_user.is_operator,
            )
        return cls(label="anonym", ip=ip)


def record(actor: Actor, action: str, obj=None, *, customer_id=None, **details) -> AuditEvent:
    """Add an audit event to the session; the caller's commit makes it durable with the change."""
    event = AuditEvent(
        actor=actor.label,
        actor_user_id=actor.user_id,
        ip=actor.ip,
        action=action,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=getattr(obj, "id", None),
        object_label=str(obj)[:300] if obj is not None else None,
        customer_id=customer_id if customer_id is not None else customer_id_of(obj),
        details=details,
    )
    db.session.add(event)
    return event



def customer_id_of(obj) -> int | None:
    """The customer an object belongs to (directly or through its integration), if any: the
    customer an audit event is filed under, and the one a customer user must be to see it."""
    if hasattr(obj, "customer_id"):
        return obj.customer_id
    integration = getattr(obj, "integration", None)
    return integration.customer_id if integration is not None else None
