from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from app.audit.operations import Actor, record
from app.auth.forms import ChangePasswordForm, LoginForm
from app.auth.login import clear_failed_logins, record_failed_login, seconds_until_allowed
from app.auth.models import User
from app.auth.operations import UserError, replace_password
from app.auth.redirects import safe_next_path
from app.db_types import utcnow
from app.extensions import db

bp = Blueprint("auth", __name__)

# Reachable while a one-time password still has to be replaced.
ALLOWED_BEFORE_PASSWORD_CHANGE = {"auth.change_password", "auth.logout", "static", "main.healthz"}


@bp.before_app_request
def require_password_change():
    if (
        current_user.is_authenticated
        and current_user.must_change_password
        and request.endpoint not in ALLOWED_BEFORE_PASSWORD_CHANGE
    ):
        return redirect(url_for("auth.change_password"))
    return None


def home_url_for(user: User) -> str:
    if user.is_operator:
        return url_for("admin.index")
    return url_for("main.index")


@bp.route("/logg-inn", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_url_for(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        ip = request.remote_addr or "?"
        wait = seconds_until_allowed(email, ip)
        if wait:
            minutes = max(1, round(wait / 60))
            flash(f"For mange mislykkede forsøk. Prøv igjen om {minutes} min.", "error")
            return render_template("auth/login.html", form=form), 429
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None or not user.check_password(form.password.data) or not user.is_active:
            record_failed_login(email, ip)
            flash("Feil e-post eller passord.", "error")
            status = 401
        else:
            login_user(user, remember=form.remember.data)
            user.last_login_at = utcnow()
            clear_failed_logins(email, ip)
            record(Actor.current(), "login", user)
            db.session.commit()
            return redirect(safe_next_path(request.args.get("next")) or home_url_for(user))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/bytt-passord", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            replace_password(user, form.password.data, actor=Actor.current())
        except UserError as exc:
            form.password.errors.append(str(exc))
        else:
            # Every other session and remember cookie has ended; this one goes on, renewed.
            login_user(user)
            flash("Passordet er endret.", "success")
            return redirect(home_url_for(current_user))
    return render_template("auth/change_password.html", form=form)


@bp.post("/logg-ut")
@login_required
def logout():
    user = current_user._get_current_object()
    record(Actor.current(), "logout", user)
    user.end_sessions()
    db.session.commit()
    logout_user()
    flash("Du er logget ut.", "info")
    return redirect(url_for("auth.login"))
