"""The Tripletex API v2 under /v2: session minting, Basic auth, limits, faults, the endpoints."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
import uuid

from flask import Blueprint, Response, current_app, g, request

from . import records
from .state import SimError, SimulatorState, invalid

bp = Blueprint("tripletex", __name__, url_prefix="/v2")

NO_DIGEST = "'If-None-Match' header not specified"
PROXY_FREE = {"tripletex.who_am_i", "tripletex.with_login_access"}


def state() -> SimulatorState:
    return current_app.extensions["tripletex_simulator"]


def respond(body, status: int = 200) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status,
                        mimetype="application/json")
    return response


def error_response(exc: SimError) -> Response:
    request_id = getattr(g, "request_id", str(uuid.uuid4()))
    return respond({"status": exc.status, "code": exc.code, "message": exc.message,
                    "link": "https://tripletex.no/v2-docs/", "developerMessage": None,
                    "validationMessages": exc.validation, "requestId": request_id}, exc.status)


@bp.errorhandler(SimError)
def _sim_error(exc: SimError):
    return error_response(exc)


@bp.app_errorhandler(404)
def _not_found(exc):
    if not request.path.startswith(bp.url_prefix + "/"):
        return exc
    return after(error_response(SimError(404, 6000, "Object not found")))


def base_url() -> str:
    """Tripletex's reference urls carry no scheme (``api-test.tripletex.tech/v2/...``)."""
    return request.host + bp.url_prefix


# ---- every call ----

def basic_auth() -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("basic "):
        raise SimError(401, 3000, "Mangler autentisering.")
    try:
        username, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise SimError(401, 3000, "Ugyldig autentisering.") from None
    return username, password


@bp.before_request
def guard():
    g.request_id = str(uuid.uuid4())
    if request.endpoint in {"tripletex.create_session", "tripletex.delete_session"}:
        return None
    sim = state()
    username, token = basic_auth()
    session, key = sim.session(token)
    allowed, limit, remaining, reset = sim.count_call(key.token, session.consumer)
    g.rate = (limit, remaining, reset)
    if not allowed:
        response = respond({"status": 429, "code": None,
                            "message": "Du har nådd grensen for antall kall.",
                            "requestId": g.request_id}, 429)
        if sim.faults.retry_after_on_429:
            response.headers["Retry-After"] = str(reset)
        return response
    fault = sim.take_fault()
    if fault == "unauthorized":
        raise SimError(401, 3000, "Ugyldig eller utløpt sesjon.")
    if sim.faults.latency:
        time.sleep(sim.faults.latency)
    if fault == "timeout":
        time.sleep(sim.faults.timeout_seconds)
    elif fault == "error":
        raise SimError(500, 1000, "En feil har oppstått.")
    g.key = key
    g.company = sim.acting_company(key, username, proxy_free=request.endpoint in PROXY_FREE)
    return None


@bp.after_request
def after(response: Response) -> Response:
    response.headers["x-tlx-request-id"] = getattr(g, "request_id", str(uuid.uuid4()))
    rate = getattr(g, "rate", None)
    if rate is not None:
        limit, remaining, reset = rate
        response.headers["X-Rate-Limit-Limit"] = str(limit)
        response.headers["X-Rate-Limit-Remaining"] = str(remaining)
        if response.status_code != 429:  # Tripletex's 429 has no reset header
            response.headers["X-Rate-Limit-Reset"] = str(reset)
    return response


# ---- parameters and envelopes ----

def arg_date(name: str, required: bool = True) -> dt.date | None:
    raw = request.args.get(name)
    if not raw:
        if required:
            raise invalid(name, "Kan ikke være null.")
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise invalid(name, "Ugyldig dato, bruk yyyy-MM-dd.") from None


def date_range() -> tuple[dt.date, dt.date]:
    """``dateFrom`` inclusive, ``dateTo`` exclusive, both required."""
    start, end = arg_date("dateFrom"), arg_date("dateTo")
    assert start and end
    if end <= start:
        raise invalid("dateTo", "Til-dato må være etter fra-dato (til-dato er eksklusiv).")
    return start, end


