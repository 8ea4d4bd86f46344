"""The model views of the operator panel."""

from flask_admin import Admin
from flask_admin.form import SecureForm

from app.admin.security import OperatorModelView
from app.auth.models import User
from app.customers.models import Customer
from app.extensions import db


class CustomerView(OperatorModelView):
    form_base_class = SecureForm
    column_searchable_list = ("name", "orgnr")
    column_labels = {"name": "Navn", "orgnr": "Orgnr", "created_at": "Opprettet"}
    form_excluded_columns = ("users", "integrations", "created_at")


class UserView(OperatorModelView):
    form_base_class = SecureForm
    column_list = ("email", "role", "customer", "is_active_user", "last_login_at")
    column_searchable_list = ("email",)
    column_exclude_list = ("password_hash",)
    column_details_exclude_list = ("password_hash",)
    form_excluded_columns = ("password_hash", "last_login_at", "created_at")
    can_create = False


def register_views(admin: Admin) -> None:
    admin.add_view(CustomerView(Customer, db, name="Kunder", endpoint="customers"))
    admin.add_view(UserView(User, db, name="Brukere", endpoint="users"))
