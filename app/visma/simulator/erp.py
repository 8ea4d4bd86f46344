"""The Visma.net ERP API under /api: bearer checks, throttling, faults, paging and the endpoints."""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import re
import time
import uuid

import orjson
from flask import Blueprint, Response, current_app, g, jsonify, request

from .ledger import fmt_ts
from .state import ERP_READ_SCOPES, SimulatorState
from .tokens import InvalidToken

bp = Blueprint("erp", __name__, url_prefix="/api")

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d{1,3})?$")
_PERIOD = re.compile(r"^\d{4}(0[1-9]|1[0-2])$")
CONDITIONS = {">": dt.datetime.__gt__, "<": dt.datetime.__lt__, ">=": dt.datetime.__ge__,
              "<=": dt.datetime.__le__}


class ApiError(Exception):
    """An ERP API error answered with Visma's error JSON."""

    def __init__(self, status: int, message: str, fault_code: str | None = None,
                 plain: bool = False):
        super().__init__(message)
        self.status, self.message, self.fault_code, self.plain = status, message, fault_code, plain

    def response(self) -> Response:
        if self.plain:
            body = {"Message": self.message}
        else:
            code = self.fault_code or str(self.status)
            body = {"ExceptionType": "IPPException", "ExceptionMessage": self.message,
                    "ExceptionFaultCode": code, "ExceptionMessageID": f"{code}_{uuid.uuid4()}",
                    "ExceptionDetails": ""}
        response = jsonify(body)
        response.status_code = self.status
        return response


def state() -> SimulatorState:
    return current_app.extensions["visma_simulator"]


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return exc.response()


@bp.app_errorhandler(405)
def _method_not_allowed(exc):
    if not request.path.startswith(bp.url_prefix + "/"):
        return exc
    response = ApiError(405, f"The requested resource does not support http method "
                             f"'{request.method}'.", plain=True).response()
    response.headers["Allow"] = ", ".join(exc.valid_methods or ["GET"])
    return rate_headers(response)  # routing failed, so the blueprint's hooks do not run


# ---- every call: token, licence, throttle, faults ----

@bp.before_request
def guard():
    sim = state()
    if sim.faults.latency > 0:  # answered in ``rate_headers``, once the answer is made
        g.answer_at = time.monotonic() + sim.faults.latency
    header = request.headers.get("Authorization", "")
    claims = None
    if header.lower().startswith("bearer "):
        try:
            claims = sim.decode_access_token(header[7:].strip())
        except InvalidToken:
            claims = None
    if claims is None:
        response = ApiError(401, "Authorization has been denied for this request.",
                            plain=True).response()
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    tenant_id = str(claims.get("tenant_id") or "")
    allowed, limit, remaining, reset = sim.count_call(claims["client_id"], tenant_id)
    g.rate = (limit, remaining, reset)
    if not allowed:
        response = ApiError(429, f"Rate limit is exceeded. Try again in {reset} seconds.",
                            plain=True).response()
        response.headers["Retry-After"] = str(reset)
        return response
    if not set(str(claims.get("scope", "")).split()) & ERP_READ_SCOPES:
        return ApiError(403, "The access token does not carry a Visma.net ERP read scope.",
                        plain=True).response()
    company = sim.companies.get(tenant_id)
    if company is None or claims["client_id"] not in company.approved:
        return ApiError(403, "No license for this company.", "12027").response()
    g.tenant_id = tenant_id
    fault = sim.take_fault()
    if fault == "timeout":
        time.sleep(sim.faults.timeout_seconds)
    elif fault == "error":
        return ApiError(500, "An error has occurred.", plain=True).response()
    return None


@bp.after_request
def rate_headers(response: Response) -> Response:
    sim = state()
    limit, remaining, reset = getattr(g, "rate", (sim.faults.throttle_limit,
                                                  sim.faults.throttle_limit,
                                                  sim.faults.throttle_window))
    response.headers["X-RateLimit-Limit"] = str(limit)
    response.headers["X-RateLimit-Remaining"] = str(remaining)
    response.headers["X-RateLimit-Reset"] = str(reset)
    response.headers["X-RateLimit-Policy"] = f"4-fixed-window;w={sim.faults.throttle_window}"
    answer_at = g.pop("answer_at", None)
    if answer_at is not None:
        time.sleep(max(0.0, answer_at - time.monotonic()))
    return response


# ---- parameters ----

