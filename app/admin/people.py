"""Kunder and Brukere: CRUD with validation; new users get a one-time password shown once."""

from flask import flash, make_response, redirect, request
from flask_admin import expose
from flask_admin.helpers import get_form_data, get_redirect_target, validate_form_on_submit
from flask_admin.model.helpers import get_mdict_item_or_list
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from app.admin.forms import AdminForm
from app.admin.security import OperatorModelView
from app.audit.operations import Actor
from app.auth.models import Role, User
from app.auth.operations import (
    UserError,
    create_user,
    delete_user,
    issue_one_time_password,
    new_one_time_password,
    update_user,
)
from app.customers.models import Customer
from app.customers.operations import CustomerError, delete_customer, save_customer
from app.extensions import db
from app.orgnr import is_valid_orgnr

ROLE_LABELS = {Role.OPERATOR: "Operatør (Sticos)", Role.CUSTOMER: "Kundebruker"}


def _customer_choices():
    return [SelectChoice("", "– ingen (operatør) –")] + [
        SelectChoice(str(c.id), c.name) for c in db.session.execute(
            select(Customer.id, Customer.name).order_by(Customer.name)
        )
    ]


class CustomerForm(AdminForm):
    name = StringField("Navn", validators=[DataRequired("Navn må fylles ut."), Length(max=200)])
    orgnr = StringField("Organisasjonsnummer", validators=[Optional()])

    def validate_orgnr(self, field):
        if field.data and not is_valid_orgnr(field.data):
            raise ValidationError("Ugyldig organisasjonsnummer (9 siffer med kontrollsiffer).")

    def validate_name(self, field):
        name = (field.data or "").strip()
        current = getattr(self, "_obj", None)
        query = select(Customer.id).where(func.lower(Customer.name) == name.lower())
        if current is not None and current.id is not None:
            query = query.where(Customer.id != current.id)
        if db.session.scalar(query) is not None:
            raise ValidationError("Det finnes allerede en kunde med dette navnet.")


class CustomerView(OperatorModelView):
    form = CustomerForm
    column_list = ("id", "name", "orgnr", "created_at")
    column_details_list = ("id", "name", "orgnr", "created_at")
    column_export_list = ("id", "name", "orgnr", "created_at")
    column_searchable_list = ("name", "orgnr")
    column_sortable_list = ("id", "name", "orgnr", "created_at")
    column_default_sort = "name"
    column_labels = {"id": "ID", "name": "Navn", "orgnr": "Orgnr", "created_at": "Opprettet"}
    can_export = True

    def create_model(self, form):
        return save_customer(None, name=form.name.data, orgnr=form.orgnr.data,
                             actor=Actor.current())

    def update_model(self, form, model):
        save_customer(model, name=form.name.data, orgnr=form.orgnr.data, actor=Actor.current())
        return True

    def delete_model(self, model):
        try:
            delete_customer(model, actor=Actor.current())
        except CustomerError as exc:
            flash(exc.message, "error")
            return False
        return True


