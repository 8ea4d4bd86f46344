"""Operator page for API keys: create (the key is shown once, on the response page, never
stored or flashed) and revoke (a CSRF-protected POST bulk action). Both are audited."""

from flask import flash, make_response, request
from flask_admin import expose
from flask_admin.actions import action
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from app.admin.forms import AdminForm
from app.admin.security import OperatorModelView
from app.api.models import ApiKey
from app.api.operations import create_api_key, revoke_api_keys
from app.audit.operations import Actor
from app.customers.models import Customer
from app.extensions import db


class NewApiKeyForm(AdminForm):
    name = StringField(
        "Navn",
        validators=[DataRequired(), Length(max=200)],
        description="Hvem bruker nøkkelen, til hva? F.eks. «Sticos Rapport – produksjon».",
    )
    customer_id = SelectField(
        "Begrenset til kunde",
        default="",
        description="Tom: nøkkelen leser alle kunders klienter (Sticos-produkter). "
        "Valgt kunde: bare den kundens klienter.",
    )


class ApiKeyView(OperatorModelView):
    can_create = True
    can_edit = False
    can_delete = False  # revoked keys stay, so the audit trail keeps its object
    column_list = (
        "name",
        "prefix",
        "customer",
        "scope",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    )
    column_details_exclude_list = ("key_hash",)
    column_searchable_list = ("name", "prefix")
    column_filters = ("customer.name", "scope")
    column_default_sort = ("created_at", True)
    column_labels = {
        "name": "Navn",
        "prefix": "Prefiks",
        "customer": "Kunde",
        "customer.name": "Kunde",
        "scope": "Tilgang",
        "created_at": "Opprettet",
        "created_by": "Opprettet av",
        "last_used_at": "Sist brukt",
        "revoked_at": "Tilbakekalt",
        "revoked_by": "Tilbakekalt av",
    }
    column_descriptions = {
        "prefix": "Nøkkelens første tegn, til å kjenne den igjen. Selve nøkkelen lagres ikke.",
        "customer": "Tom: alle kunders klienter.",
        "last_used_at": "Oppdateres høyst én gang i minuttet.",
    }

    def __init__(self, **kwargs):
        super().__init__(ApiKey, db, **kwargs)

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        form = NewApiKeyForm(request.form)
        customers = db.session.execute(select(Customer.id, Customer.name).order_by(Customer.name))
        form.customer_id.choices = [("", "– alle kunder –")] + [
            (str(cid), name) for cid, name in customers
        ]
        if request.method == "POST" and form.validate():
            customer_id = int(form.customer_id.data) if form.customer_id.data else None
            api_key, key = create_api_key(
                form.name.data, actor=Actor.current(), customer_id=customer_id
            )
            # Shown on this response only: not flashed (the session cookie is readable).
            response = make_response(
                self.render("api_admin/key_created.html", api_key=api_key, key=key)
            )
            response.headers["Cache-Control"] = "no-store"
            return response
        return self.render("api_admin/key_new.html", form=form)

    @action(
        "revoke",
        "Tilbakekall",
        "Tilbakekalle valgte API-nøkler? Programmer som bruker dem, mister tilgangen straks.",
    )
    def action_revoke(self, ids):
        count = revoke_api_keys([int(i) for i in ids], actor=Actor.current())
        flash(f"{count} API-nøkler tilbakekalt.", "success")
