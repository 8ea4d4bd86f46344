"""The operator panel (Flask-Admin) at /admin: every customer's integrations, operators only."""

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from app.admin.index import OperatorIndexView
from app.admin.views import register_views


def init_admin(app: Flask) -> Admin:
    # Built per app: a module-level Admin keeps its views across app instances in tests.
    admin = Admin(
        app,
        name="ErpIntegrasjon drift",
        url="/admin",
        index_view=OperatorIndexView(url="/admin", name="Oversikt"),
        theme=Bootstrap4Theme(
            base_template="admin/operator_base.html", swatch="default", fluid=True
        ),
    )
    register_views(admin)
    return admin
