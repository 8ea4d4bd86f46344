"""The control API under /_sim/: JSON, no auth, for tests and demos only (never part of Tripletex)."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, current_app, jsonify, request

from . import records
from .state import SimError, SimulatorState

bp = Blueprint("tripletex_control", __name__, url_prefix="/_sim")


def state() -> SimulatorState:
    return current_app.extensions["tripletex_simulator"]


def body() -> dict:
    data = request.get_json(silent=True)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SimError(400, 4000, "The request body must be a JSON object.")
    return data


@bp.errorhandler(SimError)
def _sim_error(exc: SimError):
    return jsonify(error=exc.message, validation=exc.validation), exc.status


@bp.errorhandler(TypeError)
@bp.errorhandler(KeyError)
@bp.errorhandler(ValueError)
def _bad_fields(exc: Exception):
    return jsonify(error=f"Bad request: {exc!r}"), 400


def key_json(key) -> dict:
    return {**asdict(key)}


def company_json(company) -> dict:
    return {"id": company.id, "name": company.name,
            "organizationNumber": company.organization_number, "type": company.type,
            "generated": company.books is not None}


@bp.get("/companies")
def companies():
    return jsonify([company_json(c) for c in state().companies.values()])


@bp.post("/companies")
def add_company():
    data = body()
    if not data.get("name"):
        raise SimError(400, 4000, "name is required.")
    return jsonify(company_json(state().add_company(
        data["name"], data.get("organizationNumber"), data.get("vouchersPerMonth")))), 201


@bp.get("/companies/<int:company_id>/truth")
def truth(company_id: int):
    return jsonify(ground_truth(state(), company_id))


@bp.post("/companies/<int:company_id>/vouchers")
def add_voucher(company_id: int):
    data = body()
    voucher = state().add_voucher(company_id, data["date"], data.get("description", "Bilag"),
                                  data.get("postings") or [])
    return jsonify(id=voucher.id, number=voucher.number, year=voucher.year), 201


@bp.delete("/companies/<int:company_id>/vouchers/<int:voucher_id>")
def delete_voucher(company_id: int, voucher_id: int):
    state().delete_voucher(company_id, voucher_id)
    return Response(status=204)


def _party_routes(kind: str):
    def add(company_id: int):
        data = body()
        party = state().add_party(company_id, kind, data["name"],
                                  data.get("organizationNumber", ""))
        return jsonify(id=party.id, number=party.number), 201

    def update(company_id: int, party_id: int):
        data = body()
        party = state().update_party(company_id, kind, party_id, name=data.get("name"),
                                     is_inactive=data.get("isInactive"),
                                     organization_number=data.get("organizationNumber"))
        return jsonify(id=party.id, number=party.number, name=party.name)

    bp.add_url_rule(f"/companies/<int:company_id>/{kind}s", f"add_{kind}", add,
                    methods=["POST"])
    bp.add_url_rule(f"/companies/<int:company_id>/{kind}s/<int:party_id>", f"update_{kind}",
                    update, methods=["PATCH"])


_party_routes("customer")
_party_routes("supplier")


@bp.get("/keys")
def keys():
    return jsonify([key_json(k) for k in state().keys.values()])


@bp.post("/keys")
def add_key():
    data = body()
    key = state().add_key(int(data["companyId"]), firm=bool(data.get("firm")),
                          clients=[int(c) for c in data.get("clients") or []],
                          environment=data.get("environment", "test"))
    return jsonify(key_json(key)), 201


@bp.post("/keys/<token>/revoke")
def revoke_key(token: str):
    state().revoke_key(token)
    return jsonify(revoked=True)


@bp.post("/keys/<token>/clients/<int:company_id>/<action>")
def client_access(token: str, company_id: int, action: str):
    if action not in ("grant", "withdraw"):
        raise SimError(404, 6000, "Use grant or withdraw.")
    return jsonify(clients=state().set_client_access(token, company_id, action == "grant"))


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
    return jsonify(now=state().now().isoformat(timespec="seconds"), today=str(state().today()))


@bp.post("/clock")
def advance_clock():
    sim = state()
    sim.advance_clock(float(body().get("advance", 0)))
    return jsonify(now=sim.now().isoformat(timespec="seconds"), today=str(sim.today()))


def ground_truth(sim: SimulatorState, company_id: int) -> dict:
    """What a correct full read of the company holds, in Tripletex's own shapes (fully
    expanded): accounts, periods, vouchers with postings, customers and suppliers (active and
    inactive), and ``/balanceSheet`` per calendar month of every year."""
    import datetime as dt

    with sim.lock:
        company = sim.company(company_id)
        b = sim.books(company_id)
        spec = records.parse_fields("*,postings(*,account(*),customer(*),supplier(*),"
                                    "vatType(*),currency(*),department(*)),voucherType(*)")
        full = records.parse_fields("*")
        base = "truth"
        balances = []
        for p in b.periods:
            start, end = dt.date.fromisoformat(p["start"]), dt.date.fromisoformat(p["end"])
            for row in b.balance_sheet(start, end):
                balances.append(records.select(records.balance_row(b, row, start, end),
                                               {"*": None, "account": full}, base))
        return {
            "company": records.select(records.company(company), full, base),
            "accounts": [records.select(records.account(b, a), full, base) for a in b.accounts],
            "periods": [records.select(records.period(p), full, base) for p in b.periods],
            "vouchers": [records.select(records.voucher(b, v), spec, base)
                         for v in sorted(b.vouchers.values(), key=lambda v: v.id)],
            "customers": [records.select(records.party(p, "customer"), full, base)
                          for p in b.customers.values()],
            "suppliers": [records.select(records.party(p, "supplier"), full, base)
                          for p in b.suppliers.values()],
            "balances": balances,
        }
