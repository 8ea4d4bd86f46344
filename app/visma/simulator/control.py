"""The control API under /_sim/: JSON, no auth, for tests and demos only (never part of Visma)."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, current_app, jsonify, request

from .ledger import SimError
from .state import DEMO_CLIENT_ID, DEMO_SERVICE_CLIENT_ID, SimulatorState

bp = Blueprint("control", __name__, url_prefix="/_sim")


def state() -> SimulatorState:
    return current_app.extensions["visma_simulator"]


def body() -> dict:
    data = request.get_json(silent=True)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SimError("The request body must be a JSON object.")
    return data


def created(data) -> tuple[Response, int]:
    return jsonify(data), 201


@bp.errorhandler(SimError)
def _sim_error(exc: SimError):
    return jsonify(error=exc.message), exc.status


@bp.errorhandler(TypeError)
@bp.errorhandler(KeyError)
@bp.errorhandler(ValueError)
def _bad_fields(exc: Exception):
    return jsonify(error=f"Bad request: {exc}"), 400


@bp.get("/tenants")
def tenants():
    return jsonify(state().tenants())


@bp.post("/tenants")
def add_tenant():
    data = body()
    if not data.get("name"):
        raise SimError("name is required.")
    return created(state().add_company(
        data["name"], data.get("corporateId"), data.get("journalLines"), data.get("users"),
        bool(data.get("approved", False)), data.get("clientId", DEMO_CLIENT_ID),
        data.get("tenantId")))


@bp.get("/tenants/<tenant_id>")
def tenant(tenant_id: str):
    sim = state()
    return jsonify(sim.company_json(sim.company(tenant_id)))


@bp.post("/tenants/<tenant_id>/approve")
def approve(tenant_id: str):
    return jsonify(state().approve(tenant_id, body().get("clientId", DEMO_CLIENT_ID)))


@bp.post("/tenants/<tenant_id>/withdraw")
def withdraw(tenant_id: str):
    return jsonify(state().withdraw(tenant_id, body().get("clientId", DEMO_CLIENT_ID)))


@bp.get("/tenants/<tenant_id>/truth")
def truth(tenant_id: str):
    return jsonify(state().truth(tenant_id))


@bp.post("/tenants/<tenant_id>/token")
def service_token(tenant_id: str):
    sim = state()
    sim.company(tenant_id)
    token = sim.issue_service_token(tenant_id, body().get("clientId", DEMO_SERVICE_CLIENT_ID),
                                    request.host_url.rstrip("/"))
    return jsonify(access_token=token, token_type="Bearer",
                   expires_in=sim.faults.access_token_lifetime)


@bp.get("/users")
def users():
    sim = state()
    return jsonify([sim.user_json(u) for u in sim.users.values()])


@bp.post("/users")
def add_user():
    data = body()
    return created(state().add_user(data["email"], data.get("password", "visma-demo"),
                                    data.get("givenName", "Test"), data.get("familyName", "Bruker"),
                                    data.get("companies", [])))


@bp.post("/users/<email>/revoke")
def revoke(email: str):
    return jsonify(revoked=state().revoke_user_grants(email, body().get("clientId")))


@bp.post("/tenants/<tenant_id>/accounts")
def add_account(tenant_id: str):
    data = body()
    return created(state().add_account(tenant_id, str(data.get("accountCD", "")),
                                       data.get("description", ""), data.get("type"),
                                       data.get("active", True)))


@bp.patch("/tenants/<tenant_id>/accounts/<number>")
def update_account(tenant_id: str, number: str):
    data = body()
    return jsonify(state().update_account(tenant_id, number, description=data.get("description"),
                                          type=data.get("type"), active=data.get("active")))


@bp.delete("/tenants/<tenant_id>/accounts/<number>")
def delete_account(tenant_id: str, number: str):
    state().delete_account(tenant_id, number)
    return Response(status=204)


@bp.post("/tenants/<tenant_id>/vouchers")
def add_voucher(tenant_id: str):
    data = body()
    return created(state().add_voucher(
        tenant_id, data.get("lines") or [], transaction_date=data.get("transactionDate"),
        description=data.get("description", "Bilag"), module=data.get("module", "GL")))


@bp.post("/tenants/<tenant_id>/vouchers/<batch_number>/void")
def void_voucher(tenant_id: str, batch_number: str):
    return jsonify(state().void_voucher(tenant_id, batch_number))


@bp.delete("/tenants/<tenant_id>/vouchers/<batch_number>")
def delete_voucher(tenant_id: str, batch_number: str):
    state().delete_voucher(tenant_id, batch_number)
    return Response(status=204)


def _party_routes(kind: str):
    def add(tenant_id: str):
        data = body()
        if not data.get("name"):
            raise SimError("name is required.")
        method = state().add_customer if kind == "customer" else state().add_supplier
        return created(method(tenant_id, data["name"], data.get("corporateId", ""),
                              data.get("number"), data.get("status", "Active")))

    def update(tenant_id: str, number: str):
        data = body()
        method = state().update_customer if kind == "customer" else state().update_supplier
        return jsonify(method(tenant_id, number, name=data.get("name"), status=data.get("status"),
                              corporate_id=data.get("corporateId")))

    bp.add_url_rule(f"/tenants/<tenant_id>/{kind}s", f"add_{kind}", add, methods=["POST"])
    bp.add_url_rule(f"/tenants/<tenant_id>/{kind}s/<number>", f"update_{kind}", update,
                    methods=["PATCH"])


_party_routes("customer")
_party_routes("supplier")


@bp.get("/faults")
def faults():
    return jsonify(asdict(state().faults))


@bp.post("/faults")
def set_faults():
    return jsonify(state().set_faults(**body()))


@bp.post("/faults/reset")
def reset_faults():
    return jsonify(state().reset_faults())


@bp.get("/clock")
def clock():
    return jsonify(now=state().now().isoformat(timespec="milliseconds"))


@bp.post("/clock")
def advance_clock():
    sim = state()
    sim.advance_clock(float(body().get("advance", 0)))
    return jsonify(now=sim.now().isoformat(timespec="milliseconds"))
