"""Error pages in Norwegian; never a traceback to a user."""

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError

from app.extensions import db

MESSAGES = {
    400: ("Ugyldig forespørsel", "Forespørselen kunne ikke behandles."),
    403: ("Ingen tilgang", "Du har ikke tilgang til denne siden."),
    404: ("Fant ikke siden", "Siden finnes ikke, eller du har ikke tilgang til den."),
    405: ("Ikke tillatt", "Denne handlingen er ikke tillatt her."),
    429: ("For mange forespørsler", "Vent litt og prøv igjen."),
    500: ("Noe gikk galt", "En uventet feil oppstod. Feilen er logget, og vi ser på den."),
}


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