def parse_timestamp(name: str = "lastModifiedDateTime") -> dt.datetime | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        if _DATE.match(raw):
            return dt.datetime.fromisoformat(raw)
        match = _DATETIME.match(raw)
        if match:
            fraction = (match.group(3) or ".")[1:].ljust(3, "0")
            return dt.datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}.{fraction}")
    except ValueError:
        pass
    raise ApiError(400, f"Invalid {name} '{raw}'. Use yyyy-MM-dd, yyyy-MM-dd HH:mm:ss[.FFF] or "
                        f"yyyy-MM-ddTHH:mm:ss[.FFF] without a time zone.")


def modified_filter(with_condition: bool):
    """A predicate on a datetime, or None when no lastModifiedDateTime was given."""
    since = parse_timestamp()
    if since is None:
        return None
    condition = request.args.get("lastModifiedDateTimeCondition", ">=") if with_condition else ">="
    compare = CONDITIONS.get(condition.strip())
    if compare is None:
        raise ApiError(400, f"Invalid lastModifiedDateTimeCondition '{condition}'. "
                            "Use >, <, >= or <=.")
    return lambda value: compare(value, since)


def parse_period(name: str, required: bool = False, unless: str | None = "lastModifiedDateTime"
                 ) -> str | None:
    raw = request.args.get(name)
    if not raw:
        if required:
            also = f" unless {unless} is given" if unless else ""
            raise ApiError(400, f"{name} is required (YYYYPP){also}.")
        return None
    if not _PERIOD.match(raw):
        raise ApiError(400, f"Invalid {name} '{raw}'. Use YYYYPP, e.g. 202503.")
    return raw