class UserCreateForm(AdminForm):
    email = StringField("E-post", validators=[DataRequired("E-post må fylles ut."), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Ugyldig e-postadresse."), Length(max=254)])
    role = SelectField("Rolle", choices=[SelectChoice(k.value, v) for k, v in ROLE_LABELS.items()],
                       default=Role.CUSTOMER.value)
    customer_id = SelectField("Kunde", choices=[], validate_choice=False)

    def validate_customer_id(self, field):
        if self.role.data == Role.CUSTOMER and not field.data:
            raise ValidationError("En kundebruker må høre til en kunde.")
        if self.role.data == Role.OPERATOR and field.data:
            raise ValidationError("En operatør hører ikke til noen kunde.")

    def validate_email(self, field):
        email = (field.data or "").strip().lower()
        query = select(User.id).where(func.lower(User.email) == email)
        current = getattr(self, "_obj", None)
        if current is not None and current.id is not None:
            query = query.where(User.id != current.id)
        if db.session.scalar(query) is not None:
            raise ValidationError("Det finnes allerede en bruker med denne e-postadressen.")


class UserEditForm(UserCreateForm):
    is_active_user = BooleanField("Aktiv (kan logge inn)")
    must_change_password = BooleanField("Må bytte passord ved neste innlogging")


class UserView(OperatorModelView):
    """Users; the password hash is in no list, detail, form, search, filter or export."""

    column_list = ("id", "email", "role", "customer.name", "is_active_user",
                   "must_change_password", "last_login_at", "created_at")
    column_details_list = column_list
    column_export_list = column_list
    # Belt and braces: the hash is excluded by name everywhere, whatever the lists say.
    column_exclude_list = ("password_hash",)
    column_details_exclude_list = ("password_hash",)
    column_export_exclude_list = ("password_hash",)
    form_excluded_columns = ("password_hash",)
    column_searchable_list = ("email", "customer.name")
    column_sortable_list = ("id", "email", "role", ("customer.name", "customer.name"),
                            "last_login_at", "created_at")
    column_default_sort = "email"
    column_labels = {
        "id": "ID", "email": "E-post", "role": "Rolle", "customer.name": "Kunde",
        "is_active_user": "Aktiv", "must_change_password": "Må bytte passord",
        "last_login_at": "Sist innlogget", "created_at": "Opprettet",
    }
    column_formatters = {"role": lambda v, c, m, n: ROLE_LABELS.get(m.role, m.role)}
    column_formatters_export = column_formatters
    can_export = True
    create_template = "admin/user_create.html"
    details_template = "admin/user_details.html"

    def render(self, template, **kwargs):
        kwargs.setdefault("reset_form", AdminForm())
        return super().render(template, **kwargs)

    @expose("/reset-password/", methods=("POST",))
    def reset_password_view(self):
        """A new one-time password for an existing user, shown on this response only."""
        form = AdminForm(request.form)
        user = db.session.get(User, request.form.get("id", type=int) or 0)
        if not form.validate() or user is None:
            flash("Fant ikke brukeren, eller skjemaet var utløpt.", "error")
            return redirect(self.get_url(".index_view"))
        password = issue_one_time_password(user, actor=Actor.current())
        response = make_response(self.render(
            "admin/user_created.html", user=user, password=password, reset=True,
            return_url=self.get_url(".details_view", id=user.id),
        ))
        response.headers["Cache-Control"] = "no-store"
        return response

    def get_query(self):
        return super().get_query().options(joinedload(User.customer))

    def get_edit_form(self):
        return UserEditForm

    def edit_form(self, obj=None):
        form = UserEditForm(get_form_data(), obj=obj)
        form.customer_id.choices = _customer_choices()
        if obj is not None and request.method == "GET":
            form.customer_id.data = str(obj.customer_id or "")
        return form

    def update_model(self, form, model):
        update_user(
            model, email=form.email.data, role=form.role.data,
            customer_id=int(form.customer_id.data) if form.customer_id.data else None,
            is_active_user=form.is_active_user.data,
            must_change_password=form.must_change_password.data, actor=Actor.current(),
        )
        return True

    def delete_model(self, model):
        delete_user(model, actor=Actor.current())
        return True

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        """Create a user with a generated one-time password, shown on this response only."""
        return_url = get_redirect_target() or self.get_url(".index_view")
        form = UserCreateForm(get_form_data())
        form.customer_id.choices = _customer_choices()
        if request.method == "GET":
            preset = get_mdict_item_or_list(request.args, "customer_id")
            if preset:
                form.customer_id.data = preset
        if validate_form_on_submit(form):
            password = new_one_time_password()
            customer = (db.session.get(Customer, int(form.customer_id.data))
                        if form.customer_id.data else None)
            try:
                user = create_user(
                    email=form.email.data, role=form.role.data, password=password,
                    customer_name=customer.name if customer else None,
                    actor=Actor.current(), must_change_password=True,
                )
            except UserError as exc:
                db.session.rollback()
                flash(str(exc), "error")
            else:
                response = make_response(self.render(
                    "admin/user_created.html", user=user, password=password, return_url=return_url
                ))
                response.headers["Cache-Control"] = "no-store"
                return response
        return self.render(self.create_template, form=form, return_url=return_url)