def arg_int(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise invalid(name, "Må være et heltall.", code=15000) from None


def arg_bool(name: str) -> bool | None:
    raw = request.args.get(name)
    return None if raw in (None, "") else raw.lower() == "true"


def sort_key(name: str):
    def key(obj):
        value = obj
        for part in name.lstrip("-").split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return (value is None, value if not isinstance(value, dict) else value.get("id"))
    return key


def listing(objects: list[dict], default_count: int = 1000,
            default_sorting: str = "id") -> Response:
    """The list envelope: from/count paging, ``fullResultSize`` as Tripletex now reports it
    (``from + count + 1`` while more rows follow, the true total only on the last page)."""
    start, count = arg_int("from", 0), arg_int("count", default_count)
    if count > state().faults.max_count or count < 0 or start < 0:
        raise invalid("count", f"Må være mellom 0 og {state().faults.max_count}.", code=15000)
    sorting = request.args.get("sorting") or default_sorting
    for name in reversed(sorting.split(",")):
        objects = sorted(objects, key=sort_key(name), reverse=name.startswith("-"))
    page = objects[start:start + count]
    more = start + count < len(objects)
    spec = records.parse_fields(request.args.get("fields"))
    values = [records.select(obj, spec, base_url()) for obj in page]
    digest = NO_DIGEST
    if "If-None-Match" in request.headers:
        digest = hashlib.sha1(json.dumps(values, sort_keys=True).encode()).hexdigest()
        if request.headers["If-None-Match"] == digest:
            return Response(status=304)
    return respond({"fullResultSize": start + count + 1 if more else len(objects),
                    "from": start, "count": len(values), "versionDigest": digest,
                    "values": values})


def single(obj: dict) -> Response:
    spec = records.parse_fields(request.args.get("fields"))
    return respond({"value": records.select(obj, spec, base_url())})


# ---- tokens and companies ----

@bp.route("/token/session/:create", methods=["PUT", "POST"])
def create_session():
    sim = state()
    args = request.args
    session = sim.mint(args.get("consumerToken"), args.get("employeeToken"),
                       args.get("expirationDate"))
    key = sim.keys[session.key]
    return respond({"value": {
        "id": abs(hash(session.token)) % 10**9, "version": 1,
        "url": f"{base_url()}/token/session/{session.token}",
        "consumerToken": {"id": 1, "url": f"{base_url()}/token/consumer/1"},
        "employeeToken": {"id": key.employee_id, "url": f"{base_url()}/token/employee/1"},
        "expirationDate": session.expiration_date.isoformat(),
        "token": session.token, "encryptionKey": None}}, 201)


@bp.delete("/token/session/<token>")
def delete_session(token: str):
    sim = state()
    with sim.lock:
        session = sim.sessions.get(token)
        if session is None:
            raise SimError(404, 6000, "Object not found")
        session.deleted = True
    return Response(status=204)


@bp.get("/token/session/>whoAmI")
def who_am_i():
    key, company = g.key, g.company
    return single({"employeeId": key.employee_id, "actualEmployeeId": key.employee_id,
                   "companyId": company.id,
                   "company": {"_path": "/company", "id": company.id},
                   "employee": {"_path": "/employee", "id": key.employee_id},
                   "language": "no", "employeeIsProxy": False})


@bp.get("/company/>withLoginAccess")
def with_login_access():
    sim, key = state(), g.key
    clients = [records.company(sim.company(c)) for c in key.clients] if key.firm else []
    return listing(clients)


@bp.get("/company/<int:company_id>")
def company(company_id: int):
    if company_id != g.company.id:
        raise SimError(403, 9000, "Du har ikke tilgang til dette selskapet.")
    return single(records.company(g.company))


# ---- the ledger ----

def books():
    return state().books(g.company.id)


@bp.get("/ledger/account")
def accounts():
    b = books()
    rows = [records.account(b, a) for a in b.accounts]
    number = request.args.get("number")
    if number:
        wanted = {int(n) for n in number.split(",") if n.strip().isdigit()}
        rows = [r for r in rows if r["number"] in wanted]
    for name in ("isInactive", "isBankAccount"):
        flag = arg_bool(name)
        if flag is not None:
            rows = [r for r in rows if r[name] == flag]
    if request.args.get("ledgerType"):
        rows = [r for r in rows if r["ledgerType"] == request.args["ledgerType"]]
    return listing(rows)


@bp.get("/ledger/accountingPeriod")
def accounting_periods():
    return listing([records.period(p) for p in books().periods], default_count=1400)


@bp.get("/balanceSheet")
def balance_sheet():
    start, end = date_range()
    b = books()
    rows = b.balance_sheet(start, end,
                           with_empty=bool(arg_bool("includeActiveAccountsWithoutMovements")),
                           number_from=arg_int("accountNumberFrom", 0) or None,
                           number_to=arg_int("accountNumberTo", 0) or None)
    # a report without ids: in account order unless asked otherwise
    return listing([records.balance_row(b, row, start, end) for row in rows],
                   default_sorting="account.number")


def vouchers_in(start: dt.date, end: dt.date):
    b = books()
    return b, [v for v in b.vouchers.values() if start <= v.date < end]


@bp.get("/ledger/voucher")
def vouchers():
    start, end = date_range()
    b, found = vouchers_in(start, end)
    number = request.args.get("number")
    if number:
        found = [v for v in found if str(v.number) == number]
    return listing([records.voucher(b, v) for v in found])


@bp.get("/ledger/voucher/<int:voucher_id>")
def voucher(voucher_id: int):
    b = books()
    v = b.vouchers.get(voucher_id)
    if v is None:
        raise SimError(404, 6000, "Object not found")
    return single(records.voucher(b, v))


@bp.get("/ledger/posting")
def postings():
    start, end = date_range()
    b = books()
    rows = [records.posting(b, p, v) for v in b.vouchers.values() for p in v.postings
            if start <= p.date < end]
    for name, field in (("accountId", "account"), ("customerId", "customer"),
                        ("supplierId", "supplier")):
        wanted = arg_int(name, 0)
        if wanted:
            rows = [r for r in rows if (r[field] or {}).get("id") == wanted]
    return listing(rows)


def _parties(kind: str) -> Response:
    b = books()
    parties = b.customers if kind == "customer" else b.suppliers
    inactive = bool(arg_bool("isInactive"))  # default false: only active ones
    rows = [records.party(p, kind) for p in parties.values() if p.is_inactive == inactive]
    since = request.args.get("changedSince")
    if since:
        try:
            moment = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise invalid("changedSince", "Ugyldig tidspunkt.") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        threshold = records.stamp(moment)
        rows = [r for r in rows if max(c["timestamp"] for c in r["changes"]) >= threshold]
    if request.args.get("organizationNumber"):
        rows = [r for r in rows if r["organizationNumber"] == request.args["organizationNumber"]]
    return listing(rows)


@bp.get("/customer")
def customers():
    return _parties("customer")


@bp.get("/supplier")
def suppliers():
    return _parties("supplier")


@bp.get("/department")
def departments():
    b = books()
    return listing([records.department(b, d) for d in b.departments])


@bp.get("/currency")
def currencies():
    b = books()
    return listing([records.currency(b, code) for code in b.currency_ids])
