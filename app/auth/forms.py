from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    # No format check: login only looks the address up, and a format rule would reveal nothing.
    email = EmailField("E-post", validators=[DataRequired("Fyll inn e-postadressen."), Length(max=254)])
    password = PasswordField("Passord", validators=[DataRequired("Fyll inn passordet."), Length(max=200)])
    remember = BooleanField("Husk meg")


class ChangePasswordForm(FlaskForm):
    password = PasswordField(
        "Nytt passord",
        validators=[DataRequired("Fyll inn et nytt passord."),
                    Length(min=8, max=200, message="Passordet må ha minst 8 tegn.")],
    )
    confirm = PasswordField(
        "Gjenta nytt passord",
        validators=[DataRequired("Gjenta passordet."), EqualTo("password", "Passordene er ikke like.")],
    )
