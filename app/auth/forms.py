from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    # No format check: login only looks the address up, and a format rule would reveal nothing.
    email = EmailField("E-post", validators=[DataRequired("Fyll inn e-postadressen."), Length(max=254)])
    password = PasswordField("Passord", validators=[DataRequired("Fyll inn passordet."), Length(max=200)])
    remember = BooleanField("Husk meg")
