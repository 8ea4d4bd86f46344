"""Forms of the operator panel: every one a Flask-Admin SecureForm whose CSRF token is the
app's Flask-WTF token, so the global CSRFProtect and the form agree on one token."""

from flask_admin.form import SecureForm
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms import ValidationError
from wtforms.csrf.core import CSRF


class FlaskWTFCSRF(CSRF):
    """WTForms CSRF backed by Flask-WTF (one token per session, checked by CSRFProtect too)."""

    def generate_csrf_token(self, csrf_token_field):
        return generate_csrf()

    def validate_csrf_token(self, form, field):
        try:
            validate_csrf(field.data)
        except ValidationError as exc:
            raise ValidationError("Skjemaet var utløpt eller ugyldig. Last siden på nytt.") from exc


class AdminForm(SecureForm):
    """Base of every admin form (create, edit, delete, bulk and row actions)."""

    class Meta:
        csrf = True
        csrf_class = FlaskWTFCSRF
        csrf_field_name = "csrf_token"
