"""RFC 9457 problem details (`application/problem+json`) for every error under /api/."""

import json

from flask import Response, request

from app.database import RETRY_AFTER_SECONDS

PROBLEM_TYPE_BASE = "https://erpintegrasjon.sticos.no/problems/"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}

DEFAULT_DETAILS = {
    400: "The request could not be understood.",
    401: "Send a valid API key as 'Authorization: Bearer <key>'.",
    403: "This API key may not do that.",
    404: "No such resource, or this API key may not read it.",
    405: "Only GET (and HEAD) is supported by this API.",
    429: "Too many requests for this API key; wait and retry.",
    500: "An unexpected error occurred. It has been logged.",
}

# A stable `type` per kind of problem, so callers can branch on it.
TYPES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    429: "rate-limited",
    500: "server-error",
}


class ApiProblem(Exception):
    """Raise inside the API to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        type_: str | None = None,
        headers: dict | None = None,
        **extensions,
    ):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type_ = type_
        self.headers = headers or {}
        self.extensions = extensions


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    type_: str | None = None,
    headers: dict | None = None,
    **extensions,
) -> Response:
    body = {
        "type": PROBLEM_TYPE_BASE + (type_ or TYPES.get(status, "error")),
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail or DEFAULT_DETAILS.get(status, TITLES.get(status, "Error")),
        "instance": request.path,
    }
    body.update(extensions)
    response = Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json"
    )
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 405:
        response.headers.setdefault("Allow", "GET, HEAD")
    return response


def database_unavailable_problem() -> Response:
    """503 while the database cannot be reached: nothing happened, retry later."""
    return problem_response(
        503,
        "The database is unreachable at the moment; nothing was changed. "
        "Retry after the number of seconds in Retry-After.",
        type_="database-unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def from_problem(problem: ApiProblem) -> Response:
    return problem_response(
        problem.status,
        problem.detail,
        type_=problem.type_,
        headers=problem.headers,
        **problem.extensions,
    )
