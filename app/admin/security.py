"""Operators only: every admin view, the index included, checks the role; shared behaviour
of the model views (Norwegian texts, CSRF-protected forms, Oslo time, bulk-result messages)."""

import json
from datetime import datetime

from flask import abort, redirect, request, url_for
from flask_admin import BaseView
from flask_admin.contrib.sqla import ModelView
from flask_login import current_user
from markupsafe import Markup

from app.admin.forms import AdminForm
from app.admin.i18n import nb_gettext, nb_ngettext
from app.template_helpers import oslo_time


def is_operator() -> bool:
    return current_user.is_authenticated and current_user.is_operator


def refuse():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    abort(403)


class OperatorAccess:
    """Mixed into every admin view: operators only, Norwegian texts in Flask-Admin's templates."""

    def is_accessible(self) -> bool:
        return is_operator()

    def inaccessible_callback(self, name, **kwargs):
        return refuse()

    def render(self, template, **kwargs):
        # BaseView.render sets Flask-Admin's English gettext, then applies _template_args.
        self._template_args.update(_gettext=nb_gettext, _ngettext=nb_ngettext)
        return super().render(template, **kwargs)


class OperatorView(OperatorAccess, BaseView):
    """A plain (non-model) operator page."""


def _datetime(view, value, name):
    return oslo_time(value, "%d.%m.%Y %H:%M:%S")


def _datetime_short(view, value, name):
    """Lists: minutes are enough and keep columns narrow (details show seconds)."""
    return oslo_time(value, "%d.%m.%y %H:%M")


def truncated(text: str | None, empty: str = "–") -> Markup:
    """A cell cut to its column's width, the whole text in its title (lists fit the window)."""
    if not text:
        return Markup(empty)
    return Markup('<span class="cell-truncate" title="{0}">{0}</span>').format(text)


def _bool(view, value, name):
    return "Ja" if value else "Nei"


def _json(view, value, name):
    if not value:
        return "–"
    return Markup("<code>{}</code>").format(json.dumps(value, ensure_ascii=False))


def _none(view, value, name):
    return "–"


class OperatorModelView(OperatorAccess, ModelView):
    """Base for every operator model view: role check, CSRF-protected forms, no secrets."""

    form_base_class = AdminForm
    list_template = "admin/operator_list.html"
    # The generic "delete selected" action would bypass the operations (and the audit trail).
    action_disallowed_list = ["delete"]
    can_view_details = True
    can_set_page_size = True
    page_size = 50
    page_size_options = (20, 50, 100)
    named_filter_urls = True
    column_display_pk = True
    column_type_formatters = {
        type(None): _none,
        bool: _bool,
        datetime: _datetime_short,
        dict: _json,
        list: _json,
    }
    column_type_formatters_detail = {**column_type_formatters, datetime: _datetime}
    column_type_formatters_export = {
        type(None): lambda view, value, name: "",
        bool: lambda view, value, name: "ja" if value else "nei",
        datetime: lambda view, value, name: value.isoformat(),
        dict: lambda view, value, name: json.dumps(value, ensure_ascii=False),
        list: lambda view, value, name: json.dumps(value, ensure_ascii=False),
    }

    def get_empty_list_message(self) -> str:
        return "Ingen treff."

    def get_list_row_actions(self):
        # Flask-Admin titles its row icons in English when the class is built; say it in ours.
        actions = super().get_list_row_actions()
        for row_action in actions:
            if getattr(row_action, "title", None):
                row_action.title = nb_gettext(row_action.title)
        return actions

    def filter_arg(self, name: str) -> str:
        """The query-string name of the filter called ``name`` (for links into a filtered list)."""
        for key, (_idx, flt) in self._filter_args.items():
            if str(flt.name) == name:
                return f"flt0_{key}"
        raise KeyError(name)

    def filtered_url(self, name: str, value) -> str:
        return self.get_url(f"{self.endpoint}.index_view", **{self.filter_arg(name): value})

    # -- bulk actions --------------------------------------------------------------------

    def selection(self, ids: list[str]):
        """The rows a bulk action applies to: the ticked ids, or — when the operator ticked
        "alle treff" — every row matching the list's current search and filters, as one
        SELECT of ids (the operations run it set-based, never a row at a time)."""
        if request.form.get("alle_treff") == "1":
            args = self._get_list_extra_args()
            _count, query = self.get_list(
                0, None, False, args.search, args.filters, execute=False, page_size=0
            )
            return query.with_entities(self.model.id).order_by(None).statement
        return [int(i) for i in ids]
