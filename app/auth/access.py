"""Role checks: operators own the admin panel, customer users see only their own customer."""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from app.audit.operations import customer_id_of
from app.extensions import db


def customer_required(view):
    """A logged-in customer user; operators use the admin panel instead."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.customer_id is None:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def own_or_404(model, object_id: int):
    """The object if it belongs to the current user's customer; 404 otherwise (never 403,
    which would confirm that another customer's id exists)."""
    obj = db.session.get(model, object_id)
    if obj is None or customer_id_of(obj) != current_user.customer_id:
        abort(404)
    return obj