def _positive_int(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid {name} '{raw}'.") from None
    if value < 1:
        raise ApiError(400, f"{name} must be 1 or more.")
    return value


def paging() -> tuple[int, int]:
    knobs = state().faults
    number = _positive_int("pageNumber", 1)
    size = min(_positive_int("pageSize", knobs.default_page_size), knobs.max_page_size)
    return number, size


def metadata(total: int) -> dict:
    return {"totalCount": total, "maxPageSize": state().faults.max_page_size}


def list_response(rows: list[dict]) -> Response:
    """A bare JSON array; the malformed-page fault truncates it. (orjson: a large company's
    pages cost the simulator a third less, and it shares the machine with the sync it feeds.)"""
    body = orjson.dumps(rows)
    if state().take_malformed():
        text = body.decode()
        body = text[: max(len(text) // 2, 1)].encode()
    return Response(body, mimetype="application/json")


def paged(rows: list[dict], with_metadata: bool = True) -> Response:
    """One page; Visma's balance DTOs declare no metadata, so those pages carry none."""
    number, size = paging()
    page = rows[(number - 1) * size: number * size]
    if not with_metadata:
        return list_response(page)
    meta = metadata(len(rows))
    return list_response([{**row, "metadata": meta} for row in page])


def unpaged(rows: list[dict], with_metadata: bool = True) -> Response:
    if not with_metadata:
        return list_response(rows)
    meta = metadata(len(rows))
    return list_response([{**row, "metadata": meta} for row in rows])


def single(body: dict) -> Response:
    etag = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
    response = Response(status=304) if request.if_none_match.contains(etag) else jsonify(body)
    response.set_etag(etag)
    return response


def ledger():
    return state().ledger(g.tenant_id)


# ---- endpoints ----

@bp.get("/v1/organization")
def organization():
    expand = request.args.get("expandBranches", "").lower() == "true"
    return list_response(state().company(g.tenant_id).organizations(expand_branches=expand))


@bp.get("/v1/account")
def accounts():
    keep = modified_filter(with_condition=True)
    with state().lock:
        rows = [a.as_json() for a in ledger().accounts.values() if keep is None or keep(a.modified)]
    return unpaged(rows)


@bp.get("/v1/account/<number>")
def account(number: str):
    with state().lock:
        found = ledger().accounts.get(number)
        if found is None:
            raise ApiError(404, f"Account '{number}' not found.", "10404")
        return single(found.as_json())


@bp.get("/v1/financialPeriod")
def financial_periods():
    value = request.args.get("greaterThanValue")
    rows = ledger().financial_periods()
    if value:
        if re.fullmatch(r"\d{4}", value):
            rows = [r for r in rows if r["year"] > int(value)]
        elif _PERIOD.match(value):
            rows = [r for r in rows if r["period"] > value]
        else:
            raise ApiError(400, f"Invalid greaterThanValue '{value}'. Use YYYY or YYYYPP.")
    return unpaged(rows, with_metadata=False)


@bp.get("/v2/generalLedgerBalance")
def gl_balances():
    since = parse_timestamp()
    period = parse_period("periodId", required=since is None)
    account_filter = request.args.get("account")
    ledger_filter = request.args.get("ledger")
    branch_filter = request.args.get("branch")
    since_text = fmt_ts(since) if since else None
    with state().lock:
        rows = [
            r for r in ledger().gl_balances()
            if (period is None or r["financialPeriod"] == period)
            and (since_text is None or r["lastModifiedDateTime"] >= since_text)
            and (not account_filter or r["account"]["number"] == account_filter)
            and (not ledger_filter or r["ledger"]["id"] == ledger_filter)
            and (not branch_filter or r["branch"]["number"] == branch_filter)
        ]
    return paged(rows)


@bp.get("/v2/journaltransaction")
def journal():
    since = parse_timestamp()
    period = parse_period("periodId", required=since is None)
    module = request.args.get("module", "").removeprefix("Module")
    status = request.args.get("status")
    number, size = paging()
    sim = state()
    with sim.lock:
        without_account = set(sim.faults.lines_without_account)
        books = ledger()
        batches, ends = books.journal_selection(period, since, module, status)
        meta = metadata(ends[-1] if ends else 0)
        start, end = (number - 1) * size, number * size
        rows = []
        for index in range(bisect.bisect_right(ends, start), len(batches)):
            batch, offset = batches[index], ends[index] - len(batches[index].lines)
            if offset >= end:
                break
            piece = batch.lines[max(0, start - offset): end - offset]
            row = books.batch_json(batch, piece)
            if batch.number in without_account:
                for line in row["journalTransactionLines"]:
                    if line["lineNumber"] == 1:
                        del line["accountNumber"]
            rows.append({**row, "metadata": meta})
    return list_response(rows)


@bp.get("/v2/journaltransaction/<batch_number>")
def journal_batch(batch_number: str):
    with state().lock:
        batch = ledger().batches.get(batch_number)
        if batch is None:
            raise ApiError(404, f"Batch '{batch_number}' not found.", "10404")
        return single(ledger().batch_json(batch))


def _parties(kind: str) -> Response:
    keep = modified_filter(with_condition=True)
    status = request.args.get("status")
    with state().lock:
        books = ledger()
        parties = books.customers if kind == "customer" else books.suppliers
        rows = [p.as_json(kind) for p in parties.values()
                if (keep is None or keep(p.modified)) and (not status or p.status == status)]
    return paged(rows)


def _party(kind: str, number: str) -> Response:
    with state().lock:
        books = ledger()
        party = (books.customers if kind == "customer" else books.suppliers).get(number)
        if party is None:
            raise ApiError(404, f"{kind.capitalize()} '{number}' not found.", "10404")
        return single(party.as_json(kind))


def _balances(kind: str) -> Response:
    start = parse_period("fromFinPeriod", required=True, unless=None)
    end = parse_period("toFinPeriod", required=True, unless=None)
    branch = request.args.get("branchNumber" if kind == "customer" else "branch")
    party = request.args.get(kind)
    with state().lock:
        rows = [row for row in ledger().party_balances(kind, start, end)
                if (not branch or _branch_of(row) == branch)
                and (not party or row[kind]["number"] == party)]
    return paged(rows, with_metadata=False)


def _branch_of(row: dict) -> str:
    branch = row.get("branchNumber", row.get("branch"))
    return branch["number"] if isinstance(branch, dict) else branch


@bp.get("/v1/customer")
def customers():
    return _parties("customer")


@bp.get("/v1/customer/<number>")
def customer(number: str):
    return _party("customer", number)


@bp.get("/v1/supplier")
def suppliers():
    return _parties("supplier")


@bp.get("/v1/supplier/<number>")
def supplier(number: str):
    return _party("supplier", number)


@bp.get("/v2/customer/balance")
def customer_balances():
    return _balances("customer")


@bp.get("/v2/supplier/balance")
def supplier_balances():
    return _balances("supplier")


@bp.get("/<path:rest>")
def not_found(rest: str):
    raise ApiError(404, f"No HTTP resource was found that matches the request URI "
                        f"'{request.base_url}'.", plain=True)
