"""The customer's self-service pages: integrations, their clients and the runs they start."""

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select

from app.auth.access import customer_required, own_or_404
from app.extensions import db
from app.integrations.models import Client, Integration

bp = Blueprint("integrations", __name__, url_prefix="/integrasjoner")


@bp.get("/")
@customer_required
def index():
    integrations = db.session.scalars(
        select(Integration)
        .where(Integration.customer_id == current_user.customer_id)
        .order_by(Integration.created_at)
    ).all()
    return render_template("integrations/index.html", integrations=integrations)


@bp.get("/<int:integration_id>")
@customer_required
def show(integration_id: int):
    integration = own_or_404(Integration, integration_id)
    clients = db.session.scalars(
        select(Client).where(Client.integration_id == integration.id).order_by(Client.name)
    ).all()
    return render_template("integrations/show.html", integration=integration, clients=clients)
