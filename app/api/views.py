"""The /api/v1 blueprint: key check and rate limit before every request, then the routes."""

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from app.api import resources
from app.api.operations import find_active_key
from app.api.params import MAX_INT, parse_args
from app.api.problems import (
    ApiProblem,
    database_unavailable_problem,
    from_problem,
    problem_response,
)
from app.api.ratelimit import hit
from app.database import outage_log
from app.extensions import csrf, db

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# API keys, not session cookies, authenticate here: there is no browser session to protect.
csrf.exempt(bp)

PUBLIC_ENDPOINTS = {"api.openapi"}
WWW_AUTHENTICATE = 'Bearer realm="ErpIntegrasjon API"'


@bp.before_request
def authenticate():
    """Every endpoint but the OpenAPI document needs `Authorization: Bearer <key>`."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        raise ApiProblem(
            401,
            "Missing API key: send it as 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": WWW_AUTHENTICATE},
        )
    api_key = find_active_key(presented)
    if api_key is None:
        raise ApiProblem(
            401,
            "The API key is unknown or has been revoked.",
            headers={"WWW-Authenticate": WWW_AUTHENTICATE + ', error="invalid_token"'},
        )
    if "read" not in api_key.scopes:
        raise ApiProblem(403, "This API key does not have the 'read' scope.")
    g.api_key_id = api_key.id
    # None: the key reads every customer's clients; set: only that customer's.
    g.api_customer_id = api_key.customer_id
    verdict = hit(api_key.id, current_app.config["API_RATE_LIMIT_PER_MINUTE"])
    g.rate_verdict = verdict
    if not verdict.allowed:
        raise ApiProblem(
            429,
            f"This API key has made more than {verdict.limit} requests this minute; "
            f"retry in {verdict.retry_after} s.",
            headers={"Retry-After": str(verdict.retry_after)},
        )
    resources.begin_snapshot()
    return None


@bp.after_request
def rate_headers(response):
    verdict = g.get("rate_verdict")
    if verdict is not None:
        response.headers["RateLimit-Limit"] = str(verdict.limit)
        response.headers["RateLimit-Remaining"] = str(verdict.remaining)
        response.headers["RateLimit-Reset"] = str(verdict.retry_after)
    return response


@bp.errorhandler(ApiProblem)
def api_problem(problem: ApiProblem):
    db.session.rollback()
    return from_problem(problem)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException):
    db.session.rollback()
    return problem_response(error.code or 500)


@bp.errorhandler(Exception)
def unexpected_error(error: Exception):
    if outage_log.failed(error, f"serving {request.method} {request.path}"):
        db.session.rollback()
        return database_unavailable_problem()
    current_app.logger.exception("Unexpected error in %s %s", request.method, request.path)
    db.session.rollback()
    return problem_response(500)


@bp.get("/openapi.json")
def openapi():
    from app.api.openapi import document

    response = jsonify(document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _flask_rule(path: str) -> str:
    return path.replace("{client_id}", f"<int(max={MAX_INT}):client_id>")


def _view(endpoint: resources.Endpoint):
    def view(**path_values):
        return endpoint.handler(parse_args(request.args, endpoint.params), **path_values)

    return view


@bp.record
def add_routes(state) -> None:
    """The routes, from the same list as the OpenAPI document (`resources.endpoints()`), read
    when an app registers the blueprint: every data set the registry holds then has its own."""
    for endpoint in resources.endpoints():
        state.add_url_rule(
            _flask_rule(endpoint.path), endpoint.operation_id, _view(endpoint), methods=["GET"]
        )
