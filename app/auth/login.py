"""Flask-Login wiring and failed-login throttling."""

import math
from datetime import timedelta

from flask import current_app, session
from flask_login import user_loaded_from_cookie
from sqlalchemy import delete, func, select

from app.auth.models import LoginAttempt, User
from app.db_types import utcnow
from app.extensions import db, login_manager

login_manager.login_view = "auth.login"
login_manager.login_message = "Logg inn for å se denne siden."
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user of a session or remember cookie, if it was issued since the last logout or
    password change (see User.get_id)."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None  # a cookie from before session versions, or forged
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version):
        return None
    return user


@user_loaded_from_cookie.connect
def bind_remembered_session(app, user: User) -> None:
    """Give a session rebuilt from the remember cookie its identifier, as login_user does:
    without it "strong" protection finds none on the next request, ends the session and
    deletes the remember cookie, so "Husk meg" would last one request."""
    session["_id"] = login_manager._session_identifier_generator()


def seconds_until_allowed(email: str, ip: str) -> int:
    """0 when a login may be tried; otherwise how long until it may.

    Failures count per (e-mail, IP) pair, so guesses at other addresses from a shared office
    IP never lock out the right user there; a much higher ceiling per IP stops one address from
    spraying guesses over many accounts.
    """
    config = current_app.config
    window = timedelta(seconds=config["LOGIN_FAILURE_WINDOW_SECONDS"])
    recent = select(func.count(), func.min(LoginAttempt.at)).where(LoginAttempt.at >= utcnow() - window)
    pair = db.session.execute(
        recent.where(LoginAttempt.email == email, LoginAttempt.ip == ip)
    ).one()
    from_ip = db.session.execute(recent.where(LoginAttempt.ip == ip)).one()
    waits = [
        oldest + window - utcnow()
        for (count, oldest), limit in (
            (pair, config["LOGIN_MAX_FAILURES"]),
            (from_ip, config["LOGIN_MAX_FAILURES_PER_IP"]),
        )
        if count >= limit
    ]
    if not waits:
        return 0
    return max(1, math.ceil(max(waits).total_seconds()))


def record_failed_login(email: str, ip: str) -> None:
    db.session.add(LoginAttempt(email=email, ip=ip))
    db.session.commit()


def clear_failed_logins(email: str, ip: str) -> None:
    db.session.execute(
        delete(LoginAttempt).where(LoginAttempt.email == email, LoginAttempt.ip == ip)
    )
