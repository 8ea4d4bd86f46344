"""Operators only: every admin view, the index included, checks the role."""

from flask import abort, redirect, request, url_for
from flask_admin import AdminIndexView, expose
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user


def is_operator() -> bool:
    return current_user.is_authenticated and current_user.is_operator


def refuse():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    abort(403)


class OperatorIndexView(AdminIndexView):
    def is_accessible(self) -> bool:
        return is_operator()

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    @expose("/")
    def index(self):
        return self.render("admin/dashboard.html")


class OperatorModelView(ModelView):
    """Base for every operator model view: role check, CSRF-protected forms, no secrets."""

    form_base_class = None  # set in views.py to the Flask-WTF SecureForm
    can_view_details = True
    page_size = 50

    def is_accessible(self) -> bool:
        return is_operator()

    def inaccessible_callback(self, name, **kwargs):
        return refuse()
