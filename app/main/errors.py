"""Error pages in Norwegian; never a traceback to a user."""

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError

from app.database import RETRY_AFTER_SECONDS, outage_log
from app.extensions import db, login_manager

MESSAGES = {
    400: ("Ugyldig forespørsel", "Forespørselen kunne ikke behandles."),
    403: ("Ingen tilgang", "Du har ikke tilgang til denne siden."),
    404: ("Fant ikke siden", "Siden finnes ikke, eller du har ikke tilgang til den."),
    405: ("Ikke tillatt", "Denne handlingen er ikke tillatt her."),
    429: ("For mange forespørsler", "Vent litt og prøv igjen."),
    500: ("Noe gikk galt", "En uventet feil oppstod. Feilen er logget, og vi ser på den."),
    503: (
        "Midlertidig utilgjengelig",
        "Tjenesten får ikke kontakt med databasen akkurat nå. Ingenting er tapt: "
        f"prøv igjen om {RETRY_AFTER_SECONDS} sekunder.",
    ),
}


def database_unavailable():
    """503 + Retry-After while the database cannot be reached: a Norwegian page, or
    problem+json under /api/."""
    db.session.rollback()
    if request.path.startswith("/api/"):
        from app.api.problems import database_unavailable_problem

        return database_unavailable_problem()
    # The page must not ask the database who is logged in: show it as to a visitor.
    g._login_user = login_manager.anonymous_user()
    return (*_render(503), {"Retry-After": str(RETRY_AFTER_SECONDS)})


def _render(status: int, detail: str | None = None):
    title, message = MESSAGES.get(status, MESSAGES[500])
    if request.path.startswith("/api/"):  # the read API answers in RFC 9457 problem+json
        from app.api.problems import problem_response

        return problem_response(status, detail)
    if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
        return jsonify(error=title, detail=detail or message), status
    return render_template("error.html", title=title, message=detail or message, status=status), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _render(400, "Skjemaet var utløpt eller ugyldig. Last siden på nytt og prøv igjen.")

    for status in (400, 403, 404, 405, 429):
        app.register_error_handler(status, lambda error, status=status: _render(status))

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return _render(500)

    @app.errorhandler(SQLAlchemyError)
    def database_error(error):
        if outage_log.failed(error, f"serving {request.method} {request.path}"):
            return database_unavailable()
        current_app.logger.error(
            "Unexpected database error in %s %s", request.method, request.path, exc_info=error
        )
        db.session.rollback()
        return _render(500)
