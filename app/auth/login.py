"""Flask-Login wiring and failed-login throttling."""

import math
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select

from app.auth.models import LoginAttempt, User
from app.db_types import utcnow
from app.extensions import db, login_manager

login_manager.login_view = "auth.login"
login_manager.login_message = "Logg inn for å se denne siden."
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


def seconds_until_allowed(email: str, ip: str) -> int:
    """0 when a login may be tried; otherwise how long the email or IP is locked out."""
    window = timedelta(seconds=current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"])
    since = utcnow() - window
    failures = db.session.execute(
        select(func.count(), func.min(LoginAttempt.at)).where(
            LoginAttempt.at >= since,
            or_(LoginAttempt.email == email, LoginAttempt.ip == ip),
        )
    ).one()
    count, oldest = failures
    if count < current_app.config["LOGIN_MAX_FAILURES"]:
        return 0
    return max(1, math.ceil((oldest + window - utcnow()).total_seconds()))


def record_failed_login(email: str, ip: str) -> None:
    db.session.add(LoginAttempt(email=email, ip=ip))
    db.session.commit()


def clear_failed_logins(email: str) -> None:
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
